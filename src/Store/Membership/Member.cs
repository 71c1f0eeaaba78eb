using System.Net;

namespace DataPlane.Store.Membership;

/// <summary>One node of a membership: its name, the address peers replicate to, and (when known) the address clients use.</summary>
internal sealed record Member(string Name, IPEndPoint Peer, IPEndPoint? Client);
