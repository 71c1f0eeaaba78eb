using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests.Support;

/// <summary>
/// Long-lived connections through a proxy that stream <see cref="SequenceStream"/>s continuously in
/// both directions (a paced chunk per tick), to an upstream of its own that checks what it receives
/// and streams back. Connection 0 is half-closed: the client sends a little, then its FIN, and only the
/// upstream keeps streaming. Connection 1's client reads slowly while its upstream writes fast, so the
/// proxy holds a full pipe and a pending send towards it when a migration stops the pair; the test lets
/// it read at full speed (<see cref="SlowReaderHurries"/>) once the stop was asked for. <see cref="StopAsync"/>
/// ends every stream with a FIN and checks that each side received exactly what the other sent, in order.
/// </summary>
/// <remarks>
/// The pair reaches its quiet point only when that pending send went out, and the kernel signals room
/// for it only after the client read a good part of what the proxy's send buffer holds (autotuned to
/// MiBs on loopback). At one 4 KiB chunk per tick that took 2.3-3.3 s under CPU load (four busy loops
/// on two cores; the other pairs 12-144 ms), against a quiet budget of half the handoff timeout: a pair
/// still flushing then stays in the old process, as designed, and the migration test saw 4 or 5 of 6.
/// </remarks>
internal sealed class StreamingLoad : IAsyncDisposable
{
    private const int Chunk = 4096;
    private const int HalfClosedBytes = 64 * 1024;
    private const int FastChunk = 64 * 1024;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(2);

    private readonly TestUpstream _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, Direction> _toUpstream = new();
    private readonly ConcurrentDictionary<int, Direction> _toClient = new();
    private readonly List<string> _errors = [];
    private readonly List<Task> _running = [];
    private bool _slowReaderHurries;

    public StreamingLoad() => _upstream = new TestUpstream(ServeAsync);

    public string UpstreamAddress => _upstream.Address;

    public int Count { get; private set; }

    /// <summary>
    /// Whether connection 1's client reads at full speed instead of a chunk per tick: set once a
    /// migration asked the pairs to stop, so its pending send goes out within the quiet budget however
    /// loaded the machine is; cleared to fill the proxy's pipe again before the next one.
    /// </summary>
    public bool SlowReaderHurries
    {
        get => Volatile.Read(ref _slowReaderHurries);
        set => Volatile.Write(ref _slowReaderHurries, value);
    }

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

    /// <summary>Opens <paramref name="connections"/> streaming connections to <paramref name="proxy"/>.</summary>
    public async Task StartAsync(IPEndPoint proxy, int connections)
    {
        Count = connections;
        for (var i = 0; i < connections; i++)
        {
            var socket = await Loopback.ConnectAsync(proxy);
            var toUpstream = _toUpstream.GetOrAdd(i, _ => new Direction());
            var toClient = _toClient.GetOrAdd(i, _ => new Direction());
            var id = i;
            _running.Add(Task.Run(async () =>
            {
                using (socket)
                {
                    await Task.WhenAll(
                        WriteAsync(socket, SequenceStream.Seed(id, fromUpstream: false), toUpstream, id == 0 ? HalfClosedBytes : long.MaxValue),
                        ReadAsync(socket, SequenceStream.Seed(id, fromUpstream: true), toClient, $"connection {id}, to the client", slow: id == 1));
                }
            }));
        }
    }

    /// <summary>Waits until every direction still streaming received <paramref name="bytes"/> more (or an error).</summary>
    public async Task WaitForProgressAsync(long bytes)
    {
        // Connection 0's client sent its FIN long ago: its direction to the upstream moves no more.
        List<Direction> directions = [.. _toClient.Values, .. _toUpstream.Where(kv => kv.Key != 0).Select(kv => kv.Value)];
        var targets = directions.Select(d => Volatile.Read(ref d.Received) + bytes).ToArray();
        await Eventually.True(
            () => Errors.Length > 0 || directions.Select((d, i) => Volatile.Read(ref d.Received) >= targets[i]).All(b => b),
            $"every stream moves {bytes} more bytes",
            Loopback.Timeout);
    }

