using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log.Storage;

/// <summary>
/// One <c>pwritev</c> for a run of buffers without allocating. <see cref="RandomAccess.Write(SafeFileHandle, IReadOnlyList{ReadOnlyMemory{byte}}, long)"/>
/// does the same but allocates a <see cref="MemoryHandle"/> array (and beyond 8 buffers an iovec array) per call,
/// about 60 B per batch of a group. Other systems than Linux take that path.
/// </summary>
internal static unsafe partial class GatherWriter
{
    private const int Eintr = 4;

    /// <summary>The writer thread's pins; one partition writer per thread, so one array per thread.</summary>
    [ThreadStatic]
    private static MemoryHandle[]? t_handles;

    public static void Write(SafeFileHandle file, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long position)
    {
        var count = buffers.Count;
        if (!OperatingSystem.IsLinux() || count > AppendGroup.MaxBatches * 2)
        {
            RandomAccess.Write(file, buffers, position);
            return;
        }

        var handles = t_handles ??= new MemoryHandle[AppendGroup.MaxBatches * 2];
        var vectors = stackalloc IoVector[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                var buffer = buffers[i];
                handles[i] = buffer.Pin();
                vectors[i] = new IoVector { Base = (byte*)handles[i].Pointer, Length = (nuint)buffer.Length };
            }

            WriteAll(file, vectors, count, position);
        }
        finally
        {
            for (var i = 0; i < count; i++)
            {
                handles[i].Dispose();
                handles[i] = default;
            }
        }
    }

    private static void WriteAll(SafeFileHandle file, IoVector* vectors, int count, long position)
    {
        var first = 0;
        while (first < count)
        {
            var written = PWriteV(file, vectors + first, count - first, position);
            if (written <= 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (written < 0 && errno == Eintr)
                {
                    continue;
                }

                throw new IOException($"pwritev at {position}: {(written == 0 ? "wrote nothing" : Marshal.GetPInvokeErrorMessage(errno))}", errno);
            }

            position += written;
            while (first < count && written >= (nint)vectors[first].Length)
            {
                written -= (nint)vectors[first].Length;
                first++;
            }

            if (first < count)
            {
                vectors[first].Base += written;
                vectors[first].Length -= (nuint)written;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "pwritev", SetLastError = true)]
    private static partial nint PWriteV(SafeFileHandle fd, IoVector* vectors, int count, long offset);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }
}
