using System.Collections.Concurrent;
using System.Diagnostics;
using DataPlane.Net.Epoll;

namespace DataPlane.Proxy.Tests;

/// <summary>The wake-up every event loop stands on.</summary>
public sealed class EpollWaiterTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dp-waiter-").FullName;

    [Fact]
    public void Wake_AfterDispose_WritesIntoNoDescriptorThatReusedTheNumber()
    {
        var waiter = new EpollWaiter();
        waiter.Dispose();

        // Linux hands out the lowest free numbers: the files opened now take the two the waiter closed.
        var files = Enumerable.Range(0, 32)
            .Select(i => File.OpenHandle(Path.Combine(_directory, $"f{i}"), FileMode.CreateNew, FileAccess.ReadWrite))
            .ToList();
        try
        {
            waiter.Wake();
            Assert.All(files, file => Assert.Equal(0, RandomAccess.GetLength(file)));
        }
        finally
        {
            files.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public void Wake_FromAnotherThread_EndsAWait_OncePerRound()
    {
        using var waiter = new EpollWaiter();
        var other = new Thread(() => waiter.Wake());
        other.Start();
        Assert.Equal(1, WaitForEvents(waiter));
        other.Join();
        Assert.Equal(EpollWaiter.WakeData, waiter.Event(0).Data);

        waiter.ClearWake();
        Assert.Equal(0, waiter.Wait(0));
        waiter.Wake();
        waiter.Wake();
        Assert.Equal(1, WaitForEvents(waiter));
    }

    [Fact]
    public void Wake_RacingTheLoopsClear_IsNeverLost()
    {
        // Threads queue work and wake the loop as fast as they can, as peers' replies do for a
        // cluster node's event loop; every wake that lands while the loop clears the last one must
        // still end a later wait, or the loop sleeps with work queued.
        const int PerProducer = 300_000;
        const int Producers = 3;
        using var waiter = new EpollWaiter();
        var queued = new ConcurrentQueue<int>();
        var producers = Enumerable.Range(0, Producers).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < PerProducer; i++)
            {
                queued.Enqueue(i);
                waiter.Wake();

                // A short gap between wakes: many rounds, each a chance to land inside the loop's clear.
                Thread.SpinWait(20);
            }
        })).ToList();
        producers.ForEach(p => p.Start());
        var drained = 0;
        while (drained < Producers * PerProducer)
        {
            Assert.True(WaitForEvents(waiter) > 0, $"the loop slept with {queued.Count} queued after draining {drained}");
            waiter.ClearWake();
            while (queued.TryDequeue(out _))
            {
                drained++;
            }
        }

        producers.ForEach(p => p.Join());
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// Waits up to 10 s for events. A wait also ends with none when a signal interrupts it (the test
    /// host's children exit meanwhile: SIGCHLD), so only the time running out counts as none.
    /// </summary>
    private static int WaitForEvents(EpollWaiter waiter)
    {
        var clock = Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < 10_000)
        {
            var count = waiter.Wait((int)(10_000 - clock.ElapsedMilliseconds));
            if (count > 0)
            {
                return count;
            }
        }

        return 0;
    }
}
