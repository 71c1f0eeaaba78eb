namespace DataPlane.Log.Storage;

/// <summary>
/// A counting wake-up for the partition's writer and syncer threads that blocks without spinning first.
/// <see cref="SemaphoreSlim.Wait()"/> spins before it sleeps; two such threads per partition on a small,
/// shared machine spent more CPU spinning than writing.
/// </summary>
internal sealed class WakeSignal
{
    private readonly object _gate = new(); // Monitor.Wait/Pulse need an object, not a Lock
    private int _count;

    public void Release()
    {
        lock (_gate)
        {
            _count++;
            Monitor.Pulse(_gate);
        }
    }

    public void Wait()
    {
        lock (_gate)
        {
            while (_count == 0)
            {
                Monitor.Wait(_gate);
            }

            _count--;
        }
    }
}
