using System.Runtime.InteropServices;

namespace DataPlane.Proxy.Handoff;

/// <summary>
/// The libc calls .NET has no managed API for: <c>sendmsg</c>/<c>recvmsg</c> with SCM_RIGHTS
/// (passing descriptors between processes), and <c>getuid</c> for the peer check. Linux x86-64 and
/// arm64 layouts (64-bit <c>size_t</c>).
/// </summary>
internal static unsafe partial class Native
{
    public const int SolSocket = 1;
    public const int ScmRights = 1;
    public const int SoPeerCred = 17;
    public const int MsgCtrunc = 0x8;
    public const int MsgTrunc = 0x20;
    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;
    public const int MsgCmsgCloexec = 0x40000000;
    public const int Eintr = 4;
    public const int Eagain = 11;

    /// <summary>sizeof(struct cmsghdr): the data of a control message starts here.</summary>
    public const int ControlHeaderSize = 16;

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMessage(nint fd, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint ReceiveMessage(nint fd, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUserId();

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>CMSG_SPACE: a control message carrying <paramref name="dataLength"/> bytes, padded to 8.</summary>
    public static int ControlSpace(int dataLength) => ControlHeaderSize + ((dataLength + 7) & ~7);

    /// <summary>struct msghdr.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary>struct cmsghdr.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ControlHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
    }
}
