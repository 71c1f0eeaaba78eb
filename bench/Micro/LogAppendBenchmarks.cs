using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using DataPlane.Log;
using DataPlane.Log.Records;

namespace DataPlane.Bench.Micro;

/// <summary>
/// The log's append path on a ~16 KiB batch of 100 B records: validation alone (CRC-32C and every record),
/// and a whole append under the page-cache policy (validate, stamp, group, pwritev, acknowledge), whose
/// allocated bytes per operation should stay near zero.
/// </summary>
[MemoryDiagnoser]
public class LogAppendBenchmarks
{
    private byte[] _batch = [];
    private string _directory = string.Empty;
    private CommitLog _log = null!;

    [GlobalSetup]
    public void Setup()
    {
        using var builder = new RecordBatchBuilder();
        var value = new byte[100];
        while (builder.SizeInBytes < 16 * 1024 - 120)
        {
            builder.Add(null, value, 1_700_000_000_000);
        }

        _batch = builder.Build().ToArray();
        _directory = Path.Combine(Path.GetTempPath(), "dataplane-log-micro-" + Environment.ProcessId);
        _log = CommitLog.Open(new CommitLogOptions { DataDirectory = _directory, RetentionCheckInterval = TimeSpan.FromSeconds(1) });
        _log.CreateTopic("micro", 1, new TopicConfig { FlushPolicy = FlushPolicy.PageCache, SegmentBytes = 256 << 20, RetentionBytes = 512 << 20 });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _log.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public BatchError Validate() => BatchValidator.Validate(_batch, 1 << 20, out _, out _);

    /// <summary>Pooled like the log's own awaits, so the allocations shown are the log's, not this method's box.</summary>
    [Benchmark]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<long> AppendPageCache() => (await _log.AppendAsync("micro", 0, _batch)).BaseOffset;
}
