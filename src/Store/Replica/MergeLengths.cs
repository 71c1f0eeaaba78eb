using FASTER.core;

namespace DataPlane.Store.Replica;

/// <summary>A merge writes the incoming value whole, so the new record is as long as the input.</summary>
internal sealed class MergeLengths : IVariableLengthStruct<SpanByte, SpanByte>
{
    public int GetLength(ref SpanByte t, ref SpanByte input) => input.TotalSize;

    public int GetInitialLength(ref SpanByte input) => input.TotalSize;
}
