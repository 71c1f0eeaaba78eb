namespace DataPlane.Store.Protocol.Resp;

/// <summary>
/// A command's name and shape as Redis's COMMAND reports it: arity (positive = exact argument count
/// including the name, negative = at least that many), flags, and where its keys are.
/// </summary>
internal sealed record CommandInfo(CommandId Id, string Name, int Arity, string[] Flags, int FirstKey, int LastKey, int Step)
{
    public bool AcceptsArgumentCount(int count) => Arity >= 0 ? count == Arity : count >= -Arity;
}
