using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DataPlane.Store.Tests;

/// <summary>A bare socket that sends bytes and reads RESP replies, for exact wording and bad input.</summary>
internal sealed class RawClient : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<byte> _buffer = [];

    public RawClient(IPEndPoint endPoint)
    {
        _socket.NoDelay = true;
        _socket.Connect(endPoint);
    }

    public Socket Socket => _socket;

    public void Send(string text) => Send(Encoding.UTF8.GetBytes(text));

    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            bytes = bytes[_socket.Send(bytes)..];
        }
    }

    /// <summary>Sends a command as a RESP array of bulk strings.</summary>
    public void Command(params string[] args) => Send(Encode(args));

    public static string Encode(params string[] args)
    {
        var text = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args)
        {
            text.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        }

        return text.ToString();
    }

    /// <summary>Reads one whole reply and returns its raw text (nested arrays included).</summary>
    public async Task<string> ReadReplyAsync()
    {
        var text = new StringBuilder();
        await ReadOne(text);
        return text.ToString();
    }

    /// <summary>True when the server has closed the connection (reads end) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var scratch = new byte[4096];
        try
        {
            while (true)
            {
                var n = await _socket.ReceiveAsync(scratch, SocketFlags.None, cancel.Token);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();

    private async Task ReadOne(StringBuilder text)
    {
        var line = await ReadLineAsync();
        text.Append(line).Append("\r\n");
        if (line[0] == '$' && int.Parse(line.AsSpan(1)) is var length and >= 0)
        {
            var data = await ReadBytesAsync(length + 2);
            text.Append(Encoding.UTF8.GetString(data));
        }
        else if (line[0] == '*' && int.Parse(line.AsSpan(1)) is var count and > 0)
        {
            for (var i = 0; i < count; i++)
            {
                await ReadOne(text);
            }
        }
    }

    private async Task<string> ReadLineAsync()
    {
        while (true)
        {
            for (var i = 0; i + 1 < _buffer.Count; i++)
            {
                if (_buffer[i] == '\r' && _buffer[i + 1] == '\n')
                {
                    var line = Encoding.UTF8.GetString(_buffer.GetRange(0, i).ToArray());
                    _buffer.RemoveRange(0, i + 2);
                    return line;
                }
            }

            await FillAsync();
        }
    }

    private async Task<byte[]> ReadBytesAsync(int count)
    {
        while (_buffer.Count < count)
        {
            await FillAsync();
        }

        var data = _buffer.GetRange(0, count).ToArray();
        _buffer.RemoveRange(0, count);
        return data;
    }

    private async Task FillAsync()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var scratch = new byte[64 * 1024];
        var n = await _socket.ReceiveAsync(scratch, SocketFlags.None, cancel.Token);
        if (n == 0)
        {
            throw new IOException("The server closed the connection.");
        }

        _buffer.AddRange(scratch.AsSpan(0, n));
    }
}
