using DataPlane.Store.Protocol.Resp;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Server;

internal sealed partial class RespConnection
{
    private void Del()
    {
        var deleted = 0;
        for (var i = 1; i < _request.Count; i++)
        {
            deleted += _session.Delete(_request[i]) ? 1 : 0;
        }

        Output.WriteInteger(deleted);
    }

    private void Exists()
    {
        var found = 0;
        for (var i = 1; i < _request.Count; i++)
        {
            found += _session.TryGet(_request[i], out _, out _) ? 1 : 0;
        }

        Output.WriteInteger(found);
    }

    private void Expire(long unitMs, string name)
    {
        if (_request.Count > 3)
        {
            Output.WriteError($"ERR Unsupported option {Printable(_request[3], 64)}");
            return;
        }

        if (!Integers.TryParse(_request[2], out var amount))
        {
            Output.WriteError(NotAnInteger);
            return;
        }

        if (!TryExpiry(amount, unitMs, absolute: false, out var expiresAt))
        {
            Output.WriteError($"ERR invalid expire time in '{name}' command");
            return;
        }

        Output.WriteInteger(_session.ExpireAt(_request[1], expiresAt) ? 1 : 0);
    }

    private void Ttl(bool milliseconds)
    {
        if (!_session.TryGet(_request[1], out _, out var expiresAt))
        {
            Output.WriteInteger(-2);
            return;
        }

        if (expiresAt == 0)
        {
            Output.WriteInteger(-1);
            return;
        }

        var remaining = Math.Max(0, expiresAt - _context.NowMs);
        Output.WriteInteger(milliseconds ? remaining : (remaining + 500) / 1000);
    }

    private void FlushDb()
    {
        if (_request.Count > 2 || (_request.Count == 2 && !CommandTable.Is(_request[1], "ASYNC"u8) && !CommandTable.Is(_request[1], "SYNC"u8)))
        {
            Output.WriteError(SyntaxError);
            return;
        }

        _session.DeleteAll();
        Output.WriteRaw(RespWriter.Ok);
    }
}
