using System.Globalization;
using System.IO.Enumeration;
using System.Text;
using DataPlane.Store.Protocol.Resp;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Server;

internal sealed partial class RespConnection
{
    /// <summary>The Redis version reported to clients, which pick features by it: Debian 12's redis-server.</summary>
    internal const string RedisVersion = "7.0.15";

    private void Ping()
    {
        if (_request.Count > 2)
        {
            Output.WriteError("ERR wrong number of arguments for 'ping' command");
        }
        else if (_request.Count == 2)
        {
            Output.WriteBulk(_request[1]);
        }
        else
        {
            Output.WriteRaw(RespWriter.Pong);
        }
    }

    private void Select()
    {
        if (!Integers.TryParse(_request[1], out var index))
        {
            Output.WriteError(NotAnInteger);
        }
        else if (index != 0)
        {
            Output.WriteError("ERR DB index is out of range");
        }
        else
        {
            Output.WriteRaw(RespWriter.Ok);
        }
    }

    private void Info()
    {
        var sections = new List<string>();
        for (var i = 1; i < _request.Count; i++)
        {
            sections.Add(Encoding.ASCII.GetString(_request[i]).ToLowerInvariant());
        }

        Output.WriteBulk(InfoReport.Build(_context, sections));
    }

    private void Command()
    {
        if (_request.Count == 1)
        {
            Output.WriteArrayHeader(CommandTable.All.Count);
            foreach (var info in CommandTable.All)
            {
                WriteCommandInfo(info);
            }
        }
        else if (CommandTable.Is(_request[1], "COUNT"u8))
        {
            Output.WriteInteger(CommandTable.All.Count);
        }
        else if (CommandTable.Is(_request[1], "DOCS"u8))
        {
            Output.WriteRaw(RespWriter.EmptyArray);
        }
        else if (CommandTable.Is(_request[1], "INFO"u8))
        {
            Output.WriteArrayHeader(_request.Count - 2);
            for (var i = 2; i < _request.Count; i++)
            {
                if (CommandTable.Find(_request[i]) is { } info)
                {
                    WriteCommandInfo(info);
                }
                else
                {
                    Output.WriteRaw(RespWriter.NullBulk);
                }
            }
        }
        else
        {
            Output.WriteError($"ERR unknown subcommand '{Printable(_request[1], 64)}'. Try COMMAND HELP.");
        }
    }

    private void WriteCommandInfo(CommandInfo info)
    {
        Output.WriteArrayHeader(6);
        Output.WriteBulk(info.Name);
        Output.WriteInteger(info.Arity);
        Output.WriteArrayHeader(info.Flags.Length);
        foreach (var flag in info.Flags)
        {
            Output.WriteSimple(flag);
        }

        Output.WriteInteger(info.FirstKey);
        Output.WriteInteger(info.LastKey);
        Output.WriteInteger(info.Step);
    }

    private void Config()
    {
        if (CommandTable.Is(_request[1], "GET"u8) && _request.Count >= 3)
        {
            var parameters = ConfigParameters();
            var matches = new List<KeyValuePair<string, string>>();
            for (var i = 2; i < _request.Count; i++)
            {
                var pattern = Encoding.UTF8.GetString(_request[i]).ToLowerInvariant();
                matches.AddRange(parameters.Where(p => FileSystemName.MatchesSimpleExpression(pattern, p.Key, ignoreCase: true) && !matches.Contains(p)));
            }

            Output.WriteArrayHeader(matches.Count * 2);
            foreach (var (name, value) in matches)
            {
                Output.WriteBulk(name);
                Output.WriteBulk(value);
            }
        }
        else if (CommandTable.Is(_request[1], "RESETSTAT"u8))
        {
            Output.WriteRaw(RespWriter.Ok);
        }
        else if (CommandTable.Is(_request[1], "SET"u8))
        {
            Output.WriteError($"ERR Unknown option or number of arguments for CONFIG SET - '{(_request.Count > 2 ? Printable(_request[2], 64) : string.Empty)}'");
        }
        else
        {
            Output.WriteError($"ERR unknown subcommand or wrong number of arguments for '{Printable(_request[1], 64)}'. Try CONFIG HELP.");
        }
    }

