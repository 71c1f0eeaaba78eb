namespace DataPlane.Store.Replica;

/// <summary>SET's NX / XX.</summary>
internal enum SetCondition : byte
{
    Always,
    IfAbsent,
    IfPresent,
}
