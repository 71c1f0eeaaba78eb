namespace DataPlane.Store.Server;

/// <summary>Counters for INFO, updated with interlocked operations from every connection.</summary>
internal sealed class ServerStats(TimeProvider time)
{
    private long _connected;
    private long _totalConnections;
    private long _totalCommands;
    private long _expiredKeys;
    private long _rejectedProtocol;

    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public long Connected => Volatile.Read(ref _connected);

    public long TotalConnections => Volatile.Read(ref _totalConnections);

    public long TotalCommands => Volatile.Read(ref _totalCommands);

    public long ExpiredKeys => Volatile.Read(ref _expiredKeys);

    public long ProtocolErrors => Volatile.Read(ref _rejectedProtocol);

    public long Opened()
    {
        Interlocked.Increment(ref _connected);
        return Interlocked.Increment(ref _totalConnections);
    }

    public void Closed() => Interlocked.Decrement(ref _connected);

    public void Commands(int count) => Interlocked.Add(ref _totalCommands, count);

    public void Expired(int count) => Interlocked.Add(ref _expiredKeys, count);

    public void ProtocolError() => Interlocked.Increment(ref _rejectedProtocol);
}
