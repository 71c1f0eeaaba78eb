using System.Buffers;
using System.Net;
using System.Net.Sockets;
using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>A stand-in peer that completes the handshake and then hangs (reads, never answers) or sends a malformed frame.</summary>
internal sealed class FakePeer : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly string _name;
    private readonly string _clusterName;
    private readonly bool _garbage;
    private readonly List<Socket> _accepted = [];
    private readonly Task _accepting;
    private readonly List<long> _connectedAt = [];
    private int _connections;
    private int _writes;

    public FakePeer(string name, bool garbage, string clusterName)
    {
        _name = name;
        _clusterName = clusterName;
        _garbage = garbage;
        _listener.Bind(Ports.Free());
        _listener.Listen(16);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint { get; }

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>When each connection's handshake was answered (<see cref="System.Diagnostics.Stopwatch"/> timestamps).</summary>
    public long[] ConnectedAt
    {
        get
        {
            lock (_connectedAt)
            {
                return [.. _connectedAt];
            }
        }
    }

    /// <summary>Write requests received (all unanswered).</summary>
    public int Writes => Volatile.Read(ref _writes);

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        lock (_accepted)
        {
            _accepted.ForEach(s => s.Dispose());
        }

        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            var socket = await _listener.AcceptAsync();
            lock (_accepted)
            {
                _accepted.Add(socket);
            }

            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            var buffer = new byte[64 * 1024];
            await socket.ReceiveAsync(buffer, SocketFlags.None);
            await socket.SendAsync(Handshake.Build(_name, _clusterName), SocketFlags.None);
            lock (_connectedAt)
            {
                _connectedAt.Add(System.Diagnostics.Stopwatch.GetTimestamp());
            }

            Interlocked.Increment(ref _connections);
            if (_garbage)
            {
                // A frame of an unknown type: the node must drop the connection and reconnect later.
                var frame = new byte[Frame.HeaderSize];
                Frame.WriteHeader(frame, (FrameType)200, 1, 0);
                await socket.SendAsync(frame, SocketFlags.None);
            }

            // Hang: read everything, answer nothing, count the writes.
            var frames = new byte[1024 * 1024];
            var filled = 0;
            int received;
            while ((received = await socket.ReceiveAsync(frames.AsMemory(filled), SocketFlags.None)) > 0)
            {
                filled += received;
                var unread = new ReadOnlySequence<byte>(frames, 0, filled);
                while (Frame.TryRead(ref unread, out var type, out _, out _))
                {
                    if (type == FrameType.Write)
                    {
                        Interlocked.Increment(ref _writes);
                    }
                }

                var rest = (int)unread.Length;
                frames.AsSpan(filled - rest, rest).CopyTo(frames);
                filled = rest;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The node dropped us, or the test is over.
        }
    }
}
