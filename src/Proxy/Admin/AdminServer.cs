using System.Net;
using System.Net.Sockets;
using System.Text;
using DataPlane.Net;
using DataPlane.Proxy.Metrics;
using Prometheus;

namespace DataPlane.Proxy.Admin;

/// <summary>
/// The admin endpoint: <c>/metrics</c> (Prometheus text, exported by prometheus-net from the
/// <c>DataPlane.Proxy</c> meter), <c>/healthz</c>, <c>/ready</c> and <c>/upstreams</c> (JSON). A small
/// HTTP/1.1 responder, one request per connection: it serves operators and scrapers, not traffic.
/// </summary>
internal sealed partial class AdminServer : IConnectionDispatcher, IAsyncDisposable
{
    private const int MaxRequestBytes = 8 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly Func<IReadOnlyList<ProxyServer>> _listeners;
    private readonly Func<IEnumerable<KeyValuePair<string, long>>> _hostCounters;
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly IDisposable _meterAdapter;
    private readonly Socket _socket;
    private readonly AcceptLoop _accept;

    public AdminServer(IPEndPoint endPoint, Func<IReadOnlyList<ProxyServer>> listeners, Func<IEnumerable<KeyValuePair<string, long>>> hostCounters)
    {
        _listeners = listeners;
        _hostCounters = hostCounters;
        _meterAdapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            // Both: the factory decides where series go (its default is the global registry), the
            // registry whose collection first polls the observable instruments.
            Registry = _registry,
            MetricFactory = Prometheus.Metrics.WithCustomRegistry(_registry),
            InstrumentFilterPredicate = instrument => instrument.Meter.Name == ProxyMetrics.MeterName,
        });
        _socket = ListenSocket.Bind(endPoint);
        _accept = new AcceptLoop(_socket, this);
        _accept.Start();
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public void OnAccepted(Socket socket) => _ = ServeAsync(socket);

    public void OnAcceptError(Exception error)
    {
        // A failed accept on the admin port leaves the data path alone; the next scrape retries.
    }

    public async ValueTask DisposeAsync()
    {
        await _accept.StopAsync();
        _accept.Dispose();
        _socket.Dispose();
        _meterAdapter.Dispose();
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        using (var cancel = new CancellationTokenSource(RequestTimeout))
        {
            try
            {
                var path = await ReadRequestPathAsync(socket, cancel.Token);

                // Off the socket's completion thread (inline completions run on the epoll thread): a
                // scrape's collection must not hold up the data path.
                await Task.Yield();
                var (status, contentType, body) = path is null
                    ? (400, "text/plain", Encoding.UTF8.GetBytes("bad request\n"))
                    : await RespondAsync(path, cancel.Token);
                var head = Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {status} {Reason(status)}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                await socket.SendAsync(head, SocketFlags.None, cancel.Token);
                await socket.SendAsync(body, SocketFlags.None, cancel.Token);
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The scraper went away or stalled: nothing to answer.
            }
        }
    }

    /// <summary>The path of a <c>GET</c> request line, or null for anything else (or over 8 KiB).</summary>
    private static async Task<string?> ReadRequestPathAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                return null;
            }

            length += n;
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal) || text.Contains("\n\n", StringComparison.Ordinal))
            {
                var parts = text[..text.IndexOf('\n', StringComparison.Ordinal)].Trim().Split(' ');
                if (parts.Length != 3 || parts[0] != "GET")
                {
                    return null;
                }

                var path = parts[1];
                var query = path.IndexOf('?', StringComparison.Ordinal);
                return query >= 0 ? path[..query] : path;
            }
        }

        return null;
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Status",
    };
}
