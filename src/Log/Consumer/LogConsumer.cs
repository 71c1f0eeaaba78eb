using DataPlane.Log.Groups;
using DataPlane.Log.Offsets;

namespace DataPlane.Log.Consumer;

/// <summary>
/// An embedded consumer in a group of a <see cref="GroupCoordinator"/>: it joins on <see cref="Subscribe"/>, heartbeats
/// on a timer, rejoins when the group rebalances and hands out the records of its partitions through
/// <see cref="ConsumeAsync"/>. Each newly assigned partition starts at the group's committed offset, or by
/// <see cref="LogConsumerOptions.AutoOffsetReset"/> when there is none or it is out of range. Delivery is at least
/// once: commit what was processed (<see cref="CommitAsync(CancellationToken)"/>), typically also in
/// <see cref="PartitionsRevoked"/>. One caller of <see cref="ConsumeAsync"/> at a time.
/// </summary>
public sealed partial class LogConsumer : IAsyncDisposable
{
    private readonly GroupCoordinator _coordinator;
    private readonly CommitLog _log;
    private readonly LogConsumerOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _stateLock = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _commitLock = new(1, 1);
    private readonly Dictionary<TopicPartition, long> _positions = [];
    private readonly Dictionary<TopicPartition, Queue<ConsumeResult>> _buffers = [];
    private readonly CancellationTokenSource _stopping = new();
    private TopicPartition[] _assigned = [];
    private string[] _topics = [];
    private string _memberId = string.Empty;
    private int _generation = -1;
    private volatile GroupError _fatal;
    private Task? _membership;
    private ITimer? _heartbeat;
    private int _closed;
    private int _cursor;

    /// <summary>Creates a consumer; it joins its group on <see cref="Subscribe"/>.</summary>
    /// <param name="coordinator">The coordinator of the log to consume.</param>
    /// <param name="options">The group and the consumer's settings.</param>
    public LogConsumer(GroupCoordinator coordinator, LogConsumerOptions options)
    {
        ArgumentNullException.ThrowIfNull(coordinator);
        ArgumentNullException.ThrowIfNull(options);
        _coordinator = coordinator;
        _log = coordinator.Log;
        _options = options;
        _time = coordinator.TimeProvider;
    }

    /// <summary>Called with partitions newly assigned, after their starting positions are known.</summary>
    public Func<IReadOnlyList<TopicPartition>, ValueTask>? PartitionsAssigned { get; set; }

    /// <summary>
    /// Called with partitions about to be taken away in an orderly rebalance (or on close), while the consumer still
    /// belongs to the generation that owned them: commit their positions here.
    /// </summary>
    public Func<IReadOnlyList<TopicPartition>, ValueTask>? PartitionsRevoked { get; set; }

    /// <summary>Called with partitions lost because the consumer fell out of the group (session expired): too late to commit.</summary>
    public Func<IReadOnlyList<TopicPartition>, ValueTask>? PartitionsLost { get; set; }

    /// <summary>The partitions the consumer owns now.</summary>
    public IReadOnlyList<TopicPartition> Assignment => Volatile.Read(ref _assigned);

    /// <summary>The member id the coordinator gave, empty before the first join.</summary>
    public string MemberId
    {
        get
        {
            lock (_stateLock)
            {
                return _memberId;
            }
        }
    }

    /// <summary>The generation the consumer belongs to, -1 before the first join.</summary>
    public int GenerationId
    {
        get
        {
            lock (_stateLock)
            {
                return _generation;
            }
        }
    }

    /// <summary>Joins the group for <paramref name="topics"/> and starts heartbeating.</summary>
    /// <param name="topics">The topics to consume.</param>
    public void Subscribe(IEnumerable<string> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
        _topics = [.. topics.Distinct(StringComparer.Ordinal)];
        if (_membership is null)
        {
            _membership = Task.Run(RunMembershipAsync);
            _heartbeat = _time.CreateTimer(static s => ((LogConsumer)s!).SendHeartbeat(), this, _options.HeartbeatInterval, _options.HeartbeatInterval);
        }

        RequestRejoin();
    }

    /// <summary>The offset of the next record <see cref="ConsumeAsync"/> returns from <paramref name="partition"/>, or null if not assigned.</summary>
    /// <param name="partition">An assigned partition.</param>
    public long? Position(TopicPartition partition)
    {
        lock (_stateLock)
        {
            return _positions.TryGetValue(partition, out var p) ? p : null;
        }
    }

