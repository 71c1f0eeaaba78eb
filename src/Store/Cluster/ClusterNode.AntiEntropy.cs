using DataPlane.Store.AntiEntropy;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Cluster;

internal sealed partial class ClusterNode
{
    private static readonly TimeSpan MaxSettle = TimeSpan.FromSeconds(1);

    private Task _antiEntropyRounds = Task.CompletedTask;
    private AntiEntropyResponder? _antiEntropyResponder;

    /// <summary>This node's anti-entropy counters.</summary>
    public AntiEntropyStats AntiEntropy { get; } = new();

    /// <summary>
    /// How long an exchange waits before it compares the leaves that differed once more (see
    /// <see cref="AntiEntropyExchange"/>): a quarter of the request timeout, as a write reaches its
    /// replicas within their reply time (milliseconds, a few tens under load) or its coordinator gives up at
    /// the timeout and hints it, a difference worth repairing; at most a quarter of the interval, so short
    /// intervals (tests) stay short rounds, and at most a second, so a long timeout does not hold the peer's
    /// lease (twice the request timeout, which the pause stays well under) for minutes.
    /// </summary>
    private TimeSpan AntiEntropySettle => TimeSpan.FromTicks(Math.Min(Math.Min(Options.RequestTimeout.Ticks, Options.AntiEntropyInterval.Ticks) / 4, MaxSettle.Ticks));

    /// <summary>Builds the Merkle trees from the recovered data (before anything is served) and the responder peers talk to.</summary>
    private AntiEntropyResponder StartAntiEntropy()
    {
        Replica.EnableDigests(Options.Partitions);
        _antiEntropyResponder = new AntiEntropyResponder(Replica, Sessions, AntiEntropy, Time, Options.RequestTimeout * 2);
        return _antiEntropyResponder;
    }

    private void StartAntiEntropyRounds()
    {
        if (Options.AntiEntropy)
        {
            _antiEntropyRounds = AntiEntropyAsync(_stopping.Token);
        }
    }

    private async Task StopAntiEntropyAsync()
    {
        await _antiEntropyRounds.ConfigureAwait(false);
        if (_antiEntropyResponder is not null)
        {
            await _antiEntropyResponder.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every <see cref="ClusterOptions.AntiEntropyInterval"/>: an exchange with each healthy peer, one
    /// peer after the other. Of two nodes, the one whose name sorts first starts their exchange (it
    /// repairs both ways), so a pair compares once per round, not twice. The partitions compared are
    /// worked out from the placement of the moment, as membership may have changed since last round.
    /// </summary>
    private async Task AntiEntropyAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Options.AntiEntropyInterval, Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                AntiEntropy.Round();
                foreach (var peer in Peers)
                {
                    if (string.CompareOrdinal(Options.NodeId, peer.Name) >= 0 || peer.Suspected || !peer.Client.IsConnected)
                    {
                        continue;
                    }

                    try
                    {
                        var exchange = new AntiEntropyExchange(Replica, Sessions, AntiEntropy, peer.Client, Options.RequestTimeout, Options.AntiEntropyKeysPerSecond, AntiEntropySettle, Time);
                        await exchange.RunAsync(SharedPartitions(Placement, Options.NodeId, peer.Name), cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
                    {
                        // The next round starts over from the roots; nothing half-done needs undoing (merges are idempotent).
                        LogExchangeFailed(_logger, peer.Name, e.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>The partitions whose preference lists hold both nodes, ascending.</summary>
    internal static List<int> SharedPartitions(Placement placement, string self, string peer)
    {
        var shared = new List<int>();
        var a = IndexOf(placement, self);
        var b = IndexOf(placement, peer);
        if (a < 0 || b < 0)
        {
            return shared;
        }

        for (var p = 0; p < placement.Partitions; p++)
        {
            var list = placement.PreferenceList(p);
            if (list.Contains(a) && list.Contains(b))
            {
                shared.Add(p);
            }
        }

        return shared;
    }

    private static int IndexOf(Placement placement, string name)
    {
        for (var i = 0; i < placement.Nodes.Count; i++)
        {
            if (placement.Nodes[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    [LoggerMessage(EventId = 45, Level = LogLevel.Information, Message = "Anti-entropy with {Peer} stopped early: {Reason}")]
    private static partial void LogExchangeFailed(ILogger logger, string peer, string reason);
}
