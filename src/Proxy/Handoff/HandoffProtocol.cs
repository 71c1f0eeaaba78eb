namespace DataPlane.Proxy.Handoff;

/// <summary>
/// The handoff conversation (text messages over the AF_UNIX SOCK_SEQPACKET socket):
/// old -> new <c>LISTENERS more|end</c> + one configured listen address per line, with those listening
/// descriptors attached (at most 253 per message); new -> old <c>READY</c> once it adopted them (not
/// accepting yet); old stops accepting (a cancelled AcceptAsync; the sockets stay intact), old -> new
/// <c>COMMIT</c> (with the counter lines); new starts accepting, new -> old <c>STARTED</c>.
/// With live migration the new process answers LISTENERS with <c>MIGRATE</c> + the configured listen
/// addresses it serves (one per line) instead of READY; the old one stops accepting, brings the copying
/// connections of those listeners to their quiet points and sends <c>CONNECTIONS more|end</c> + one line
/// per pair (<c>LISTEN UPSTREAM FLAGS AGE_MS</c>; flags: 1 the client's FIN was passed on, 2 the
/// upstream's) with the client's and the upstream's descriptors attached (at most 126 pairs per
/// message); the new process adopts them and says READY, and the conversation goes on as above. Once
/// COMMIT is sent the pairs are the new process's: the old one closes its copies (plain close) and never
/// resumes them, since the new one may have read from them already; before COMMIT any failure resumes them. Only then does the old process
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
    public const string Migrate = "MIGRATE";
    public const string Connections = "CONNECTIONS";

    /// <summary>Pair flag: the client's FIN arrived and was passed on to the upstream.</summary>
    public const int ClientEnded = 1;

    /// <summary>Pair flag: the upstream's FIN arrived and was passed on to the client.</summary>
    public const int UpstreamEnded = 2;
}
