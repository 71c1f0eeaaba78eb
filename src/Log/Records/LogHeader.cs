namespace DataPlane.Log.Records;

/// <summary>A record header, as Kafka carries it: a UTF-8 key and an optional value.</summary>
/// <param name="Key">The header's name.</param>
/// <param name="Value">The header's bytes; <see langword="null"/> for a header without a value.</param>
public readonly record struct LogHeader(string Key, ReadOnlyMemory<byte>? Value);
