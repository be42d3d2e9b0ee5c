using System.Data;
using System.Text.Json;
using System.Text.Json.Serialization;
using DealLedger.Auditing;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Feed;

/// <summary>A holding segment as the projection holds it: a row a follower can keep by its id.</summary>
public sealed record SegmentRow(long Id, string? From, string? To, HoldingStatus Status, JsonElement Finding);

/// <summary>
/// What a write changed in one projection. For holdings: the segments it closed (by id) and those it
/// opened; applied in sequence order they keep a copy of the current holdings exact.
/// </summary>
public sealed record ProjectionChange(
    string Projection,
    string Key,
    string Change,
    int? Version = null,
    string? Holder = null,
    string? Subject = null,
    IReadOnlyList<long>? Closed = null,
    IReadOnlyList<SegmentRow>? Opened = null);

/// <summary>One message of the change feed: an event of the log and what it changed (DESIGN §7).</summary>
public sealed record FeedMessage(LogEntry Event, IReadOnlyList<ProjectionChange> Changes)
{
    [JsonIgnore]
    public long Sequence => Event.Sequence;
}

/// <summary>
/// A page of the feed. <paramref name="HighWaterMark"/>: the last sequence of the last committed
/// write; nothing above it is shown. <paramref name="Next"/>: the `after` of the next page.
/// </summary>
public sealed record FeedPage(long After, long HighWaterMark, long Next, IReadOnlyList<FeedMessage> Messages);

/// <summary>
/// The change feed: the log in sequence order with what each write changed in the projections.
/// Only events at or below the high-water mark (ledger_position, moved in each write's own
/// transaction) are shown, so a transaction that commits late can never make a follower skip a
/// sequence. A write's fact and holding changes ride on its last event.
/// </summary>
public static class ChangeFeed
{
    public const int MaxLimit = 1_000;

    public static async Task<FeedPage> FeedAsync(this Ledger ledger, long after, int limit, CancellationToken ct = default)
    {
        QueryArguments.Page(after, limit, MaxLimit);
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        // One snapshot for the mark and the page, so they agree.
        await using var tx = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        var highWater = await HighWaterMarkAsync(c, ct);
        var events = await EventLog.PageAsync(c, new EventFilter(after, limit), highWater, ct);
        if (events.Count == 0)
        {
            return new FeedPage(after, highWater, after, []);
        }
        var changes = await WriteChangesAsync(c, ledger.Citations, events.Select(e => e.Sequence).ToArray(), ct);
        await tx.CommitAsync(ct);
        return new FeedPage(after, highWater, events[^1].Sequence, events
            .Select(e => new FeedMessage(InPublicWords(e), [.. OwnChanges(e), .. changes.GetValueOrDefault(e.Sequence, [])])).ToList());
    }

    /// <summary>
    /// The event as followers read it: its data in the documents' and answers' words (kebab-case kinds and claims:
    /// "company", "stated", "third-party"), not as Marten stored them ("Company"). The stored event, the log and
    /// its seals keep their bytes; only what the feed sends is written again, through the one event type.
    /// </summary>
    internal static LogEntry InPublicWords(LogEntry e) => EventNames.TypeOf(e.Type) is { } type
        ? e with { Data = JsonSerializer.SerializeToElement(e.Data.Deserialize(type, LedgerJson.Options), type, LedgerJson.Options) }
        : e;

