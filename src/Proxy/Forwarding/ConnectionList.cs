namespace DataPlane.Proxy.Forwarding;

/// <summary>
/// The open connections of a listener, as intrusive doubly linked lists (no node allocated per
/// connection): the idle sweep, the drain and the connection count walk them. One list with its own
/// lock per epoll loop (a connection's <see cref="ProxyConnection.LoopIndex"/>), so the loops, which
/// accept and close connections at the same time, never wait for each other here.
/// </summary>
internal sealed class ConnectionList
{
    private readonly Stripe[] _stripes;

    public ConnectionList(int stripes)
    {
        _stripes = new Stripe[Math.Max(1, stripes)];
        for (var i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new Stripe();
        }
    }

    public int Count
    {
        get
        {
            var count = 0;
            foreach (var stripe in _stripes)
            {
                count += Volatile.Read(ref stripe.Count);
            }

            return count;
        }
    }

    /// <summary>
    /// Lists a connection that starts now (<paramref name="now"/>, the idle clock's timestamp). Its idle
    /// clock is started here, before the idle sweep can see it: otherwise a pooled or new instance still
    /// shows its last connection's time (or zero), and a sweep between this and its start reset it
    /// before it connected ("Connection reset by peer" on a first echo under load).
    /// </summary>
    public void Add(ProxyConnection connection, long now)
    {
        Volatile.Write(ref connection.LastActivity, now);
        var stripe = StripeOf(connection);
        lock (stripe.Lock)
        {
            connection.Next = stripe.Head;
            connection.Previous = null;
            if (stripe.Head is not null)
            {
                stripe.Head.Previous = connection;
            }

            stripe.Head = connection;
            stripe.Count++;
        }
    }

    public void Remove(ProxyConnection connection)
    {
        var stripe = StripeOf(connection);
        lock (stripe.Lock)
        {
            if (connection.Previous is not null)
            {
                connection.Previous.Next = connection.Next;
            }
            else if (stripe.Head == connection)
            {
                stripe.Head = connection.Next;
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
            stripe.Count--;
        }
    }

    /// <summary>
    /// Asks every copying connection to stop at its quiet point (a live migration). Under its list's
    /// lock, so a connection is not asked after it ended and was reused; over a snapshot, since a
    /// cancelled receive may finish a connection inline, and its removal would cut the walk short.
    /// </summary>
    public List<PairMigration> RequestQuiesce()
    {
        var requests = new List<PairMigration>();
        foreach (var stripe in _stripes)
        {
            lock (stripe.Lock)
            {
                var snapshot = new List<ProxyConnection>(stripe.Count);
                for (var c = stripe.Head; c is not null; c = c.Next)
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
        }

        return requests;
    }

    /// <summary>
    /// Aborts every connection <paramref name="shouldAbort"/> selects. Under its list's lock, so a
    /// connection that ends meanwhile is not aborted after it was pooled and reused.
    /// </summary>
    public int AbortWhere(Func<ProxyConnection, bool> shouldAbort)
    {
        var aborted = 0;
        foreach (var stripe in _stripes)
        {
            lock (stripe.Lock)
            {
                for (var c = stripe.Head; c is not null; c = c.Next)
                {
                    if (shouldAbort(c))
                    {
                        c.Abort(reset: true);
                        aborted++;
                    }
                }
            }
        }

        return aborted;
    }

    /// <summary>
    /// The loop a new connection accepted on <paramref name="preferred"/> should run on: that one (no
    /// thread hop) unless another loop has at least two connections fewer, then the one with fewest.
    /// HAProxy's listener hands an accepted connection to the less loaded of two threads the same way.
    /// </summary>
    /// <remarks>
    /// A kept-alive connection stays on its loop for its whole life, so the split of a burst is the
    /// split of the work: a slack of a quarter of the loop's connections let wrk's 50 stay as uneven as
    /// 29/21 (the loops' CPU split 57/43 to 61/39 over runs, 49/51 at most now), and the busier loop's
    /// connections, queued longer, set the keep-alive p99. One connection of slack keeps ties where they
    /// were accepted; with a new connection per request it moves about 5% of them to another loop
    /// (eventfd writes over accepts, strace, wrk -c50), against 2.5% before.
    /// </remarks>
    public int LeastBusy(int preferred)
    {
        var best = preferred;
        var fewest = Volatile.Read(ref _stripes[preferred].Count) - 1;
        for (var i = 0; i < _stripes.Length; i++)
        {
            var count = Volatile.Read(ref _stripes[i].Count);
            if (count < fewest)
            {
                best = i;
                fewest = count;
            }
        }

        return best;
    }

    private Stripe StripeOf(ProxyConnection connection) => _stripes[connection.LoopIndex % _stripes.Length];

    private sealed class Stripe
    {
        public readonly Lock Lock = new();
        public ProxyConnection? Head;
        public int Count;
    }
}
