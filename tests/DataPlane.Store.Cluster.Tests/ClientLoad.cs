using System.Collections.Concurrent;
using StackExchange.Redis;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// A steady client during a membership change: writes new keys one after another and reads back an
/// earlier one after each write, counting errors and remembering every acknowledged write, until
/// stopped (or a bound on operations is reached, so that no test can loop forever).
/// </summary>
internal sealed class ClientLoad
{
    private const int MaxOperations = 200_000;

    private readonly IDatabase _db;
    private readonly string _prefix;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private long _errors;
    private long _operations;

    public ClientLoad(IDatabase db, string prefix)
    {
        _db = db;
        _prefix = prefix;
        _running = Task.Run(RunAsync);
    }

    public ConcurrentDictionary<string, string> Acknowledged { get; } = new(StringComparer.Ordinal);

    public long Errors => Interlocked.Read(ref _errors);

    public long Operations => Interlocked.Read(ref _operations);

    public ConcurrentQueue<string> ErrorMessages { get; } = new();

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _running;
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        for (var i = 0; i < MaxOperations && !_stop.IsCancellationRequested; i++)
        {
            var key = $"{_prefix}:{i}";
            var value = $"v{i}";
            try
            {
                await _db.StringSetAsync(key, value);
                Acknowledged[key] = value;
                var earlier = $"{_prefix}:{i / 2}";
                var read = await _db.StringGetAsync(earlier);
                if (read != Acknowledged[earlier])
                {
                    throw new InvalidOperationException($"read {earlier} = '{read}', expected '{Acknowledged[earlier]}'");
                }
            }
            catch (Exception e) when (e is RedisException or InvalidOperationException or TimeoutException)
            {
                Interlocked.Increment(ref _errors);
                ErrorMessages.Enqueue(e.Message);
            }

            Interlocked.Add(ref _operations, 2);
        }
    }
}
