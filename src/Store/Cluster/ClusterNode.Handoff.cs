using DataPlane.Store.Hints;
using DataPlane.Store.Replica;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Cluster;

internal sealed partial class ClusterNode
{
    /// <summary>Hints between two looks at the clock (the rate limit and the age limit): one read per hint cost as much as its send.</summary>
    private const int HandoffClockEvery = 64;

    /// <summary>Starts handing <paramref name="peer"/> its hints if it is healthy, has some, and no handoff is running.</summary>
    private void StartHandoff(PeerState peer)
    {
        if (Options.DeliverHints && !peer.Suspected && !_stopping.IsCancellationRequested && Hints.PendingFor(peer.Name) > 0 && peer.TryBeginDelivery())
        {
            // On the thread pool: the peer's first frame after a suspicion may arrive on a client event
            // loop, which must not seal and read hint files.
            _ = Task.Run(() => HandOffAsync(peer, _stopping.Token));
        }
    }

    /// <summary>
    /// Delivers every sealed hint file of a peer through a sliding window of requests in flight
    /// (<see cref="HintDelivery"/>), no faster than <see cref="ClusterOptions.HintsPerSecond"/>; a file
    /// is deleted only when all its hints were acknowledged. Delivery is an ordinary replicated write, so
    /// a hint delivered twice, or one older than what the peer has, changes nothing (last writer wins). A
    /// hint older than half the tombstone grace is dropped, as Cassandra's max hint window drops it: near
    /// the grace the peer may already have reclaimed the tombstone (or buried expired value) that
    /// replaced it, and the old value would come back. The half is the margin for the nodes' clocks and
    /// for deliveries in flight.
    /// </summary>
    private async Task HandOffAsync(PeerState peer, CancellationToken cancellationToken)
    {
        var delivery = new HintDelivery(peer.Client, Options.RequestTimeout);
        var delivered = 0L;
        var dropped = 0L;
        var started = Time.GetTimestamp();
        try
        {
            foreach (var file in Hints.Seal(peer.Name))
            {
                var (count, droppedHere) = (0L, 0L);
                using (var reader = new HintReader(file))
                {
                    var oldest = OldestDeliverableMs();
                    while (!delivery.Failed && reader.TryRead())
                    {
                        count++;
                        if (HybridLogicalClock.PhysicalMilliseconds(StoredValue.Version(reader.Stored).Timestamp) <= oldest)
                        {
                            droppedHere++;
                            continue;
                        }

                        // The reader's record stays valid until its next read.
                        await delivery.WaitForRoomAsync(reader.Key.Length + reader.Stored.Length, cancellationToken).ConfigureAwait(false);
                        if (delivery.Failed || !delivery.TrySend(reader.Key, reader.Stored))
                        {
                            break;
                        }

                        if (++delivered % HandoffClockEvery == 0)
                        {
                            oldest = OldestDeliverableMs();
                            var wait = TimeSpan.FromSeconds((double)delivered / Options.HintsPerSecond) - Time.GetElapsedTime(started);
                            if (wait > TimeSpan.Zero)
                            {
                                await Task.Delay(wait, Time, cancellationToken).ConfigureAwait(false);
                            }
                        }
                    }
                }

                await delivery.DrainAsync(cancellationToken).ConfigureAwait(false);
                if (delivery.Failed)
                {
                    // The peer went away again, or refused: the file stays for the next attempt.
                    return;
                }

                Hints.Complete(peer.Name, file, count, droppedHere);
                dropped += droppedHere;
            }

            if (delivered + dropped > 0)
            {
                LogHandedOff(_logger, delivered, peer.Name, dropped);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // This node is stopping, or a file could not be read: the files stay for the next attempt.
        }
        finally
        {
            peer.EndDelivery();
        }
    }

    /// <summary>The physical time (ms) at or before which a hint is dropped: half the tombstone grace ago.</summary>
    private long OldestDeliverableMs() =>
        Time.GetUtcNow().ToUnixTimeMilliseconds() - (long)Replica.Settings.TombstoneGrace.TotalMilliseconds / 2;

    [LoggerMessage(EventId = 44, Level = LogLevel.Information, Message = "Handed {Count} hints to {Peer}; dropped {Dropped} older than half the tombstone grace")]
    private static partial void LogHandedOff(ILogger logger, long count, string peer, long dropped);
}
