using System.Buffers;
using DataPlane.Net.IO;

namespace DataPlane.Store.Durability;

/// <summary>
/// The write-ahead log for everything after the last checkpoint. Appends copy the record into an
/// in-memory batch under a short lock and return its sequence number; one writer thread takes the
/// whole batch, writes it with one system call and, per <see cref="FsyncMode"/>, fsyncs it, so every
/// write that arrived while the previous fsync ran shares the next one (group commit). With
/// <see cref="FsyncMode.Always"/> a connection awaits <see cref="WaitDurableAsync"/> for the last
/// write of its batch before it sends the replies.
/// </summary>
internal sealed partial class WriteAheadLog : IDisposable
{
    private const int InitialBatchBytes = 64 * 1024;

    private readonly object _gate = new();
    private readonly string _directory;
    private readonly FsyncMode _mode;
    private readonly Thread _writer;

    private byte[] _batch = ArrayPool<byte>.Shared.Rent(InitialBatchBytes);
    private int _batchLength;
    private long _appended;
    private long _written;
    private long _taken;
    private long _durable;
    private TaskCompletionSource _nextRound = NewRound();
    private TaskCompletionSource _inflightRound = NewRound();
    private TaskCompletionSource<long>? _rotation;
    private bool _stopping;
    private bool _dirty;
    private FileStream _file;
    private long _segment;
    private Exception? _fault;

    public WriteAheadLog(string directory, long segment, FsyncMode mode)
    {
        _directory = directory;
        _mode = mode;
        _segment = segment;
        _file = Open(directory, segment);
        DurableFile.SyncDirectory(directory);
        _inflightRound.SetResult();
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "dataplane-store-wal" };
        _writer.Start();
    }

    /// <summary>The segment appends go to now.</summary>
    public long Segment => Volatile.Read(ref _segment);

    /// <summary>Set when a write or fsync failed (a full disk): later writes are refused with its message.</summary>
    public Exception? Fault => Volatile.Read(ref _fault);

    /// <summary>The sequence number of the last record appended, by any thread.</summary>
    public long Appended => Volatile.Read(ref _appended);

    /// <summary>Copies a record into the next batch and returns its sequence number.</summary>
    public long Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var size = WalRecord.Size(key.Length, value.Length);
        lock (_gate)
        {
            PooledBuffer.Grow(ref _batch, _batchLength, _batchLength + size);
            WalRecord.Write(_batch.AsSpan(_batchLength, size), key, value);
            var wasEmpty = _batchLength == 0;
            _batchLength += size;
            _appended++;
            if (wasEmpty && _mode == FsyncMode.Always)
            {
                Monitor.Pulse(_gate);
            }

            return _appended;
        }
    }

    /// <summary>
    /// Writes the pending batch to the file now, on the caller's thread (modes other than
    /// <see cref="FsyncMode.Always"/>): as Redis writes its AOF buffer before replying, a reply is
    /// sent only once its write is in the operating system, so killing the process loses nothing,
    /// and no thread is woken per write. One write covers every connection's pending records.
    /// </summary>
    /// <returns>False if the log has failed (a full disk): the caller must not acknowledge its writes.</returns>
    public bool WriteOut()
    {
        lock (_gate)
        {
            return WriteOutLocked();
        }
    }

    /// <summary>
    /// Makes the records up to <paramref name="sequence"/> as durable as the fsync mode asks, before
    /// whatever they answer is acknowledged: with <see cref="FsyncMode.Always"/> it waits for the
    /// fsync that covers them; otherwise it writes the pending batch to the file now, unless an
    /// earlier write already took them. False if the log refused them (a full disk).
    /// </summary>
    public ValueTask<bool> SecureAsync(long sequence)
    {
        if (_mode == FsyncMode.Always)
        {
            return Volatile.Read(ref _durable) >= sequence ? new(true) : WaitAsync(WaitDurableAsync(sequence));
        }

        return Volatile.Read(ref _written) >= sequence ? new(Fault is null) : new(WriteOut());

        static async ValueTask<bool> WaitAsync(Task durable)
        {
            try
            {
                await durable.ConfigureAwait(false);
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }
    }

    /// <summary>Completes when the record numbered <paramref name="sequence"/> (and all before it) is on disk.</summary>
    public Task WaitDurableAsync(long sequence)
    {
        if (Volatile.Read(ref _durable) >= sequence)
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            return sequence <= _taken ? _inflightRound.Task : _nextRound.Task;
        }
    }

    /// <summary>
    /// Writes and fsyncs everything appended so far into the current segment, starts a new one, and
    /// returns its number: a checkpoint that starts after this covers every record of older segments.
    /// </summary>
    public Task<long> RotateAsync()
    {
        lock (_gate)
        {
            _rotation ??= new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            Monitor.Pulse(_gate);
            return _rotation.Task;
        }
    }

    /// <summary>Deletes the segments older than <paramref name="segment"/> (a checkpoint covers them).</summary>
    public void DeleteSegmentsBefore(long segment)
    {
        foreach (var s in WalSegments.List(_directory))
        {
            if (s < segment)
            {
                File.Delete(WalSegments.PathOf(_directory, s));
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }

        _writer.Join();
        _file.Dispose();
        ArrayPool<byte>.Shared.Return(_batch);
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static FileStream Open(string directory, long segment) =>
        new(WalSegments.PathOf(directory, segment), FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
}
