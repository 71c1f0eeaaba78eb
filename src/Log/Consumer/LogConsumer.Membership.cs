using DataPlane.Log.Groups;

namespace DataPlane.Log.Consumer;

public sealed partial class LogConsumer
{
    private readonly SemaphoreSlim _rejoin = new(0, 1);
    private volatile bool _rebalancing;
    private volatile bool _lostPending;

    private bool Cooperative => _options.AssignmentStrategy == PartitionAssignmentStrategy.CooperativeSticky;

    private string ProtocolName => _options.AssignmentStrategy switch
    {
        PartitionAssignmentStrategy.RoundRobin => "roundrobin",
        PartitionAssignmentStrategy.CooperativeSticky => "cooperative-sticky",
        _ => "range",
    };

    private void RequestRejoin()
    {
        try
        {
            _rejoin.Release();
        }
        catch (SemaphoreFullException)
        {
            // A rejoin is already pending; one is enough.
        }
    }

    private async Task RunMembershipAsync()
    {
        try
        {
            while (true)
            {
                await _rejoin.WaitAsync(_stopping.Token).ConfigureAwait(false);
                _rebalancing = true;
                try
                {
                    await RebalanceAsync(_stopping.Token).ConfigureAwait(false);
                }
                finally
                {
                    _rebalancing = false;
                }

                if (_fatal != GroupError.None)
                {
                    Wake();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Closing.
        }
    }

    private async Task RebalanceAsync(CancellationToken ct)
    {
        if (_lostPending)
        {
            _lostPending = false;
            await LoseAllAsync().ConfigureAwait(false);
        }

        if (!Cooperative)
        {
            // Eager protocols: everything is revoked (and committed by the callback) before the member rejoins.
            await ChangeAssignmentAsync([], lost: false).ConfigureAwait(false);
        }

        while (true)
        {
            string memberId;
            lock (_stateLock)
            {
                memberId = _memberId;
            }

            var owned = Cooperative ? Volatile.Read(ref _assigned) : [];
            var join = await _coordinator.JoinGroupAsync(new JoinGroupRequest
            {
                GroupId = _options.GroupId,
                MemberId = memberId,
                GroupInstanceId = _options.GroupInstanceId,
                ClientId = _options.ClientId,
                ProtocolType = GroupCoordinator.EmbeddedProtocolType,
                Protocols = [new GroupProtocol(ProtocolName, ConsumerProtocol.EncodeSubscription(_topics, owned))],
                SessionTimeout = _options.SessionTimeout,
                RebalanceTimeout = _options.RebalanceTimeout,
            }).WaitAsync(ct).ConfigureAwait(false);
            if (await HandleErrorAsync(join.Error).ConfigureAwait(false) is { } stop)
            {
                if (stop)
                {
                    return;
                }

                continue;
            }

            lock (_stateLock)
            {
                _memberId = join.MemberId;
                _generation = join.GenerationId;
            }

            var sync = await _coordinator.SyncGroupAsync(_options.GroupId, join.GenerationId, join.MemberId, _options.GroupInstanceId, [])
                .WaitAsync(ct).ConfigureAwait(false);
            if (await HandleErrorAsync(sync.Error).ConfigureAwait(false) is { } stopAfterSync)
            {
                if (stopAfterSync)
                {
                    return;
                }

                continue;
            }

            ConsumerProtocol.TryDecodeAssignment(sync.Assignment.Span, out var assignment);
            var revoked = await ChangeAssignmentAsync(assignment, lost: false).ConfigureAwait(false);
            if (Cooperative && revoked > 0)
            {
                // KIP-429: the revoked partitions are handed to their new owners by a follow-up rebalance.
                RequestRejoin();
            }

            return;
        }
    }

    /// <summary>Null to go on; false to retry the join; true to stop (fenced or the coordinator stopped).</summary>
    private async ValueTask<bool?> HandleErrorAsync(GroupError error)
    {
        switch (error)
        {
            case GroupError.None:
                return null;
            case GroupError.UnknownMemberId or GroupError.IllegalGeneration:
                await LoseAllAsync().ConfigureAwait(false);
                return false;
            case GroupError.RebalanceInProgress:
                return false;
            default:
                await LoseAllAsync().ConfigureAwait(false);
                _fatal = error;
                return true;
        }
    }

    private async ValueTask LoseAllAsync()
    {
        lock (_stateLock)
        {
            _memberId = string.Empty;
            _generation = -1;
        }

        await ChangeAssignmentAsync([], lost: true).ConfigureAwait(false);
    }

    /// <summary>Moves to <paramref name="assignment"/>: revokes (or loses) what is gone, then assigns what is new at its starting position.</summary>
    /// <returns>How many partitions were revoked.</returns>
    private async ValueTask<int> ChangeAssignmentAsync(IReadOnlyCollection<TopicPartition> assignment, bool lost)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = Volatile.Read(ref _assigned);
            var target = new HashSet<TopicPartition>(assignment);
            var gone = current.Where(tp => !target.Contains(tp)).ToList();
            var added = assignment.Where(tp => !current.Contains(tp)).OrderBy(tp => tp).ToList();
            if (gone.Count > 0 && (lost ? PartitionsLost : PartitionsRevoked) is { } callback)
            {
                await callback(gone).ConfigureAwait(false);
            }

            foreach (var tp in added)
            {
                var start = _coordinator.FetchOffsets(_options.GroupId, [tp]).TryGetValue(tp, out var committed) ? committed.Offset : ResetOffset(tp);
                lock (_stateLock)
                {
                    _positions[tp] = start;
                    _buffers[tp] = new Queue<ConsumeResult>();
                }
            }

            SetAssignment([.. current.Where(target.Contains).Concat(added).Order()]);
            if (added.Count > 0 && PartitionsAssigned is { } assigned)
            {
                await assigned(added).ConfigureAwait(false);
            }

            Wake();
            return gone.Count;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void SetAssignment(TopicPartition[] assignment)
    {
        lock (_stateLock)
        {
            foreach (var tp in _positions.Keys.ToList())
            {
                if (Array.IndexOf(assignment, tp) < 0)
                {
                    _positions.Remove(tp);
                    _buffers.Remove(tp);
                }
            }

            Volatile.Write(ref _assigned, assignment);
        }
    }

    /// <summary>Runs on the heartbeat timer, also during a rebalance (to keep the session), whose answers it then ignores.</summary>
    private void SendHeartbeat()
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return;
        }

        string memberId;
        int generation;
        lock (_stateLock)
        {
            memberId = _memberId;
            generation = _generation;
        }

        if (memberId.Length == 0)
        {
            return;
        }

        var error = _coordinator.Heartbeat(_options.GroupId, generation, memberId, _options.GroupInstanceId);
        if (error == GroupError.None || _rebalancing || generation != GenerationId)
        {
            return;
        }

        if (error is GroupError.UnknownMemberId or GroupError.IllegalGeneration or GroupError.FencedInstanceId)
        {
            _lostPending = true;
        }

        if (error == GroupError.FencedInstanceId)
        {
            _fatal = error;
            Wake();
            return;
        }

        RequestRejoin();
    }
}
