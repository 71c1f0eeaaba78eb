using DataPlane.Log.Storage;

namespace DataPlane.Log.Tests;

public class SegmentIndexTests : IDisposable
{
    // Past the small first chunk (64), several full chunks (4096 each) and the first growth of the chunk table (4 chunks).
    private const int Entries = 20_000;

    private readonly TempDirectory _dir = new();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Lookups_AcrossChunkBoundaries_FindEveryEntry_AndSurviveAReopen(bool isTime)
    {
        var path = Path.Combine(_dir.Path, isTime ? "x.timeindex" : "x.index");
        using (var index = SegmentIndex.Open(path, isTime, out _))
        {
            for (var i = 0; i < Entries; i++)
            {
                index.Add(Key(i), Value(i));
            }

            index.Sync();
            AssertEveryEntry(index, Entries);
        }

        using var reopened = SegmentIndex.Open(path, isTime, out var valid);
        Assert.True(valid);
        AssertEveryEntry(reopened, Entries);
    }

    [Fact]
    public void TruncateTo_AChunkBoundary_ThenAdd_OverwritesFromThere()
    {
        using var index = SegmentIndex.Open(Path.Combine(_dir.Path, "t.index"), isTime: false, out _);
        for (var i = 0; i < Entries; i++)
        {
            index.Add(Key(i), Value(i));
        }

        index.TruncateTo(4096);
        Assert.Equal(4096, index.Count);
        Assert.Equal(Key(4095), index.LastKey);
        Assert.Equal(4095, index.Floor(Key(Entries - 1)));
        for (var i = 4096; i < 8200; i++)
        {
            index.Add(Key(i) + 1, Value(i) + 1);
        }

        Assert.Equal(8200, index.Count);
        Assert.Equal(Key(4096) + 1, index.KeyAt(4096));
        Assert.Equal(Value(8199) + 1, index.ValueAt(8199));
        Assert.Equal(4095, index.Floor(Key(4096)));
        Assert.Equal(4096, index.Floor(Key(4096) + 1));
        Assert.Equal(Key(8199) + 1, index.LastKey);

        index.Clear();
        Assert.Equal(long.MinValue, index.LastKey);
    }

    [Fact]
    public async Task ActiveSegmentIndexes_ArePreallocated_AndCutToTheirEntriesOnRollAndClose()
    {
        var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        log.CreateTopic("t", 1, new TopicConfig { SegmentBytes = 4096, IndexIntervalBytes = 100 });
        for (var b = 0; b < 200; b++)
        {
            await log.AppendAsync("t", 0, TestBatches.Make(b * 2, 2));
        }

        Assert.True(log.TryGet("t", 0, out var partition));
        var segments = partition.Segments;
        Assert.True(segments.Count >= 3, "the test needs closed segments");
        foreach (var closed in segments.Take(segments.Count - 1))
        {
            Assert.True(closed.Offsets.Count > 0);
            Assert.Equal(closed.Offsets.Count * 8L, new FileInfo(closed.Offsets.Path).Length);
            Assert.Equal(closed.Times.Count * 12L, new FileInfo(closed.Times.Path).Length);
        }

        var active = segments[^1];
        Assert.True(active.Offsets.Capacity > active.Offsets.Count);
        Assert.Equal(active.Offsets.Capacity * 8L, new FileInfo(active.Offsets.Path).Length);
        Assert.Equal(active.Times.Capacity * 12L, new FileInfo(active.Times.Path).Length);

        await log.DisposeAsync();
        Assert.Equal(active.Offsets.Count * 8L, new FileInfo(active.Offsets.Path).Length);
        Assert.Equal(active.Times.Count * 12L, new FileInfo(active.Times.Path).Length);
    }

    [Fact]
    public async Task Lookups_WhileTheIndexIsClosed_FailWithObjectDisposed_AndNeverReadAnUnmappedEntry()
    {
        // Each round closes the index under readers in the middle of their lookups (a segment closed by retention
        // or shutdown); a lookup that read the address after the close dereferenced null plus an offset.
        for (var round = 0; round < 200; round++)
        {
            var index = SegmentIndex.Open(Path.Combine(_dir.Path, $"r{round}.index"), isTime: false, out _, capacity: 4096);
            for (var i = 0; i < 4096; i++)
            {
                index.Add(Key(i), Value(i));
            }

            var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reader = Task.Factory.StartNew(() =>
            {
                for (var n = 0; ; n++)
                {
                    var found = index.Floor(Key(n % 4096));
                    Assert.Equal(n % 4096, found);
                    Assert.Equal(Value(found), index.ValueAt(found));
                    reading.TrySetResult();
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

            await reading.Task.WaitAsync(TimeSpan.FromSeconds(10));
            index.Dispose();
            var failure = await Assert.ThrowsAnyAsync<Exception>(() => reader.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.IsType<ObjectDisposedException>(failure);
        }
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    private static long Key(int i) => 10 + (3L * i);

    private static int Value(int i) => 7 * i;

    private static void AssertEveryEntry(SegmentIndex index, int count)
    {
        Assert.Equal(count, index.Count);
        Assert.Equal(-1, index.Floor(Key(0) - 1));
        Assert.Equal(-1, index.Floor(Key(0), strictlyBelow: true));
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(Key(i), index.KeyAt(i));
            Assert.Equal(Value(i), index.ValueAt(i));
            Assert.Equal(i, index.Floor(Key(i)));
            Assert.Equal(i, index.Floor(Key(i) + 1));
            Assert.Equal(i - 1, index.Floor(Key(i), strictlyBelow: true));
        }

        Assert.Equal(Key(count - 1), index.LastKey);
    }
}
