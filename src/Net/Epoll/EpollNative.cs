using System.Runtime.InteropServices;

namespace DataPlane.Net.Epoll;

/// <summary>
/// The Linux calls the epoll transport makes itself: epoll, an eventfd to wake a loop, and
/// non-blocking <c>recv</c>/<c>send</c>/<c>connect</c>/<c>shutdown</c> on descriptors the runtime's
/// own socket engine never sees (so no second epoll thread is woken for them).
/// </summary>
internal static unsafe partial class EpollNative
{
    public const int EpollIn = 0x001;
    public const int EpollOut = 0x004;
    public const int EpollErr = 0x008;
    public const int EpollHup = 0x010;
    public const int EpollRdHup = 0x2000;
    public const uint EpollEt = 1u << 31;
    public const uint EpollExclusive = 1u << 28;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int SockStream = 1;
    public const int SockNonblock = 0x800;
    public const int SockCloexec = 0x80000;
    public const int AfInet = 2;
    public const int AfInet6 = 10;
    public const int IpProtoTcp = 6;
    public const int TcpNoDelay = 1;
    public const int SoLinger = 13;
    public const int EpollCloexec = 0x80000;
    public const int EfdCloexec = 0x80000;
    public const int FDupFdCloexec = 1030;
    public const int EfdNonblock = 0x800;
    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;
    public const int ShutWrite = 1;
    public const int SolSocket = 1;
    public const int SoError = 4;
    public const int Eintr = 4;
    public const int Eagain = 11;
    public const int Enomem = 12;
    public const int Enfile = 23;
    public const int Emfile = 24;
    public const int Enonet = 64;
    public const int Eproto = 71;
    public const int Enoprotoopt = 92;
    public const int Eopnotsupp = 95;
    public const int Enetdown = 100;
    public const int Enetunreach = 101;
    public const int Econnaborted = 103;
    public const int Enobufs = 105;
    public const int Ehostdown = 112;
    public const int Ehostunreach = 113;
    public const int Einprogress = 115;
    public const nuint Fionbio = 0x5421;

