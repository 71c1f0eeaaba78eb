using System.Net;
using DataPlane.Testing;

namespace DataPlane.Log.Kafka.Tests;

/// <summary>The real executable (<c>dotnet dataplane.dll log ...</c>) as a child process on an ephemeral port.</summary>
internal static class LogProcess
{
    public static async Task<(DataplaneChild Process, IPEndPoint EndPoint)> StartAsync(string directory, params string[] extra)
    {
        var child = await DataplaneChild.StartAsync("log", ["--listen", "127.0.0.1:0", "--data", directory, .. extra]);
        return (child, child.EndPoint ?? throw new InvalidOperationException("dataplane log printed no address: " + child.Output));
    }
}
