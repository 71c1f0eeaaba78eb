using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DataPlane.Proxy.Forwarding;

/// <summary>The builder of a connection's <c>async ValueTask</c> methods: <see cref="ConnectionTaskBuilder{TResult}"/> without a result.</summary>
[StructLayout(LayoutKind.Auto)]
internal struct ConnectionTaskBuilder
{
    private ConnectionTaskBuilder<bool> _builder;

    public static ConnectionTaskBuilder Create() => default;

    public readonly ValueTask Task => _builder.VoidTask;

    public readonly void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine => _builder.Start(ref stateMachine);

    public readonly void SetStateMachine(IAsyncStateMachine stateMachine) => _builder.SetStateMachine(stateMachine);

    public void SetResult() => _builder.SetResult(true);

    public void SetException(Exception exception) => _builder.SetException(exception);

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine => _builder.AwaitOnCompleted(ref awaiter, ref stateMachine);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine => _builder.AwaitUnsafeOnCompleted(ref awaiter, ref stateMachine);
}
