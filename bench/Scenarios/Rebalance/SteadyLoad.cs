using System.Collections.Concurrent;
using System.Diagnostics;
using StackExchange.Redis;

namespace DataPlane.Bench.Scenarios.Rebalance;

/// <summary>
/// The steady client load of the rebalance benchmark: a few closed-loop clients, each paced to a fixed
/// rate, alternating a GET of a random loaded key and a SET of a new key (whose value is remembered
/// once acknowledged). Every operation's latency is recorded with its start time, so percentiles can
/// be taken for any window.
/// </summary>
internal sealed class SteadyLoad
{
    private readonly IDatabase _db;
    private readonly int _loaded;
    private readonly double _opsPerSecondPerClient;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<(double At, double Ms)> _samples = new();
    private readonly Task[] _clients;
    private readonly ConcurrentQueue<string> _firstErrors = new();
    private long _errors;
    private long _written;

    public SteadyLoad(IDatabase db, int loaded, int clients, double opsPerSecond)
    {
        _db = db;
        _loaded = loaded;
        _opsPerSecondPerClient = opsPerSecond / clients;
        _clients = [.. Enumerable.Range(0, clients).Select(c => Task.Run(() => RunAsync(c)))];
    }

    /// <summary>Seconds since the load started.</summary>
    public double Now => _clock.Elapsed.TotalSeconds;

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>The first few errors' messages, with when they happened, so that a run with errors says which.</summary>
    public IReadOnlyCollection<string> FirstErrors => _firstErrors;

    public ConcurrentDictionary<string, string> Written { get; } = new(StringComparer.Ordinal);

    public IReadOnlyCollection<(double At, double Ms)> Samples => _samples;

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
        _stop.Dispose();
    }

    private async Task RunAsync(int client)
    {
        var random = new Random(client);
        var interval = 1.0 / _opsPerSecondPerClient;
        var next = Now;
        while (!_stop.IsCancellationRequested)
        {
            var wait = next - Now;
            if (wait > 0)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            next += interval;
            var started = Now;
            try
            {
                if (random.Next(2) == 0)
                {
                    await _db.StringGetAsync($"key:{random.Next(_loaded)}");
                }
                else
                {
                    var n = Interlocked.Increment(ref _written);
                    var key = $"live:{n}";
                    var value = $"value-{n}";
                    await _db.StringSetAsync(key, value);
                    Written[key] = value;
                }

                _samples.Enqueue((started, (Now - started) * 1000));
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (Interlocked.Increment(ref _errors) <= 5)
                {
                    _firstErrors.Enqueue($"{started:F1} s: {e.GetType().Name}: {e.Message}");
                }
            }
        }
    }
}
