using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace DataPlane.Net.Epoll;

/// <summary>
/// Descriptors the process holds back for the runtime. Out of descriptors, the runtime itself fails:
/// CoreCLR opens a pipe for every thread it starts (the thread pool adds workers under load, and starts
/// them again after they idled out), and an assembly or a stack trace opens files. A worker that cannot
/// start is fatal: .NET 10's pool calls <c>CreateWorkerThread</c> with no catch, so the
/// OutOfMemoryException is unhandled on the pool's gate thread, and the runtime prints "Out of memory."
/// and aborts (reproduced: 3 of 6 out-of-descriptor runs with workers idling out after 20 ms).
/// So the transport never accepts into the last descriptors: these are let go the moment an accept or
/// a socket() says EMFILE/ENFILE, or a new connection leaves fewer than <see cref="Headroom"/> free
/// besides them, and accepting resumes only once all of them and that headroom can be taken (the same
/// idea as the spare descriptor libuv and nginx users keep for EMFILE).
/// </summary>
internal static class DescriptorReserve
{
    /// <summary>How many are held: a few thread starts (two each) and an assembly or two.</summary>
    public const int Size = 16;

    /// <summary>
    /// Descriptors that must stay free besides the reserve while it is whole: the upstream socket of the
    /// connection just accepted, a thread start's pipe (two), and one to spare. Without it the reserve sat
    /// whole with none free after the last accept or upstream socket took the last descriptor, until the
    /// next client's accept failed; a thread start meanwhile aborted the process.
    /// </summary>
    public const int Headroom = 4;

    private static readonly Lock Gate = new();
    private static readonly int[] Held = new int[Size];
    private static int _count;

    /// <summary>Whether all are held now.</summary>
    public static bool IsWhole => Volatile.Read(ref _count) == Size;

    /// <summary>
    /// Takes all of them back (eventfds: cheap, no path), when <see cref="Headroom"/> more are free too; false,
    /// holding none, when the process cannot spare them yet. Does nothing off Linux, as <see cref="Release"/>.
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

            if (HeadroomErrno() != 0)
            {
                ReleaseHeld();
                return false;
            }

            return true;
        }
    }

    /// <summary>
    /// How close to RLIMIT_NOFILE the highest accepted descriptor must come before accepts probe for
    /// <see cref="Headroom"/>. Linux hands out the lowest free descriptor, so the descriptors in use above
    /// the highest an accept ever got are ones opened after every lower one was taken (an upstream socket
    /// or two, the runtime's few): far from the limit there is room, and an accept costs no probe. The
    /// mark never comes down, so once connections reached near the limit, the holes their closes leave
    /// below it are probed too.
    /// </summary>
    private const int ProbeDistance = 1024;

    private static int _highestAccepted;

    /// <summary>
    /// After a connection was accepted (by either transport's accept loop, before its handler opens an upstream
    /// socket or anything else for it): 0 when the reserve is whole and
    /// <see cref="Headroom"/> descriptors are free besides it, or it is not whole already (accepting is paused
    /// then). Otherwise lets the reserve go, so the runtime has room while accepting pauses, and returns the
    /// errno that said so (EMFILE, ENFILE). Far from the limit (<see cref="ProbeDistance"/>) it costs a
    /// getrlimit(2); near it, an fcntl(F_DUPFD_CLOEXEC) and a close(2) per headroom descriptor. Off Linux, 0.
    /// </summary>
    /// <param name="accepted">The accepted connection's descriptor.</param>
    public static int KeepHeadroom(int accepted)
    {
        if (!OperatingSystem.IsLinux() || !IsWhole)
        {
            return 0;
        }

        var highest = Volatile.Read(ref _highestAccepted);
        while (accepted > highest)
        {
            var seen = Interlocked.CompareExchange(ref _highestAccepted, accepted, highest);
            highest = seen == highest ? accepted : seen;
        }

        if (highest < EpollNative.DescriptorLimit() - ProbeDistance)
        {
            return 0;
        }

        lock (Gate)
        {
            var errno = IsWhole ? HeadroomErrno() : 0;
            if (errno != 0)
            {
                ReleaseHeld();
            }

            return errno;
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

    /// <summary>
    /// Under <see cref="Gate"/>, with the reserve whole: 0 when <see cref="Headroom"/> more descriptors can be
    /// opened (duplicates of a held one, closed at once), else the errno that said they cannot.
    /// </summary>
    private static int HeadroomErrno()
    {
        Span<int> probes = stackalloc int[Headroom];
        var opened = 0;
        var errno = 0;
        while (opened < Headroom)
        {
            var fd = EpollNative.Control(Held[0], EpollNative.FDupFdCloexec, 0);
            if (fd < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                break;
            }

            probes[opened++] = fd;
        }

        while (opened > 0)
        {
            EpollNative.Close(probes[--opened]);
        }

        return EpollNative.IsOutOfResources(errno) ? errno : 0;
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
