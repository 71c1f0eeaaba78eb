using System.Net.Sockets;
using System.Text;

namespace DataPlane.Proxy.Tests.Support;

internal static class HttpUpstream
{
    /// <summary>A minimal HTTP/1.1 server answering every request with <paramref name="body"/> (keep-alive).</summary>
    public static TestUpstream Start(string body) =>
        Serve($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n\r\n{body}", closeAfterOne: false);

    /// <summary>A minimal HTTP/1.1 server answering one request per connection with <paramref name="body"/>, then closing (Connection: close).</summary>
    public static TestUpstream StartClosing(string body) =>
        Serve($"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {body.Length}\r\n\r\n{body}", closeAfterOne: true);

    /// <summary>Answers each request (headers up to the blank line) with <paramref name="text"/>; after the first, closes if asked.</summary>
    private static TestUpstream Serve(string text, bool closeAfterOne) => new(async socket =>
    {
        var response = Encoding.ASCII.GetBytes(text);
        var buffer = new byte[8192];
        var pending = new StringBuilder();
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer);
            if (n == 0)
            {
                return;
            }

            pending.Append(Encoding.ASCII.GetString(buffer, 0, n));
            int end;
            while ((end = pending.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal)) >= 0)
            {
                pending.Remove(0, end + 4);
                await socket.SendAsync(response);
                if (closeAfterOne)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    return;
                }
            }
        }
    });
}
