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
    private static readonly Lazy<EpollTransport> SharedTransport = new(() => new EpollTransport(Environment.ProcessorCount));
    private readonly EpollLoop[] _loops;
    private readonly Lock _gate = new();
    private EpollPair[] _pairs = new EpollPair[64];
    private readonly Dictionary<int, Stack<EpollPair>> _free = [];
    private int _count;

    private EpollTransport(int loops)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(loops, 1);
        _loops = new EpollLoop[loops];
        for (var i = 0; i < loops; i++)
        {
            _loops[i] = new EpollLoop(this, i);
        }
    }

    /// <summary>
    /// The process's transport, one loop per core, started on first use and never stopped (as the
    /// runtime's own socket engine): every listener of a process shares its loops.
    /// </summary>
    public static EpollTransport Shared => SharedTransport.Value;

    /// <summary>Takes back a pair its owner no longer uses (its sockets closed): the next <see cref="CreatePair"/> of its size reuses it.</summary>
    public void Return(EpollPair pair)
    {
        lock (_gate)
        {
            if (!_free.TryGetValue(pair.BufferSize, out var free))
            {
                _free[pair.BufferSize] = free = new Stack<EpollPair>();
            }

            free.Push(pair);
        }
    }

    /// <summary>A new pair buffering <paramref name="bufferSize"/> bytes each way, bound to one loop for its whole life; pairs are meant to be pooled by their owner.</summary>
    public EpollPair CreatePair(int bufferSize)
    {
        lock (_gate)
        {
            if (_free.TryGetValue(bufferSize, out var free) && free.TryPop(out var reused))
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
            var pair = new EpollPair(_loops[slot % _loops.Length], slot, bufferSize);
            _pairs[slot] = pair;
            return pair;
        }
    }

    /// <summary>Routes one event to its pair (on the pair's loop thread).</summary>
    internal void Dispatch(ulong data, uint events)
    {
        var pair = Volatile.Read(ref _pairs)[(int)(data >> 33)];
        pair.OnEvent((uint)(data >> 1), (int)(data & 1), events);
    }

    /// <summary>The tag of a pair's socket in epoll.</summary>
    internal static ulong Tag(int slot, uint generation, int side) => ((ulong)slot << 33) | ((ulong)generation << 1) | (uint)side;
}
