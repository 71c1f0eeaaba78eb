namespace DataPlane.Store.Protocol.Resp;

/// <summary>What the parser found at the front of the buffer.</summary>
internal enum ParseStatus : byte
{
    /// <summary>A whole command (possibly with no arguments: an empty inline line or <c>*0</c>, which are skipped).</summary>
    Complete,

    /// <summary>The command is not all there yet: read more and parse again from the same place.</summary>
    Incomplete,

    /// <summary>A protocol error: reply with it and close the connection, as Redis does.</summary>
    Error,
}
