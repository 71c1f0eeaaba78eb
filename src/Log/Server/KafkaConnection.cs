using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using DataPlane.Log.Protocol.Kafka;
using Microsoft.Extensions.Logging;

namespace DataPlane.Log.Server;

/// <summary>
/// One client connection: reads size-prefixed requests (read ahead by the pipe, so pipelined requests queue up),
/// answers them one at a time in request order, and closes on a request it cannot parse or one that is too large.
/// </summary>
internal sealed partial class KafkaConnection(KafkaServer server, Socket socket) : IDisposable
{
    private readonly KafkaServer _server = server;
    private readonly Socket _socket = socket;
    private const int ReadSegmentBytes = 256 * 1024;
    private readonly KafkaWriter _writer = new();

    /// <summary>Why the connection was closed by the broker, for tests and logs; null while open or after a client close.</summary>
    public string? CloseReason { get; private set; }

    public void Abort() => _socket.Dispose();

    public void Dispose()
    {
        _writer.Dispose();
        _socket.Dispose();
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        await using var stream = new NetworkStream(_socket, ownsSocket: true);
        // 256 KiB segments: a produce request of a linger's worth of batches usually fits one, and is then parsed and
        // appended in place instead of copied out of the pipe.
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReadSegmentBytes, minimumReadSize: ReadSegmentBytes / 4));
        try
        {
            await ReadRequestsAsync(input, stream, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away or the broker is stopping: only this connection is lost.
        }
        catch (KafkaProtocolException e)
        {
            CloseReason = e.Message;
            _server.Metrics.ProtocolError();
            if (_server.Logger.IsEnabled(LogLevel.Information))
            {
                var remote = RemoteAddress();
                KafkaServer.LogProtocolError(_server.Logger, remote, e.Message);
            }
        }
        finally
        {
            Dispose();
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private string? RemoteAddress()
    {
        try
        {
            return _socket.RemoteEndPoint?.ToString();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>
    /// Answers every whole request in what was read, then sends the responses with one write. Responses go straight
    /// from the connection's response buffer to the socket (no pipe in between: requests are answered one at a time,
    /// so there is nothing for a pipe to overlap, and it would copy every fetched byte once more).
    /// </summary>
    private async Task ReadRequestsAsync(PipeReader input, NetworkStream output, CancellationToken stopping)
    {
        while (true)
        {
            var read = await input.ReadAsync(stopping).ConfigureAwait(false);
            var buffer = read.Buffer;
            while (TryTakeFrame(ref buffer, out var frame, out var rented))
            {
                try
                {
                    var handling = HandleAsync(frame, output, stopping);
                    if (!handling.IsCompletedSuccessfully)
                    {
                        await handling.ConfigureAwait(false);
                    }
                }
                finally
                {
                    if (rented is not null)
                    {
                        ArrayPool<byte>.Shared.Return(rented);
                    }
                }
            }

            // The frames answered above may have been read in place: the pipe keeps them until this call.
            input.AdvanceTo(buffer.Start, buffer.End);
            await SendAsync(output, stopping).ConfigureAwait(false);
            if (read.IsCompleted)
            {
                return;
            }
        }
    }

    private ValueTask SendAsync(NetworkStream output, CancellationToken stopping)
    {
        if (_writer.Pending.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        var sending = output.WriteAsync(_writer.Pending, stopping);
        if (sending.IsCompletedSuccessfully)
        {
            _writer.Clear();
            return ValueTask.CompletedTask;
        }

        return AwaitSend(sending);

        async ValueTask AwaitSend(ValueTask sending)
        {
            await sending.ConfigureAwait(false);
            _writer.Clear();
        }
    }

    /// <summary>
    /// The next whole request, as a slice of the pipe's buffer when it lies in one segment, else copied into a
    /// rented array (<paramref name="rented"/>, to return). The size prefix is checked before anything is allocated.
    /// </summary>
    private bool TryTakeFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlyMemory<byte> frame, out byte[]? rented)
    {
        frame = default;
        rented = null;
        if (buffer.Length < 4)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        var length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (length < 8 || length > _server.Options.MaxRequestBytes)
        {
            throw new KafkaProtocolException(
                $"A request size of {length} bytes is outside 8..{_server.Options.MaxRequestBytes} (socket.request.max.bytes).");
        }

        if (buffer.Length < 4L + length)
        {
            return false;
        }

        _server.Metrics.BytesIn(4L + length);
        var body = buffer.Slice(4, length);
        if (body.IsSingleSegment)
        {
            frame = body.First;
        }
        else
        {
            rented = ArrayPool<byte>.Shared.Rent(length);
            body.CopyTo(rented);
            frame = rented.AsMemory(0, length);
        }

        buffer = buffer.Slice(body.End);
        return true;
    }

    private ValueTask HandleAsync(ReadOnlyMemory<byte> frame, NetworkStream output, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        if (header.ApiKey == (short)ApiKey.ApiVersions)
        {
            WriteApiVersions(header);
            Answered(header.ApiKey, started, respond: true);
            return ValueTask.CompletedTask;
        }

        if (!SupportedApis.IsSupported(header.ApiKey, header.ApiVersion))
        {
            throw new KafkaProtocolException($"API key {header.ApiKey} version {header.ApiVersion} is not supported (see ApiVersions).");
        }

        if (!_writer.Pending.IsEmpty && MayWait(header.ApiKey))
        {
            return SendThenDispatchAsync(header, reader, started, output, stopping);
        }

        _writer.Begin(header.CorrelationId);
        var dispatch = DispatchAsync(header, reader, stopping);
        if (dispatch.IsCompletedSuccessfully)
        {
            Answered(header.ApiKey, started, dispatch.Result);
            return ValueTask.CompletedTask;
        }

        return AwaitDispatchAsync(dispatch, header.ApiKey, started);
    }

    /// <summary>Requests that may wait (an fsync, a long poll, a rebalance): the responses before them are not held back.</summary>
    private static bool MayWait(short apiKey) => (ApiKey)apiKey is ApiKey.Produce or ApiKey.Fetch or ApiKey.OffsetCommit or ApiKey.JoinGroup or ApiKey.SyncGroup;

    private async ValueTask SendThenDispatchAsync(RequestHeader header, KafkaReader reader, long started, NetworkStream output, CancellationToken stopping)
    {
        await SendAsync(output, stopping).ConfigureAwait(false);
        _writer.Begin(header.CorrelationId);
        Answered(header.ApiKey, started, await DispatchAsync(header, reader, stopping).ConfigureAwait(false));
    }

    private async ValueTask AwaitDispatchAsync(ValueTask<bool> dispatch, short apiKey, long started) =>
        Answered(apiKey, started, await dispatch.ConfigureAwait(false));

    private void Answered(short apiKey, long started, bool respond)
    {
        var bytes = 0;
        if (respond)
        {
            bytes = _writer.End();
        }
        else
        {
            _writer.Cancel();
        }

        _server.Metrics.Request(apiKey, _writer.FirstError, bytes, Stopwatch.GetElapsedTime(started));
    }

    private ValueTask<bool> DispatchAsync(RequestHeader header, KafkaReader reader, CancellationToken stopping)
    {
        var version = header.ApiVersion;
        switch ((ApiKey)header.ApiKey)
        {
            case ApiKey.Produce:
                return ProduceAsync(version, reader);
            case ApiKey.Fetch:
                return FetchAsync(version, reader, stopping);
            case ApiKey.ListOffsets:
                ListOffsets(version, ref reader);
                break;
            case ApiKey.Metadata:
                Metadata(version, ref reader);
                break;
            case ApiKey.OffsetCommit:
                return OffsetCommitAsync(version, reader);
            case ApiKey.OffsetFetch:
                OffsetFetch(version, ref reader);
                break;
            case ApiKey.FindCoordinator:
                FindCoordinator(version);
                break;
            case ApiKey.JoinGroup:
                return JoinGroupAsync(version, header.ClientId, reader);
            case ApiKey.Heartbeat:
                Heartbeat(version, ref reader);
                break;
            case ApiKey.LeaveGroup:
                LeaveGroup(version, ref reader);
                break;
            case ApiKey.SyncGroup:
                return SyncGroupAsync(version, reader);
            case ApiKey.InitProducerId:
                InitProducerId(ref reader);
                break;
            case ApiKey.DescribeConfigs:
                DescribeConfigs(version, ref reader);
                break;
            default:
                CreateTopics(version, ref reader);
                break;
        }

        return ValueTask.FromResult(true);
    }

    private void WriteApiVersions(RequestHeader header)
    {
        // The response header is v0 for every ApiVersions version; a version above 3 gets error 35 in v0 layout.
        var version = header.ApiVersion;
        var unsupported = version > 3;
        _writer.Begin(header.CorrelationId);
        _writer.ErrorCode(unsupported ? UnsupportedVersion : (short)0);
        var flexible = !unsupported && version >= 3;
        if (flexible)
        {
            _writer.UnsignedVarint((uint)SupportedApis.Ranges.Length + 1);
        }
        else
        {
            _writer.Int32(SupportedApis.Ranges.Length);
        }

        foreach (var (key, min, max) in SupportedApis.Ranges)
        {
            _writer.Int16((short)key);
            _writer.Int16(min);
            _writer.Int16(max);
            if (flexible)
            {
                _writer.UnsignedVarint(0);
            }
        }

        if (!unsupported && version >= 1)
        {
            _writer.Int32(0);
        }

        if (flexible)
        {
            _writer.UnsignedVarint(0);
        }
    }
}
