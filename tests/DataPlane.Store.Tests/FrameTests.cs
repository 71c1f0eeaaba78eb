using System.Buffers;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Tests;

public sealed class FrameTests
{
    private static readonly (FrameType Type, ulong Id, byte[] Payload)[] Sent =
    [
        (FrameType.Write, 0x0102030405060708, [3, 0, 0, 0, (byte)'k', (byte)'e', (byte)'y', .. new byte[20]]),
        (FrameType.Ack, 42, [1]),
        (FrameType.Ping, ulong.MaxValue, []),
    ];

    private static readonly byte[] Wire = Encode(Sent);

    [Fact]
    public void TryRead_AtEverySplitPoint_ReadsTheSameFrames()
    {
        for (var cut = 1; cut < Wire.Length; cut++)
        {
            AssertReadsAll(Segments.Split(Wire, cut));
        }
    }

    [Fact]
    public void TryRead_ByteByByte_ReadsTheSameFrames() => AssertReadsAll(Segments.ByteByByte(Wire));

    [Fact]
    public void TryRead_AnUnknownTypeSplitInItsHeader_IsRefused()
    {
        var frame = new byte[Frame.HeaderSize];
        Frame.WriteHeader(frame, (FrameType)200, 1, 0);
        for (var cut = 1; cut < frame.Length; cut++)
        {
            var buffer = Segments.Split(frame, cut);
            Assert.Throws<InvalidDataException>(() => Frame.TryRead(ref buffer, out _, out _, out _));
        }
    }

    private static void AssertReadsAll(ReadOnlySequence<byte> buffer)
    {
        foreach (var (type, id, payload) in Sent)
        {
            Assert.True(Frame.TryRead(ref buffer, out var readType, out var readId, out var readPayload));
            Assert.Equal(type, readType);
            Assert.Equal(id, readId);
            Assert.Equal(payload, readPayload.ToArray());
        }

        Assert.True(buffer.IsEmpty);
        Assert.False(Frame.TryRead(ref buffer, out _, out _, out _));
    }

    [Fact]
    public void KeyHashes_TakesTheKeysOfWholeWriteAndReadFrames()
    {
        var write = (byte[])[3, 0, 0, 0, .. "abc"u8, .. new byte[StoredValue.HeaderSize + 1]];
        var wire = Encode([(FrameType.Write, 1, write), (FrameType.Ping, 2, []), (FrameType.Read, 3, "defg"u8.ToArray()), (FrameType.Write, 4, [9, 0, 0, 0, 1])]);
        var hashes = new long[8];

        // The last write's key length runs past its payload: it is skipped, and TryRead will refuse it.
        Assert.Equal(2, Frame.KeyHashes(wire, hashes, out var seen));
        Assert.Equal(4, seen);
        Assert.Equal(FasterPrefetch.Hash("abc"u8), hashes[0]);
        Assert.Equal(FasterPrefetch.Hash("defg"u8), hashes[1]);

        // A frame cut short ends the look-ahead; so does the window's size in frames.
        Assert.Equal(1, Frame.KeyHashes(wire.AsSpan(0, wire.Length - 2 - (Frame.HeaderSize + 5)), hashes, out seen));
        Assert.Equal(2, seen);
        Assert.Equal(1, Frame.KeyHashes(wire, hashes.AsSpan(0, 2), out seen));
        Assert.Equal(2, seen);
    }

    private static byte[] Encode((FrameType Type, ulong Id, byte[] Payload)[] frames)
    {
        var wire = new List<byte>();
        foreach (var (type, id, payload) in frames)
        {
            var header = new byte[Frame.HeaderSize];
            Frame.WriteHeader(header, type, id, payload.Length);
            wire.AddRange(header);
            wire.AddRange(payload);
        }

        return [.. wire];
    }
}
