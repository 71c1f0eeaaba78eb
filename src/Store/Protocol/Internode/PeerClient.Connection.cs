using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace DataPlane.Store.Protocol.Internode;

internal sealed partial class PeerClient
{
    /// <summary>Connects, shakes hands, then reads replies until the connection ends; true if it was ever established.</summary>
    private async Task<bool> ConnectAndServeAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            return await ConnectAndServeOnLoopAsync(_loop, cancellationToken).ConfigureAwait(false);
        }

        using var socket = new Socket(EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connectTimeout.CancelAfter(ConnectTimeout);
            await socket.ConnectAsync(EndPoint, connectTimeout.Token).ConfigureAwait(false);
        }

        await socket.SendAsync(Handshake.Build(_localName, _clusterName), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        try
        {
            if (!await ReadHandshakeAsync(input, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            var outbox = new FrameOutbox(socket, socket.Dispose);
            using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var connection = new Connection(socket, outbox, ending.Token);
            Volatile.Write(ref _connection, connection);
            LogConnected(_logger, Name, EndPoint);
            StateChanged?.Invoke(this, true);
            var sending = outbox.RunAsync(ending.Token);
            try
            {
                await ReceiveAsync(input, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _connection, null);
                await ending.CancelAsync().ConfigureAwait(false);
                socket.Dispose();
                await sending.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
                FailPending();
                StateChanged?.Invoke(this, false);
            }

            return true;
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task<bool> ReadHandshakeAsync(PipeReader input, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Handshake.Timeout);
        while (true)
        {
            var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (Handshake.TryRead(ref buffer, _clusterName, out var name))
            {
                input.AdvanceTo(buffer.Start);
                if (name != Name)
                {
                    throw new InvalidDataException($"expected peer '{Name}' at {EndPoint}, found '{name}'");
                }

                return true;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return false;
            }
        }
    }

    private async Task ReceiveAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var any = CompleteReplies(ref buffer);
            input.AdvanceTo(buffer.Start, buffer.End);
            if (any)
            {
                OnHeard();
            }

            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>Completes the request of every whole reply at the front of <paramref name="buffer"/>; true if there was one.</summary>
    /// <exception cref="InvalidDataException">The peer sent a malformed frame.</exception>
    internal bool CompleteReplies(ref ReadOnlySequence<byte> buffer)
    {
        var any = false;
        while (Frame.TryRead(ref buffer, out var type, out var id, out var payload))
        {
            any = true;
            if (payload.IsSingleSegment)
            {
                CompleteReply(id, type, payload.FirstSpan);
            }
            else
            {
                CompleteSplitReply(id, type, payload);
            }
        }

        return any;
    }

    /// <summary>Frames arrived from the peer: it is alive.</summary>
    internal void OnHeard() => Heard?.Invoke(this);

    /// <summary>The loop closes a connection whose peer sent a malformed frame; this says why.</summary>
    internal void OnMalformed(string reason) => LogConnectionLost(_logger, Name, EndPoint, reason);

    /// <summary>A reply that straddles two buffer segments: copied whole first (stack for small ones).</summary>
    private void CompleteSplitReply(ulong id, FrameType type, ReadOnlySequence<byte> payload)
    {
        var length = (int)payload.Length;
        byte[]? rented = null;
        Span<byte> whole = length <= 512 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        payload.CopyTo(whole);
        CompleteReply(id, type, whole);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
