using System.Net.Sockets;
using System.Runtime.InteropServices;
using DataPlane.Net.Epoll;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// An event loop's sends. During a round of the loop's events, a frame written from the loop's thread
/// joins the outbox to the round instead of waking the sending loop; at the end of the round the loop
/// sends each outbox of the round once, from its own thread, with a non-blocking <c>send</c> on the
/// descriptor, as it sends its clients' replies: no thread-pool hop, no lock taken for a peer the round
/// wrote nothing to, and no trip through the runtime's socket machinery. Only what the kernel will not
/// take at once goes through the runtime's asynchronous send, which joins the runtime's epoll then.
/// </summary>
internal sealed partial class FrameOutbox
{
    [ThreadStatic]
    private static List<FrameOutbox>? t_round;

    // How many rounds (of any loops) hold this outbox, and the last round it joined: each loop's round
    // sends what it wrote without waiting for another loop's round to end (a round may wait for a log
    // write); only the outbox's own sender holds back while any round will send.
    private int _rounds;
    private List<FrameOutbox>? _lastRound;

    /// <summary>Starts a round on the calling loop thread: outboxes written to from this thread gather in <paramref name="round"/> until <see cref="SendRound"/>.</summary>
    public static void BeginRound(List<FrameOutbox> round) => t_round = round;

    /// <summary>Ends the calling thread's round and sends every outbox written to during it.</summary>
    public static void SendRound(List<FrameOutbox> round)
    {
        t_round = null;
        try
        {
            foreach (var outbox in round)
            {
                outbox.SendFromRound(round);
            }
        }
        finally
        {
            round.Clear();
        }
    }

    /// <summary>
    /// Ends a <see cref="Cork"/> on a loop thread: what was written meanwhile leaves with the round's
    /// sends (at once, outside a round), without <see cref="UncorkAndSendAsync"/>'s asynchronous path;
    /// a failed send is reported to the constructor's callback.
    /// </summary>
    public void Uncork()
    {
        lock (_lock)
        {
            _corked--;
            if (!TryTake(fromRound: false))
            {
                return;
            }
        }

        SendTaken();
    }

    /// <summary>Called under the lock by a frame written during a round: the round sends it, nobody else needs waking.</summary>
    private void JoinRound(List<FrameOutbox> round)
    {
        // Another loop's round in between makes this one join again: each entry ends one count.
        if (_lastRound != round)
        {
            _lastRound = round;
            _rounds++;
            round.Add(this);
        }
    }

    private void SendFromRound(List<FrameOutbox> round)
    {
        lock (_lock)
        {
            _rounds--;
            if (_lastRound == round)
            {
                _lastRound = null;
            }

            if (!TryTake(fromRound: true))
            {
                return;
            }
        }

        SendTaken();
    }

    /// <summary>
    /// Under the lock: takes the written frames for sending if nobody else may send now; otherwise leaves them
    /// to whoever may. A round's end sends whatever other loops' rounds still hold (the frames are whole).
    /// </summary>
    private bool TryTake(bool fromRound)
    {
        if (_closed)
        {
            return false;
        }

        if (_busy || _corked > 0 || (!fromRound && _rounds > 0) || _filling.WrittenCount == 0)
        {
            WakeIfPending();
            return false;
        }

        (_filling, _sending) = (_sending, _filling);
        _busy = true;
        return true;
    }

    /// <summary>Sends the batch taken into <c>_sending</c> with non-blocking sends; what the kernel does not take goes on asynchronously.</summary>
    private unsafe void SendTaken()
    {
        var batch = _sending.WrittenSpan;
        var sent = 0;
        var failed = false;
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            // The reference keeps the descriptor from being closed (and its number reused) during the call.
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            fixed (byte* p = batch)
            {
                while (sent < batch.Length)
                {
                    var n = EpollNative.Send(fd, p + sent, batch.Length - sent, EpollNative.MsgDontWait | EpollNative.MsgNoSignal);
                    if (n >= 0)
                    {
                        sent += (int)n;
                        continue;
                    }

                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EpollNative.Eintr)
                    {
                        continue;
                    }

                    failed = errno != EpollNative.Eagain;
                    break;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            failed = true;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        if (sent == batch.Length)
        {
            RecycleSent();
            EndSend(failed: false);
        }
        else if (failed)
        {
            EndSend(failed: true);
        }
        else
        {
            _ = SendRestAsync(sent);
        }
    }

    /// <summary>The kernel took only part of the batch: the runtime's send finishes it, on its own epoll thread.</summary>
    private async Task SendRestAsync(int offset)
    {
        var failed = false;
        try
        {
            await socket.SendAsync(_sending.WrittenMemory[offset..], SocketFlags.None).ConfigureAwait(false);
            RecycleSent();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            failed = true;
        }

        EndSend(failed);
    }

    /// <summary>Gives up <c>_busy</c>; after a failure the outbox takes no more frames and the connection is dropped.</summary>
    private void EndSend(bool failed)
    {
        lock (_lock)
        {
            _busy = false;
            if (failed)
            {
                _closed = true;
            }
            else
            {
                WakeIfPending();
            }
        }

        if (failed)
        {
            onSendFailed?.Invoke();
        }
    }
}
