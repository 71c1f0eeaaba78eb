namespace DataPlane.Log.Records;

/// <summary>The compression of a record batch: the low three bits of its <c>attributes</c>, as Kafka numbers them.</summary>
public enum CompressionCodec
{
    /// <summary>Records stored as they are.</summary>
    None = 0,

    /// <summary>Records gzip-compressed; the producer helper writes it and the reader decodes it.</summary>
    Gzip = 1,

    /// <summary>Snappy: stored and served as it came; the reader helper reports it as unsupported.</summary>
    Snappy = 2,

    /// <summary>LZ4: stored and served as it came; the reader helper reports it as unsupported.</summary>
    Lz4 = 3,

    /// <summary>Zstandard: stored and served as it came; the reader helper reports it as unsupported.</summary>
    Zstd = 4,
}
