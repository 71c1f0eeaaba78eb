namespace DataPlane.Proxy.Forwarding;

/// <summary>
/// The open connections of a listener, as an intrusive doubly linked list (no node allocated per
/// connection): the idle sweep, the drain and the connection count walk it.
/// </summary>
internal sealed class ConnectionList
{
    private readonly Lock _lock = new();
    private ProxyConnection? _head;
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Add(ProxyConnection connection)
    {
        lock (_lock)
        {
            connection.Next = _head;
            connection.Previous = null;
            if (_head is not null)
            {
                _head.Previous = connection;
            }

            _head = connection;
            _count++;
        }
    }

    public void Remove(ProxyConnection connection)
    {
        lock (_lock)
        {
            if (connection.Previous is not null)
            {
                connection.Previous.Next = connection.Next;
            }
            else if (_head == connection)
            {
                _head = connection.Next;
            }
            else
            {
                return;
            }

            if (connection.Next is not null)
            {
                connection.Next.Previous = connection.Previous;
            }

            connection.Next = null;
            connection.Previous = null;
            _count--;
        }
    }

    /// <summary>
    /// Asks every copying connection to stop at its quiet point (a live migration). Under the lock, so
    /// a connection is not asked after it ended and was reused; over a snapshot, since a cancelled
    /// receive may finish a connection inline, and its removal would cut the walk short.
    /// </summary>
    public List<PairMigration> RequestQuiesce()
    {
        var requests = new List<PairMigration>();
        lock (_lock)
        {
            var snapshot = new List<ProxyConnection>(_count);
            for (var c = _head; c is not null; c = c.Next)
            {
                snapshot.Add(c);
            }

            foreach (var c in snapshot)
            {
                if (c.RequestQuiesce() is { } request)
                {
                    requests.Add(request);
                }
            }
        }

        return requests;
    }

    /// <summary>
    /// Aborts every connection <paramref name="shouldAbort"/> selects. Under the lock, so a connection
    /// that ends meanwhile is not aborted after it was pooled and reused.
    /// </summary>
    public int AbortWhere(Func<ProxyConnection, bool> shouldAbort)
    {
        var aborted = 0;
        lock (_lock)
        {
            for (var c = _head; c is not null; c = c.Next)
            {
                if (shouldAbort(c))
                {
                    c.Abort(reset: true);
                    aborted++;
                }
            }
        }

        return aborted;
    }
}
