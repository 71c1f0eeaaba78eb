using System.Buffers.Binary;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Cluster;

internal sealed partial class ClusterNode
{
    private const int HandoffWindow = 256;

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
    /// Delivers every sealed hint file of a peer, a window of writes at a time, no faster than
    /// <see cref="ClusterOptions.HintsPerSecond"/>; a file is deleted only when all its hints were
    /// acknowledged. Delivery is an ordinary replicated write, so a hint delivered twice, or one older
    /// than what the peer has, changes nothing (last writer wins). A hint older than half the tombstone
    /// grace is dropped, as Cassandra's max hint window drops it: near the grace the peer may already
    /// have reclaimed the tombstone (or buried expired value) that replaced it, and the old value would
    /// come back. The half is the margin for the nodes' clocks and for deliveries in flight.
    /// </summary>
    private async Task HandOffAsync(PeerState peer, CancellationToken cancellationToken)
    {
        var delivered = 0;
        var dropped = 0;
        var started = Time.GetTimestamp();
        var maxAgeMs = (long)Replica.Settings.TombstoneGrace.TotalMilliseconds / 2;
        try
        {
            foreach (var file in Hints.Seal(peer.Name))
            {
                var (count, droppedHere) = (0, 0);
                foreach (var window in ReadWindows(file))
                {
                    count += window.Count;
                    var nowMs = Time.GetUtcNow().ToUnixTimeMilliseconds();
                    var due = window.Where(r => HybridLogicalClock.PhysicalMilliseconds(StoredValue.Version(r.Stored).Timestamp) + maxAgeMs > nowMs).ToList();
                    droppedHere += window.Count - due.Count;
                    await Task.WhenAll(due.Select(r => Deliver(peer, r.Key, r.Stored, Options.RequestTimeout))).ConfigureAwait(false);
                    delivered += due.Count;
                    var wait = TimeSpan.FromSeconds((double)delivered / Options.HintsPerSecond) - Time.GetElapsedTime(started);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, Time, cancellationToken).ConfigureAwait(false);
                    }
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
            // The peer went away again (or this node is stopping): the files stay for the next attempt.
        }
        finally
        {
            peer.EndDelivery();
        }
    }

    private static IEnumerable<List<(byte[] Key, byte[] Stored)>> ReadWindows(string path)
    {
        using var reader = new DataPlane.Store.Hints.HintReader(path);
        var window = new List<(byte[] Key, byte[] Stored)>(HandoffWindow);
        while (reader.TryRead())
        {
            window.Add((reader.Key.ToArray(), reader.Stored.ToArray()));
            if (window.Count == HandoffWindow)
            {
                yield return window;
                window = new List<(byte[] Key, byte[] Stored)>(HandoffWindow);
            }
        }

        if (window.Count > 0)
        {
            yield return window;
        }
    }

    private static async Task Deliver(PeerState peer, byte[] key, byte[] stored, TimeSpan timeout)
    {
        var reply = await peer.Client.CallAsync(FrameType.Write, key.Length, key, stored, default, timeout).ConfigureAwait(false);
        if (reply.Type != FrameType.Ack)
        {
            throw new IOException($"peer {peer.Name} refused a hint: " + System.Text.Encoding.UTF8.GetString(reply.Payload));
        }
    }

    [LoggerMessage(EventId = 44, Level = LogLevel.Information, Message = "Handed {Count} hints to {Peer}; dropped {Dropped} older than half the tombstone grace")]
    private static partial void LogHandedOff(ILogger logger, int count, string peer, int dropped);
}
