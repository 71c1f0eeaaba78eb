namespace DataPlane.Proxy.Handoff;

/// <summary>
/// The handoff conversation (text messages over the AF_UNIX SOCK_SEQPACKET socket):
/// old -> new <c>LISTENERS more|end</c> + one configured listen address per line, with those listening
/// descriptors attached (at most 253 per message); new -> old <c>READY</c> once it adopted them (not
/// accepting yet); old stops accepting (a cancelled AcceptAsync; the sockets stay intact), old -> new
/// <c>COMMIT</c> (with the counter lines); new starts accepting, new -> old <c>STARTED</c>. Only then does the old process
/// close its copies and drain. Any silence or death before STARTED rolls back: the old process keeps
/// (or resumes) accepting on the same sockets, and the kernel backlog never stops listening. COMMIT carries the
/// upstreams' metric counters (one line each), which the new process adds to its own.
/// </summary>
internal static class HandoffProtocol
{
    public const string Listeners = "LISTENERS";
    public const string More = "more";
    public const string End = "end";
    public const string Ready = "READY";
    public const string Commit = "COMMIT";
    public const string Started = "STARTED";
}
