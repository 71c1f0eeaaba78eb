namespace DataPlane.Store.Replica;

/// <summary>What a merge did to the stored value.</summary>
internal enum MergeOutcome : byte
{
    /// <summary>The incoming version was newer (or the key was absent): it is now the stored value.</summary>
    Applied,

    /// <summary>The stored version was as new or newer: nothing changed.</summary>
    Stale,
}
