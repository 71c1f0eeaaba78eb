namespace DataPlane.Cli;

/// <summary>`--handoff-socket` and `--handoff-timeout`: where a running proxy hands its listeners over, and how long each step may take.</summary>
internal sealed record HandoffSettings(string? Path, TimeSpan Timeout);
