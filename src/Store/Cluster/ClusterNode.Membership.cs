using DataPlane.Store.Protocol.Internode;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Cluster;

internal sealed partial class ClusterNode
{
    /// <summary>
    /// Every interval: a heartbeat to each connected peer, a suspicion for each silent one, hint delivery
    /// to each healthy one with hints. A tick later than the interval plus half of
    /// <see cref="ClusterOptions.SuspectAfter"/> means this node itself stood still (a 2.5 s GC pause on a
    /// loaded machine, with a million keys): it sent no pings and read no replies meanwhile, so its peers'
    /// silence is counted from that tick, not from before the stall. Counted across it, every healthy peer
    /// was suspected at once, and writes went to hints and reads skipped replicas until the next pong.
    /// </summary>
    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Options.HeartbeatInterval, Time);
        var late = Options.HeartbeatInterval + (Options.SuspectAfter / 2);
        var lastTick = Time.GetTimestamp();
        var silenceFrom = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = Time.GetTimestamp();
                var sinceLastTick = Time.GetElapsedTime(lastTick, now);
                lastTick = now;
                if (sinceLastTick > late)
                {
                    silenceFrom = now;
                    LogStalled(_logger, sinceLastTick);
                }

                foreach (var peer in Peers)
                {
                    if (peer.Client.IsConnected)
                    {
                        _ = PingAsync(peer);
                    }

                    if (!peer.Suspected && Time.GetElapsedTime(Math.Max(peer.LastHeard, silenceFrom), now) > Options.SuspectAfter && peer.Suspect())
                    {
                        // A peer that hangs keeps its socket open: drop it so its requests fail now, not at their timeouts.
                        LogSuspected(_logger, peer.Name, Options.SuspectAfter);
                        peer.Client.Reset();
                    }

                    StartHandoff(peer);
                }

                KeepHints();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// The hint store's upkeep, each heartbeat: the hints kept for a node that is no longer a member (it
    /// left, or was taken out of the configuration) are dropped, as nobody would take them (its keys reached
    /// their new owners by rebalancing from the replicas that acknowledged them); the hints written since
    /// the last heartbeat become durable (off fsync always), so a machine crash loses at most a heartbeat's.
    /// A file system that refuses is logged and tried again next time; it must not end the heartbeats, nor may a
    /// bug in the hint store's writing (the loops' write-out shares it), which would end failure detection with them.
    /// </summary>
    private void KeepHints()
    {
        try
        {
            var membership = View.Membership;
            foreach (var node in Hints.Targets())
            {
                if (!membership.Everyone.Any(m => m.Name == node))
                {
                    LogHintsDiscarded(_logger, Hints.Discard(node), node);
                }
            }

            Hints.SyncWritten();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogHintUpkeepFailed(_logger, e);
        }
    }

    private async Task PingAsync(PeerState peer)
    {
        try
        {
            await peer.Client.CallAsync(FrameType.Ping, -1, default, default, default, Options.SuspectAfter).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Silence is what the failure detector measures; the next tick judges it.
        }
    }

    private void OnStateChanged(PeerClient client, bool connected)
    {
        var peer = PeerNamed(client.Name);
        if (connected)
        {
            OnHeard(client);
        }
        else if (peer.Suspect())
        {
            LogDown(_logger, peer.Name);
        }
    }

    private void OnHeard(PeerClient client)
    {
        var peer = PeerNamed(client.Name);
        if (peer.Hear(Time.GetTimestamp()) && client.IsConnected)
        {
            LogUp(_logger, peer.Name);
            StartHandoff(peer);
        }
    }

    /// <summary>By the slots array, not <see cref="Peers"/>: every receive from a peer calls this, and the filtered enumeration allocated each time.</summary>
    private PeerState PeerNamed(string name)
    {
        foreach (var peer in PeerSlots)
        {
            if (peer is not null && peer.Name == name)
            {
                return peer;
            }
        }

        throw new InvalidOperationException($"unknown peer {name}");
    }

    [LoggerMessage(EventId = 53, Level = LogLevel.Error, Message = "Keeping the hint files failed (dropping a departed node's, or syncing); tried again next heartbeat")]
    private static partial void LogHintUpkeepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 52, Level = LogLevel.Warning, Message = "Dropped {Count} hints for {Node}, which is no longer in the cluster")]
    private static partial void LogHintsDiscarded(ILogger logger, long count, string node);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Peer {Peer} suspected after {Silence} of silence")]
    private static partial void LogSuspected(ILogger logger, string peer, TimeSpan silence);

    [LoggerMessage(EventId = 51, Level = LogLevel.Warning, Message = "Heartbeat ran {Late} after the previous one: peers' silence counts from now")]
    private static partial void LogStalled(ILogger logger, TimeSpan late);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "Peer {Peer} is down")]
    private static partial void LogDown(ILogger logger, string peer);

    [LoggerMessage(EventId = 43, Level = LogLevel.Information, Message = "Peer {Peer} is up")]
    private static partial void LogUp(ILogger logger, string peer);
}