    /// <summary>
    /// What the writes ending at these sequences changed in the fact and holding projections, by
    /// sequence: a write's projection rows carry the sequence of its last event (opened rows in
    /// `sequence`, closed holding segments in `closed_sequence`).
    /// </summary>
    internal static async Task<Dictionary<long, List<ProjectionChange>>> WriteChangesAsync(NpgsqlConnection c, Citations citations, long[] sequences, CancellationToken ct, bool keep = true)
    {
        var stored = await Sql.ListAsync(c,
            $"select sequence, holder, subject, id, lower(valid), upper(valid), status, finding::text from {ProjectionTables.Of("holding_segments")} where sequence = any($1) order by id",
            r => (Sequence: r.GetInt64(0), Holder: r.GetString(1), Subject: r.GetString(2), Id: r.GetInt64(3),
                From: r.IsDBNull(4) ? null : ValidDate.OfDay(r.GetFieldValue<DateOnly>(4)).ToString(),
                To: r.IsDBNull(5) ? null : ValidDate.OfDay(r.GetFieldValue<DateOnly>(5)).ToString(),
                Status: LedgerJson.Deserialize<HoldingStatus>($"\"{r.GetString(6)}\""), Finding: r.GetString(7)),
            ct, sequences);
        var rendered = await HoldingQuery.RenderAsync(c, citations, stored.Select(o => (o.Holder, o.Subject, o.Finding)).ToList(), ct, keep);
        var opened = stored.Select((o, i) => (o.Sequence, Pair: (o.Holder, o.Subject),
            Row: new SegmentRow(o.Id, o.From, o.To, o.Status, JsonSerializer.SerializeToElement(rendered[i].Finding, LedgerJson.Options)))).ToList();
        var closed = await Sql.ListAsync(c,
            $"select closed_sequence, holder, subject, id from {ProjectionTables.Of("holding_segments")} where closed_sequence = any($1) order by id",
            r => (Sequence: r.GetInt64(0), Pair: (r.GetString(1), r.GetString(2)), Id: r.GetInt64(3)), ct, sequences);
        var facts = await Sql.ListAsync(c,
            $"select sequence, fact_id, state::text from {ProjectionTables.Of("fact_versions")} where sequence = any($1) order by fact_id",
            r => (Sequence: r.GetInt64(0), Id: r.GetString(1), State: FactVersions.Read(r.GetString(2))), ct, sequences);

        var result = new Dictionary<long, List<ProjectionChange>>();
        foreach (var sequence in sequences)
        {
            var list = facts.Where(f => f.Sequence == sequence)
                .Select(f => new ProjectionChange("facts", f.Id, f.State.Version == 1 ? "recorded" : "amended", f.State.Version)).ToList();
            var pairs = opened.Where(o => o.Sequence == sequence).Select(o => o.Pair)
                .Concat(closed.Where(x => x.Sequence == sequence).Select(x => x.Pair)).Distinct().Order();
            list.AddRange(pairs.Select(pair => new ProjectionChange("holdings", $"{pair.Item1}→{pair.Item2}", "segments", Holder: pair.Item1, Subject: pair.Item2,
                Closed: closed.Where(x => x.Sequence == sequence && x.Pair == pair).Select(x => x.Id).ToList(),
                Opened: opened.Where(o => o.Sequence == sequence && o.Pair == pair).Select(o => o.Row).ToList())));
            if (list.Count > 0)
            {
                result[sequence] = list;
            }
        }
        return result;
    }

    /// <summary>A registration changes its own projection's row; fact events change theirs with the write (above).</summary>
    private static IEnumerable<ProjectionChange> OwnChanges(LogEntry e) =>
        EventNames.TypeOf(e.Type) switch
        {
            var t when t == typeof(OrganizationRegistered) => [new ProjectionChange("organizations", e.Data.GetProperty("id").GetString()!, "registered")],
            var t when t == typeof(SourceRegistered) => [new ProjectionChange("sources", e.Data.GetProperty("id").GetString()!, "registered")],
            var t when t == typeof(DealRecorded) => [new ProjectionChange("deals", e.Data.GetProperty("id").GetString()!, "recorded")],
            _ => [],
        };

    /// <summary>The last sequence of the last committed write (0 for an empty ledger).</summary>
    public static async Task<long> HighWaterMarkAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, $"select last_sequence from {ProjectionTables.Of("ledger_position")} where id = 1");
        return await cmd.ExecuteScalarAsync(ct) is long last ? last : 0;
    }
}
