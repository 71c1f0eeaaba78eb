namespace DataPlane.Net;

/// <summary>Told about every chunk a receive loop moves: byte counters, last-activity stamps.</summary>
internal interface ITransferObserver
{
    /// <summary>Called on the receive loop after <paramref name="bytes"/> were received (keep it cheap).</summary>
    void OnTransferred(int bytes);
}
