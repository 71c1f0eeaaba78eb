using System.Buffers;
using BenchmarkDotNet.Attributes;
using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Bench.Micro;

/// <summary>
/// The internode frame decoder on what a loop receives under load: a batch of 256 acknowledgements (a
/// coordinator's receive, header only) and of 256 writes of a 16-byte key and a 100-byte value (a
/// replica's), each timed per frame; nothing may be allocated.
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(2)]
[IterationCount(5)]
public class FrameBenchmarks
{
    private const int Frames = 256;
    private byte[] _acks = null!;
    private byte[] _writes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _acks = Batch(FrameType.Ack, 0);
        _writes = Batch(FrameType.Write, 4 + 16 + 100);
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public int Acks() => Decode(_acks);

    [Benchmark(OperationsPerInvoke = Frames)]
    public int Writes() => Decode(_writes);

    private static int Decode(byte[] batch)
    {
        var buffer = new ReadOnlySequence<byte>(batch);
        var sum = 0;
        while (Frame.TryRead(ref buffer, out var type, out var id, out var payload))
        {
            sum += (int)type + (int)id + (int)payload.Length;
        }

        return sum;
    }

    private static byte[] Batch(FrameType type, int payloadLength)
    {
        var batch = new byte[Frames * (Frame.HeaderSize + payloadLength)];
        for (var i = 0; i < Frames; i++)
        {
            Frame.WriteHeader(batch.AsSpan(i * (Frame.HeaderSize + payloadLength)), type, (ulong)i, payloadLength);
        }

        return batch;
    }
}
