using System.Text;
using DataPlane.Log.Producer;
using DataPlane.Log.Records;

namespace DataPlane.Log.Tests;

public class AppendReadTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task Producer_KeyedRecordsAcrossPartitions_RoundTripOnTheirMurmur2Partitions()
    {
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        Assert.Equal(LogError.None, log.CreateTopic("users", 4));
        var keys = new List<string> { "21", "foobar", "a-little-bit-long-string", "a-little-bit-longer-string", "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", "abc" };
        keys.AddRange(Enumerable.Range(0, 500).Select(i => $"user-{i}"));
        var placed = new Dictionary<string, int>();
        await using (var producer = new LogProducer(log, "users", batchBytes: 1024))
        {
            foreach (var key in keys)
            {
                placed[key] = await producer.AddAsync(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes("value of " + key), TestBatches.BaseTime,
                    [new LogHeader("source", Encoding.UTF8.GetBytes("test"))]);
            }
        }

        // Placement of Kafka's UtilsTest keys on 4 partitions: toPositive(murmur2(key)) % 4, from Kafka's hash values.
        Assert.Equal([0, 2, 0, 3, 1, 3], keys.Take(6).Select(k => placed[k]));

        var seen = new HashSet<string>();
        for (var p = 0; p < 4; p++)
        {
            var records = TestBatches.ReadAll(log, "users", p);
            Assert.Equal(Enumerable.Range(0, records.Count).Select(i => (long)i), records.Select(r => r.Offset));
            foreach (var r in records)
            {
                var key = TestBatches.Text(r.Key);
                Assert.Equal(p, placed[key]);
                Assert.Equal(p, Murmur2Partitioner.Partition(r.Key!.Value.Span, 4));
                Assert.Equal("value of " + key, TestBatches.Text(r.Value));
                Assert.Equal("source", Assert.Single(r.Headers).Key);
                Assert.True(seen.Add(key));
            }
        }

        Assert.Equal(keys.Count, seen.Count);
    }

    [Fact]
    public async Task ConcurrentAppenders_GetDistinctGapFreeOffsets_AndTheirOwnRecordsBack()
    {
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        log.CreateTopic("c", 1);
        const int appenders = 8, appends = 60;
        var results = new (long Base, long Last, string Tag)[appenders * appends];
        await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            using var builder = new RecordBatchBuilder();
            for (var i = 0; i < appends; i++)
            {
                builder.Reset();
                var tag = $"{a}/{i}";
                for (var r = 0; r <= (a + i) % 3; r++)
                {
                    builder.Add(Encoding.UTF8.GetBytes(tag), Encoding.UTF8.GetBytes(r.ToString(System.Globalization.CultureInfo.InvariantCulture)), TestBatches.BaseTime);
                }

                var result = await log.AppendAsync("c", 0, builder.Build());
                Assert.Equal(LogError.None, result.Error);
                results[(a * appends) + i] = (result.BaseOffset, result.LastOffset, tag);
            }
        })));

        var ordered = results.OrderBy(r => r.Base).ToArray();
        var expected = 0L;
        foreach (var (first, last, _) in ordered)
        {
            Assert.Equal(expected, first);
            expected = last + 1;
        }

        Assert.Equal(expected, log.GetOffsets("c", 0).HighWatermark);
        var records = TestBatches.ReadAll(log, "c", 0);
        Assert.Equal(expected, records.Count);
        foreach (var (first, last, tag) in ordered)
        {
            for (var o = first; o <= last; o++)
            {
                Assert.Equal(tag, TestBatches.Text(records[(int)o].Key));
                Assert.Equal((o - first).ToString(System.Globalization.CultureInfo.InvariantCulture), TestBatches.Text(records[(int)o].Value));
            }
        }
    }

    [Theory]
    [InlineData("fresh")]
    [InlineData("reopened")]
    [InlineData("indexes-deleted")]
    public async Task Read_AtEveryOffset_StartsAtTheBatchHoldingIt(string how)
    {
        var config = new TopicConfig { SegmentBytes = 2048, IndexIntervalBytes = 150 };
        var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        log.CreateTopic("i", 1, config);
        var next = 0;
        for (var b = 0; b < 90; b++)
        {
            var count = 1 + (b % 4);
            Assert.Equal(next, (await log.AppendAsync("i", 0, TestBatches.Make(next, count))).BaseOffset);
            next += count;
        }

        Assert.True(log.TryGet("i", 0, out var partition));
        Assert.True(partition.Segments.Count >= 3, "the test needs several segments");
        Assert.Contains(partition.Segments, s => s.Offsets.Count >= 2);
        if (how != "fresh")
        {
            await log.DisposeAsync();
            if (how == "indexes-deleted")
            {
                foreach (var file in Directory.GetFiles(Path.Combine(_dir.Path, "i-0"), "*index"))
                {
                    File.Delete(file);
                }
            }

            log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        }

        await using (log)
        {
            for (var offset = 0; offset < next; offset++)
            {
                foreach (var budget in new[] { 1, 300, 5000 })
                {
                    var read = log.Read("i", 0, offset, budget);
                    Assert.Equal(LogError.None, read.Error);
                    var bytes = read.Records.ToArray();
                    Assert.True(RecordBatch.BaseOffset(bytes) <= offset && offset <= RecordBatch.LastOffset(bytes), $"offset {offset}");
                    Assert.True(bytes.Length <= Math.Max(budget, RecordBatch.TotalSize(bytes)));
                    var records = RecordBatchReader.ReadAll(bytes);
                    Assert.Equal($"k{offset}", TestBatches.Text(records.Single(r => r.Offset == offset).Key));
                }
            }

            Assert.Equal(0, log.Read("i", 0, next, 100).Records.Length);
            Assert.Equal(LogError.None, log.Read("i", 0, next, 100).Error);
            Assert.Equal(LogError.OffsetOutOfRange, log.Read("i", 0, next + 1, 100).Error);
            Assert.Equal(LogError.OffsetOutOfRange, log.Read("i", 0, -1, 100).Error);
            Assert.Equal(next, (await log.AppendAsync("i", 0, TestBatches.Make(next, 1))).BaseOffset);
        }
    }

    [Fact]
    public async Task FindOffset_ForEveryTimestamp_IsTheFirstRecordAtOrAfterIt()
    {
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        log.CreateTopic("ts", 1, new TopicConfig { SegmentBytes = 1500, IndexIntervalBytes = 100 });
        var timestamps = new List<long>();
        for (var b = 0; b < 30; b++)
        {
            using var builder = new RecordBatchBuilder(b % 3 == 0 ? CompressionCodec.Gzip : CompressionCodec.None);
            for (var r = 0; r < 3; r++)
            {
                // Mostly rising, with a step back inside every batch, as timestamps from several clients are.
                var ts = TestBatches.BaseTime + (b * 30) + (r == 1 ? -5 : r * 10);
                builder.Add(Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("v"), ts);
                timestamps.Add(ts);
            }

            Assert.Equal(LogError.None, (await log.AppendAsync("ts", 0, builder.Build())).Error);
        }

        for (var t = TestBatches.BaseTime - 10; t <= timestamps.Max() + 1; t++)
        {
            var expected = timestamps.FindIndex(x => x >= t);
            var found = log.FindOffset("ts", 0, t);
            Assert.Equal(LogError.None, found.Error);
            Assert.Equal(expected, found.Offset);
            Assert.Equal(expected < 0 ? -1 : timestamps[expected], found.Timestamp);
        }
    }

    [Fact]
    public async Task Segments_RollAtSegmentBytesAndSegmentAge_WithTwentyDigitNames()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(TestBatches.BaseTime));
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path, TimeProvider = clock });
        log.CreateTopic("r", 1, new TopicConfig { SegmentBytes = 1024, SegmentTime = TimeSpan.FromHours(1) });
        var batch = TestBatches.Make(0, 2);
        var perSegment = 1024 / batch.Length;
        for (var i = 0; i < (perSegment * 2) + 1; i++)
        {
            await log.AppendAsync("r", 0, batch);
        }

        var folder = Path.Combine(_dir.Path, "r-0");
        var logs = Directory.GetFiles(folder, "*.log").Select(f => Path.GetFileName(f)).Order().ToArray();
        Assert.Equal(
            [$"{0:D20}.log", $"{perSegment * 2:D20}.log", $"{perSegment * 4:D20}.log"],
            logs);
        Assert.All(Directory.GetFiles(folder, "*.log"), f => Assert.True(new FileInfo(f).Length <= 1024));
        Assert.True(File.Exists(Path.Combine(folder, $"{0:D20}.index")));
        Assert.True(File.Exists(Path.Combine(folder, $"{0:D20}.timeindex")));

        clock.Advance(TimeSpan.FromHours(1));
        var aged = await log.AppendAsync("r", 0, TestBatches.Make(0, 1));
        Assert.True(File.Exists(Path.Combine(folder, $"{aged.BaseOffset:D20}.log")));
        Assert.Equal(4, Directory.GetFiles(folder, "*.log").Length);
        Assert.Equal(aged.BaseOffset + 1, TestBatches.ReadAll(log, "r", 0).Count);
    }

    [Fact]
    public async Task PageCachePolicy_AcknowledgesBeforeSync_AndFlushesOnTheInterval()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path, TimeProvider = clock });
        log.CreateTopic("p", 1, new TopicConfig { FlushPolicy = new FlushPolicy(1000, TimeSpan.FromSeconds(1)) });
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(i, (await log.AppendAsync("p", 0, TestBatches.Make(i, 1))).BaseOffset);
        }

        Assert.True(log.TryGet("p", 0, out var partition));
        Assert.Equal(10, partition.UnsyncedRecords);
        clock.Advance(TimeSpan.FromSeconds(1));
        await DataPlane.Testing.Eventually.True(() => partition.UnsyncedRecords == 0, "the flush interval's fsync");
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}
