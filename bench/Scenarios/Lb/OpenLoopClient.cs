using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using HdrHistogram;

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// Open-loop load: arrivals follow a Poisson process fixed in advance and are sent when due,
/// whatever the answers do, so a slow system cannot slow the load down (no coordinated omission).
/// Each latency runs from the arrival's intended send time, so time spent waiting for the
/// dispatcher, a connection or a busy persistent connection counts against the system.
/// </summary>
internal sealed class OpenLoopClient
{
    private readonly IPEndPoint _target;
    private readonly int _upstreams;
    private readonly TimeSpan _requestTimeout;
    private readonly LongHistogram _latency = LatencySummary.NewHistogram();
    private readonly long[] _answeredBy;
    private readonly Lock _gate = new();
    private long _errors;
    private long _windowStart;
    private long _windowEnd = long.MaxValue;
    private long _answeredInWindow;

    /// <param name="target">The proxy (or any endpoint that forwards to the upstreams).</param>
    /// <param name="upstreams">How many upstream ids the answers can carry.</param>
    /// <param name="requestTimeout">How long one request may take before it counts as an error.</param>
    public OpenLoopClient(IPEndPoint target, int upstreams, TimeSpan requestTimeout)
    {
        _target = target;
        _upstreams = upstreams;
        _requestTimeout = requestTimeout;
        _answeredBy = new long[upstreams];
    }

    /// <summary>One new connection per request, closed after the answer.</summary>
    public async Task<ClientResult> RunPerRequestAsync(double ratePerSecond, TimeSpan duration, int seed, CancellationToken cancellationToken)
    {
        var inFlight = new List<Task>();
        var (sent, lag) = await Dispatch(ratePerSecond, duration, seed, (sequence, intended) => inFlight.Add(RequestAsync(sequence, intended, cancellationToken)), cancellationToken);
        await Task.WhenAll(inFlight);
        return Result(sent, lag);
    }

    /// <summary>
    /// A pool of <paramref name="connections"/> connections opened once; arrival i goes to
    /// connection i mod n (a client library's round-robin pool) and waits there for its turn.
    /// </summary>
    public async Task<ClientResult> RunPersistentAsync(double ratePerSecond, TimeSpan duration, int connections, int seed, CancellationToken cancellationToken)
    {
        var pool = new Channel<(int Sequence, long Intended)>[connections];
        var loops = new Task[connections];
        for (var c = 0; c < connections; c++)
        {
            pool[c] = Channel.CreateUnbounded<(int, long)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            Socket? socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(_target, cancellationToken);
            }
            catch (SocketException)
            {
                socket.Dispose();
                socket = null;
            }

            loops[c] = ConnectionLoopAsync(socket, pool[c].Reader, cancellationToken);
        }

        var (sent, lag) = await Dispatch(ratePerSecond, duration, seed, (sequence, intended) => pool[sequence % connections].Writer.TryWrite((sequence, intended)), cancellationToken);
        foreach (var channel in pool)
        {
            channel.Writer.Complete();
        }

        await Task.WhenAll(loops);
        return Result(sent, lag);
    }

    /// <summary>
    /// Sends every arrival when it is due from a dedicated thread: a timer-driven async loop here
    /// wakes up milliseconds late, a sleeping thread about a quarter of a millisecond late.
    /// </summary>
    private Task<(int Sent, double MaxLagMs)> Dispatch(double ratePerSecond, TimeSpan duration, int seed, Action<int, long> send, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<(int, double)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            var random = new Random(seed);
            var ticksPerArrival = Stopwatch.Frequency / ratePerSecond;
            var start = Stopwatch.GetTimestamp();
            var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            Volatile.Write(ref _windowStart, start);
            Volatile.Write(ref _windowEnd, end);
            var next = start + (-Math.Log(1 - random.NextDouble()) * ticksPerArrival);
            var sent = 0;
            var maxLag = 0L;
            while (next < end && !cancellationToken.IsCancellationRequested)
            {
                var now = Stopwatch.GetTimestamp();
                while (next <= now && next < end)
                {
                    maxLag = Math.Max(maxLag, now - (long)next);
                    send(sent++, (long)next);
                    next += -Math.Log(1 - random.NextDouble()) * ticksPerArrival;
                }

                Thread.Sleep(1);
            }

            done.SetResult((sent, Stopwatch.GetElapsedTime(0, maxLag).TotalMilliseconds));
        })
        { IsBackground = true, Name = "lb-client-dispatch" };
        thread.Start();
        return done.Task;
    }

    private async Task RequestAsync(int sequence, long intended, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_requestTimeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var buffer = new byte[UpstreamServer.MessageSize];
        try
        {
            await socket.ConnectAsync(_target, timeout.Token);
            Record(intended, await ExchangeAsync(socket, sequence, buffer, timeout.Token));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or InvalidDataException)
        {
            Interlocked.Increment(ref _errors);
        }
    }

    private async Task ConnectionLoopAsync(Socket? socket, ChannelReader<(int Sequence, long Intended)> requests, CancellationToken cancellationToken)
    {
        var buffer = new byte[UpstreamServer.MessageSize];
        try
        {
            await foreach (var (sequence, intended) in requests.ReadAllAsync(CancellationToken.None))
            {
                if (socket is null)
                {
                    Interlocked.Increment(ref _errors);
                    continue;
                }

                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_requestTimeout);
                try
                {
                    Record(intended, await ExchangeAsync(socket, sequence, buffer, timeout.Token));
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException or InvalidDataException)
                {
                    // A broken connection fails what is queued on it too, as it would in a client library.
                    Interlocked.Increment(ref _errors);
                    socket.Dispose();
                    socket = null;
                }
            }
        }
        finally
        {
            socket?.Dispose();
        }
    }

    /// <summary>Sends one request and returns the id of the upstream that answered it.</summary>
    private async Task<int> ExchangeAsync(Socket socket, int sequence, byte[] buffer, CancellationToken cancellationToken)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer, sequence);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(4), 0);
        await socket.SendAsync(buffer, SocketFlags.None, cancellationToken);
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                throw new InvalidDataException($"connection closed after {read} of {buffer.Length} bytes of the answer");
            }

            read += n;
        }

        var echoed = BinaryPrimitives.ReadInt32LittleEndian(buffer);
        var upstream = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(4));
        if (echoed != sequence || (uint)upstream >= (uint)_upstreams)
        {
            throw new InvalidDataException($"answer to request {sequence} carries request {echoed} from upstream {upstream}");
        }

        return upstream;
    }

    private void Record(long intended, int upstream)
    {
        var now = Stopwatch.GetTimestamp();
        var micros = (long)Stopwatch.GetElapsedTime(intended, now).TotalMicroseconds;
        lock (_gate)
        {
            _latency.RecordValue(Math.Max(0, micros));
            _answeredBy[upstream]++;
            _answeredInWindow += now <= Volatile.Read(ref _windowEnd) ? 1 : 0;
        }
    }

    /// <summary>Throughput counts the answers that arrived while the load was applied, not the drain after it.</summary>
    private ClientResult Result(int sent, double maxLagMs)
    {
        lock (_gate)
        {
            var seconds = Stopwatch.GetElapsedTime(_windowStart, _windowEnd).TotalSeconds;
            return new ClientResult(
                (long[])_answeredBy.Clone(), LatencySummary.From(_latency), sent, Interlocked.Read(ref _errors), _answeredInWindow / seconds, maxLagMs);
        }
    }
}
