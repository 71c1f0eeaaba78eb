using System.Buffers;

namespace DataPlane.Store.Protocol.Resp;

/// <summary>
/// One parsed command, reused for every command of a connection: the arguments are ranges into one
/// contiguous frame, which is the pipe's own memory when the frame sits in one segment and a pooled
/// copy when it straddles segments (or is an inline command whose quotes were unescaped).
/// </summary>
internal sealed class RespRequest : IDisposable
{
    private (int Start, int Length)[] _args = new (int, int)[8];
    private byte[] _copy = [];

    public int Count { get; private set; }

    public ReadOnlyMemory<byte> Frame { get; private set; }

    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            var (start, length) = _args[index];
            return Frame.Span.Slice(start, length);
        }
    }

    public void Reset(ReadOnlyMemory<byte> frame)
    {
        Frame = frame;
        Count = 0;
    }

    public void Add(int start, int length)
    {
        if (Count == _args.Length)
        {
            Array.Resize(ref _args, _args.Length * 2);
        }

        _args[Count++] = (start, length);
    }

    /// <summary>A pooled buffer of at least <paramref name="length"/> bytes to copy a frame into; its content until the next call is the frame.</summary>
    public byte[] CopyBuffer(int length)
    {
        if (_copy.Length < length)
        {
            if (_copy.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_copy);
            }

            _copy = ArrayPool<byte>.Shared.Rent(length);
        }

        return _copy;
    }

    /// <summary>Gives back a large copy buffer once its command is done, so an idle connection does not hold megabytes.</summary>
    public void Trim()
    {
        if (_copy.Length > 64 * 1024)
        {
            ArrayPool<byte>.Shared.Return(_copy);
            _copy = [];
        }
    }

    public void Dispose()
    {
        if (_copy.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_copy);
            _copy = [];
        }
    }
}
