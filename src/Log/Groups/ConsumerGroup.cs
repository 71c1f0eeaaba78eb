using DataPlane.Log.Groups.Assignors;

namespace DataPlane.Log.Groups;

/// <summary>
/// One group's state machine, as Kafka's classic group coordinator runs it: Empty -> PreparingRebalance (members
/// rejoin) -> CompletingRebalance (the leader's assignment is awaited) -> Stable, with a session timer per member
/// and a rebalance timer per rebalance. Every change happens under one lock; JoinGroup and SyncGroup are long
/// polls whose responses complete when the rebalance reaches them.
/// </summary>
internal sealed partial class ConsumerGroup
{
    private readonly Lock _lock = new();
    private readonly GroupCoordinatorOptions _options;
    private readonly Func<string, int> _partitionCount;
    private readonly Dictionary<string, GroupMember> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _staticMembers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _pendingMembers = new(StringComparer.Ordinal);
    private GroupState _state = GroupState.Empty;
    private int _generation;
    private string? _protocolType;
    private string? _protocolName;
    private string _leaderId = string.Empty;
    private ITimer? _rebalanceTimer;
    private bool _initialDelayPending;

    public ConsumerGroup(string groupId, GroupCoordinatorOptions options, Func<string, int> partitionCount)
    {
        GroupId = groupId;
        _options = options;
        _partitionCount = partitionCount;
    }

    public string GroupId { get; }

    public GroupDescription Describe()
    {
        lock (_lock)
        {
            var members = new List<MemberAssignment>(_members.Count);
            foreach (var member in _members.Values)
            {
                members.Add(new MemberAssignment(member.MemberId, member.Assignment));
            }

            return new GroupDescription(GroupId, _state, _generation, _protocolType, _protocolName, _leaderId, members);
        }
    }

    /// <summary>The coordinator stops: every pending response fails, every timer stops.</summary>
    public void Shutdown()
    {
        lock (_lock)
        {
            _rebalanceTimer?.Dispose();
            foreach (var member in _members.Values)
            {
                member.SessionTimer?.Dispose();
                member.FailWaiters(GroupError.CoordinatorNotAvailable);
            }

            _members.Clear();
            _staticMembers.Clear();
            _state = GroupState.Dead;
        }
    }

    private string NewMemberId(string clientId)
    {
        long suffix;
        lock (_options.Random)
        {
            suffix = _options.Random.NextInt64();
        }

        return clientId + "-" + suffix.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }

    private void RestartSession(GroupMember member)
    {
        member.SessionTimer ??= _options.TimeProvider.CreateTimer(
            static state => ((ConsumerGroup)((object[])state!)[0]).OnSessionExpired((GroupMember)((object[])state!)[1]),
            new object[] { this, member }, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        member.SessionTimer.Change(member.Request.SessionTimeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The protocol every member supports that most members prefer (Kafka's vote), or null when none is shared.</summary>
    private string? SelectProtocol()
    {
        var candidates = CommonProtocols(null);
        if (candidates.Count == 0)
        {
            return null;
        }

        var votes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var member in _members.Values)
        {
            foreach (var p in member.Request.Protocols)
            {
                if (candidates.Contains(p.Name))
                {
                    votes[p.Name] = votes.GetValueOrDefault(p.Name) + 1;
                    break;
                }
            }
        }

        string? best = null;
        foreach (var name in candidates)
        {
            if (best is null || votes.GetValueOrDefault(name) > votes.GetValueOrDefault(best))
            {
                best = name;
            }
        }

        return best;
    }

    /// <summary>The protocols every member (other than <paramref name="except"/>) lists, in the first member's order.</summary>
    private List<string> CommonProtocols(GroupMember? except)
    {
        List<string>? common = null;
        foreach (var member in _members.Values)
        {
            if (ReferenceEquals(member, except))
            {
                continue;
            }

            var names = new List<string>();
            foreach (var p in member.Request.Protocols)
            {
                names.Add(p.Name);
            }

            common = common is null ? names : common.FindAll(names.Contains);
        }

        return common ?? [];
    }

    private void ComputeBuiltInAssignment()
    {
        var assignor = _protocolName is null ? null : Assignors.Assignors.Find(_protocolName);
        var members = new List<AssignorMember>();
        foreach (var member in _members.Values)
        {
            ConsumerProtocol.TryDecodeSubscription(member.MetadataFor(_protocolName).Span, out var topics, out var owned);
            members.Add(new AssignorMember(member.MemberId, member.SortKey, topics, owned));
        }

        members.Sort(static (a, b) => string.CompareOrdinal(a.SortKey, b.SortKey));
        var assignment = assignor?.Assign(members, _partitionCount);
        foreach (var member in _members.Values)
        {
            member.Assignment = ConsumerProtocol.EncodeAssignment(
                assignment is not null && assignment.TryGetValue(member.MemberId, out var list) ? list : []);
        }
    }
}
