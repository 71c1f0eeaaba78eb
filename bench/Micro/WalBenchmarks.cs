using BenchmarkDotNet.Attributes;
using DataPlane.Store;
using DataPlane.Store.Durability;
using FASTER.core;

namespace DataPlane.Bench.Micro;

/// <summary>
/// The store's write-ahead log against FasterLog (the baseline), both group-committing: 50 writers
/// each append a 124-byte record (a 16-byte key and a 100-byte value with its header) and wait until
/// it is committed; FasterLog with one committer looping on CommitAsync, ours with fsync always.
/// </summary>
[MemoryDiagnoser]
// In-process: the generated project cannot reference the dataplane executable the bench references.
[InProcess]
[WarmupCount(1)]
[IterationCount(5)]
public class WalBenchmarks
{
    private const int Writers = 50;
    private const int PerWriter = 200;
    private readonly byte[] _key = new byte[16];
    private readonly byte[] _value = new byte[124];
    private string _directory = null!;
    private IDevice _device = null!;
    private FasterLog _fasterLog = null!;
    private WriteAheadLog _wal = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("dataplane-wal-bench-").FullName;
        _device = Devices.CreateLogDevice(Path.Combine(_directory, "fasterlog", "log"));
        _fasterLog = new FasterLog(new FasterLogSettings { LogDevice = _device, LogCommitDir = Path.Combine(_directory, "fasterlog"), PageSizeBits = 22, MemorySizeBits = 26 });
        _wal = new WriteAheadLog(_directory, 0, FsyncMode.Always);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fasterLog.Dispose();
        _device.Dispose();
        _wal.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Writers * PerWriter)]
    public async Task FasterLogGroupCommit()
    {
        using var done = new CancellationTokenSource();
        var committer = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                await _fasterLog.CommitAsync();
            }
        });
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                await _fasterLog.EnqueueAndWaitForCommitAsync(_value.AsMemory());
            }
        })));
        await done.CancelAsync();
        await committer;
    }

    [Benchmark(OperationsPerInvoke = Writers * PerWriter)]
    public async Task OwnWalGroupCommit()
    {
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                await _wal.WaitDurableAsync(_wal.Append(_key, _value.AsSpan(0, 100)));
            }
        })));
    }
}
