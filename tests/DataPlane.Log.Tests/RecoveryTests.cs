using DataPlane.Log.Records;

namespace DataPlane.Log.Tests;

public class RecoveryTests : IDisposable
{
    private const int Batches = 12;
    private readonly TempDirectory _dir = new();

    public enum Damage
    {
        Cut,
        Garbage,
        FlippedBit,
    }

    public static TheoryData<Damage> Damages => [Damage.Cut, Damage.Garbage, Damage.FlippedBit];

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task UncleanStop_DamagedTail_KeepsEveryWholeBatchBefore_AndOffsetsContinue(Damage damage)
    {
        // A clean log of 12 batches, 3 records each; its last batch starts at lastStart.
        var template = Path.Combine(_dir.Path, "template");
        await using (var log = CommitLog.Open(new CommitLogOptions { DataDirectory = template }))
        {
            log.CreateTopic("t", 1, new TopicConfig { IndexIntervalBytes = 200, FlushPolicy = FlushPolicy.PageCache });
            for (var b = 0; b < Batches; b++)
            {
                Assert.Equal(LogError.None, (await log.AppendAsync("t", 0, TestBatches.Make(b * 3, 3))).Error);
            }
        }

        var segmentFile = Path.Combine("t-0", $"{0:D20}.log");
        var whole = await File.ReadAllBytesAsync(Path.Combine(template, segmentFile));
        var lastSize = TestBatches.Make((Batches - 1) * 3, 3).Length;
        var lastStart = whole.Length - lastSize;
        var random = new Random(7);

        var cases = damage switch
        {
            Damage.Cut => Enumerable.Range(lastStart, lastSize).ToArray(), // every byte position of the last batch
            Damage.Garbage => [1, 11, 12, 61, 200, 5000],
            // Every byte but partitionLeaderEpoch: Kafka's CRC leaves it out on purpose (the leader stamps it),
            // so the format cannot tell a flipped bit there from a real epoch.
            _ => Enumerable.Range(lastStart, lastSize).Where(p => p - lastStart is < RecordBatch.PartitionLeaderEpochOffset or >= RecordBatch.MagicOffset).ToArray(),
        };
        foreach (var position in cases)
        {
            var data = Path.Combine(_dir.Path, $"{damage}-{position}");
            CopyDirectory(template, data);
            File.Delete(Path.Combine(data, ".clean-shutdown"));
            var path = Path.Combine(data, segmentFile);
            byte[] damaged = damage switch
            {
                Damage.Cut => whole[..position],
                Damage.Garbage => [.. whole, .. RandomBytes(random, position)],
                _ => Flip(whole, position, bit: position % 8),
            };
            await File.WriteAllBytesAsync(path, damaged);

            await using var reopened = CommitLog.Open(new CommitLogOptions { DataDirectory = data });
            var survivors = damage == Damage.Garbage ? Batches : Batches - 1;
            Assert.Equal(survivors * 3, reopened.GetOffsets("t", 0).HighWatermark);
            Assert.Equal(damage == Damage.Garbage ? whole.Length : lastStart, new FileInfo(path).Length);
            var records = TestBatches.ReadAll(reopened, "t", 0);
            Assert.Equal(Enumerable.Range(0, survivors * 3).Select(i => $"k{i}"), records.Select(r => TestBatches.Text(r.Key)));

            var next = await reopened.AppendAsync("t", 0, TestBatches.Make(100, 2));
            Assert.Equal((long)survivors * 3, next.BaseOffset);
            Assert.Equal(survivors * 3 + 2, TestBatches.ReadAll(reopened, "t", 0).Count);
        }
    }

