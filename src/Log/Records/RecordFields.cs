namespace DataPlane.Log.Records;

/// <summary>Where the fields of one record lie inside its bytes (after the record's length varint).</summary>
internal struct RecordFields
{
    public long TimestampDelta;
    public int OffsetDelta;
    public int KeyStart;

    /// <summary>-1 for a null key.</summary>
    public int KeyLength;
    public int ValueStart;

    /// <summary>-1 for a null value (a tombstone).</summary>
    public int ValueLength;
    public int HeadersStart;
    public int HeaderCount;
}
