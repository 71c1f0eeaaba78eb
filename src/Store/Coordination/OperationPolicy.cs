using Microsoft.Extensions.ObjectPool;

namespace DataPlane.Store.Coordination;

/// <summary>Pools the coordinator's operations: each resets itself when it starts, so a returned one is always kept.</summary>
internal sealed class OperationPolicy<T>(Func<T> create) : PooledObjectPolicy<T>
    where T : class
{
    public override T Create() => create();

    public override bool Return(T obj) => true;
}
