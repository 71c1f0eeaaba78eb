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
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        var output = PipeWriter.Create(stream);
        try
        {
            await ReadRequestsAsync(input, output, stopping).ConfigureAwait(false);
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
            await CompleteQuietlyAsync(output).ConfigureAwait(false);
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

    private static async ValueTask CompleteQuietlyAsync(PipeWriter output)
    {
        try
        {
            await output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // Nothing was left to send: the socket is already closed.
        }
    }

    private async Task ReadRequestsAsync(PipeReader input, PipeWriter output, CancellationToken stopping)
    {
        while (true)
        {
            var read = await input.ReadAsync(stopping).ConfigureAwait(false);
            var buffer = read.Buffer;
            while (TryTakeFrame(ref buffer, out var frame, out var length))
            {
                try
                {
                    await HandleAsync(frame.AsMemory(0, length), output, stopping).ConfigureAwait(false);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(frame);
                }
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                return;
            }
        }
    }

    private bool TryTakeFrame(ref ReadOnlySequence<byte> buffer, out byte[] frame, out int length)
    {
        frame = [];
        length = 0;
        if (buffer.Length < 4)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        length = BinaryPrimitives.ReadInt32BigEndian(prefix);
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
        frame = ArrayPool<byte>.Shared.Rent(length);
        buffer.Slice(4, length).CopyTo(frame);
        buffer = buffer.Slice(4 + length);
        return true;
    }

    private async Task HandleAsync(ReadOnlyMemory<byte> frame, PipeWriter output, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        if (header.ApiKey == (short)ApiKey.ApiVersions)
        {
            WriteApiVersions(header);
        }
        else if (!SupportedApis.IsSupported(header.ApiKey, header.ApiVersion))
        {
            throw new KafkaProtocolException($"API key {header.ApiKey} version {header.ApiVersion} is not supported (see ApiVersions).");
        }
        else
        {
            _writer.Begin(header.CorrelationId);
            var respond = await DispatchAsync(header, reader, stopping).ConfigureAwait(false);
            if (!respond)
            {
                _server.Metrics.Request(header.ApiKey, _writer.FirstError, 0, Stopwatch.GetElapsedTime(started));
                return;
            }
        }

        _writer.End();
        await output.WriteAsync(_writer.Written, stopping).ConfigureAwait(false);
        _server.Metrics.Request(header.ApiKey, _writer.FirstError, _writer.Written.Length, Stopwatch.GetElapsedTime(started));
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