    [Fact]
    public async Task UncleanStop_IndexPointingPastTheCut_IsRebuilt()
    {
        await using (var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path }))
        {
            log.CreateTopic("t", 1, new TopicConfig { IndexIntervalBytes = 1 });
            for (var b = 0; b < 10; b++)
            {
                await log.AppendAsync("t", 0, TestBatches.Make(b * 2, 2));
            }
        }

        File.Delete(Path.Combine(_dir.Path, ".clean-shutdown"));
        var path = Path.Combine(_dir.Path, "t-0", $"{0:D20}.log");
        var bytes = await File.ReadAllBytesAsync(path);
        var cut = RecordBatch.TotalSize(bytes) * 4;
        await File.WriteAllBytesAsync(path, bytes[..cut]);
        var index = Path.Combine(_dir.Path, "t-0", $"{0:D20}.index");
        var indexBytes = await File.ReadAllBytesAsync(index);
        indexBytes[^1] ^= 0x55; // the last entry now names a position inside a batch
        await File.WriteAllBytesAsync(index, indexBytes);

        await using var reopened = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        Assert.Equal(8, reopened.GetOffsets("t", 0).HighWatermark);
        for (var offset = 0; offset < 8; offset++)
        {
            var read = reopened.Read("t", 0, offset, 1).Records.ToArray();
            Assert.InRange(offset, RecordBatch.BaseOffset(read), RecordBatch.LastOffset(read));
        }

        Assert.Equal(8, (await reopened.AppendAsync("t", 0, TestBatches.Make(0, 1))).BaseOffset);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UncleanStop_ActiveIndexesWithTheirPreallocatedTail_RecoverEveryEntry_AndEveryOffsetReads(bool tornLastEntry)
    {
        var config = new TopicConfig { IndexIntervalBytes = 1 }; // an entry for every batch but the first
        int offsetEntries, timeEntries;
        await using (var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path }))
        {
            log.CreateTopic("t", 1, config);
            for (var b = 0; b < 20; b++)
            {
                await log.AppendAsync("t", 0, TestBatches.Make(b * 2, 2, timestamp: 1000 + b));
            }

            Assert.True(log.TryGet("t", 0, out var partition));
            (offsetEntries, timeEntries) = (partition.Segments[0].Offsets.Count, partition.Segments[0].Times.Count);
        }

        // What a crash leaves: the entries, then the zeros of the preallocated file (a torn last entry: half of it).
        File.Delete(Path.Combine(_dir.Path, ".clean-shutdown"));
        foreach (var (name, entrySize) in new[] { ("index", 8), ("timeindex", 12) })
        {
            var path = Path.Combine(_dir.Path, "t-0", $"{0:D20}.{name}");
            var entries = await File.ReadAllBytesAsync(path);
            await File.WriteAllBytesAsync(path, [.. entries[..(tornLastEntry ? ^(entrySize / 2) : ^0)], .. new byte[entrySize * 4096]]);
        }

        await using var reopened = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        Assert.True(reopened.TryGet("t", 0, out var recovered));
        var segment = recovered.Segments[0];
        Assert.Equal(!tornLastEntry, segment.IndexesValid); // a zero tail is no damage: only the log's tail is checked
        Assert.Equal(offsetEntries, segment.Offsets.Count);
        Assert.Equal(timeEntries, segment.Times.Count);
        Assert.Equal(40, reopened.GetOffsets("t", 0).HighWatermark);
        for (var offset = 0; offset < 40; offset++)
        {
            var read = reopened.Read("t", 0, offset, 1).Records.ToArray();
            Assert.InRange(offset, RecordBatch.BaseOffset(read), RecordBatch.LastOffset(read));
            Assert.Equal(offset - (offset % 2), reopened.FindOffset("t", 0, 1000 + (offset / 2)).Offset);
        }

        Assert.Equal(40, (await reopened.AppendAsync("t", 0, TestBatches.Make(0, 1))).BaseOffset);
    }

    [Fact]
    public async Task LostIndexesOfClosedSegments_AreRebuiltWithTheirSealingTimeEntry_AndCutToTheirEntries()
    {
        var options = new CommitLogOptions { DataDirectory = _dir.Path };
        await using (var log = CommitLog.Open(options))
        {
            log.CreateTopic("t", 1, new TopicConfig { SegmentBytes = 2048, IndexIntervalBytes = 1000 });
            for (var b = 0; b < 150; b++)
            {
                await log.AppendAsync("t", 0, TestBatches.Make(b * 2, 2));
            }
        }

        foreach (var index in Directory.GetFiles(Path.Combine(_dir.Path, "t-0"), "*index"))
        {
            File.Delete(index);
        }

        await using var reopened = CommitLog.Open(options);
        Assert.True(reopened.TryGet("t", 0, out var partition));
        var closed = partition.Segments.Take(partition.Segments.Count - 1).ToArray();
        Assert.True(closed.Length >= 3, "the test needs closed segments");
        foreach (var segment in closed)
        {
            // The max timestamp is what time retention reads after the next start; only the sealing entry keeps it.
            Assert.Equal(segment.MaxTimestamp, segment.Times.LastKey);
            Assert.Equal(segment.Offsets.Count * 8L, new FileInfo(segment.Offsets.Path).Length);
            Assert.Equal(segment.Times.Count * 12L, new FileInfo(segment.Times.Path).Length);
        }
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    private static byte[] Flip(byte[] whole, int position, int bit)
    {
        var copy = (byte[])whole.Clone();
        copy[position] ^= (byte)(1 << bit);
        return copy;
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }
}
