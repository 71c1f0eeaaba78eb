namespace DataPlane.Log.Groups;

internal sealed partial class ConsumerGroup
{
    public Task<JoinGroupResult> JoinAsync(JoinGroupRequest request)
    {
        lock (_lock)
        {
            if (_state == GroupState.Dead)
            {
                return Task.FromResult(JoinGroupResult.Failed(GroupError.CoordinatorNotAvailable, request.MemberId));
            }

            if (request.MemberId.Length > 0 && IsFenced(request.MemberId, request.GroupInstanceId))
            {
                return Task.FromResult(JoinGroupResult.Failed(GroupError.FencedInstanceId, request.MemberId));
            }

            var now = _options.TimeProvider.GetUtcNow();
            foreach (var (expiredId, expiry) in _pendingMembers)
            {
                if (expiry < now)
                {
                    _pendingMembers.Remove(expiredId);
                }
            }

            if (request.MemberId.Length == 0 && request.RequireKnownMemberId && request.GroupInstanceId is null)
            {
                var assigned = NewMemberId(request.ClientId);
                _pendingMembers[assigned] = now + request.SessionTimeout;
                return Task.FromResult(JoinGroupResult.Failed(GroupError.MemberIdRequired, assigned));
            }

            _members.TryGetValue(request.MemberId, out var known);
            var pending = known is null && _pendingMembers.Remove(request.MemberId);
            if (request.MemberId.Length > 0 && known is null && !pending)
            {
                return Task.FromResult(JoinGroupResult.Failed(GroupError.UnknownMemberId, request.MemberId));
            }

            if (!IsConsistent(request, known))
            {
                return Task.FromResult(JoinGroupResult.Failed(GroupError.InconsistentGroupProtocol, request.MemberId));
            }

            if (known is not null)
            {
                return Rejoin(known, request);
            }

            if (request.GroupInstanceId is { } instance && _staticMembers.TryGetValue(instance, out var previous)
                && _members.TryGetValue(previous, out var replaced))
            {
                return ReplaceStaticMember(replaced, request);
            }

            var member = new GroupMember(pending ? request.MemberId : NewMemberId(request.ClientId), request);
            _members[member.MemberId] = member;
            if (member.InstanceId is { } id)
            {
                _staticMembers[id] = member.MemberId;
            }

            _protocolType ??= request.ProtocolType;
            return JoinRebalance(member);
        }
    }

    private Task<JoinGroupResult> Rejoin(GroupMember member, JoinGroupRequest request)
    {
        member.Request = request with { MemberId = member.MemberId };
        return JoinRebalance(member);
    }

    /// <summary>
    /// A static member restarted (a new instance, no member id, same <c>group.instance.id</c>): it takes the old
    /// member's place under a new member id, and the old instance is fenced. In a stable group it gets the current
    /// generation and its old assignment back with no rebalance.
    /// </summary>
    private Task<JoinGroupResult> ReplaceStaticMember(GroupMember member, JoinGroupRequest request)
    {
        member.FailWaiters(GroupError.FencedInstanceId);
        _members.Remove(member.MemberId);
        var newId = NewMemberId(request.ClientId);
        if (_leaderId == member.MemberId)
        {
            _leaderId = newId;
        }

        member.MemberId = newId;
        member.Request = request with { MemberId = newId };
        _members[newId] = member;
        _staticMembers[member.InstanceId!] = newId;
        RestartSession(member);
        if (_state == GroupState.Stable)
        {
            return Task.FromResult(new JoinGroupResult(GroupError.None, _generation, _protocolName, _leaderId, newId, []));
        }

        return JoinRebalance(member);
    }

    /// <summary>The member waits for the rebalance, which this join starts or may complete.</summary>
    private Task<JoinGroupResult> JoinRebalance(GroupMember member)
    {
        var waiter = AwaitJoin(member);
        if (_state == GroupState.PreparingRebalance)
        {
            TryCompleteJoin();
        }
        else
        {
            PrepareRebalance();
        }

        return waiter;
    }

    private static Task<JoinGroupResult> AwaitJoin(GroupMember member)
    {
        member.JoinWaiter?.TrySetResult(JoinGroupResult.Failed(GroupError.RebalanceInProgress, member.MemberId));
        member.JoinWaiter = new TaskCompletionSource<JoinGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        return member.JoinWaiter.Task;
    }

