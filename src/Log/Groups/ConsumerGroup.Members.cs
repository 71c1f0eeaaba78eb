namespace DataPlane.Log.Groups;

internal sealed partial class ConsumerGroup
{
    public Task<SyncGroupResult> SyncAsync(int generation, string memberId, string? instanceId, IReadOnlyList<MemberAssignment> assignments)
    {
        lock (_lock)
        {
            var error = Check(generation, memberId, instanceId, out var member);
            if (error != GroupError.None)
            {
                return Task.FromResult(new SyncGroupResult(error, default));
            }

            RestartSession(member!);
            switch (_state)
            {
                case GroupState.PreparingRebalance:
                    return Task.FromResult(new SyncGroupResult(GroupError.RebalanceInProgress, default));
                case GroupState.Stable:
                    return Task.FromResult(new SyncGroupResult(GroupError.None, member!.Assignment));
                default:
                    break;
            }

            member!.SyncWaiter?.TrySetResult(new SyncGroupResult(GroupError.RebalanceInProgress, default));
            member.SyncWaiter = new TaskCompletionSource<SyncGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var waiter = member.SyncWaiter.Task;
            if (memberId == _leaderId)
            {
                // The leader's assignment: relayed as bytes; a member it left out gets an empty one, as in Kafka.
                foreach (var m in _members.Values)
                {
                    m.Assignment = default;
                }

                foreach (var a in assignments)
                {
                    if (_members.TryGetValue(a.MemberId, out var target))
                    {
                        target.Assignment = a.Assignment;
                    }
                }

                _state = GroupState.Stable;
                foreach (var m in _members.Values)
                {
                    m.SyncWaiter?.TrySetResult(new SyncGroupResult(GroupError.None, m.Assignment));
                    m.SyncWaiter = null;
                }
            }

            return waiter;
        }
    }

    public GroupError Heartbeat(int generation, string memberId, string? instanceId)
    {
        lock (_lock)
        {
            if (IsFenced(memberId, instanceId))
            {
                return GroupError.FencedInstanceId;
            }

            if (!_members.TryGetValue(memberId, out var member))
            {
                return _state == GroupState.Dead ? GroupError.CoordinatorNotAvailable : GroupError.UnknownMemberId;
            }

            // A member that is alive keeps its session even while its view of the generation is catching up.
            RestartSession(member);
            return generation != _generation ? GroupError.IllegalGeneration
                : _state == GroupState.PreparingRebalance ? GroupError.RebalanceInProgress
                : GroupError.None;
        }
    }

    public GroupError Leave(string memberId, string? instanceId)
    {
        lock (_lock)
        {
            if (instanceId is not null)
            {
                if (!_staticMembers.TryGetValue(instanceId, out var current))
                {
                    return GroupError.UnknownMemberId;
                }

                if (memberId.Length > 0 && memberId != current)
                {
                    return GroupError.FencedInstanceId;
                }

                memberId = current;
            }

            if (!_members.TryGetValue(memberId, out var member))
            {
                return GroupError.UnknownMemberId;
            }

            RemoveMember(member, GroupError.UnknownMemberId);
            AfterRemoval();
            return GroupError.None;
        }
    }

    /// <summary>Kafka's checks before an offset commit: a member of the current generation, or a simple consumer of an empty group.</summary>
    public GroupError ValidateCommit(int generation, string memberId, string? instanceId)
    {
        lock (_lock)
        {
            if (generation < 0 && memberId.Length == 0 && _members.Count == 0)
            {
                return GroupError.None;
            }

            if (_state == GroupState.CompletingRebalance)
            {
                return GroupError.RebalanceInProgress;
            }

            return Check(generation, memberId, instanceId, out _);
        }
    }

    private GroupError Check(int generation, string memberId, string? instanceId, out GroupMember? member)
    {
        if (IsFenced(memberId, instanceId))
        {
            member = null;
            return GroupError.FencedInstanceId;
        }

        if (!_members.TryGetValue(memberId, out member))
        {
            return _state == GroupState.Dead ? GroupError.CoordinatorNotAvailable : GroupError.UnknownMemberId;
        }

        return generation != _generation ? GroupError.IllegalGeneration
            : GroupError.None;
    }

    private void OnSessionExpired(GroupMember member)
    {
        lock (_lock)
        {
            if (!_members.TryGetValue(member.MemberId, out var current) || !ReferenceEquals(current, member))
            {
                return;
            }

            // A member waiting in a JoinGroup or SyncGroup is bounded by the rebalance, not by its session.
            if (member.JoinWaiter is not null || member.SyncWaiter is not null)
            {
                RestartSession(member);
                return;
            }

            RemoveMember(member, GroupError.UnknownMemberId);
            AfterRemoval();
        }
    }

    private void RemoveMember(GroupMember member, GroupError error)
    {
        member.FailWaiters(error);
        member.SessionTimer?.Dispose();
        member.SessionTimer = null;
        _members.Remove(member.MemberId);
        if (member.InstanceId is { } id && _staticMembers.TryGetValue(id, out var current) && current == member.MemberId)
        {
            _staticMembers.Remove(id);
        }
    }

    private void AfterRemoval()
    {
        switch (_state)
        {
            case GroupState.Stable or GroupState.CompletingRebalance:
                PrepareRebalance();
                break;
            case GroupState.PreparingRebalance:
                TryCompleteJoin();
                break;
            default:
                break;
        }
    }
}
