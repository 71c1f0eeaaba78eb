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
        Assert.Equal(1, waiter.Wait(30_000));
        other.Join();
        Assert.Equal(EpollWaiter.WakeData, waiter.Event(0).Data);

        waiter.ClearWake();
        Assert.Equal(0, waiter.Wait(0));
        waiter.Wake();
        waiter.Wake();
        Assert.Equal(1, waiter.Wait(30_000));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
