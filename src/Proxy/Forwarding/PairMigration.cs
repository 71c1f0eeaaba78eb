using System.Net.Sockets;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Forwarding;

/// <summary>
/// One connection asked to stop at its quiet point for a live migration to another process.
/// <see cref="Quiet"/> completes true once both copy directions stopped with everything they had
/// received sent on (the fields then describe the pair, and its sockets stay open and untouched until
/// a decision), or false when the connection ended or failed instead. Exactly one decision follows a
/// quiet pair: <see cref="Migrated"/> (the old process closes its copies of the descriptors, plain
/// close) or <see cref="Resume"/> (copying goes on here, on the same sockets).
/// </summary>
internal sealed class PairMigration
{
    private readonly TaskCompletionSource<bool> _quiet = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True once the pair is quiet and waits for a decision; false when it cannot move.</summary>
    public Task<bool> Quiet => _quiet.Task;

    public Socket? Client { get; private set; }

    public Socket? UpstreamSocket { get; private set; }

    public Upstream? Upstream { get; private set; }

    /// <summary>The client's FIN arrived and was passed on to the upstream before the pair stopped.</summary>
    public bool ClientEnded { get; private set; }

    /// <summary>The upstream's FIN arrived and was passed on to the client before the pair stopped.</summary>
    public bool UpstreamEnded { get; private set; }

    /// <summary>How long the connection has been open (the new process keeps measuring from there).</summary>
    public TimeSpan Age { get; private set; }

    /// <summary>The decision: true to migrate, false to resume here.</summary>
    internal Task<bool> Decision => _decision.Task;

    /// <summary>The new process holds the descriptors: the connection ends here without touching the sockets.</summary>
    public void Migrated() => _decision.TrySetResult(true);

    /// <summary>Copying goes on in this process (a rolled-back handoff, or a pair that was not quiet in time).</summary>
    public void Resume() => _decision.TrySetResult(false);

    internal void SetQuiet(Socket client, Socket upstreamSocket, Upstream upstream, bool clientEnded, bool upstreamEnded, TimeSpan age)
    {
        Client = client;
        UpstreamSocket = upstreamSocket;
        Upstream = upstream;
        ClientEnded = clientEnded;
        UpstreamEnded = upstreamEnded;
        Age = age;
        _quiet.TrySetResult(true);
    }

    internal void CannotMove() => _quiet.TrySetResult(false);
}