    /// <summary>Moves an assigned partition's position; the next record returned from it is at <paramref name="offset"/> (reset if out of range).</summary>
    /// <param name="partition">An assigned partition.</param>
    /// <param name="offset">The next offset to consume.</param>
    public void Seek(TopicPartition partition, long offset)
    {
        lock (_stateLock)
        {
            if (!_positions.ContainsKey(partition))
            {
                throw new InvalidOperationException($"{partition} is not assigned to this consumer.");
            }

            _positions[partition] = offset;
            _buffers[partition].Clear();
        }
    }

    /// <summary>Moves the positions to the log start offsets.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    public void SeekToBeginning(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        foreach (var tp in partitions)
        {
            Seek(tp, _log.GetOffsets(tp.Topic, tp.Partition).LogStartOffset);
        }
    }

    /// <summary>Moves the positions to the high watermarks: only records appended later are consumed.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    public void SeekToEnd(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        foreach (var tp in partitions)
        {
            Seek(tp, _log.GetOffsets(tp.Topic, tp.Partition).HighWatermark);
        }
    }

    /// <summary>
    /// Commits the current position of every assigned partition (records handed out count as processed) and waits for
    /// it to be durable. Commits of one consumer are applied in order, so a position never goes back.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the commit may still land).</param>
    /// <returns><see cref="GroupError.None"/>, or the first error (a stale generation gives <see cref="GroupError.IllegalGeneration"/>).</returns>
    public ValueTask<GroupError> CommitAsync(CancellationToken cancellationToken = default) => CommitCoreAsync(null, cancellationToken);

    /// <summary>Commits the given positions, each with its optional metadata (a checkpoint stored atomically with it).</summary>
    /// <param name="commits">The positions.</param>
    /// <param name="cancellationToken">Stops waiting (the commit may still land).</param>
    /// <returns><see cref="GroupError.None"/>, or the first error.</returns>
    public ValueTask<GroupError> CommitAsync(IReadOnlyList<OffsetCommit> commits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commits);
        return CommitCoreAsync(commits, cancellationToken);
    }

    /// <summary>Commits every assigned partition's position, blocking until it is durable (Kafka's <c>commitSync</c>).</summary>
    /// <returns><see cref="GroupError.None"/>, or the first error.</returns>
    public GroupError Commit() => CommitAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Leaves the group in order: stops heartbeating, calls <see cref="PartitionsRevoked"/> for what it owns, and
    /// sends LeaveGroup so the others rebalance at once. A static member does not leave: it keeps its place for a
    /// restart within its session timeout.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await StopMembershipAsync().ConfigureAwait(false);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var owned = Volatile.Read(ref _assigned);
            if (owned.Length > 0 && _fatal == GroupError.None && PartitionsRevoked is { } revoked)
            {
                await revoked(owned).ConfigureAwait(false);
            }

            SetAssignment([]);
        }
        finally
        {
            _gate.Release();
        }

        if (_options.GroupInstanceId is null && MemberId.Length > 0)
        {
            _coordinator.LeaveGroup(_options.GroupId, MemberId);
        }

        _stopping.Dispose();
    }

    /// <summary>Stops as a crashed process would: no more heartbeats, no commit, no LeaveGroup.</summary>
    internal async ValueTask AbandonAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            await StopMembershipAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<GroupError> CommitCoreAsync(IReadOnlyList<OffsetCommit>? commits, CancellationToken cancellationToken)
    {
        await _commitLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string memberId;
            int generation;
            lock (_stateLock)
            {
                memberId = _memberId;
                generation = _generation;
                if (commits is null)
                {
                    var positions = new List<OffsetCommit>(_positions.Count);
                    foreach (var (tp, position) in _positions)
                    {
                        positions.Add(new OffsetCommit(tp, position));
                    }

                    commits = positions;
                }
            }

            var errors = await _coordinator.CommitOffsetsAsync(_options.GroupId, generation, memberId, _options.GroupInstanceId, commits)
                .AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var error in errors)
            {
                if (error != GroupError.None)
                {
                    return error;
                }
            }

            return GroupError.None;
        }
        finally
        {
            _commitLock.Release();
        }
    }

    private async ValueTask StopMembershipAsync()
    {
        if (_heartbeat is { } heartbeat)
        {
            await heartbeat.DisposeAsync().ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_membership is { } membership)
        {
            await membership.ConfigureAwait(false);
        }

        Wake();
    }
}
