using System.Collections.Concurrent;
using System.Text;
using DataPlane.Log.Offsets;

namespace DataPlane.Log.Groups;

/// <summary>
/// The group coordinator of a <see cref="CommitLog"/>: Kafka's consumer-group protocol as calls (JoinGroup,
/// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch) with Kafka's error codes as values, so the same
/// object serves embedded consumers and, through a wire codec, Kafka clients. Members of protocol type
/// <c>consumer</c> are assigned by their leader and the coordinator relays the bytes; members of protocol type
/// <see cref="EmbeddedProtocolType"/> are assigned by the coordinator with a built-in assignor (<c>range</c>,
/// <c>roundrobin</c>, <c>cooperative-sticky</c>). Committed offsets live in the log's <c>__consumer_offsets</c> topic.
/// </summary>
public sealed class GroupCoordinator : IAsyncDisposable
{
    /// <summary>The protocol type of members that let the coordinator compute their assignment (the embedded consumer's).</summary>
    public const string EmbeddedProtocolType = "embedded-consumer";

    private readonly CommitLog _log;
    private readonly GroupCoordinatorOptions _options;
    private readonly OffsetStore _offsets;
    private readonly ConcurrentDictionary<string, ConsumerGroup> _groups = new(StringComparer.Ordinal);
    private int _disposed;

    private GroupCoordinator(CommitLog log, GroupCoordinatorOptions options, OffsetStore offsets)
    {
        _log = log;
        _options = options;
        _offsets = offsets;
    }

    /// <summary>The log whose topics the groups consume.</summary>
    public CommitLog Log => _log;

    /// <summary>The clock of sessions and timeouts.</summary>
    public TimeProvider TimeProvider => _options.TimeProvider;

    /// <summary>The groups that have had a member since start-up.</summary>
    public IReadOnlyCollection<string> Groups => [.. _groups.Keys];

    internal OffsetStore Offsets => _offsets;

    /// <summary>
    /// Opens a coordinator over <paramref name="log"/>: creates <c>__consumer_offsets</c> on first use, else loads
    /// every committed offset from it. One coordinator per log.
    /// </summary>
    /// <param name="log">The log; the coordinator does not dispose it.</param>
    /// <param name="options">Timeouts and limits; defaults when null.</param>
    public static GroupCoordinator Open(CommitLog log, GroupCoordinatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        options ??= new GroupCoordinatorOptions();
        return new GroupCoordinator(log, options, OffsetStore.Open(log, options));
    }

    /// <summary>
    /// JoinGroup: completes when the rebalance the join starts (or takes part in) reaches the assignment phase, or
    /// at once with an error. A static member rejoining a stable group gets its generation back with no rebalance.
    /// </summary>
    /// <param name="request">The join.</param>
    public Task<JoinGroupResult> JoinGroupAsync(JoinGroupRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.GroupId.Length == 0 || Encoding.UTF8.GetByteCount(request.GroupId) > short.MaxValue)
        {
            return Task.FromResult(JoinGroupResult.Failed(GroupError.InvalidGroupId, request.MemberId));
        }

        if (request.SessionTimeout < _options.MinSessionTimeout || request.SessionTimeout > _options.MaxSessionTimeout)
        {
            return Task.FromResult(JoinGroupResult.Failed(GroupError.InvalidSessionTimeout, request.MemberId));
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            return Task.FromResult(JoinGroupResult.Failed(GroupError.CoordinatorNotAvailable, request.MemberId));
        }

