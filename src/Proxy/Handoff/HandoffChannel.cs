using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace DataPlane.Proxy.Handoff;

/// <summary>
/// A connected AF_UNIX SOCK_SEQPACKET socket that carries handoff messages: a text payload (message
/// boundaries kept by the socket type) plus up to <see cref="MaxDescriptors"/> file descriptors
/// (SCM_RIGHTS). Received descriptors are close-on-exec (MSG_CMSG_CLOEXEC). Blocking calls, bounded by
/// a poll timeout: the protocol runs off the hot path, on its own thread.
/// </summary>
internal sealed unsafe class HandoffChannel : IDisposable
{
    /// <summary>254 descriptors in one message give EINVAL on Linux (SCM_MAX_FD is 253).</summary>
    public const int MaxDescriptors = 253;

    private const int MaxPayload = 60 * 1024;
    private static readonly int ControlCapacity = Native.ControlSpace(MaxDescriptors * sizeof(int));

    private readonly Socket _socket;
    private readonly byte[] _receiveBuffer = new byte[MaxPayload];

    public HandoffChannel(Socket socket) => _socket = socket;

    /// <summary>
    /// Whether the peer process runs as this process's user (SO_PEERCRED): whoever connects receives
    /// every listener, so no one else may.
    /// </summary>
    public bool PeerIsSameUser(out int peerPid, out uint peerUid)
    {
        Span<byte> credentials = stackalloc byte[12];
        _socket.GetRawSocketOption(Native.SolSocket, Native.SoPeerCred, credentials);
        peerPid = MemoryMarshal.Read<int>(credentials);
        peerUid = MemoryMarshal.Read<uint>(credentials[4..]);
        return peerUid == Native.GetUserId();
    }

    /// <summary>Sends one message, with <paramref name="descriptors"/> attached (they stay open here).</summary>
    /// <exception cref="IOException">The peer is gone or the message cannot be sent.</exception>
    public void Send(string text, ReadOnlySpan<int> descriptors, TimeSpan timeout)
    {
        if (descriptors.Length > MaxDescriptors)
        {
            throw new ArgumentException($"at most {MaxDescriptors} descriptors per message", nameof(descriptors));
        }

        var payload = Encoding.UTF8.GetBytes(text);
        if (payload.Length > MaxPayload)
        {
            throw new ArgumentException($"handoff message of {payload.Length} bytes is over {MaxPayload}", nameof(text));
        }

        var controlLength = descriptors.IsEmpty ? 0 : Native.ControlSpace(descriptors.Length * sizeof(int));
        var control = stackalloc byte[ControlCapacity];
        new Span<byte>(control, ControlCapacity).Clear();
        if (!descriptors.IsEmpty)
        {
            var header = (Native.ControlHeader*)control;
            header->Length = (nuint)(Native.ControlHeaderSize + (descriptors.Length * sizeof(int)));
            header->Level = Native.SolSocket;
            header->Type = Native.ScmRights;
            descriptors.CopyTo(new Span<int>(control + Native.ControlHeaderSize, descriptors.Length));
        }

        fixed (byte* data = payload)
        {
            var vector = new Native.IoVector { Base = data, Length = (nuint)payload.Length };
            var message = new Native.MessageHeader
            {
                Vectors = &vector,
                VectorCount = 1,
                Control = controlLength == 0 ? null : control,
                ControlLength = (nuint)controlLength,
            };
            while (true)
            {
                var sent = Native.SendMessage(Descriptor, &message, Native.MsgNoSignal | Native.MsgDontWait);
                if (sent >= 0)
                {
                    return;
                }

                var error = Marshal.GetLastPInvokeError();
                if (error == Native.Eagain && !_socket.Poll(timeout, SelectMode.SelectWrite))
                {
                    throw new TimeoutException("the handoff peer does not read");
                }

                if (error is not (Native.Eagain or Native.Eintr))
                {
                    throw new IOException($"handoff sendmsg failed: {Marshal.GetPInvokeErrorMessage(error)}");
                }
            }
        }
    }

    /// <summary>Receives one message, waiting at most <paramref name="timeout"/>.</summary>
    /// <exception cref="TimeoutException">Nothing came in time.</exception>
    /// <exception cref="EndOfStreamException">The peer closed (or died).</exception>
    /// <exception cref="IOException">The message or its descriptors were cut short (all received descriptors are closed).</exception>
    public HandoffMessage Receive(TimeSpan timeout)
    {
        var control = stackalloc byte[ControlCapacity];
        while (true)
        {
            if (!_socket.Poll(timeout, SelectMode.SelectRead))
            {
                throw new TimeoutException("the handoff peer did not answer in time");
            }

            fixed (byte* data = _receiveBuffer)
            {
                var vector = new Native.IoVector { Base = data, Length = (nuint)_receiveBuffer.Length };
                var message = new Native.MessageHeader
                {
                    Vectors = &vector,
                    VectorCount = 1,
                    Control = control,
                    ControlLength = (nuint)ControlCapacity,
                };
                var received = Native.ReceiveMessage(Descriptor, &message, Native.MsgCmsgCloexec | Native.MsgDontWait);
                if (received < 0)
                {
                    var error = Marshal.GetLastPInvokeError();
                    if (error is Native.Eagain or Native.Eintr)
                    {
                        continue;
                    }

                    throw new IOException($"handoff recvmsg failed: {Marshal.GetPInvokeErrorMessage(error)}");
                }

                if (received == 0)
                {
                    throw new EndOfStreamException("the handoff peer closed the connection");
                }

                var descriptors = ReadDescriptors(control, (int)message.ControlLength);
                if ((message.Flags & (Native.MsgCtrunc | Native.MsgTrunc)) != 0)
                {
                    CloseAll(descriptors);
                    throw new IOException("a handoff message was truncated (descriptor limit reached?)");
                }

                return new HandoffMessage(Encoding.UTF8.GetString(_receiveBuffer, 0, (int)received), descriptors);
            }
        }
    }

    /// <summary>Closes descriptors that were received but will not be used.</summary>
    public static void CloseAll(ReadOnlySpan<int> descriptors)
    {
        foreach (var fd in descriptors)
        {
            _ = Native.Close(fd);
        }
    }

    public void Dispose() => _socket.Dispose();

    private nint Descriptor => _socket.SafeHandle.DangerousGetHandle();

    private static int[] ReadDescriptors(byte* control, int length)
    {
        var found = new List<int>();
        var offset = 0;
        while (offset + Native.ControlHeaderSize <= length)
        {
            var header = (Native.ControlHeader*)(control + offset);
            var size = (int)header->Length;
            if (size < Native.ControlHeaderSize)
            {
                break;
            }

            if (header->Level == Native.SolSocket && header->Type == Native.ScmRights)
            {
                var count = (size - Native.ControlHeaderSize) / sizeof(int);
                found.AddRange(new ReadOnlySpan<int>(control + offset + Native.ControlHeaderSize, count));
            }

            offset += (size + 7) & ~7;
        }

        return [.. found];
    }
}
