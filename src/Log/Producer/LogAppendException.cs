using DataPlane.Log.Records;

namespace DataPlane.Log.Producer;

/// <summary>Thrown by <see cref="LogProducer"/> when the log refuses a batch.</summary>
public sealed class LogAppendException : Exception
{
    /// <summary>Creates the exception for a refused append.</summary>
    /// <param name="topic">The topic appended to.</param>
    /// <param name="partition">The partition appended to.</param>
    /// <param name="result">What the log answered.</param>
    public LogAppendException(string topic, int partition, AppendResult result)
        : base($"Appending to {topic}-{partition} failed: {result.Error}" + (result.BatchError == BatchError.None ? "." : $" ({result.BatchError})."))
    {
        Error = result.Error;
        BatchError = result.BatchError;
    }

    /// <summary>The log's error.</summary>
    public LogError Error { get; }

    /// <summary>The failed batch check, if that was the reason.</summary>
    public BatchError BatchError { get; }
}
