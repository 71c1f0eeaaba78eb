using DataPlane.Log.Groups;
using DataPlane.Log.Offsets;
using DataPlane.Log.Protocol.Kafka;

namespace DataPlane.Log.Server;

internal sealed partial class KafkaConnection
{
    /// <summary>FindCoordinator v0-2: this broker coordinates every group.</summary>
    private void FindCoordinator(short version)
    {
        if (version >= 1)
        {
            _writer.Int32(0);
        }

        _writer.Int16(0);
        if (version >= 1)
        {
            _writer.NullableString(null);
        }

        _writer.Int32(NodeId);
        _writer.String(_server.AdvertisedHost);
        _writer.Int32(_server.AdvertisedPort);
    }

    /// <summary>JoinGroup v0-5, through the coordinator (static membership from v5, KIP-394 member ids from v4).</summary>
    private async ValueTask<bool> JoinGroupAsync(short version, string? clientId, KafkaReader reader)
    {
        var groupId = reader.String();
        var session = reader.Int32();
        var rebalance = version >= 1 ? reader.Int32() : session;
        var memberId = reader.String();
        var instanceId = version >= 5 ? reader.NullableString() : null;
        var protocolType = reader.String();
        var protocols = new GroupProtocol[Math.Max(reader.ArrayLength(), 0)];
        for (var i = 0; i < protocols.Length; i++)
        {
            protocols[i] = new GroupProtocol(reader.String(), reader.Bytes().ToArray());
        }

        var result = await _server.Coordinator.JoinGroupAsync(new JoinGroupRequest
        {
            GroupId = groupId,
            MemberId = memberId,
            GroupInstanceId = instanceId,
            ClientId = clientId ?? "member",
            ProtocolType = protocolType,
            Protocols = protocols,
            RequireKnownMemberId = version >= 4,
            SessionTimeout = TimeSpan.FromMilliseconds(session),
            RebalanceTimeout = TimeSpan.FromMilliseconds(rebalance),
        }).ConfigureAwait(false);
        if (version >= 2)
        {
            _writer.Int32(0);
        }

        _writer.ErrorCode((short)result.Error);
        _writer.Int32(result.GenerationId);
        _writer.String(result.ProtocolName ?? string.Empty);
        _writer.String(result.LeaderId);
        _writer.String(result.MemberId);
        _writer.Int32(result.Members.Count);
        foreach (var member in result.Members)
        {
            _writer.String(member.MemberId);
            if (version >= 5)
            {
                _writer.NullableString(member.GroupInstanceId);
            }

            _writer.Bytes(member.Metadata.Span);
        }

        return true;
    }

    /// <summary>SyncGroup v0-3: the leader's assignments relayed to every member.</summary>
    private async ValueTask<bool> SyncGroupAsync(short version, KafkaReader reader)
    {
        var groupId = reader.String();
        var generation = reader.Int32();
        var memberId = reader.String();
        var instanceId = version >= 3 ? reader.NullableString() : null;
        var assignments = new MemberAssignment[Math.Max(reader.ArrayLength(), 0)];
        for (var i = 0; i < assignments.Length; i++)
        {
            assignments[i] = new MemberAssignment(reader.String(), reader.Bytes().ToArray());
        }

        var result = await _server.Coordinator.SyncGroupAsync(groupId, generation, memberId, instanceId, assignments).ConfigureAwait(false);
        if (version >= 1)
        {
            _writer.Int32(0);
        }

        _writer.ErrorCode((short)result.Error);
        _writer.Bytes(result.Assignment.Span);
        return true;
    }

    private void Heartbeat(short version, ref KafkaReader reader)
    {
        var groupId = reader.String();
        var generation = reader.Int32();
        var memberId = reader.String();
        var instanceId = version >= 3 ? reader.NullableString() : null;
        var error = _server.Coordinator.Heartbeat(groupId, generation, memberId, instanceId);
        if (version >= 1)
        {
            _writer.Int32(0);
        }

        _writer.ErrorCode((short)error);
    }

