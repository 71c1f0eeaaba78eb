using DataPlane.Store.Protocol.Resp;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Server;

internal sealed partial class RespConnection
{
    private const string NotAnInteger = "ERR value is not an integer or out of range";
    private const string SyntaxError = "ERR syntax error";
    private const string TooLarge = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

    private void Get()
    {
        if (_session.TryGet(_request[1], out var payload, out _))
        {
            Output.WriteBulk(payload);
        }
        else
        {
            Output.WriteRaw(RespWriter.NullBulk);
        }
    }

    private void Set()
    {
        var condition = SetCondition.Always;
        var keepTtl = false;
        var get = false;
        var expiresAt = 0L;
        for (var i = 3; i < _request.Count; i++)
        {
            var option = _request[i];
            if (CommandTable.Is(option, "NX"u8) && condition == SetCondition.Always)
            {
                condition = SetCondition.IfAbsent;
            }
            else if (CommandTable.Is(option, "XX"u8) && condition == SetCondition.Always)
            {
                condition = SetCondition.IfPresent;
            }
            else if (CommandTable.Is(option, "GET"u8))
            {
                get = true;
            }
            else if (CommandTable.Is(option, "KEEPTTL"u8) && expiresAt == 0)
            {
                keepTtl = true;
            }
            else if (IsExpiryOption(option, out var unitMs, out var absolute) && expiresAt == 0 && !keepTtl && i + 1 < _request.Count)
            {
                if (!Integers.TryParse(_request[++i], out var amount))
                {
                    Output.WriteError(NotAnInteger);
                    return;
                }

                if (amount <= 0 || !TryExpiry(amount, unitMs, absolute, out expiresAt))
                {
                    Output.WriteError("ERR invalid expire time in 'set' command");
                    return;
                }
            }
            else
            {
                Output.WriteError(SyntaxError);
                return;
            }
        }

        var value = _request[2];
        if (value.Length > _context.MaxValueLength)
        {
            Output.WriteError(TooLarge);
            return;
        }

        bool hadOld;
        ReadOnlySpan<byte> old;
        var written = get
            ? _session.SetAndGet(_request[1], value, expiresAt, condition, keepTtl, out hadOld, out old)
            : _session.Set(_request[1], value, expiresAt, condition, keepTtl, out hadOld, out old);
        if (get)
        {
            if (hadOld)
            {
                Output.WriteBulk(old);
            }
            else
            {
                Output.WriteRaw(RespWriter.NullBulk);
            }
        }
        else
        {
            Output.WriteRaw(written ? RespWriter.Ok : RespWriter.NullBulk);
        }
    }

    /// <summary>SETEX key seconds value / PSETEX key milliseconds value.</summary>
    private void SetWithExpiry(long unitMs, string name)
    {
        if (!Integers.TryParse(_request[2], out var amount))
        {
            Output.WriteError(NotAnInteger);
            return;
        }

        if (amount <= 0 || !TryExpiry(amount, unitMs, absolute: false, out var expiresAt))
        {
            Output.WriteError($"ERR invalid expire time in '{name}' command");
            return;
        }

        if (_request[3].Length > _context.MaxValueLength)
        {
            Output.WriteError(TooLarge);
            return;
        }

        _session.Set(_request[1], _request[3], expiresAt, SetCondition.Always, keepTtl: false, out _, out _);
        Output.WriteRaw(RespWriter.Ok);
    }

    private void SetIfAbsent()
    {
        if (_request[2].Length > _context.MaxValueLength)
        {
            Output.WriteError(TooLarge);
            return;
        }

        Output.WriteInteger(_session.Set(_request[1], _request[2], 0, SetCondition.IfAbsent, keepTtl: false, out _, out _) ? 1 : 0);
    }

    private static bool IsExpiryOption(ReadOnlySpan<byte> option, out long unitMs, out bool absolute)
    {
        (unitMs, absolute) = CommandTable.Is(option, "EX"u8) ? (1000L, false)
            : CommandTable.Is(option, "PX"u8) ? (1L, false)
            : CommandTable.Is(option, "EXAT"u8) ? (1000L, true)
            : CommandTable.Is(option, "PXAT"u8) ? (1L, true)
            : (0L, false);
        return unitMs != 0;
    }

    /// <summary>An absolute expiry in Unix milliseconds; false if it overflows.</summary>
    private bool TryExpiry(long amount, long unitMs, bool absolute, out long expiresAtMs)
    {
        expiresAtMs = 0;
        if (amount > long.MaxValue / unitMs || amount < long.MinValue / unitMs)
        {
            return false;
        }

        var ms = amount * unitMs;
        if (absolute)
        {
            expiresAtMs = ms;
            return true;
        }

        var now = _context.NowMs;
        if (ms > 0 && now > long.MaxValue - ms)
        {
            return false;
        }

        expiresAtMs = now + ms;
        return true;
    }

    private void MGet()
    {
        Output.WriteArrayHeader(_request.Count - 1);
        for (var i = 1; i < _request.Count; i++)
        {
            if (_session.TryGet(_request[i], out var payload, out _))
            {
                Output.WriteBulk(payload);
            }
            else
            {
                Output.WriteRaw(RespWriter.NullBulk);
            }
        }
    }

    private void MSet()
    {
        if ((_request.Count - 1) % 2 != 0)
        {
            Output.WriteError("ERR wrong number of arguments for 'mset' command");
            return;
        }

        for (var i = 2; i < _request.Count; i += 2)
        {
            if (_request[i].Length > _context.MaxValueLength)
            {
                Output.WriteError(TooLarge);
                return;
            }
        }

        for (var i = 1; i < _request.Count; i += 2)
        {
            _session.Set(_request[i], _request[i + 1], 0, SetCondition.Always, keepTtl: false, out _, out _);
        }

        Output.WriteRaw(RespWriter.Ok);
    }

    private void Increment(long sign, bool fromArgument)
    {
        var delta = sign;
        if (fromArgument)
        {
            if (!Integers.TryParse(_request[2], out var amount))
            {
                Output.WriteError(NotAnInteger);
                return;
            }

            if (sign < 0 && amount == long.MinValue)
            {
                Output.WriteError("ERR decrement would overflow");
                return;
            }

            delta = sign * amount;
        }

        switch (_session.IncrementBy(_request[1], delta, out var result))
        {
            case IncrementResult.Done: Output.WriteInteger(result); break;
            case IncrementResult.NotAnInteger: Output.WriteError(NotAnInteger); break;
            default: Output.WriteError("ERR increment or decrement would overflow"); break;
        }
    }

    private void Append()
    {
        var length = _session.Append(_request[1], _request[2], _context.MaxValueLength);
        if (length < 0)
        {
            Output.WriteError(TooLarge);
        }
        else
        {
            Output.WriteInteger(length);
        }
    }

    private void StrLen() => Output.WriteInteger(_session.TryGet(_request[1], out var payload, out _) ? payload.Length : 0);
}
