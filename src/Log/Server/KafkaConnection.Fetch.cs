using DataPlane.Log.Protocol.Kafka;

namespace DataPlane.Log.Server;

internal sealed partial class KafkaConnection
{
    /// <summary>
    /// Fetch v4-11 (no sessions): reads every partition; while fewer than min_bytes are ready and max_wait_ms has not
    /// passed, waits for the next append on this broker (no polling), then reads again.
    /// </summary>
    private async ValueTask<bool> FetchAsync(short version, KafkaReader reader, CancellationToken stopping)
    {
        reader.Int32();
        var maxWait = TimeSpan.FromMilliseconds(Math.Max(reader.Int32(), 0));
        var minBytes = reader.Int32();
        var maxBytes = reader.Int32();
        reader.Int8();
        if (version >= 7)
        {
            reader.Int32();
            reader.Int32();
        }

        var topics = new (string Name, (int Partition, long Offset, int MaxBytes)[] Partitions)[Math.Max(reader.ArrayLength(), 0)];
        for (var t = 0; t < topics.Length; t++)
        {
            var name = reader.String();
            var partitions = new (int, long, int)[Math.Max(reader.ArrayLength(), 0)];
            for (var p = 0; p < partitions.Length; p++)
            {
                var index = reader.Int32();
                if (version >= 9)
                {
                    reader.Int32();
                }

                var offset = reader.Int64();
                if (version >= 5)
                {
                    reader.Int64();
                }

                partitions[p] = (index, offset, reader.Int32());
            }

            topics[t] = (name, partitions);
        }

        var time = _server.Coordinator.TimeProvider;
        var deadline = time.GetTimestamp() + (long)(maxWait.TotalSeconds * time.TimestampFrequency);
        var reads = new ReadResult[topics.Sum(t => t.Partitions.Length)];
        while (true)
        {
            var woken = _server.Appends.Next;
            var ready = ReadAll(topics, reads, maxBytes, out var anyError);
            var left = time.GetElapsedTime(time.GetTimestamp(), deadline);
            if (ready >= minBytes || anyError || left <= TimeSpan.Zero || stopping.IsCancellationRequested)
            {
                break;
            }

            await Task.WhenAny(woken, Task.Delay(left, time, stopping)).ConfigureAwait(false);
        }

        WriteFetch(version, topics, reads);
        return true;
    }

    private int ReadAll((string Name, (int Partition, long Offset, int MaxBytes)[] Partitions)[] topics, ReadResult[] reads, int maxBytes, out bool anyError)
    {
        anyError = false;
        var budget = maxBytes <= 0 ? _server.Options.MaxFetchBytes : Math.Min(maxBytes, _server.Options.MaxFetchBytes);
        var total = 0;
        var i = 0;
        foreach (var (name, partitions) in topics)
        {
            foreach (var (index, offset, partitionMax) in partitions)
            {
                // The first non-empty partition may exceed the budget by one whole batch, as Kafka's fetch does.
                var room = Math.Min(partitionMax, total == 0 ? Math.Max(budget, 1) : budget - total);
                var read = room <= 0
                    ? new ReadResult(LogError.None, _server.Log.GetOffsets(name, index).HighWatermark, _server.Log.GetOffsets(name, index).LogStartOffset, default)
                    : _server.Log.Read(name, index, offset, room);
                if (read.Error != LogError.None)
                {
                    anyError = true;
                    var offsets = _server.Log.GetOffsets(name, index);
                    read = read with { HighWatermark = offsets.HighWatermark, LogStartOffset = offsets.LogStartOffset };
                }

                reads[i++] = read;
                total += read.Records.Length;
            }
        }

        return total;
    }

    private void WriteFetch(short version, (string Name, (int Partition, long Offset, int MaxBytes)[] Partitions)[] topics, ReadResult[] reads)
    {
        _writer.Int32(0);
        if (version >= 7)
        {
            _writer.Int16(0);
            _writer.Int32(0);
        }

        _writer.Int32(topics.Length);
        var i = 0;
        foreach (var (name, partitions) in topics)
        {
            _writer.String(name);
            _writer.Int32(partitions.Length);
            foreach (var (index, _, _) in partitions)
            {
                var read = reads[i++];
                _writer.Int32(index);
                _writer.ErrorCode((short)read.Error);
                _writer.Int64(read.HighWatermark);
                _writer.Int64(read.HighWatermark);
                if (version >= 5)
                {
                    _writer.Int64(read.LogStartOffset);
                }

                _writer.Int32(-1);
                if (version >= 11)
                {
                    _writer.Int32(-1);
                }

                var length = read.Records.Length;
                _writer.Int32(length);
                if (length > 0)
                {
                    read.Records.CopyTo(_writer.Reserve(length));
                }
            }
        }
    }
}
