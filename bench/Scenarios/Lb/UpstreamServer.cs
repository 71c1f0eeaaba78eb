using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// One upstream of the LB bench: a loopback TCP server with a fixed number of worker threads and a
/// FIFO queue. Each 8-byte request (a sequence number and padding) waits its turn, holds a worker
/// for a service time, and is answered with 8 bytes: the sequence number and this upstream's id.
/// A connection carries one request at a time; a client that closes ends it.
/// </summary>
internal sealed class UpstreamServer : IAsyncDisposable
{
    public const int MessageSize = 8;

    private readonly int _id;
    private readonly double _meanServiceMs;
    private readonly double _jitter;
    private readonly int _seed;
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly BlockingCollection<UpstreamJob> _queue = new(new ConcurrentQueue<UpstreamJob>());
    private readonly ConcurrentDictionary<Socket, byte> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread[] _workers;
    private Task _acceptLoop = Task.CompletedTask;
    private long _received;
    private long _served;
    private long _busyTicks;

    public UpstreamServer(int id, int workers, double meanServiceMs, double jitter, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(meanServiceMs);
        _id = id;
        _meanServiceMs = meanServiceMs;
        _jitter = jitter;
        _seed = seed;
        _workers = new Thread[workers];
    }

    public int Port { get; private set; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public long Served => Interlocked.Read(ref _served);

    /// <summary>Requests read from connections so far.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Requests waiting for a worker now.</summary>
    public int Queued => _queue.Count;

    /// <summary>The service time the workers actually spent per request (the OS's sleep overshoots).</summary>
    public double MeasuredServiceMs
    {
        get
        {
            var served = Served;
            return served == 0 ? _meanServiceMs : Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _busyTicks)).TotalMilliseconds / served;
        }
    }

    public void Start()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(4096);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        for (var w = 0; w < _workers.Length; w++)
        {
            var random = new Random(HashCode.Combine(_seed, _id, w));
            _workers[w] = new Thread(() => Work(random)) { IsBackground = true, Name = $"upstream-{_id}-worker-{w}" };
            _workers[w].Start();
        }

        _acceptLoop = AcceptAsync(_stop.Token);
    }

    public void ResetCounters()
    {
        Interlocked.Exchange(ref _received, 0);
        Interlocked.Exchange(ref _served, 0);
        Interlocked.Exchange(ref _busyTicks, 0);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        foreach (var connection in _connections.Keys)
        {
            connection.Dispose();
        }

        await _acceptLoop;
        foreach (var worker in _workers)
        {
            worker?.Join();
        }

        while (_queue.TryTake(out var job))
        {
            job.Done.TrySetCanceled();
        }

        _queue.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            connection.NoDelay = true;
            _connections.TryAdd(connection, 0);
            _ = ServeAsync(connection, cancellationToken);
        }
    }

    private async Task ServeAsync(Socket connection, CancellationToken cancellationToken)
    {
        var request = new byte[MessageSize];
        try
        {
            while (await ReadExactlyAsync(connection, request, cancellationToken))
            {
                var job = new UpstreamJob(connection, BinaryPrimitives.ReadInt32LittleEndian(request));
                Interlocked.Increment(ref _received);
                _queue.Add(job, cancellationToken);
                await job.Done.Task;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away or the server is stopping: the connection just ends.
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            connection.Dispose();
        }
    }

    /// <summary>False on a clean end of stream before the first byte; a stream that ends mid-request throws.</summary>
    private static async ValueTask<bool> ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer[read..], SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                return read == 0 ? false : throw new SocketException((int)SocketError.ConnectionReset);
            }

            read += n;
        }

        return true;
    }

    private void Work(Random random)
    {
        Span<byte> response = stackalloc byte[MessageSize];
        try
        {
            foreach (var job in _queue.GetConsumingEnumerable(_stop.Token))
            {
                var started = Stopwatch.GetTimestamp();
                Thread.Sleep(DrawSleepMs(random));
                Interlocked.Add(ref _busyTicks, Stopwatch.GetTimestamp() - started);
                Interlocked.Increment(ref _served);
                BinaryPrimitives.WriteInt32LittleEndian(response, job.Sequence);
                BinaryPrimitives.WriteInt32LittleEndian(response[4..], _id);
                try
                {
                    job.Connection.Send(response);
                    job.Done.TrySetResult();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    job.Done.TrySetException(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: DisposeAsync cancels what is still queued.
        }
    }

    /// <summary>
    /// A uniform draw around the mean, rounded to whole milliseconds at random so that the mean is
    /// kept: <see cref="Thread.Sleep(int)"/> has millisecond resolution.
    /// </summary>
    private int DrawSleepMs(Random random)
    {
        var ms = _meanServiceMs * (1 - _jitter + (2 * _jitter * random.NextDouble()));
        var whole = Math.Floor(ms);
        return (int)whole + (random.NextDouble() < ms - whole ? 1 : 0);
    }
}
