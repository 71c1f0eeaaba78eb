using System.Net;
using System.Net.Sockets;

namespace DataPlane.Proxy.Tests.Support;

/// <summary>
/// A bounded load through an echo proxy: persistent connections doing request/response with the
/// answers compared byte for byte (each reconnects after a few requests, so a draining process sees its
/// connections end), plus one new connection per tick. Every failure is counted by kind.
/// </summary>
internal sealed class HandoffLoad : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly int _requestsPerConnection;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _errors = [];
    private readonly Task[] _workers;
    private long _requests;
    private long _connections;
    private int _refused;
    private int _reset;
    private int _corrupted;

    public HandoffLoad(IPEndPoint target, int persistent, int requestsPerConnection, TimeSpan newConnectionPeriod)
    {
        _target = target;
        _requestsPerConnection = requestsPerConnection;
        _workers = [.. Enumerable.Range(0, persistent).Select(i => Task.Run(() => PersistentAsync(i))), Task.Run(() => NewConnectionsAsync(newConnectionPeriod))];
    }

    public long Requests => Interlocked.Read(ref _requests);

    public long Connections => Interlocked.Read(ref _connections);

    public int Refused => Volatile.Read(ref _refused);

    public int Reset => Volatile.Read(ref _reset);

    public int Corrupted => Volatile.Read(ref _corrupted);

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join('\n', _errors.Take(20));
            }
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers).WaitAsync(Loopback.Timeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }

    private async Task PersistentAsync(int seed)
    {
        var random = new Random(seed);
        while (!_stop.IsCancellationRequested)
        {
            await OneConnectionAsync(random, _requestsPerConnection);
        }
    }

    private async Task NewConnectionsAsync(TimeSpan period)
    {
        var random = new Random(1000);
        using var timer = new PeriodicTimer(period);
        while (!_stop.IsCancellationRequested)
        {
            await OneConnectionAsync(random, 1);
            try
            {
                await timer.WaitForNextTickAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task OneConnectionAsync(Random random, int requests)
    {
        try
        {
            using var socket = await Loopback.ConnectAsync(_target);
            Interlocked.Increment(ref _connections);
            for (var i = 0; i < requests; i++)
            {
                var request = new byte[random.Next(1, 8192)];
                random.NextBytes(request);
                await Loopback.SendAllAsync(socket, request);
                var response = await Loopback.ReadExactlyAsync(socket, request.Length);
                if (!response.AsSpan().SequenceEqual(request))
                {
                    Fail(ref _corrupted, "response differs from the request");
                    return;
                }

                Interlocked.Increment(ref _requests);
            }

            // Close after our own FIN is answered by the proxy's: an orderly end on both sides.
            socket.Shutdown(SocketShutdown.Send);
            var rest = await Loopback.ReadToEndAsync(socket);
            if (rest.Length != 0)
            {
                Fail(ref _corrupted, $"{rest.Length} unexpected bytes before the end");
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            Fail(ref _refused, e.Message);
        }
        catch (SocketException e)
        {
            Fail(ref _reset, $"{e.SocketErrorCode}: {e.Message}");
        }
        catch (Exception e) when (e is EndOfStreamException or OperationCanceledException)
        {
            Fail(ref _corrupted, e.Message);
        }
    }

    private void Fail(ref int counter, string error)
    {
        Interlocked.Increment(ref counter);
        lock (_errors)
        {
            _errors.Add(error);
        }
    }
}