    /// <summary>
    /// sizeof(struct epoll_event) and the offset of its data: the struct is packed on x86-64 (12 bytes,
    /// data at 4) and naturally aligned elsewhere (16 bytes, data at 8).
    /// </summary>
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>The offset of <c>epoll_event.data</c>.</summary>
    public static readonly int EventDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollControl(int epfd, int op, int fd, byte* @event);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epfd, byte* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nint count);

    /// <summary>fcntl(2) with an int argument (F_DUPFD_CLOEXEC).</summary>
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Control(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetLimit(int resource, ulong* limit);

    /// <summary>The process's soft RLIMIT_NOFILE (read each time: another process may change it with prlimit); int.MaxValue when unknown or unlimited.</summary>
    public static int DescriptorLimit()
    {
        const int RlimitNofile = 7;

        // struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; }, rlim_t 64-bit on the 64-bit targets.
        var limit = stackalloc ulong[2];
        return GetLimit(RlimitNofile, limit) == 0 && limit[0] < int.MaxValue ? (int)limit[0] : int.MaxValue;
    }

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Receive(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, byte* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoControl(int fd, nuint request, int* value);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept(int fd, byte* address, int* addressLength, int flags);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSocketOption(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSocketOption(int fd, int level, int name, int* value, int* length);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int GetAffinity(int tid, nint size, byte* mask);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SetAffinity(int tid, nint size, byte* mask);

    /// <summary>
    /// Binds the calling thread to the <paramref name="index"/>th (modulo their count) of the CPUs it may
    /// run on now, as HAProxy's <c>cpu-map auto</c> binds thread N to the Nth CPU of its set; the CPU's
    /// number, or -1 when the set cannot be read or changed (the thread stays as it was).
    /// </summary>
    public static int PinToCpu(int index)
    {
        // glibc's cpu_set_t: 1024 CPUs.
        const int MaskBytes = 128;
        var mask = stackalloc byte[MaskBytes];
        if (GetAffinity(0, MaskBytes, mask) != 0)
        {
            return -1;
        }

        var allowed = 0;
        for (var cpu = 0; cpu < MaskBytes * 8; cpu++)
        {
            allowed += (mask[cpu / 8] >> (cpu % 8)) & 1;
        }

        var wanted = (int)((uint)index % (uint)Math.Max(allowed, 1));
        for (var cpu = 0; cpu < MaskBytes * 8; cpu++)
        {
            if (((mask[cpu / 8] >> (cpu % 8)) & 1) == 0 || wanted-- != 0)
            {
                continue;
            }

            new Span<byte>(mask, MaskBytes).Clear();
            mask[cpu / 8] = (byte)(1 << (cpu % 8));
            return SetAffinity(0, MaskBytes, mask) == 0 ? cpu : -1;
        }

        return -1;
    }

    /// <summary>Out of descriptors (process or system) or memory: nothing can be accepted or opened until some are freed.</summary>
    public static bool IsOutOfResources(int errno) => errno is Emfile or Enfile or Enobufs or Enomem;

    /// <summary>Adds <paramref name="fd"/> edge-triggered for input, output and the peer's FIN.</summary>
    public static int Add(int epfd, int fd, ulong data)
    {
        var ev = stackalloc byte[16];
        *(uint*)ev = EpollIn | EpollOut | EpollRdHup | EpollEt;
        *(ulong*)(ev + EventDataOffset) = data;
        return EpollControl(epfd, EpollCtlAdd, fd, ev);
    }

    /// <summary>Adds a listening <paramref name="fd"/> edge-triggered for input, one loop woken per edge (EPOLLEXCLUSIVE).</summary>
    public static int AddListener(int epfd, int fd, ulong data) => AddForInput(epfd, fd, data, EpollExclusive);

    /// <summary>
    /// Adds an eventfd edge-triggered for input only: with output in the mask too, the read that
    /// clears it would be an edge of its own and wake the loop a second time.
    /// </summary>
    public static int AddEventFd(int epfd, int fd, ulong data) => AddForInput(epfd, fd, data, 0);

    private static int AddForInput(int epfd, int fd, ulong data, uint extra)
    {
        var ev = stackalloc byte[16];
        *(uint*)ev = EpollIn | EpollEt | extra;
        *(ulong*)(ev + EventDataOffset) = data;
        return EpollControl(epfd, EpollCtlAdd, fd, ev);
    }

    /// <summary>Removes <paramref name="fd"/> from <paramref name="epfd"/>; 0 or an errno.</summary>
    public static int Remove(int epfd, int fd)
    {
        var ev = stackalloc byte[16];
        return EpollControl(epfd, EpollCtlDel, fd, ev) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// A non-blocking TCP socket with TCP_NODELAY, for <paramref name="family"/> (AF_INET or AF_INET6):
    /// two system calls, where the runtime's Socket plus a non-blocking switch take three. The
    /// descriptor, or minus the errno.
    /// </summary>
    public static int OpenTcp(int family)
    {
        var fd = Socket(family, SockStream | SockNonblock | SockCloexec, IpProtoTcp);
        if (fd < 0)
        {
            return -Marshal.GetLastPInvokeError();
        }

        var on = 1;
        if (SetSocketOption(fd, IpProtoTcp, TcpNoDelay, &on, sizeof(int)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Close(fd);
            return -errno;
        }

        return fd;
    }

    /// <summary>Closes a socket descriptor; with <paramref name="reset"/> after linger 0, so the close sends RST.</summary>
    public static void CloseSocket(int fd, bool reset)
    {
        if (reset)
        {
            // struct linger { int l_onoff; int l_linger; }
            var linger = stackalloc int[2];
            linger[0] = 1;
            linger[1] = 0;
            SetSocketOption(fd, SolSocket, SoLinger, linger, 2 * sizeof(int));
        }

        Close(fd);
    }

    /// <summary>Makes <paramref name="fd"/> non-blocking with one system call (the runtime's setter makes two); an errno or 0.</summary>
    public static int SetNonBlocking(int fd)
    {
        var on = 1;
        return IoControl(fd, Fionbio, &on) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>The pending error of a socket (SO_ERROR), which also clears it; an errno.</summary>
    public static int PendingError(int fd)
    {
        int value = 0, length = sizeof(int);
        return GetSocketOption(fd, SolSocket, SoError, &value, &length) == 0 ? value : Marshal.GetLastPInvokeError();
    }
}