    /// <summary>LeaveGroup v0-3 (v3 leaves a batch of members, each answered).</summary>
    private void LeaveGroup(short version, ref KafkaReader reader)
    {
        var groupId = reader.String();
        if (version < 3)
        {
            var error = _server.Coordinator.LeaveGroup(groupId, reader.String());
            if (version >= 1)
            {
                _writer.Int32(0);
            }

            _writer.ErrorCode((short)error);
            return;
        }

        var members = new (string MemberId, string? InstanceId)[Math.Max(reader.ArrayLength(), 0)];
        for (var i = 0; i < members.Length; i++)
        {
            members[i] = (reader.String(), reader.NullableString());
        }

        _writer.Int32(0);
        _writer.Int16(0);
        _writer.Int32(members.Length);
        foreach (var (memberId, instanceId) in members)
        {
            _writer.String(memberId);
            _writer.NullableString(instanceId);
            _writer.ErrorCode((short)_server.Coordinator.LeaveGroup(groupId, memberId, instanceId));
        }
    }

    /// <summary>OffsetCommit v0-7: generation and member checked by the coordinator; metadata kept.</summary>
    private async ValueTask<bool> OffsetCommitAsync(short version, KafkaReader reader)
    {
        var groupId = reader.String();
        var generation = version >= 1 ? reader.Int32() : -1;
        var memberId = version >= 1 ? reader.String() : string.Empty;
        var instanceId = version >= 7 ? reader.NullableString() : null;
        if (version is >= 2 and <= 4)
        {
            reader.Int64();
        }

        var commits = new List<OffsetCommit>();
        var shape = new (string Name, int Partitions)[Math.Max(reader.ArrayLength(), 0)];
        for (var t = 0; t < shape.Length; t++)
        {
            var name = reader.String();
            var partitions = Math.Max(reader.ArrayLength(), 0);
            for (var p = 0; p < partitions; p++)
            {
                var index = reader.Int32();
                var offset = reader.Int64();
                if (version >= 6)
                {
                    reader.Int32();
                }

                if (version == 1)
                {
                    reader.Int64();
                }

                commits.Add(new OffsetCommit(new TopicPartition(name, index), offset, reader.NullableString()));
            }

            shape[t] = (name, partitions);
        }

        var errors = await _server.Coordinator.CommitOffsetsAsync(groupId, generation, memberId, instanceId, commits).ConfigureAwait(false);
        if (version >= 3)
        {
            _writer.Int32(0);
        }

        _writer.Int32(shape.Length);
        var i = 0;
        foreach (var (name, partitions) in shape)
        {
            _writer.String(name);
            _writer.Int32(partitions);
            for (var p = 0; p < partitions; p++, i++)
            {
                _writer.Int32(commits[i].Partition.Partition);
                _writer.ErrorCode((short)errors[i]);
            }
        }

        return true;
    }

    /// <summary>OffsetFetch v0-5: committed offsets, -1 for a partition with none; a null topic list (v2+) means all.</summary>
    private void OffsetFetch(short version, ref KafkaReader reader)
    {
        var groupId = reader.String();
        var count = reader.ArrayLength();
        List<TopicPartition>? wanted = null;
        if (count >= 0)
        {
            wanted = [];
            for (var t = 0; t < count; t++)
            {
                var name = reader.String();
                var partitions = reader.ArrayLength();
                for (var p = 0; p < partitions; p++)
                {
                    wanted.Add(new TopicPartition(name, reader.Int32()));
                }
            }
        }

        var committed = _server.Coordinator.FetchOffsets(groupId, wanted);
        var byTopic = (wanted ?? [.. committed.Keys]).GroupBy(tp => tp.Topic, StringComparer.Ordinal).ToList();
        if (version >= 3)
        {
            _writer.Int32(0);
        }

        _writer.Int32(byTopic.Count);
        foreach (var topic in byTopic)
        {
            _writer.String(topic.Key);
            _writer.Int32(topic.Count());
            foreach (var tp in topic)
            {
                var found = committed.TryGetValue(tp, out var c);
                _writer.Int32(tp.Partition);
                _writer.Int64(found ? c.Offset : -1);
                if (version >= 5)
                {
                    _writer.Int32(-1);
                }

                _writer.NullableString(found ? c.Metadata : string.Empty);
                _writer.Int16(0);
            }
        }

        if (version >= 2)
        {
            _writer.Int16(0);
        }
    }
}
