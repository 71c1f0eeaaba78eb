using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using DataPlane.Store;
using DataPlane.Store.Protocol.Resp;
using DataPlane.Store.Replica;
using DataPlane.Store.Server;

namespace DataPlane.Bench.Micro;

/// <summary>
/// One RESP command through the store's path without the socket: parse the frame, run it against a
/// FASTER session holding 100,000 keys of 100-byte values (as redis-benchmark's <c>-r 100000 -d 100</c>
/// leaves them), write the reply. GET of a present key, GET of a missing key, and SET, each per
/// command; the memory columns must read zero (nothing allocated per command).
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(2)]
[IterationCount(5)]
public class RespGetPathBenchmarks
{
    private const int Keys = 100_000;
    private const int Commands = 1000;
    private readonly RespRequest _request = new();
    private readonly ReplyBuffer _replies = new();
    private readonly byte[] _value = new byte[100];
    private byte[] _gets = null!;
    private byte[] _misses = null!;
    private byte[] _sets = null!;
    private string _directory = null!;
    private DataPlane.Store.Replica.Replica _replica = null!;
    private ReplicaSession _session = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("dataplane-resp-bench-").FullName;
        _replica = new DataPlane.Store.Replica.Replica(new ReplicaSettings(_directory, NodeId: 1, FsyncMode.No, 256L << 20, TimeSpan.FromMinutes(10), TimeProvider.System));
        _session = _replica.NewSession();
        for (var i = 0; i < Keys; i++)
        {
            _session.Set(Key(i), _value, 0, SetCondition.Always, keepTtl: false, out _, out _);
        }

        _replica.Wal.WriteOut();
        var random = new Random(42);
        _gets = Frames(i => $"*2\r\n$3\r\nGET\r\n$16\r\n{KeyText(random.Next(Keys))}\r\n");
        _misses = Frames(i => $"*2\r\n$3\r\nGET\r\n$16\r\n{KeyText(Keys + random.Next(Keys))}\r\n");
        _sets = Frames(i => $"*3\r\n$3\r\nSET\r\n$16\r\n{KeyText(random.Next(Keys))}\r\n$100\r\n{new string('x', 100)}\r\n");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Dispose();
        _replica.Dispose();
        _request.Dispose();
        _replies.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Commands)]
    public int GetPresent() => Run(_gets);

    [Benchmark(OperationsPerInvoke = Commands)]
    public int GetMissing() => Run(_misses);

    /// <summary>As <see cref="GetPresent"/>, with the replies sent (cleared) every 16 commands, as a -P 16 batch.</summary>
    [Benchmark(OperationsPerInvoke = Commands)]
    public int GetPresentBatched() => Run(_gets, batch: 16);

    /// <summary>The FASTER read alone, for the same keys as <see cref="GetPresent"/>.</summary>
    [Benchmark(OperationsPerInvoke = Commands)]
    public int ReadPresent()
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(_gets));
        var found = 0;
        while (RespParser.TryParse(ref reader, _request, 512L << 20, out _) == ParseStatus.Complete)
        {
            found += _session.TryGet(_request[1], out var payload, out _) ? payload.Length : 0;
        }

        return found;
    }

    [Benchmark(OperationsPerInvoke = Commands)]
    public int Set()
    {
        var written = Run(_sets);
        _replica.Wal.WriteOut();
        return written;
    }

    private static string KeyText(int i) => $"key:{i:D12}";

    private static byte[] Key(int i) => Encoding.ASCII.GetBytes(KeyText(i));

    private static byte[] Frames(Func<int, string> frame)
    {
        var text = new StringBuilder();
        for (var i = 0; i < Commands; i++)
        {
            text.Append(frame(i));
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>What the connection's loop does per command: parse, look up, execute, reply (GET and SET only).</summary>
    private int Run(byte[] frames, int batch = Commands)
    {
        var executed = 0;
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(frames));
        while (RespParser.TryParse(ref reader, _request, 512L << 20, out _) == ParseStatus.Complete)
        {
            if (CommandTable.Find(_request[0])!.Id == CommandId.Get)
            {
                if (_session.TryGet(_request[1], out var payload, out _))
                {
                    _replies.WriteBulk(payload);
                }
                else
                {
                    _replies.WriteRaw(RespWriter.NullBulk);
                }
            }
            else
            {
                var stored = _session.Set(_request[1], _request[2], 0, SetCondition.Always, keepTtl: false, out _, out _);
                _replies.WriteRaw(stored ? RespWriter.Ok : RespWriter.NullBulk);
            }

            if (++executed % batch == 0)
            {
                _replies.Clear();
            }
        }

        var written = _replies.WrittenCount;
        _replies.Clear();
        return written;
    }
}
