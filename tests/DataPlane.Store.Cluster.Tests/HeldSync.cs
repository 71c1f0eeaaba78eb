using Microsoft.Win32.SafeHandles;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// A hint file's sync the test holds, standing in for the disk: each of the first <paramref name="hold"/> calls
/// signals <see cref="StartedAsync"/> and waits (at most a minute) for <see cref="Release"/>; a call for which
/// <paramref name="fails"/> says so then throws, as a failing disk's fdatasync does (or, with <paramref name="bug"/>, as a bug would).
/// </summary>
internal sealed class HeldSync(int hold = int.MaxValue, Func<int, bool>? fails = null, bool bug = false) : IDisposable
{
    private readonly SemaphoreSlim _started = new(0);
    private readonly ManualResetEventSlim _released = new();
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public void Sync(SafeFileHandle file)
    {
        var call = Interlocked.Increment(ref _calls);
        if (call <= hold)
        {
            _started.Release();
            Assert.True(_released.Wait(TimeSpan.FromSeconds(60)), "the test released the sync");
        }

        if (fails?.Invoke(call) == true)
        {
            throw bug ? new InvalidOperationException("a bug in the sync") : new IOException("fdatasync: Input/output error");
        }
    }

    /// <summary>Whether a held sync started within 10 s.</summary>
    public Task<bool> StartedAsync() => _started.WaitAsync(TimeSpan.FromSeconds(10));

    public void Release() => _released.Set();

    public void Dispose()
    {
        _released.Set();
        _started.Dispose();
        _released.Dispose();
    }
}
