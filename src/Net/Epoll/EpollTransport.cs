namespace DataPlane.Net.Epoll;

/// <summary>
/// A proxy's socket engine on Linux: a few epoll loops (one per core by default) that connect
/// upstreams and copy bytes between pairs of sockets the way HAProxy does: edge-triggered, a
/// receive only when the last one filled the buffer or an edge says more came, a send straight
/// from the same buffer. The runtime's sockets try every receive once more and meet EAGAIN before
/// they wait (shared/PERF-NOTES.md); here a request costs one receive and one send each way.
/// </summary>
/// <remarks>
/// An event carries its pair's slot, the pair's generation (a pooled pair serves many connections)
/// and the side, so an event left over from an earlier connection is recognised and dropped.
/// </remarks>
internal sealed class EpollTransport
{
    private static readonly Lazy<EpollTransport> SharedTransport = new(() => new EpollTransport(Environment.ProcessorCount, PinLoops));
    private const ulong ListenerBit = 1UL << 63;
    private readonly EpollLoop[] _loops;
    private readonly Lock _gate = new();
    private EpollPair[] _pairs = new EpollPair[64];
    private readonly Dictionary<(int Size, int Loop), Stack<EpollPair>> _free = [];
    private EpollListener?[] _listeners = new EpollListener?[4];
    private int _count;

    private EpollTransport(int loops, bool pin)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(loops, 1);
        _loops = new EpollLoop[loops];
        for (var i = 0; i < loops; i++)
        {
            _loops[i] = new EpollLoop(this, i, pin);
        }
    }

    /// <summary>
    /// Whether the loops of <see cref="Shared"/> each bind themselves to one CPU (loop N to the Nth the
    /// process may run on); read once, when <see cref="Shared"/> is first used, so set it before that.
    /// Off by default: several processes that each bind their first loop to the first CPU would crowd it
    /// (HAProxy's cpu-map and nginx's worker_cpu_affinity are opt-in for the same reason).
    /// </summary>
    /// <remarks>
    /// On the 2-core bench machine, loaded by other work, binding the loops gave 1.06x-1.19x the keep-alive
    /// requests/s of the same build unbound and a 25-32% lower median p99 in three interleaved runs (8 rounds
    /// of 4 s), and 1.12x (p99 29% lower) with a new connection per request; HAProxy with
    /// <c>cpu-map auto:1/1-2 0-1</c> gained 1.00x-1.06x (p99 11-13% lower) with keep-alive and 1.11x (24%)
    /// with a connection per request. A loop that stays on its CPU keeps its connections' state in that
    /// CPU's cache and is not moved behind wrk or nginx.
    /// </remarks>
    public static bool PinLoops { get; set; }

    /// <summary>
    /// The process's transport, one loop per core, started on first use and never stopped (as the
    /// runtime's own socket engine): every listener of a process shares its loops.
    /// </summary>
    public static EpollTransport Shared => SharedTransport.Value;

    /// <summary>The loops (listeners join each of them).</summary>
    internal EpollLoop[] Loops => _loops;

    /// <summary>Accepts on <paramref name="fd"/> (a listening socket) with these loops once started; the descriptor stays the caller's.</summary>
    public EpollListener Listen(int fd, IEpollAcceptHandler handler)
    {
        lock (_gate)
        {
            var id = Array.IndexOf(_listeners, null);
            if (id < 0)
            {
                id = _listeners.Length;
                var bigger = new EpollListener?[_listeners.Length * 2];
                _listeners.CopyTo(bigger, 0);
                Volatile.Write(ref _listeners, bigger);
            }

            var listener = new EpollListener(this, fd, handler, id);
            _listeners[id] = listener;
            return listener;
        }
    }

    /// <summary>Frees a stopped listener's slot.</summary>
    internal void Release(int id, EpollListener listener)
    {
        lock (_gate)
        {
            if (_listeners[id] == listener)
            {
                _listeners[id] = null;
            }
        }
    }

    /// <summary>Takes back a pair its owner no longer uses (its sockets closed): the next <see cref="CreatePair"/> of its size reuses it.</summary>
    public void Return(EpollPair pair)
    {
        lock (_gate)
        {
            if (!_free.TryGetValue((pair.BufferSize, pair.LoopIndex), out var free))
            {
                _free[(pair.BufferSize, pair.LoopIndex)] = free = new Stack<EpollPair>();
            }

            free.Push(pair);
        }
    }

    /// <summary>Pairs of <paramref name="bufferSize"/> returned and not reused yet, over all loops.</summary>
    internal int FreePairs(int bufferSize)
    {
        lock (_gate)
        {
            var count = 0;
            foreach (var ((size, _), free) in _free)
            {
                count += size == bufferSize ? free.Count : 0;
            }

            return count;
        }
    }

    /// <summary>
    /// A pair buffering <paramref name="bufferSize"/> bytes each way, bound to loop <paramref name="loop"/>
    /// (modulo the loop count) for its whole life; pairs are meant to be pooled by their owner.
    /// </summary>
    public EpollPair CreatePair(int bufferSize, int loop)
    {
        loop = (int)((uint)loop % (uint)_loops.Length);
        lock (_gate)
        {
            if (_free.TryGetValue((bufferSize, loop), out var free) && free.TryPop(out var reused))
            {
                return reused;
            }

            if (_count == _pairs.Length)
            {
                var bigger = new EpollPair[_pairs.Length * 2];
                _pairs.CopyTo(bigger, 0);
                Volatile.Write(ref _pairs, bigger);
            }

            var slot = _count++;
            var pair = new EpollPair(_loops[loop], slot, bufferSize);
            _pairs[slot] = pair;
            return pair;
        }
    }

    /// <summary>The number of loops.</summary>
    public int LoopCount => _loops.Length;

    /// <summary>Routes one event to its pair or listener (on the loop thread that received it).</summary>
    internal void Dispatch(EpollLoop loop, ulong data, uint events)
    {
        if ((data & ListenerBit) != 0)
        {
            Volatile.Read(ref _listeners)[(int)(data & ~ListenerBit)]?.OnReady(loop);
            return;
        }

        var pair = Volatile.Read(ref _pairs)[(int)(data >> 33)];
        pair.OnEvent((uint)(data >> 1), (int)(data & 1), events);
    }

    /// <summary>The tag of a listener in epoll (the top bit; pair slots stay far below it).</summary>
    internal static ulong ListenerTag(int id) => ListenerBit | (uint)id;

    /// <summary>The tag of a pair's socket in epoll.</summary>
    internal static ulong Tag(int slot, uint generation, int side) => ((ulong)slot << 33) | ((ulong)generation << 1) | (uint)side;
}