    private List<KeyValuePair<string, string>> ConfigParameters()
    {
        var o = _context.Options;
        string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
        return
        [
            new("appendonly", "yes"),
            new("appendfsync", o.Fsync switch { FsyncMode.Always => "always", FsyncMode.EverySecond => "everysec", _ => "no" }),
            new("databases", "1"),
            new("dir", Path.GetFullPath(o.DataDirectory)),
            new("maxmemory", Number(o.MaxMemory)),
            new("port", Number(_context.Port)),
            new("proto-max-bulk-len", Number(o.MaxBulkLength)),
            new("save", string.Empty),
            new("slave-read-only", "yes"),
            new("replica-read-only", "yes"),
            new("timeout", "0"),
        ];
    }

    private void Client()
    {
        var sub = _request[1];
        if (CommandTable.Is(sub, "SETNAME"u8) && _request.Count == 3)
        {
            SetName(_request[2]);
        }
        else if (CommandTable.Is(sub, "GETNAME"u8) && _request.Count == 2)
        {
            if (_name is null)
            {
                Output.WriteRaw(RespWriter.NullBulk);
            }
            else
            {
                Output.WriteBulk(_name);
            }
        }
        else if (CommandTable.Is(sub, "SETINFO"u8) && _request.Count == 4)
        {
            Output.WriteRaw(RespWriter.Ok);
        }
        else if (CommandTable.Is(sub, "ID"u8) && _request.Count == 2)
        {
            Output.WriteInteger(_id);
        }
        else
        {
            Output.WriteError($"ERR unknown subcommand or wrong number of arguments for '{Printable(sub, 64)}'. Try CLIENT HELP.");
        }
    }

    private bool SetName(ReadOnlySpan<byte> name, bool reply = true)
    {
        foreach (var b in name)
        {
            if (b is < (byte)'!' or > (byte)'~')
            {
                Output.WriteError("ERR Client names cannot contain spaces, newlines or special characters.");
                return false;
            }
        }

        _name = name.IsEmpty ? null : Encoding.ASCII.GetString(name);
        if (reply)
        {
            Output.WriteRaw(RespWriter.Ok);
        }

        return true;
    }

    /// <summary>HELLO: RESP2 only, so RESP2 clients carry on and RESP3 clients fall back, as with a Redis that lacks RESP3.</summary>
    private void Hello()
    {
        if (_request.Count >= 2)
        {
            if (!Integers.TryParse(_request[1], out var version) || version < 1 || version > 3)
            {
                Output.WriteError("ERR Protocol version is not an integer or out of range");
                return;
            }

            if (version != 2)
            {
                Output.WriteError("NOPROTO unsupported protocol version");
                return;
            }
        }

        for (var i = 2; i < _request.Count; i++)
        {
            if (CommandTable.Is(_request[i], "AUTH"u8) && i + 2 < _request.Count)
            {
                i += 2;
            }
            else if (CommandTable.Is(_request[i], "SETNAME"u8) && i + 1 < _request.Count)
            {
                if (!SetName(_request[++i], reply: false))
                {
                    return;
                }
            }
            else
            {
                Output.WriteError($"ERR Syntax error in HELLO option '{Printable(_request[i], 64)}'");
                return;
            }
        }

        Output.WriteArrayHeader(14);
        Output.WriteBulk("server");
        Output.WriteBulk("redis");
        Output.WriteBulk("version");
        Output.WriteBulk(RedisVersion);
        Output.WriteBulk("proto");
        Output.WriteInteger(2);
        Output.WriteBulk("id");
        Output.WriteInteger(_id);
        Output.WriteBulk("mode");
        Output.WriteBulk("standalone");
        Output.WriteBulk("role");
        Output.WriteBulk("master");
        Output.WriteBulk("modules");
        Output.WriteRaw(RespWriter.EmptyArray);
    }
}
