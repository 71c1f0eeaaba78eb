using System.Net;
using DataPlane.Proxy.Forwarding;

namespace DataPlane.Proxy.Handoff;

/// <summary>What a handoff needs from the running proxy: its listeners, and stopping/resuming accepts without closing them.</summary>
internal interface IHandoffSource
{
    IReadOnlyList<HandoffListener> HandoffListeners();

    Task PauseAcceptingAsync();

    void ResumeAccepting();

    /// <summary>The metric counters the new process adds to its own, as text lines.</summary>
    string CarriedCounters();

    /// <summary>
    /// Asks the copying connections of the listeners configured at <paramref name="listens"/> to stop
    /// at their quiet points (live migration); each must then get a decision.
    /// </summary>
    IReadOnlyList<(IPEndPoint Listen, PairMigration Pair)> QuiesceConnections(IReadOnlyCollection<IPEndPoint> listens);
}
