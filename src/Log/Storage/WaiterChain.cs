namespace DataPlane.Log.Storage;

/// <summary>A FIFO of waiters linked through <see cref="AppendWaiter.Next"/>: adding and taking allocate nothing.</summary>
internal struct WaiterChain
{
    public AppendWaiter? Head;
    public AppendWaiter? Tail;

    public readonly bool IsEmpty => Head is null;

    public void Add(AppendWaiter waiter)
    {
        waiter.Next = null;
        if (Tail is null)
        {
            Head = waiter;
        }
        else
        {
            Tail.Next = waiter;
        }

        Tail = waiter;
    }

    public void Append(ref WaiterChain other)
    {
        if (other.Head is null)
        {
            return;
        }

        if (Tail is null)
        {
            Head = other.Head;
        }
        else
        {
            Tail.Next = other.Head;
        }

        Tail = other.Tail;
        other = default;
    }

    public AppendWaiter? TakeFirst()
    {
        var first = Head;
        if (first is not null)
        {
            Head = first.Next;
            if (Head is null)
            {
                Tail = null;
            }
        }

        return first;
    }

    /// <summary>Completes every waiter (each may go back to the pool at once, so the next is read first).</summary>
    public void CompleteAll(LogError error)
    {
        var waiter = Head;
        this = default;
        while (waiter is not null)
        {
            var next = waiter.Next;
            waiter.Complete(error);
            waiter = next;
        }
    }
}
