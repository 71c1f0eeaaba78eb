using System.Net.Sockets;

namespace DataPlane.Net.Epoll;

/// <summary>
/// Descriptors the process holds back for the runtime. Out of descriptors, the runtime itself fails:
/// CoreCLR opens a pipe for every thread it starts (the thread pool adds workers under load), and an
/// assembly or a stack trace opens files; a thread that cannot start is an OutOfMemoryException that
/// aborts the process. So the transport never accepts into the last descriptors: these are let go the
/// moment an accept or a socket() says EMFILE/ENFILE, and accepting resumes only once all of them can
/// be taken back (the same idea as the spare descriptor libuv and nginx users keep for EMFILE).
/// </summary>
internal static class DescriptorReserve
{
    /// <summary>How many are held: a few thread starts (two each) and an assembly or two.</summary>
    public const int Size = 16;

    private static readonly Lock Gate = new();
    private static readonly int[] Held = new int[Size];
    private static int _count;

    /// <summary>Whether all are held now.</summary>
    public static bool IsWhole => Volatile.Read(ref _count) == Size;

    /// <summary>
    /// Takes all of them back (eventfds: cheap, no path); false, holding none, when the process cannot spare them
    /// yet. Does nothing off Linux, as <see cref="Release"/>.
    /// </summary>
    public static bool TryRestore()
    {
        if (!OperatingSystem.IsLinux() || IsWhole)
        {
            return true;
        }

        lock (Gate)
        {
            while (_count < Size)
            {
                var fd = EpollNative.EventFd(0, EpollNative.EfdCloexec);
                if (fd < 0)
                {
                    ReleaseHeld();
                    return false;
                }

                Held[_count] = fd;
                Volatile.Write(ref _count, _count + 1);
            }

            return true;
        }
    }

    /// <summary>
    /// Whether a socket error (from the runtime's sockets: an accept, a <c>new Socket()</c>) says this process
    /// is out of descriptors (EMFILE, ENFILE) or buffer memory: the case for <see cref="Release"/>.
    /// <see cref="EpollNative.IsOutOfResources"/> says the same of an errno.
    /// </summary>
    public static bool IsOutOfResources(SocketError error) => error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable;

    /// <summary>
    /// Lets all of them go: the process ran out, and the runtime needs room more than a new client does.
    /// Off Linux none is ever held (there are no eventfds), and this does nothing.
    /// </summary>
    public static void Release()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        lock (Gate)
        {
            ReleaseHeld();
        }
    }

    private static void ReleaseHeld()
    {
        while (_count > 0)
        {
            var last = _count - 1;
            EpollNative.Close(Held[last]);
            Volatile.Write(ref _count, last);
        }
    }
}
