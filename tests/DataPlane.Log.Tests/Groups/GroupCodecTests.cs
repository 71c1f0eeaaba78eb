using DataPlane.Log.Groups;
using DataPlane.Log.Offsets;

namespace DataPlane.Log.Tests.Groups;

public class GroupCodecTests
{
    private static readonly TopicPartition[] Owned = [new("orders", 2), new("orders", 0), new("audit", 1)];

    [Fact]
    public void Subscription_RoundTrips_AndEveryTruncationIsRefused()
    {
        var bytes = ConsumerProtocol.EncodeSubscription(["orders", "audit"], Owned);
        Assert.True(ConsumerProtocol.TryDecodeSubscription(bytes, out var topics, out var owned));
        Assert.Equal(["orders", "audit"], topics);
        Assert.Equal(Owned.Order(), owned.Order());
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            Assert.False(ConsumerProtocol.TryDecodeSubscription(bytes.AsSpan(0, cut), out _, out _), $"cut at {cut}");
        }
    }

    [Fact]
    public void Assignment_RoundTrips_InKafkasLayout()
    {
        var bytes = ConsumerProtocol.EncodeAssignment(Owned);
        // int16 version 0, 2 topics sorted ("audit" [1], "orders" [0, 2]), null user data.
        Assert.Equal("0000" + "00000002" + "0005" + "6175646974" + "00000001" + "00000001"
            + "0006" + "6F7264657273" + "00000002" + "00000000" + "00000002" + "FFFFFFFF", Convert.ToHexString(bytes));
        Assert.True(ConsumerProtocol.TryDecodeAssignment(bytes, out var partitions));
        Assert.Equal(Owned.Order(), partitions);
        Assert.True(ConsumerProtocol.TryDecodeAssignment([], out var none));
        Assert.Empty(none);
        Assert.False(ConsumerProtocol.TryDecodeAssignment(bytes.AsSpan(0, 9), out _));
    }

    [Fact]
    public void OffsetRecords_UseKafkasKeyAndValueLayouts()
    {
        var key = OffsetRecordCodec.EncodeKey("g", new TopicPartition("t", 3));
        Assert.Equal("0001" + "0001" + "67" + "0001" + "74" + "00000003", Convert.ToHexString(key));
        var value = OffsetRecordCodec.EncodeValue(new CommittedOffset(5, "m", 9));
        Assert.Equal("0003" + "0000000000000005" + "FFFFFFFF" + "0001" + "6D" + "0000000000000009", Convert.ToHexString(value));

        Assert.True(OffsetRecordCodec.TryDecodeKey(key, out var group, out var tp));
        Assert.Equal(("g", new TopicPartition("t", 3)), (group, tp));
        Assert.True(OffsetRecordCodec.TryDecodeValue(value, out var decoded));
        Assert.Equal(new CommittedOffset(5, "m", 9), decoded);
        for (var cut = 0; cut < value.Length; cut++)
        {
            Assert.False(OffsetRecordCodec.TryDecodeValue(value.AsSpan(0, cut), out _));
        }

        for (var cut = 0; cut < key.Length; cut++)
        {
            Assert.False(OffsetRecordCodec.TryDecodeKey(key.AsSpan(0, cut), out _, out _));
        }
    }
}