    /// <summary>Stops every writer (each sends its FIN), waits for every reader's end, and lists what does not add up.</summary>
    public async Task<string> StopAsync()
    {
        await _stop.CancelAsync();
        Task[] running;
        lock (_running)
        {
            running = [.. _running];
        }

        await Task.WhenAll(running).WaitAsync(Loopback.Timeout);
        var problems = new List<string>();
        for (var i = 0; i < Count; i++)
        {
            foreach (var (name, d) in new[] { ("to the upstream", _toUpstream[i]), ("to the client", _toClient[i]) })
            {
                if (d.Received != d.Sent || !d.Ended)
                {
                    problems.Add($"connection {i} {name}: sent {d.Sent}, received {d.Received}, FIN {(d.Ended ? "seen" : "missing")}");
                }
            }
        }

        return string.Join('\n', problems.Prepend(Errors).Where(p => p.Length > 0));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        await _upstream.DisposeAsync();
        _stop.Dispose();
    }

    private async Task ServeAsync(Socket socket)
    {
        // The first counter of the client's stream is its seed: which connection this is.
        var first = await Loopback.ReadExactlyAsync(socket, 8);
        var seed = BitConverter.ToUInt64(first);
        var id = (int)(seed >> 40);
        var toUpstream = _toUpstream.GetOrAdd(id, _ => new Direction());
        var toClient = _toClient.GetOrAdd(id, _ => new Direction());
        if (seed != SequenceStream.Seed(id, fromUpstream: false))
        {
            Fail($"connection {id}: first counter {seed:x}");
            return;
        }

        Volatile.Write(ref toUpstream.Received, 8);
        var reading = ReadAsync(socket, seed, toUpstream, $"connection {id}, to the upstream", slow: false);
        lock (_running)
        {
            _running.Add(reading);
        }

        await Task.WhenAll(reading, WriteAsync(socket, SequenceStream.Seed(id, fromUpstream: true), toClient, long.MaxValue, id == 1 ? FastChunk : Chunk));
    }

    private async Task WriteAsync(Socket socket, ulong seed, Direction direction, long limit, int chunk = Chunk)
    {
        var buffer = new byte[chunk];
        using var timer = new PeriodicTimer(Tick);
        try
        {
            while (!_stop.IsCancellationRequested && direction.Sent < limit)
            {
                var length = (int)Math.Min(chunk, limit - direction.Sent);
                SequenceStream.Fill(buffer.AsSpan(0, length), seed, direction.Sent);
                await Loopback.SendAllAsync(socket, buffer.AsMemory(0, length));
                Volatile.Write(ref direction.Sent, direction.Sent + length);
                if (!await timer.WaitForNextTickAsync(_stop.Token))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped between two chunks.
        }
        catch (SocketException e)
        {
            Fail($"send: {e.SocketErrorCode}");
            return;
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private async Task ReadAsync(Socket socket, ulong seed, Direction direction, string name, bool slow)
    {
        var buffer = new byte[64 * 1024];
        using var timer = new PeriodicTimer(Tick);
        try
        {
            while (true)
            {
                var hurry = !slow || SlowReaderHurries || _stop.IsCancellationRequested;
                if (!hurry)
                {
                    // One chunk per tick; at the end it reads at full speed (a stopped timer's wait would not end).
                    await timer.WaitForNextTickAsync();
                }

                var n = await socket.ReceiveAsync(hurry ? buffer : buffer.AsMemory(0, Chunk), SocketFlags.None);
                if (n == 0)
                {
                    direction.Ended = true;
                    return;
                }

                var position = Volatile.Read(ref direction.Received);
                var bad = SequenceStream.FirstMismatch(buffer.AsSpan(0, n), seed, position);
                if (bad >= 0)
                {
                    Fail($"{name}: byte {bad} is {buffer[(int)(bad - position)]:x2}, expected {SequenceStream.ByteAt(seed, bad):x2}");
                    return;
                }

                Volatile.Write(ref direction.Received, position + n);
            }
        }
        catch (SocketException e)
        {
            Fail($"{name}: {e.SocketErrorCode} after {direction.Received} bytes");
        }
    }

    private void Fail(string error)
    {
        lock (_errors)
        {
            _errors.Add(error);
        }
    }

    /// <summary>One direction of one connection: bytes sent by one side, received (and checked) by the other.</summary>
    private sealed class Direction
    {
        public long Sent;
        public long Received;
        public bool Ended;
    }
}
