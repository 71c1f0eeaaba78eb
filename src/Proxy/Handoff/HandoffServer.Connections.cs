using System.Globalization;
using System.Net;
using System.Text;
using DataPlane.Proxy.Forwarding;
using Microsoft.Extensions.Logging;

namespace DataPlane.Proxy.Handoff;

/// <summary>The old process's side of a live migration: quiet points, and sending the pairs.</summary>
internal sealed partial class HandoffServer
{
    /// <summary>Two descriptors per pair, at most 253 per message.</summary>
    private const int PairsPerMessage = HandoffChannel.MaxDescriptors / 2;

    private static List<IPEndPoint> ParseListens(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(IPEndPoint.Parse)];

    /// <summary>
    /// Brings the copying connections of those listeners to their quiet points; returns the pairs that
    /// got there within half the handoff timeout (the new process waits the whole timeout for them, so
    /// they reach it before it gives up). A pair still flushing then (its client does not read) is told
    /// to resume when it gets there, and stays in this process.
    /// </summary>
    private async Task<List<(IPEndPoint Listen, PairMigration Pair)>> QuiesceAsync(IReadOnlyCollection<IPEndPoint> listens)
    {
        var started = Environment.TickCount64;
        var asked = _source.QuiesceConnections(listens);
        LogQuiescing(asked.Count);
        try
        {
            await Task.WhenAll(asked.Select(a => a.Pair.Quiet)).WaitAsync(_timeout / 2);
        }
        catch (TimeoutException)
        {
            // Whichever were not quiet in time resume below.
        }

        var quiet = new List<(IPEndPoint Listen, PairMigration Pair)>(asked.Count);
        foreach (var (listen, pair) in asked)
        {
            if (pair.Quiet.IsCompletedSuccessfully && pair.Quiet.Result)
            {
                quiet.Add((listen, pair));
            }
            else
            {
                pair.Resume();
            }
        }

        LogQuiesced(quiet.Count, asked.Count, Environment.TickCount64 - started);
        return quiet;
    }

    private void SendConnections(HandoffChannel channel, List<(IPEndPoint Listen, PairMigration Pair)> pairs)
    {
        var sent = 0;
        var text = new StringBuilder();
        var descriptors = new List<int>(HandoffChannel.MaxDescriptors);
        do
        {
            var chunk = pairs.Skip(sent).Take(PairsPerMessage).ToList();
            sent += chunk.Count;
            text.Clear().Append(HandoffProtocol.Connections).Append(' ').Append(sent < pairs.Count ? HandoffProtocol.More : HandoffProtocol.End);
            descriptors.Clear();
            foreach (var (listen, pair) in chunk)
            {
                var flags = (pair.ClientEnded ? HandoffProtocol.ClientEnded : 0) | (pair.UpstreamEnded ? HandoffProtocol.UpstreamEnded : 0);
                text.Append('\n').Append(CultureInfo.InvariantCulture, $"{listen} {pair.Upstream!.Address} {flags} {(long)pair.Age.TotalMilliseconds}");

                // Frozen pairs are never closed before a decision, so these numbers are theirs.
                descriptors.Add((int)pair.Client!.SafeHandle.DangerousGetHandle());
                descriptors.Add((int)pair.UpstreamSocket!.SafeHandle.DangerousGetHandle());
            }

            channel.Send(text.ToString(), descriptors.ToArray(), _timeout);
        }
        while (sent < pairs.Count);
    }

    [LoggerMessage(EventId = 155, Level = LogLevel.Information, Message = "Live migration: {Quiet} of {Asked} connections stopped at their quiet points in {Milliseconds} ms")]
    private partial void LogQuiesced(int quiet, int asked, long milliseconds);

    [LoggerMessage(EventId = 156, Level = LogLevel.Information, Message = "Live migration: asked {Asked} connections to stop at their quiet points")]
    private partial void LogQuiescing(int asked);
}
