namespace DataPlane.Cli;

/// <summary>
/// `--handoff-socket`, `--handoff-timeout` and `--handoff-connections`: where a running proxy hands its
/// listeners over, how long each step may take, and whether this process, taking over, also takes the
/// established connections (live migration) instead of letting the old process drain them.
/// </summary>
internal sealed record HandoffSettings(string? Path, TimeSpan Timeout, bool Connections);