        var group = _groups.GetOrAdd(request.GroupId, static (id, self) => new ConsumerGroup(id, self._options, self._log.GetPartitionCount), this);
        return group.JoinAsync(request);
    }

    /// <summary>
    /// SyncGroup: the leader passes every member's assignment; each member (the leader too) gets its own once the
    /// leader's arrives. For embedded groups the assignment is ready at once.
    /// </summary>
    /// <param name="groupId">The group.</param>
    /// <param name="generationId">The generation from JoinGroup.</param>
    /// <param name="memberId">The member.</param>
    /// <param name="groupInstanceId">Its <c>group.instance.id</c>, if static.</param>
    /// <param name="assignments">From the leader: each member's assignment bytes; empty from followers.</param>
    public Task<SyncGroupResult> SyncGroupAsync(
        string groupId, int generationId, string memberId, string? groupInstanceId, IReadOnlyList<MemberAssignment> assignments) =>
        _groups.TryGetValue(groupId, out var group)
            ? group.SyncAsync(generationId, memberId, groupInstanceId, assignments)
            : Task.FromResult(new SyncGroupResult(GroupError.UnknownMemberId, default));

    /// <summary>Heartbeat: keeps the member's session; <see cref="GroupError.RebalanceInProgress"/> tells it to rejoin.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="generationId">The member's generation.</param>
    /// <param name="memberId">The member.</param>
    /// <param name="groupInstanceId">Its <c>group.instance.id</c>, if static.</param>
    public GroupError Heartbeat(string groupId, int generationId, string memberId, string? groupInstanceId = null) =>
        _groups.TryGetValue(groupId, out var group) ? group.Heartbeat(generationId, memberId, groupInstanceId) : GroupError.UnknownMemberId;

    /// <summary>LeaveGroup: removes the member (by member id, or by instance id for a static member) and rebalances the rest.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="memberId">The member, or empty with <paramref name="groupInstanceId"/>.</param>
    /// <param name="groupInstanceId">The static member's instance id.</param>
    public GroupError LeaveGroup(string groupId, string memberId, string? groupInstanceId = null) =>
        _groups.TryGetValue(groupId, out var group) ? group.Leave(memberId, groupInstanceId) : GroupError.UnknownMemberId;

    /// <summary>A snapshot of the group's state, generation and assignments.</summary>
    /// <param name="groupId">The group.</param>
    public GroupDescription DescribeGroup(string groupId) =>
        _groups.TryGetValue(groupId, out var group)
            ? group.Describe()
            : new GroupDescription(groupId, GroupState.Empty, 0, null, null, string.Empty, []);

    /// <summary>
    /// OffsetCommit: checks that the member belongs to the group's current generation (or that the group is empty
    /// and <paramref name="generationId"/> is -1: a consumer outside group management), then writes every valid
    /// commit as one batch. Commits from a stale generation fail with <see cref="GroupError.IllegalGeneration"/>.
    /// </summary>
    /// <param name="groupId">The group.</param>
    /// <param name="generationId">The member's generation, or -1 for a commit outside group management.</param>
    /// <param name="memberId">The member, or empty with generation -1.</param>
    /// <param name="groupInstanceId">Its <c>group.instance.id</c>, if static.</param>
    /// <param name="commits">The positions (and checkpoints) to store.</param>
    /// <returns>One error per commit, in order.</returns>
    public async ValueTask<GroupError[]> CommitOffsetsAsync(
        string groupId, int generationId, string memberId, string? groupInstanceId, IReadOnlyList<OffsetCommit> commits)
    {
        ArgumentNullException.ThrowIfNull(commits);
        var errors = new GroupError[commits.Count];
        var groupError = groupId.Length == 0 ? GroupError.InvalidGroupId
            : Volatile.Read(ref _disposed) != 0 ? GroupError.CoordinatorNotAvailable
            : _groups.TryGetValue(groupId, out var group) ? group.ValidateCommit(generationId, memberId, groupInstanceId)
            : generationId < 0 ? GroupError.None : GroupError.UnknownMemberId;
        var valid = new List<OffsetCommit>(commits.Count);
        for (var i = 0; i < commits.Count; i++)
        {
            var c = commits[i];
            errors[i] = groupError != GroupError.None ? groupError
                : (uint)c.Partition.Partition >= (uint)_log.GetPartitionCount(c.Partition.Topic) ? GroupError.UnknownTopicOrPartition
                : c.Metadata is { } m && Encoding.UTF8.GetByteCount(m) > _options.MaxMetadataBytes ? GroupError.OffsetMetadataTooLarge
                : GroupError.None;
            if (errors[i] == GroupError.None)
            {
                valid.Add(c);
            }
        }

        var written = await _offsets.CommitAsync(groupId, valid).ConfigureAwait(false);
        if (written != GroupError.None)
        {
            for (var i = 0; i < errors.Length; i++)
            {
                errors[i] = errors[i] == GroupError.None ? written : errors[i];
            }
        }

        return errors;
    }

    /// <summary>OffsetFetch: the group's committed offsets for <paramref name="partitions"/> (all of them when null); partitions with no commit are left out.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="partitions">The partitions wanted, or null for every partition the group committed.</param>
    public IReadOnlyDictionary<TopicPartition, CommittedOffset> FetchOffsets(string groupId, IReadOnlyCollection<TopicPartition>? partitions = null)
    {
        var result = new Dictionary<TopicPartition, CommittedOffset>();
        if (partitions is null)
        {
            foreach (var (tp, offset) in _offsets.GetAll(groupId))
            {
                result[tp] = offset;
            }

            return result;
        }

        foreach (var tp in partitions)
        {
            if (_offsets.TryGet(groupId, tp, out var offset))
            {
                result[tp] = offset;
            }
        }

        return result;
    }

    /// <summary>Stops every group: pending joins and syncs fail with <see cref="GroupError.CoordinatorNotAvailable"/>. The log stays open.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            foreach (var group in _groups.Values)
            {
                group.Shutdown();
            }
        }

        return ValueTask.CompletedTask;
    }
}
