using System.Net.Sockets;

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>A request waiting in an upstream's FIFO queue; <see cref="Done"/> completes when it has been answered.</summary>
internal sealed class UpstreamJob(Socket connection, int sequence)
{
    public Socket Connection { get; } = connection;

    public int Sequence { get; } = sequence;

    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
