using DataPlane.Store.Replica;

namespace DataPlane.Store.AntiEntropy;

/// <summary>A key and the version a replica holds for it: what two replicas compare before sending any value.</summary>
internal readonly record struct KeyDigest(byte[] Key, ValueVersion Version);
