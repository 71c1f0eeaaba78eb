using System.Net;
using System.Net.Sockets;

namespace DataPlane.Proxy.Handoff;

/// <summary>A listening socket offered to (or taken from) another process, with the listen address it was configured with.</summary>
internal sealed record HandoffListener(IPEndPoint Listen, Socket Socket);
