namespace DataPlane.Log.Consumer;

/// <summary>Where a consumer starts in a partition with no committed offset, or whose offset is out of range (Kafka's <c>auto.offset.reset</c>).</summary>
public enum AutoOffsetReset
{
    /// <summary>At the log start offset.</summary>
    Earliest,

    /// <summary>At the high watermark: only records appended from now on.</summary>
    Latest,
}
