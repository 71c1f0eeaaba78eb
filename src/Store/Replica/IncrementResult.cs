namespace DataPlane.Store.Replica;

/// <summary>What INCRBY and friends found.</summary>
internal enum IncrementResult : byte
{
    Done,
    NotAnInteger,
    Overflow,
}
