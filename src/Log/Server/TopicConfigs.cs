using System.Globalization;

namespace DataPlane.Log.Server;

/// <summary>Kafka's topic config keys as the broker reads them (CreateTopics) and reports them (DescribeConfigs).</summary>
internal static class TopicConfigs
{
    /// <summary>
    /// Applies CreateTopics' configs over <paramref name="defaults"/>; returns why one is unknown or invalid (Kafka's
    /// INVALID_CONFIG), else null. Kafka spells "forever" as -1 (retention) or <see cref="long.MaxValue"/> (flush).
    /// </summary>
    public static string? TryApply(TopicConfig defaults, List<(string Key, string? Value)> configs, out TopicConfig config)
    {
        config = defaults;
        long? flushMs = null, flushMessages = null;
        foreach (var (key, text) in configs)
        {
            if (key == "cleanup.policy")
            {
                // Deletion is the only policy this log has; "compact" would silently keep everything.
                if (text != "delete")
                {
                    return $"cleanup.policy '{text}' is not supported: only 'delete'.";
                }

                continue;
            }

            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                return $"{key} must be a whole number, got '{text}'.";
            }

            switch (key)
            {
                case "retention.ms" when value >= -1:
                    config = config with { RetentionTime = value == -1 ? null : TimeSpan.FromMilliseconds(value) };
                    break;
                case "retention.bytes" when value >= -1:
                    config = config with { RetentionBytes = value == -1 ? null : value };
                    break;
                case "segment.bytes" when value >= 1024:
                    config = config with { SegmentBytes = value };
                    break;
                case "segment.ms" when value > 0:
                    config = config with { SegmentTime = TimeSpan.FromMilliseconds(value) };
                    break;
                case "max.message.bytes" when value is >= 64 and <= int.MaxValue:
                    config = config with { MaxMessageBytes = (int)value };
                    break;
                case "index.interval.bytes" when value is >= 0 and <= int.MaxValue:
                    config = config with { IndexIntervalBytes = (int)value };
                    break;
                case "flush.ms" when value >= 0:
                    flushMs = value;
                    break;
                case "flush.messages" when value >= 1:
                    flushMessages = value;
                    break;
                case "retention.ms" or "retention.bytes" or "segment.bytes" or "segment.ms" or "max.message.bytes" or "index.interval.bytes" or "flush.ms" or "flush.messages":
                    return $"{key} = {value} is out of range.";
                default:
                    return $"Unknown topic config '{key}'.";
            }
        }

        if (flushMs is not null || flushMessages is not null)
        {
            // A policy named in part keeps the rest from the default unless that was "every append", which would
            // override what was asked: flush.ms=1000 alone means fsync once a second, not on every append.
            var policy = config.FlushPolicy;
            var interval = flushMs is { } ms ? (ms == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(ms))
                : policy.IsDurable ? Timeout.InfiniteTimeSpan : policy.Interval;
            var messages = flushMessages ?? (policy.IsDurable ? long.MaxValue : policy.Messages);
            config = config with { FlushPolicy = new FlushPolicy(messages, interval) };
        }

        return config.Validate();
    }

    /// <summary>The configs DescribeConfigs reports for a topic.</summary>
    public static List<(string Key, string? Value)> Describe(TopicConfig config)
    {
        static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
        return
        [
            ("cleanup.policy", "delete"),
            ("retention.ms", Number(config.RetentionTime is { } retention ? (long)retention.TotalMilliseconds : -1)),
            ("retention.bytes", Number(config.RetentionBytes ?? -1)),
            ("segment.bytes", Number(config.SegmentBytes)),
            ("segment.ms", Number((long)config.SegmentTime.TotalMilliseconds)),
            ("max.message.bytes", Number(config.MaxMessageBytes)),
            ("index.interval.bytes", Number(config.IndexIntervalBytes)),
            ("flush.messages", Number(config.FlushPolicy.Messages)),
            ("flush.ms", Number(config.FlushPolicy.Interval == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)config.FlushPolicy.Interval.TotalMilliseconds)),
        ];
    }
}
