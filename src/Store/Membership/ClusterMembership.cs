using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace DataPlane.Store.Membership;

/// <summary>
/// The nodes of the cluster in one numbered epoch. A change makes two epochs: a transitional one
/// (<see cref="Previous"/> set: the old members still own every partition and count for quorums,
/// while the new owners receive the writes and the streamed data), then, once every receiver has
/// acknowledged its partitions, a stable one with the same members and no <see cref="Previous"/>.
/// Every node derives that stable epoch the same way, so no leader has to announce it.
/// </summary>
internal sealed class ClusterMembership
{
    private const int MaxMembers = 4096;

    public ClusterMembership(long epoch, IEnumerable<Member> members, IEnumerable<Member>? previous)
    {
        Epoch = epoch;
        Members = [.. members.OrderBy(m => m.Name, StringComparer.Ordinal)];
        Previous = previous is null ? null : [.. previous.OrderBy(m => m.Name, StringComparer.Ordinal)];
    }

    public long Epoch { get; }

    /// <summary>The members, by name.</summary>
    public IReadOnlyList<Member> Members { get; }

    /// <summary>While rebalancing: the members of the epoch before, who own the data until the switch.</summary>
    public IReadOnlyList<Member>? Previous { get; }

    public bool IsTransitional => Previous is not null;

    /// <summary>Members and previous members, each once.</summary>
    public IEnumerable<Member> Everyone => Previous is null ? Members : Members.Concat(Previous.Where(p => !Contains(p.Name)));

    public bool Contains(string name) => Members.Any(m => m.Name == name);

    /// <summary>The stable epoch that ends this transitional one.</summary>
    public ClusterMembership Settled() => new(Epoch + 1, Members, null);

    /// <summary>[u64 epoch][u16 count][members][u16 previous count or 0xFFFF][previous members]; a member is three [u8 length][ASCII] fields.</summary>
    public byte[] Encode()
    {
        var buffer = new List<byte>(64 * (Members.Count + (Previous?.Count ?? 0)));
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(head, Epoch);
        buffer.AddRange(head);
        WriteList(buffer, Members);
        if (Previous is null)
        {
            buffer.Add(0xFF);
            buffer.Add(0xFF);
        }
        else
        {
            WriteList(buffer, Previous);
        }

        return [.. buffer];
    }

    /// <exception cref="InvalidDataException">The bytes are not a membership.</exception>
    public static ClusterMembership Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8)
        {
            throw new InvalidDataException("membership is shorter than its epoch");
        }

        var epoch = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        var at = 8;
        var members = ReadList(bytes, ref at) ?? throw new InvalidDataException("membership has no member list");
        var previous = ReadList(bytes, ref at);
        return new ClusterMembership(epoch, members, previous);
    }

    /// <summary>A member as a join request carries it.</summary>
    public static byte[] EncodeMember(Member member)
    {
        var buffer = new List<byte>();
        WriteMember(buffer, member);
        return [.. buffer];
    }

    public static Member DecodeMember(ReadOnlySpan<byte> bytes)
    {
        var at = 0;
        return ReadMember(bytes, ref at);
    }

    public override string ToString() =>
        $"epoch {Epoch}: {string.Join(',', Members.Select(m => m.Name))}" + (Previous is null ? string.Empty : $" (from {string.Join(',', Previous.Select(m => m.Name))})");

    private static void WriteList(List<byte> buffer, IReadOnlyList<Member> members)
    {
        buffer.Add((byte)members.Count);
        buffer.Add((byte)(members.Count >> 8));
        foreach (var member in members)
        {
            WriteMember(buffer, member);
        }
    }

    private static void WriteMember(List<byte> buffer, Member member)
    {
        WriteText(buffer, member.Name);
        WriteText(buffer, member.Peer.ToString());
        WriteText(buffer, member.Client?.ToString() ?? string.Empty);
    }

    private static void WriteText(List<byte> buffer, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        buffer.Add((byte)bytes.Length);
        buffer.AddRange(bytes);
    }

    private static List<Member>? ReadList(ReadOnlySpan<byte> bytes, ref int at)
    {
        if (bytes.Length < at + 2)
        {
            throw new InvalidDataException("membership list is truncated");
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(bytes[at..]);
        at += 2;
        if (count == 0xFFFF)
        {
            return null;
        }

        if (count > MaxMembers)
        {
            throw new InvalidDataException($"membership of {count} nodes exceeds {MaxMembers}");
        }

        var members = new List<Member>(count);
        for (var i = 0; i < count; i++)
        {
            members.Add(ReadMember(bytes, ref at));
        }

        return members;
    }

    private static Member ReadMember(ReadOnlySpan<byte> bytes, ref int at)
    {
        var name = ReadText(bytes, ref at);
        var peer = ReadText(bytes, ref at);
        var client = ReadText(bytes, ref at);
        if (!Cluster.ClusterOptions.IsValidName(name) || !IPEndPoint.TryParse(peer, out var peerEndPoint))
        {
            throw new InvalidDataException($"membership holds a malformed member '{name}' at '{peer}'");
        }

        return new Member(name, peerEndPoint, IPEndPoint.TryParse(client, out var clientEndPoint) ? clientEndPoint : null);
    }

    private static string ReadText(ReadOnlySpan<byte> bytes, ref int at)
    {
        if (bytes.Length < at + 1 || bytes.Length < at + 1 + bytes[at])
        {
            throw new InvalidDataException("membership text is truncated");
        }

        var text = Encoding.ASCII.GetString(bytes.Slice(at + 1, bytes[at]));
        at += 1 + bytes[at];
        return text;
    }
}
