namespace DataPlane.Store.Durability;

/// <summary>Applies one replayed write-ahead log record (a key and a whole stored value).</summary>
internal delegate void WalApply(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);
