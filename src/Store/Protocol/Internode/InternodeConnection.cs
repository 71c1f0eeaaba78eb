using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using DataPlane.Store.Hints;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// One peer's connection into this node: reads whole frames, applies writes and answers reads on its
/// own replica session in arrival order, and answers with the request's id; acknowledgements of
/// writes leave only once the log holds them. A read-modify-write
/// (<see cref="FrameType.Execute"/>) runs asynchronously and its reply joins the others when done.
/// A malformed frame throws <see cref="InvalidDataException"/>, which closes the connection with
/// nothing of that frame applied.
/// </summary>
internal sealed class InternodeConnection(Socket socket, string localName, string clusterName, Replica.Replica replica, HintStore hints, Func<byte[], Task<byte[]>> execute, AntiEntropy.AntiEntropyResponder? antiEntropy = null, Func<FrameType, byte[], Task<PeerResponse>>? membership = null, Action<string>? malformed = null)
{
    private const int MaxNameLength = Cluster.ClusterOptions.MaxNameLength;

    private ILoopConnection? _receiver;

    /// <summary>Serves the connection on the runtime's sockets: handshake, then frames until it ends.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        try
        {
            await ReadHandshakeAsync(input, clusterName, cancellationToken).ConfigureAwait(false);
            await socket.SendAsync(Handshake.Build(localName, clusterName), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            await ServeFramesAsync(input, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Serves the connection on <paramref name="loop"/> (see <see cref="InternodeReceiver"/>). The
    /// handshake is made with blocking calls on a thread of its own, so that the socket never joins
    /// the runtime's epoll; when the loop has ended (the node is stopping) the connection is closed
    /// and the peer counts this node as down.
    /// </summary>
    /// <exception cref="InvalidDataException">The peer sent a malformed handshake (a malformed frame is reported to the constructor's <c>malformed</c> before the loop closes the connection).</exception>
    public async Task RunOnLoopAsync(IPeerLoop loop, CancellationToken cancellationToken)
    {
        await Task.Factory.StartNew(() => HandshakeBlocking(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        InternodeReceiver? receiver = null;
        var outbox = new FrameOutbox(socket, () => loop.Drop(receiver!));
        using var session = replica.NewSession();
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        receiver = new InternodeReceiver(this, socket, session, outbox, replica);

        // Published before the stopping check: Abort, which runs after stopping is signalled, then
        // either sees the receiver and drops it through the loop, or this sees stopping and never
        // hands the loop a socket Abort may have closed.
        Interlocked.Exchange(ref _receiver, receiver);
        if (cancellationToken.IsCancellationRequested || !loop.TryAdopt(receiver))
        {
            loop.Drop(receiver);
            return;
        }

        var sending = outbox.RunAsync(ending.Token);
        try
        {
            // The session stays in use until the loop closes the connection: only then is it disposed.
            await receiver.Ended.ConfigureAwait(false);
        }
        finally
        {
            await ending.CancelAsync().ConfigureAwait(false);
            await sending.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    /// <summary>The loop is about to close the connection for a malformed frame (loop thread): counted before the peer can see the close.</summary>
    internal void OnMalformed(string reason) => malformed?.Invoke(reason);

    /// <summary>Closes the connection (any thread): through the loop once it receives on it, since only the loop may close an fd it reads.</summary>
    public void Abort(IPeerLoop? loop)
    {
        if (loop is not null && Volatile.Read(ref _receiver) is { } receiver)
        {
            loop.Drop(receiver);
        }
        else
        {
            socket.Dispose();
        }
    }

    private async Task ServeFramesAsync(PipeReader input, CancellationToken cancellationToken)
    {
        var outbox = new FrameOutbox(socket, socket.Dispose);
        using var session = replica.NewSession();
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sending = outbox.RunAsync(ending.Token);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                var before = session.LastSequence;
                outbox.Cork();
                try
                {
                    // A malformed frame ends the connection with the outbox still corked: the acks of the
                    // writes before it were never secured in the log, so they must not go out.
                    HandleFrames(ref buffer, session, outbox);
                }
                finally
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }

                // The acknowledgements go out only once the writes they confirm would survive this
                // process being killed (or, with fsync always, the machine): a coordinator counts them
                // towards its quorum. A log that refuses them ends the connection unacknowledged.
                if (session.LastSequence != before && !await replica.Wal.SecureAsync(session.LastSequence).ConfigureAwait(false))
                {
                    return;
                }

                await outbox.UncorkAndSendAsync(cancellationToken).ConfigureAwait(false);

                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            await ending.CancelAsync().ConfigureAwait(false);
            await sending.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the peer's handshake and answers it with blocking calls, bounded: a watchdog disposes the socket at the timeout or on stopping.</summary>
    private void HandshakeBlocking(CancellationToken cancellationToken)
    {
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        watchdog.CancelAfter(Handshake.Timeout);
        using (watchdog.Token.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket))
        {
            if (Handshake.ReceiveBlocking(socket, clusterName) is null)
            {
                throw new InvalidDataException("the peer closed before its handshake");
            }

            socket.Send(Handshake.Build(localName, clusterName));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (watchdog.IsCancellationRequested)
        {
            throw new IOException("a peer did not complete its handshake in time");
        }
    }

    private static async Task ReadHandshakeAsync(PipeReader input, string clusterName, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Handshake.Timeout);
        while (true)
        {
            var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (Handshake.TryRead(ref buffer, clusterName, out _))
            {
                input.AdvanceTo(buffer.Start);
                return;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new InvalidDataException("the peer closed before its handshake");
            }
        }
    }

    /// <summary>
    /// Applies or answers every whole frame at the front of <paramref name="buffer"/>; true if there was one.
    /// It prefetches the FASTER buckets and records of the next <see cref="FasterPrefetch.Lookahead"/> frames' keys
    /// (<see cref="Frame.KeyHashes"/>), and again once it has handled those: a batch of replicated writes
    /// otherwise waits on two cache misses per write in turn.
    /// </summary>
    internal bool HandleFrames(ref ReadOnlySequence<byte> buffer, ReplicaSession session, FrameOutbox outbox)
    {
        var prefetch = FasterPrefetch.IsSupported ? replica.Prefetch : null;
        Span<long> hashes = stackalloc long[FasterPrefetch.Lookahead];
        var handled = 0;
        var ahead = 0;
        while (Frame.TryRead(ref buffer, out var type, out var id, out var payload))
        {
            // After taking the frame, so that a lone one costs nothing; again once the frames looked at are
            // handled (at once, when none after it was whole).
            if (--ahead <= 0 && prefetch is not null && !buffer.IsEmpty)
            {
                prefetch.Prefetch(hashes[..Frame.KeyHashes(buffer.FirstSpan, hashes, out ahead)]);
            }

            Handle(type, id, payload, session, outbox);
            handled++;
        }

        return handled > 0;
    }

    /// <summary>Applies or answers one frame; its reply goes into <paramref name="outbox"/>.</summary>
    private void Handle(FrameType type, ulong id, ReadOnlySequence<byte> payload, ReplicaSession session, FrameOutbox outbox)
    {
        byte[]? rented = null;
        var length = (int)payload.Length;
        Span<byte> scratch = length <= 512 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        payload.CopyTo(scratch);
        try
        {
            switch (type)
            {
                case FrameType.Ping:
                    outbox.Write(FrameType.Pong, id, default);
                    break;
                case FrameType.Write:
                    {
                        Frame.SplitKeyValue(scratch, out var key, out var stored);
                        var outcome = session.Merge(key, stored);
                        outbox.Write(FrameType.Ack, id, [(byte)outcome]);
                        break;
                    }

                case FrameType.Read:
                    if (session.TryReadStored(scratch, out var value))
                    {
                        outbox.Write(FrameType.Value, id, [1], value);
                    }
                    else
                    {
                        outbox.Write(FrameType.Value, id, [0]);
                    }

                    break;
                case FrameType.Hint:
                    {
                        var nameLength = scratch.IsEmpty ? 0 : scratch[0];
                        if (nameLength is 0 or > MaxNameLength || scratch.Length < 1 + nameLength)
                        {
                            throw new InvalidDataException("internode hint frame has a malformed target name");
                        }

                        var target = Encoding.ASCII.GetString(scratch.Slice(1, nameLength));
                        if (!Cluster.ClusterOptions.IsValidName(target))
                        {
                            // The name becomes a file name in the hints directory: "../x" would put it elsewhere.
                            throw new InvalidDataException("internode hint frame's target is not a node id");
                        }

                        Frame.SplitKeyValue(scratch[(1 + nameLength)..], out var key, out var stored);
                        var kept = hints.AddAsync(target, key, stored);
                        if (kept.IsCompletedSuccessfully)
                        {
                            AnswerHint(id, kept.Result, outbox);
                        }
                        else
                        {
                            // Under fsync always the acknowledgement waits for the hints' group commit, not the frames after it.
                            _ = AnswerHintAsync(id, kept, outbox);
                        }

                        break;
                    }

                case FrameType.Execute:
                    _ = ExecuteAsync(id, scratch.ToArray(), outbox);
                    break;
                case var _ when antiEntropy is not null && AntiEntropy.AntiEntropyResponder.Handles(type):
                    antiEntropy.Dispatch(type, id, scratch, outbox);
                    break;
                case >= FrameType.Gossip and <= FrameType.LeaveRequest when membership is not null:
                    _ = MembershipAsync(membership, type, id, scratch.ToArray(), outbox);
                    break;
                default:
                    throw new InvalidDataException($"internode frame type {type} is a reply, not a request");
            }
        }
        catch (IOException e)
        {
            outbox.Write(FrameType.Error, id, Encoding.UTF8.GetBytes(e.Message));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>A hint is acknowledged only once kept: the coordinator counts it towards W.</summary>
    private static void AnswerHint(ulong id, bool kept, FrameOutbox outbox)
    {
        if (kept)
        {
            outbox.Write(FrameType.Ack, id, [(byte)MergeOutcome.Applied]);
        }
        else
        {
            // The coordinator then keeps the hint itself (and counts no acknowledgement for it here).
            outbox.Write(FrameType.Error, id, "the hint could not be written"u8);
        }
    }

    private static async Task AnswerHintAsync(ulong id, ValueTask<bool> kept, FrameOutbox outbox) =>
        AnswerHint(id, await kept.ConfigureAwait(false), outbox);

    /// <summary>Membership and rebalancing requests (frame types 20-29) run off the read loop: a transfer batch scans the store.</summary>
    private static async Task MembershipAsync(Func<FrameType, byte[], Task<PeerResponse>> handler, FrameType type, ulong id, byte[] payload, FrameOutbox outbox)
    {
        try
        {
            var reply = await Task.Run(() => handler(type, payload)).ConfigureAwait(false);
            outbox.Write(reply.Type, id, reply.Payload);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException or ObjectDisposedException)
        {
            outbox.Write(FrameType.Error, id, Encoding.UTF8.GetBytes(e.Message));
        }
    }

    private async Task ExecuteAsync(ulong id, byte[] command, FrameOutbox outbox)
    {
        try
        {
            var reply = await execute(command).ConfigureAwait(false);
            outbox.Write(FrameType.Reply, id, reply);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException or ObjectDisposedException)
        {
            outbox.Write(FrameType.Error, id, Encoding.UTF8.GetBytes(e.Message));
        }
    }
}
