using System.Buffers;
using DataPlane.Store.Protocol.Internode;

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
