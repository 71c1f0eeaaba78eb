using System.Collections.Frozen;

namespace DataPlane.Store.Protocol.Resp;

/// <summary>Looks commands up by name, any case, without allocating (an upper-cased copy on the stack and a span lookup).</summary>
internal static class CommandTable
{
    private const int MaxNameLength = 16;

    private static readonly string[] Write = ["write"];
    private static readonly string[] WriteDenyOom = ["write", "denyoom"];
    private static readonly string[] ReadOnly = ["readonly", "fast"];
    private static readonly string[] Fast = ["fast"];
    private static readonly string[] Admin = ["loading", "stale"];

    public static IReadOnlyList<CommandInfo> All { get; } =
    [
        new(CommandId.Ping, "ping", -1, Fast, 0, 0, 0),
        new(CommandId.Echo, "echo", 2, Fast, 0, 0, 0),
        new(CommandId.Get, "get", 2, ReadOnly, 1, 1, 1),
        new(CommandId.Set, "set", -3, WriteDenyOom, 1, 1, 1),
        new(CommandId.SetEx, "setex", 4, WriteDenyOom, 1, 1, 1),
        new(CommandId.PSetEx, "psetex", 4, WriteDenyOom, 1, 1, 1),
        new(CommandId.SetNx, "setnx", 3, WriteDenyOom, 1, 1, 1),
        new(CommandId.Del, "del", -2, Write, 1, -1, 1),
        new(CommandId.Del, "unlink", -2, Write, 1, -1, 1),
        new(CommandId.Exists, "exists", -2, ReadOnly, 1, -1, 1),
        new(CommandId.MGet, "mget", -2, ReadOnly, 1, -1, 1),
        new(CommandId.MSet, "mset", -3, WriteDenyOom, 1, -1, 2),
        new(CommandId.Expire, "expire", -3, Write, 1, 1, 1),
        new(CommandId.PExpire, "pexpire", -3, Write, 1, 1, 1),
        new(CommandId.Ttl, "ttl", 2, ReadOnly, 1, 1, 1),
        new(CommandId.PTtl, "pttl", 2, ReadOnly, 1, 1, 1),
        new(CommandId.Persist, "persist", 2, Write, 1, 1, 1),
        new(CommandId.Incr, "incr", 2, WriteDenyOom, 1, 1, 1),
        new(CommandId.IncrBy, "incrby", 3, WriteDenyOom, 1, 1, 1),
        new(CommandId.Decr, "decr", 2, WriteDenyOom, 1, 1, 1),
        new(CommandId.DecrBy, "decrby", 3, WriteDenyOom, 1, 1, 1),
        new(CommandId.Append, "append", 3, WriteDenyOom, 1, 1, 1),
        new(CommandId.StrLen, "strlen", 2, ReadOnly, 1, 1, 1),
        new(CommandId.DbSize, "dbsize", 1, ReadOnly, 0, 0, 0),
        new(CommandId.FlushDb, "flushdb", -1, Write, 0, 0, 0),
        new(CommandId.FlushAll, "flushall", -1, Write, 0, 0, 0),
        new(CommandId.Info, "info", -1, Admin, 0, 0, 0),
        new(CommandId.Select, "select", 2, Fast, 0, 0, 0),
        new(CommandId.Quit, "quit", -1, Fast, 0, 0, 0),
        new(CommandId.Command, "command", -1, Admin, 0, 0, 0),
        new(CommandId.Config, "config", -2, Admin, 0, 0, 0),
        new(CommandId.Client, "client", -2, Admin, 0, 0, 0),
        new(CommandId.Hello, "hello", -1, Fast, 0, 0, 0),
        new(CommandId.Cluster, "cluster", -2, Admin, 0, 0, 0),
    ];

    private static readonly FrozenDictionary<string, CommandInfo> ByName =
        All.ToFrozenDictionary(c => c.Name.ToUpperInvariant(), StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, CommandInfo>.AlternateLookup<ReadOnlySpan<char>> Lookup =
        ByName.GetAlternateLookup<ReadOnlySpan<char>>();

    public static CommandInfo? Find(ReadOnlySpan<byte> name)
    {
        if (name.Length > MaxNameLength)
        {
            return null;
        }

        Span<char> upper = stackalloc char[MaxNameLength];
        for (var i = 0; i < name.Length; i++)
        {
            upper[i] = char.ToUpperInvariant((char)name[i]);
        }

        return Lookup.TryGetValue(upper[..name.Length], out var info) ? info : null;
    }

    /// <summary>Case-insensitive comparison of an argument with an ASCII keyword given in upper case.</summary>
    public static bool Is(ReadOnlySpan<byte> argument, ReadOnlySpan<byte> upperKeyword)
    {
        if (argument.Length != upperKeyword.Length)
        {
            return false;
        }

        for (var i = 0; i < argument.Length; i++)
        {
            var c = argument[i];
            if ((c >= 'a' && c <= 'z' ? (byte)(c - 32) : c) != upperKeyword[i])
            {
                return false;
            }
        }

        return true;
    }
}