    private bool IsFenced(string memberId, string? instanceId) =>
        instanceId is not null && _staticMembers.TryGetValue(instanceId, out var current) && current != memberId;

    private bool IsConsistent(JoinGroupRequest request, GroupMember? self)
    {
        if (request.Protocols.Count == 0 || request.ProtocolType.Length == 0)
        {
            return false;
        }

        var others = _members.Count - (self is null ? 0 : 1);
        if (others == 0)
        {
            return true;
        }

        if (request.ProtocolType != _protocolType)
        {
            return false;
        }

        var common = CommonProtocols(self);
        foreach (var p in request.Protocols)
        {
            if (common.Contains(p.Name))
            {
                return true;
            }
        }

        return false;
    }

    private void PrepareRebalance()
    {
        if (_state == GroupState.CompletingRebalance)
        {
            foreach (var member in _members.Values)
            {
                member.SyncWaiter?.TrySetResult(new SyncGroupResult(GroupError.RebalanceInProgress, default));
                member.SyncWaiter = null;
            }
        }

        var wasEmpty = _state == GroupState.Empty;
        _state = GroupState.PreparingRebalance;
        _rebalanceTimer?.Dispose();
        var delay = TimeSpan.Zero;
        foreach (var member in _members.Values)
        {
            delay = member.Request.RebalanceTimeout > delay ? member.Request.RebalanceTimeout : delay;
        }

        // group.initial.rebalance.delay.ms: a new group waits a little for the members starting with the first one.
        _initialDelayPending = wasEmpty && _options.InitialRebalanceDelay > TimeSpan.Zero;
        if (_initialDelayPending && _options.InitialRebalanceDelay < delay)
        {
            delay = _options.InitialRebalanceDelay;
        }

        _rebalanceTimer = _options.TimeProvider.CreateTimer(
            static state => ((ConsumerGroup)state!).OnRebalanceTimeout(), this, delay, Timeout.InfiniteTimeSpan);
        TryCompleteJoin();
    }

    private void TryCompleteJoin()
    {
        if (_state != GroupState.PreparingRebalance || _initialDelayPending)
        {
            return;
        }

        foreach (var member in _members.Values)
        {
            if (member.JoinWaiter is null)
            {
                return;
            }
        }

        CompleteJoin();
    }

    private void OnRebalanceTimeout()
    {
        lock (_lock)
        {
            if (_state != GroupState.PreparingRebalance)
            {
                return;
            }

            _initialDelayPending = false;
            foreach (var member in _members.Values.Where(m => m.JoinWaiter is null).ToList())
            {
                RemoveMember(member, GroupError.UnknownMemberId);
            }

            CompleteJoin();
        }
    }

    private void CompleteJoin()
    {
        _rebalanceTimer?.Dispose();
        _rebalanceTimer = null;
        _generation++;
        if (_members.Count == 0)
        {
            _state = GroupState.Empty;
            _protocolType = null;
            _protocolName = null;
            _leaderId = string.Empty;
            return;
        }

        _protocolName = SelectProtocol();
        if (!_members.ContainsKey(_leaderId))
        {
            _leaderId = _members.Values.MinBy(m => m.SortKey, StringComparer.Ordinal)!.MemberId;
        }

        _state = GroupState.CompletingRebalance;
        if (_protocolType == GroupCoordinator.EmbeddedProtocolType)
        {
            ComputeBuiltInAssignment();
            _state = GroupState.Stable;
        }

        var all = new List<GroupMemberInfo>(_members.Count);
        foreach (var member in _members.Values)
        {
            all.Add(new GroupMemberInfo(member.MemberId, member.InstanceId, member.MetadataFor(_protocolName)));
        }

        foreach (var member in _members.Values)
        {
            var result = new JoinGroupResult(GroupError.None, _generation, _protocolName, _leaderId, member.MemberId, member.MemberId == _leaderId ? all : []);
            member.JoinWaiter?.TrySetResult(result);
            member.JoinWaiter = null;
            RestartSession(member);
        }
    }
}
