namespace DataPlane.Log.Storage;

internal sealed partial class PartitionLog
{
    /// <summary>
    /// Deletes the closed segments whose every offset is below <paramref name="offset"/>, moving the log start offset
    /// (what Kafka's DeleteRecords does at segment granularity; the offsets store calls it after compacting). The
    /// active segment is never deleted; files go as retention's do. Returns how many segments were deleted.
    /// </summary>
    public int DeleteSegmentsBefore(long offset) => DeleteOldest(segments =>
    {
        var drop = 0;
        while (drop < segments.Length - 1 && segments[drop + 1].BaseOffset <= offset)
        {
            drop++;
        }

        return drop;
    });
}
