namespace DataPlane.Log.Groups;

/// <summary>A member of a <see cref="ConsumerGroup"/>; changed only under the group's lock.</summary>
internal sealed class GroupMember(string memberId, JoinGroupRequest request)
{
    public string MemberId { get; set; } = memberId;

    public string? InstanceId { get; } = request.GroupInstanceId;

    public JoinGroupRequest Request { get; set; } = request;

    public string SortKey => InstanceId ?? MemberId;

    /// <summary>The pending JoinGroup response: while it is set the member waits for the rebalance, and its session does not expire.</summary>
    public TaskCompletionSource<JoinGroupResult>? JoinWaiter { get; set; }

    /// <summary>The pending SyncGroup response.</summary>
    public TaskCompletionSource<SyncGroupResult>? SyncWaiter { get; set; }

    public ReadOnlyMemory<byte> Assignment { get; set; }

    public ITimer? SessionTimer { get; set; }

    public ReadOnlyMemory<byte> MetadataFor(string? protocol)
    {
        foreach (var p in Request.Protocols)
        {
            if (p.Name == protocol)
            {
                return p.Metadata;
            }
        }

        return default;
    }

    public void FailWaiters(GroupError error)
    {
        JoinWaiter?.TrySetResult(JoinGroupResult.Failed(error, MemberId));
        JoinWaiter = null;
        SyncWaiter?.TrySetResult(new SyncGroupResult(error, default));
        SyncWaiter = null;
    }
}
