using DataPlane.Log.Groups;

namespace DataPlane.Log.Consumer;

/// <summary>The consumer cannot go on in its group (another instance with its <c>group.instance.id</c> fenced it, or the coordinator stopped).</summary>
public sealed class GroupException : Exception
{
    /// <summary>Creates the exception for <paramref name="error"/>.</summary>
    /// <param name="error">The coordinator's error.</param>
    public GroupException(GroupError error)
        : base($"The consumer left its group: {error}.") => Error = error;

    /// <summary>Creates the exception with a message.</summary>
    public GroupException()
        : base("The consumer left its group.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public GroupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public GroupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The coordinator's error.</summary>
    public GroupError Error { get; }
}
