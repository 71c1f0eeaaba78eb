using BenchmarkDotNet.Attributes;
using DataPlane.Store.Hints;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Bench.Micro;

/// <summary>
/// What a burst of hints costs the thread that keeps them: when a replica hangs, every write in flight to
/// it (up to its in-flight limit, 4096) times out at once on the coordinator's loop, and each leaves a hint
/// (a 16-byte key and a 100-byte value with its header). Off fsync always, <see cref="HintStore.Keep"/> on a loop
/// adds each to its node's batch, which the loop writes at the end of its round (<see cref="HintStore.WriteOut"/>);
/// under fsync always it queues each for the writer thread. The baseline is what keeping a hint cost before
/// the batch: one unbuffered write call of the record per hint.
/// </summary>
[MemoryDiagnoser]
// In-process: the generated project cannot reference the dataplane executable the bench references.
[InProcess]
[WarmupCount(1)]
[IterationCount(5)]
public class HintBenchmarks
{
    private const int Burst = 4096;
    private const string Target = "b";
    private readonly byte[] _key = new byte[16];
    private readonly byte[] _stored = new byte[124];
    private readonly byte[] _record = new byte[HintRecord.Size(16, 124)];
    private string _directory = null!;
    private HintStore _written = null!;
    private HintStore _queued = null!;
    private SafeFileHandle _raw = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("dataplane-hint-bench-").FullName;
        _written = new HintStore(Path.Combine(_directory, "written"), fsync: false);
        _queued = new HintStore(Path.Combine(_directory, "queued"), fsync: true);
        _raw = File.OpenHandle(Path.Combine(_directory, "raw"), FileMode.Create, FileAccess.Write);
        HintRecord.Write(_record, _key, _stored);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _written.Dispose();
        _queued.Dispose();
        _raw.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>The bare write calls; the file starts again empty after each burst, as the hint files do after their discard.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Burst)]
    public void WriteCalls()
    {
        for (var i = 0; i < Burst; i++)
        {
            RandomAccess.Write(_raw, _record, (long)i * _record.Length);
        }

        RandomAccess.SetLength(_raw, 0);
    }

    /// <summary>Off fsync always (everysec, the default): the burst batched, and written out at the end of the round.</summary>
    [Benchmark(OperationsPerInvoke = Burst)]
    public void KeepWrittenOut()
    {
        _written.BeginRound();
        for (var i = 0; i < Burst; i++)
        {
            _written.Keep(Target, _key, _stored);
        }

        _written.WriteOut();
        _written.Discard(Target);
    }

    /// <summary>Under fsync always: each hint queued for the writer thread's group commit.</summary>
    [Benchmark(OperationsPerInvoke = Burst)]
    public void KeepQueued()
    {
        for (var i = 0; i < Burst; i++)
        {
            _queued.Keep(Target, _key, _stored);
        }

        _queued.Discard(Target);
    }
}
