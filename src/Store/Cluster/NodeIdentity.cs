using System.Text;
using DataPlane.Net.IO;

namespace DataPlane.Store.Cluster;

/// <summary>
/// The node id kept in the data directory (<c>node-id</c>): a directory written by one node never
/// starts as another, which would serve that node's keys under a different place on the ring.
/// </summary>
internal static class NodeIdentity
{
    public const string FileName = "node-id";

    /// <summary>Records <paramref name="nodeId"/> in a new directory, or checks it against the one recorded.</summary>
    /// <exception cref="InvalidOperationException">The directory belongs to another node.</exception>
    public static void Claim(string directory, string nodeId)
    {
        DurableFile.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        if (File.Exists(path))
        {
            var recorded = File.ReadAllText(path).Trim();
            if (recorded != nodeId)
            {
                throw new InvalidOperationException($"The data directory '{directory}' belongs to node '{recorded}', not '{nodeId}'; refusing to start.");
            }

            return;
        }

        DurableFile.Replace(path, Encoding.UTF8.GetBytes(nodeId));
    }
}
