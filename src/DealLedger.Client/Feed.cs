using System.Text.Json;
using System.Text.Json.Serialization;

namespace DealLedger.Client;

// The change feed (DESIGN §7) as GET /api/feed answers it; mirrors src/DealLedger/Feed/ChangeFeed.cs.

/// <summary>One event of the log: its global sequence, stream, type, recorded time, writer and data.</summary>
public sealed record LogEntry(
    long Sequence,
    Guid Id,
    string Stream,
    long Version,
    string Type,
    DateTimeOffset RecordedAt,
    string? Writer,
    string? CorrelationId,
    JsonElement Data);

/// <summary>
/// A holding segment as the ledger's projection holds it: a pair's state over one stretch of valid
/// time. <paramref name="From"/> is inclusive, <paramref name="To"/> exclusive; null is unbounded.
/// <paramref name="Finding"/> is the whole finding (share, since, until, sources, basis, explanation) as JSON.
/// </summary>
public sealed record SegmentRow(long Id, DateOnly? From, DateOnly? To, HoldingStatus Status, JsonElement Finding);

/// <summary>
/// What an event changed in one projection. For <c>holdings</c>: the segments of the pair it closed
/// (by id) and those it opened; applied in sequence order, they keep a copy of the current holdings exact.
/// </summary>
public sealed record ProjectionChange(
    string Projection,
    string Key,
    string Change,
    int? Version = null,
    string? Holder = null,
    string? Subject = null,
    IReadOnlyList<long>? Closed = null,
    IReadOnlyList<SegmentRow>? Opened = null)
{
    public const string Holdings = "holdings";
}

/// <summary>One message of the feed: an event and what it changed.</summary>
public sealed record FeedMessage(LogEntry Event, IReadOnlyList<ProjectionChange> Changes)
{
    [JsonIgnore]
    public long Sequence => Event.Sequence;
}

/// <summary>
/// A page of the feed after a checkpoint. Only events at or below <paramref name="HighWaterMark"/>
/// (the last committed write) are shown; <paramref name="Next"/> is the checkpoint after this page.
/// </summary>
public sealed record FeedPage(long After, long HighWaterMark, long Next, IReadOnlyList<FeedMessage> Messages);
