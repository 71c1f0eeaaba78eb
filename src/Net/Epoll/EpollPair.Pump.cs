using System.Runtime.InteropServices;

namespace DataPlane.Net.Epoll;

/// <summary>
/// The copy: each direction has one buffer; it is filled by one receive only when empty and sent
/// from until empty, so a slow reader stops the receiving (the kernel's window closes towards the
/// sender) without any further bookkeeping. A turn moves at most <see cref="TurnReceives"/> buffers
/// each way; a pair with more to move goes on after the other pairs of its loop had theirs.
/// </summary>
internal sealed unsafe partial class EpollPair
{
    /// <summary>
    /// Receives per direction in one turn (64 KiB with 16 KiB buffers, some 40 µs here): a sender that
    /// keeps the socket full would otherwise keep the loop to itself, every other connection on it
    /// waiting (HAProxy bounds a stream's turn the same way: one buffer, tune.maxpollevents).
    /// </summary>
    internal const int TurnReceives = 4;

    /// <summary>The generation whose turn is queued: a turn queued for an earlier connection of this pooled pair is dropped.</summary>
    private uint _turnGeneration;

    /// <summary>The next pair in the loop's list of queued turns.</summary>
    internal EpollPair? NextTurn;

    /// <summary>Whether the pair is in its loop's list of queued turns.</summary>
    internal bool TurnQueued;

    /// <summary>Turns that ended with more to move (tests read it).</summary>
    internal int TurnsUsedUp;

    /// <summary>The turn <see cref="Pump"/> queued, on the loop thread.</summary>
    internal void OnTurn()
    {
        if (_turnGeneration == _generation && State == PairState.Forwarding)
        {
            Pump();
        }
    }

    private void Pump()
    {
        var receive = !_pausing;
        var toUpstream = Move(_toUpstream, _toClient, receive);
        if (IsFailure(toUpstream))
        {
            Finish(Failure(toUpstream));
            return;
        }

        var toClient = Move(_toClient, _toUpstream, receive);
        if (IsFailure(toClient))
        {
            Finish(Failure(toClient));
        }
        else if (toUpstream == Step.TurnUsedUp || toClient == Step.TurnUsedUp)
        {
            _turnGeneration = _generation;
            TurnsUsedUp++;
            _loop.QueueTurn(this);
        }
        else if (_toUpstream.Ended && _toClient.Ended)
        {
            Finish(PairResult.Completed);
        }
        else if (_pausing && _toUpstream.Head == _toUpstream.Tail && _toClient.Head == _toClient.Tail)
        {
            Finish(PairResult.Paused);
        }
    }

    private static bool IsFailure(Step step) => step is not (Step.Waiting or Step.Ended or Step.TurnUsedUp);

    private static PairResult Failure(Step step) => step switch
    {
        Step.ClientReset => PairResult.ClientReset,
        Step.UpstreamReset => PairResult.UpstreamReset,
        _ => PairResult.Failed,
    };

    /// <summary>
    /// Moves what one direction can move now (receiving only if <paramref name="receive"/>); says
    /// whether it waits for an edge, ended, or failed.
    /// </summary>
    private static Step Move(Direction d, Direction other, bool receive)
    {
        if (d.Ended)
        {
            return Step.Ended;
        }

        var receives = 0;
        while (true)
        {
            if (d.Head < d.Tail)
            {
                if (!d.Writable)
                {
                    return Step.Waiting;
                }

                var sent = EpollNative.Send(d.To, d.Pointer + d.Head, d.Tail - d.Head, EpollNative.MsgDontWait | EpollNative.MsgNoSignal);
                if (sent > 0)
                {
                    d.Head += (int)sent;
                    if (d.Head < d.Tail)
                    {
                        // A short send: the socket's buffer is full until the next EPOLLOUT edge.
                        d.Writable = false;
                        return Step.Waiting;
                    }

                    d.Head = d.Tail = 0;
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == EpollNative.Eintr)
                {
                    continue;
                }

                if (errno == EpollNative.Eagain)
                {
                    d.Writable = false;
                    return Step.Waiting;
                }

                return Reset(errno, d.ToSide);
            }

            if (d.Eof)
            {
                d.Ended = true;

                // The first direction to end passes its FIN on; after the second, the owner's close sends it.
                if (!other.Ended && EpollNative.Shutdown(d.To, EpollNative.ShutWrite) != 0)
                {
                    return Step.Failed;
                }

                return Step.Ended;
            }

            if (!d.Readable || !receive)
            {
                return Step.Waiting;
            }

            if (receives == TurnReceives)
            {
                // The buffer is empty here: everything received this turn was sent.
                return Step.TurnUsedUp;
            }

            var received = EpollNative.Receive(d.From, d.Pointer, d.Capacity, EpollNative.MsgDontWait);
            if (received > 0)
            {
                receives++;
                d.Tail = (int)received;
                d.Observer!.OnTransferred((int)received);

                // A short read emptied the socket: the next edge says when more arrives. After a FIN
                // alone (EPOLLRDHUP) every byte before it was queued, so a short read took the last
                // ones and the next receive could only say 0: the end is known without it (HAProxy
                // saves that receive too). After an error no edge will come, so then read on until
                // the end or the error shows.
                if (received < d.Capacity)
                {
                    if (d.FinOnly)
                    {
                        d.Eof = true;
                    }
                    else if (!d.HungUp)
                    {
                        d.Readable = false;
                    }
                }

                continue;
            }

            if (received == 0)
            {
                d.Eof = true;
                continue;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error == EpollNative.Eintr)
            {
                continue;
            }

            if (error == EpollNative.Eagain)
            {
                d.Readable = false;
                return Step.Waiting;
            }

            return Reset(error, d.FromSide);
        }
    }

    /// <summary>ECONNRESET or EPIPE on a side is that side's reset; anything else a failure.</summary>
    private static Step Reset(int errno, int side) => errno is 104 or 32
        ? side == ClientSide ? Step.ClientReset : Step.UpstreamReset
        : Step.Failed;

    private enum Step
    {
        Waiting,
        Ended,

        /// <summary>Readable still, and the turn's receives used up.</summary>
        TurnUsedUp,
        ClientReset,
        UpstreamReset,
        Failed,
    }

    /// <summary>One copy direction: its pinned buffer, its two descriptors and what the last edges said.</summary>
    private sealed class Direction
    {
        private readonly byte[] _buffer;

        public Direction(int capacity, int fromSide)
        {
            _buffer = GC.AllocateUninitializedArray<byte>(capacity, pinned: true);
            Pointer = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_buffer, 0);
            Capacity = capacity;
            FromSide = fromSide;
            ToSide = 1 - fromSide;
        }

        public byte* Pointer { get; }

        public int Capacity { get; }

        public int FromSide { get; }

        public int ToSide { get; }

        public int From { get; private set; } = -1;

        public int To { get; private set; } = -1;

        public ITransferObserver? Observer { get; private set; }

        public int Head;
        public int Tail;
        public bool Readable;
        public bool HungUp;

        /// <summary>The peer's FIN was seen, and no error or hang-up: the socket holds nothing after what is queued.</summary>
        public bool FinOnly;
        public bool Writable;
        public bool Eof;
        public bool Ended;

        public void Reset()
        {
            Head = Tail = 0;
            Readable = HungUp = FinOnly = Writable = Eof = Ended = false;
        }

        public void Bind(int from, int to, ITransferObserver observer)
        {
            From = from;
            To = to;
            Observer = observer;
        }
    }
}
