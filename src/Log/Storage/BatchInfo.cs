namespace DataPlane.Log.Storage;

/// <summary>What the writer needs of a batch in a group without reading it again.</summary>
/// <param name="Size">The batch's bytes.</param>
/// <param name="BaseOffset">Its stamped base offset.</param>
/// <param name="LastOffset">Its last record's offset.</param>
/// <param name="MaxTimestamp">Its <c>maxTimestamp</c> field.</param>
internal readonly record struct BatchInfo(int Size, long BaseOffset, long LastOffset, long MaxTimestamp);
