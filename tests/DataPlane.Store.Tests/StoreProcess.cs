using System.Net;
using DataPlane.Testing;

namespace DataPlane.Store.Tests;

/// <summary>The real executable (<c>dotnet dataplane.dll store ...</c>) as a child process on an ephemeral port.</summary>
internal static class StoreProcess
{
    public static async Task<(DataplaneChild Process, IPEndPoint EndPoint)> StartAsync(string directory, params string[] extra)
    {
        var child = await DataplaneChild.StartAsync("store", ["--listen", "127.0.0.1:0", "--data", directory, "--max-memory", "64mb", .. extra]);
        return (child, child.EndPoint ?? throw new InvalidOperationException("dataplane store printed no address: " + child.Output));
    }
}
