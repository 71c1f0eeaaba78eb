using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace DataPlane.Proxy.Forwarding;

/// <summary>
/// The builder of a connection's <c>async ValueTask&lt;TResult&gt;</c> methods: as
/// <see cref="PoolingAsyncValueTaskMethodBuilder{TResult}"/> (a method that awaits something incomplete
/// runs in a pooled box, which goes back to the pool when its result is taken), with a pool as deep as
/// the connections a loop has open rather than the runtime's one box per thread and one per core.
/// </summary>
/// <remarks>
/// The runtime's pool serves one connection at a time: with wrk's 50 connections (a new connection
/// per request) in flight on two loops, nearly every connection allocated its boxes, about 670 B per
/// connection and a gen0 collection every 0.7 s at 3,900 connections/s (dotnet-counters; 45 B with two
/// connections in flight). Each thread keeps up to <see cref="ThreadLimit"/> boxes of each method; a
/// box taken on one loop and given back on the other (a connection started on the loop that accepted it
/// and run on a less busy one) overflows into a shared queue the first loop takes from.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "The compiler calls a builder's members on the instance.")]
internal struct ConnectionTaskBuilder<TResult>
{
    /// <summary>Boxes of one method kept by each thread.</summary>
    private const int ThreadLimit = 256;

    /// <summary>Boxes of one method kept in the shared overflow.</summary>
    private const int SharedLimit = 4096;

    private Box? _box;
    private TResult? _result;
    private Exception? _exception;

    public static ConnectionTaskBuilder<TResult> Create() => default;

    public readonly ValueTask<TResult> Task =>
        _box is { } box ? new ValueTask<TResult>(box, box.Version)
        : _exception is { } exception ? ValueTask.FromException<TResult>(exception)
        : new ValueTask<TResult>(_result!);

    /// <summary>The method's task without its result (for <see cref="ConnectionTaskBuilder"/>).</summary>
    internal readonly ValueTask VoidTask =>
        _box is { } box ? new ValueTask(box, box.Version)
        : _exception is { } exception ? ValueTask.FromException(exception)
        : default;

    /// <summary>Runs the method up to its first incomplete await, restoring the caller's contexts after (the runtime's own start).</summary>
    public readonly void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine => AsyncValueTaskMethodBuilder.Create().Start(ref stateMachine);

    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
        // Only the runtime's own boxing asks for this; a box here holds the state machine itself.
    }

    public void SetResult(TResult result)
    {
        if (_box is null)
        {
            _result = result;
        }
        else
        {
            _box.SetResult(result);
        }
    }

    public void SetException(Exception exception)
    {
        if (_box is null)
        {
            _exception = exception;
        }
        else
        {
            _box.SetException(exception);
        }
    }

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine => awaiter.OnCompleted(BoxOf(ref stateMachine).MoveNextAction);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine => awaiter.UnsafeOnCompleted(BoxOf(ref stateMachine).MoveNextAction);

    /// <summary>The box the method continues in: on its first incomplete await, one from the pool holding a copy of the state machine.</summary>
    private Box<TStateMachine> BoxOf<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
    {
        var context = ExecutionContext.Capture();
        if (_box is Box<TStateMachine> running)
        {
            running.Context = context;
            return running;
        }

        var box = Box<TStateMachine>.Rent();

        // Before the copy: the copy in the box carries it, and so does the caller's Task.
        _box = box;
        box.StateMachine = stateMachine;
        box.Context = context;
        return box;
    }

    /// <summary>A running method's result: completed once, read once, then back to the pool.</summary>
    internal abstract class Box : IValueTaskSource<TResult>, IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<TResult> _core;

        public short Version => _core.Version;

        public void SetResult(TResult result) => _core.SetResult(result);

        public void SetException(Exception exception) => _core.SetException(exception);

        public TResult GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                Return();
            }
        }

        void IValueTaskSource.GetResult(short token) => GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);

        protected abstract void Return();
    }

    /// <summary>The box of one method (one state machine type), with its pools.</summary>
    internal sealed class Box<TStateMachine> : Box
        where TStateMachine : IAsyncStateMachine
    {
        private static readonly ConcurrentQueue<Box<TStateMachine>> Shared = new();
        private static readonly ContextCallback MoveNextInContext = static box => ((Box<TStateMachine>)box!).StateMachine!.MoveNext();
        private static int _sharedCount;

        [ThreadStatic]
        private static Stack<Box<TStateMachine>>? _local;

        private Box() => MoveNextAction = MoveNext;

        public TStateMachine? StateMachine;

        public ExecutionContext? Context;

        /// <summary>What the awaited operation calls to go on (one delegate for the box's whole life).</summary>
        public Action MoveNextAction { get; }

        public static Box<TStateMachine> Rent()
        {
            if (_local is { Count: > 0 } local)
            {
                return local.Pop();
            }

            if (Shared.TryDequeue(out var shared))
            {
                Interlocked.Decrement(ref _sharedCount);
                return shared;
            }

            return new Box<TStateMachine>();
        }

        protected override void Return()
        {
            StateMachine = default;
            Context = null;
            var local = _local ??= new Stack<Box<TStateMachine>>();
            if (local.Count < ThreadLimit)
            {
                local.Push(this);
            }
            else if (Interlocked.Increment(ref _sharedCount) <= SharedLimit)
            {
                Shared.Enqueue(this);
            }
            else
            {
                Interlocked.Decrement(ref _sharedCount);
            }
        }

        private void MoveNext()
        {
            if (Context is null)
            {
                StateMachine!.MoveNext();
            }
            else
            {
                ExecutionContext.Run(Context, MoveNextInContext, this);
            }
        }
    }
}
