namespace DataPlane.Proxy.Handoff;

/// <summary>What a handoff needs from the running proxy: its listeners, and stopping/resuming accepts without closing them.</summary>
internal interface IHandoffSource
{
    IReadOnlyList<HandoffListener> HandoffListeners();

    Task PauseAcceptingAsync();

    void ResumeAccepting();

    /// <summary>The metric counters the new process adds to its own, as text lines.</summary>
    string CarriedCounters();
}
