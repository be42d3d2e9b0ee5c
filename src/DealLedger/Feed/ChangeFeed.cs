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

    public static async Task<FeedPage> FeedAsync(this Ledger ledger, long after, int limit, CancellationToken ct = default) =>
        await ledger.FeedAsync(after, limit, null, ct);

    /// <summary>
    /// A page of the feed; with a filter, only the messages of writes that changed what it names (<see cref="FilteredAsync"/>).
    /// </summary>
    public static async Task<FeedPage> FeedAsync(this Ledger ledger, long after, int limit, FeedFilter? filter, CancellationToken ct = default)
    {
        QueryArguments.Page(after, limit, MaxLimit);
        if (filter is { IsEmpty: false })
        {
            return await FilteredAsync(ledger, after, limit, filter, ct);
        }
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
    /// The messages of the next write after <paramref name="after"/> that changed what the filter names (with none, the next
    /// write): what one webhook delivery carries. A write's events share its recorded time, and no two writes share one
    /// (rule 8), so an unfiltered page is cut where the recorded time changes; a write of more events than a page holds
    /// comes in several.
    /// </summary>
    public static async Task<FeedPage> NextWriteAsync(this Ledger ledger, long after, FeedFilter filter, CancellationToken ct = default)
    {
        if (!filter.IsEmpty)
        {
            return await ledger.FeedAsync(after, 1, filter, ct);
        }
        var page = await ledger.FeedAsync(after, 100, ct);
        if (page.Messages.Count == 0)
        {
            return page;
        }
        var write = page.Messages.TakeWhile(m => m.Event.RecordedAt == page.Messages[0].Event.RecordedAt).ToList();
        return page with { Next = write[^1].Sequence, Messages = write };
    }

    /// <summary>
    /// A filtered page: the messages of up to <paramref name="limit"/> writes after <paramref name="after"/> that changed what
    /// the filter names — of each, its events about the facts named (with the deals that recorded them) and the
    /// organization's registration, and the write's changes the filter names on the last of them. A page ends where a
    /// write ends (one write with more such events than the limit gives them all); <c>next</c> is the sequence up to which
    /// it looked, past its last message when the writes after it named nothing: a follower resumes from there and never
    /// misses a matching change, and never meets a gap it cannot explain.
    /// </summary>
    private static async Task<FeedPage> FilteredAsync(Ledger ledger, long after, int limit, FeedFilter filter, CancellationToken ct)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        var highWater = await HighWaterMarkAsync(c, ct);
        if (after >= highWater)
        {
            await tx.CommitAsync(ct);
            return new FeedPage(after, highWater, after, []);
        }
        var (org, holder, subject, kind) = (filter.Organization, filter.Holder, filter.Subject, filter.Kind is { } k ? LedgerJson.Word(k) : null);
        // A write's projection rows carry its last sequence; every holding change comes with a version of one of the pair's
        // stake facts. A pair names a directed tie of any kind: its organizations are [from, to], in that order.
        const string named = "($3::text is null or orgs @> array[$3]) and ($4::text is null or (orgs @> array[$4, $5] and orgs = array[$4, $5] and type <> all($8))) " +
            "and ($6::text is null or type = $6)";
        var log = ProjectionTables.Name("mt_events");
        var merges = ProjectionTables.Of("organization_merges");
        // An organization's registration row carries its own event's sequence: the write it ends is found by the log's
        // recorded time (all of a write's events share it, no two writes do).
        var writes = await Sql.ListAsync(c,
            $"select s from (select sequence s from {ProjectionTables.Of("fact_versions")} where sequence > $1 and sequence <= $2 and {named} union " +
            $"select (select max(e.seq_id) from {log} e where e.seq_id >= o.sequence and e.seq_id < coalesce((select n.seq_id from {log} n where n.seq_id > o.sequence " +
            $"and n.timestamp <> (select r.timestamp from {log} r where r.seq_id = o.sequence) order by n.seq_id limit 1), $2 + 1)) " +
            $"from {ProjectionTables.Of("organizations")} o where $3::text is not null and $4::text is null and $6::text is null and o.id = $3 and o.sequence > $1 and o.sequence <= $2 " +
            // A merge or its undo moves holdings without a version of any fact: its write is found by the segments it opened or closed.
            $"union select m.s from (select sequence s from {merges} where sequence > $1 and sequence <= $2 union " +
            $"select closed_sequence from {merges} where closed_sequence > $1 and closed_sequence <= $2) m where ($6::text is null or $6 = 'stake') and " +
            $"exists (select 1 from {ProjectionTables.Of("holding_segments")} g where (g.sequence = m.s or g.closed_sequence = m.s) " +
            "and ($3::text is null or g.holder = $3 or g.subject = $3) and ($4::text is null or (g.holder = $4 and g.subject = $5)))) w " +
            "order by s limit $7",
            r => r.GetInt64(0), ct, after, highWater, org, holder, subject, kind, limit, Undirected);
        var upTo = writes.Count < limit ? highWater : writes[^1];
        if (writes.Count == 0)
        {
            await tx.CommitAsync(ct);
            return new FeedPage(after, highWater, upTo, []);
        }
        var facts = await Sql.ListAsync(c,
            $"select distinct fact_id, state->'current'->>'deal' from {ProjectionTables.Of("fact_versions")} where sequence > $1 and sequence <= $2 and {named}",
            r => (Id: r.GetString(0), Deal: r.IsDBNull(1) ? null : r.GetString(1)), ct, after, upTo, org, holder, subject, kind, limit, Undirected);
        var streams = facts.Select(f => "fact:" + f.Id).Concat(facts.Where(f => f.Deal is not null).Select(f => "deal:" + f.Deal).Distinct())
            .Concat(org is not null && holder is null && kind is null ? ["organization:" + org] : [])
            .Concat(await Sql.ListAsync(c, $"select 'organization:' || duplicate from {merges} where sequence = any($1) or closed_sequence = any($1)", r => r.GetString(0), ct, writes.ToArray()))
            .Distinct().ToList();
        // Only events of the writes named: a deal recorded by an earlier write that named nothing is not one of them.
        var recorded = (await Sql.ListAsync(c, $"select timestamp from {log} where seq_id = any($1)", r => r.GetFieldValue<DateTimeOffset>(0), ct, writes.ToArray()))
            .Select(Instant.Format).ToHashSet(StringComparer.Ordinal);
        var events = (await EventLog.OfStreamsAsync(c, streams, after, upTo, ct)).Where(e => recorded.Contains(e.RecordedAt)).ToList();
        var factIds = facts.Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
        var changes = await WriteChangesAsync(c, ledger.Citations, writes.ToArray(), ct);
        await tx.CommitAsync(ct);

        // Each write's changes the filter names ride on the last of its events shown. A page holds at most MaxLimit messages:
        // a bigger write goes on in the next page (after its last message shown), its changes with its last event.
        var messages = new List<FeedMessage>(Math.Min(events.Count, MaxLimit));
        var write = 0;
        for (var i = 0; i < events.Count && messages.Count < MaxLimit; i++)
        {
            var e = events[i];
            while (writes[write] < e.Sequence)
            {
                write++;
            }
            var last = i == events.Count - 1 || events[i + 1].Sequence > writes[write];
            var told = !last ? [] : changes.GetValueOrDefault(writes[write], [])
                .Where(x => x.Projection == "holdings" ? filter.Names(x.Holder!, x.Subject!) : factIds.Contains(x.Key));
            messages.Add(new FeedMessage(InPublicWords(e), [.. OwnChanges(e), .. told]));
        }
        return new FeedPage(after, highWater, messages.Count < events.Count ? messages[^1].Sequence : upTo, messages);
    }

    /// <summary>Kinds of fact with no direction (their parties in no order): never a pair's.</summary>
    private static readonly string[] Undirected = [LedgerJson.Word(FactType.Partnership), LedgerJson.Word(FactType.Announcement)];

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
            var t when t == typeof(OrganizationsMerged) => [new ProjectionChange("organizations", e.Data.GetProperty("duplicate").GetString()!, "merged")],
            var t when t == typeof(OrganizationMergeUndone) => [new ProjectionChange("organizations", e.Data.GetProperty("duplicate").GetString()!, "unmerged")],
            _ => [],
        };

    /// <summary>The last sequence of the last committed write (0 for an empty ledger).</summary>
    public static async Task<long> HighWaterMarkAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, $"select last_sequence from {ProjectionTables.Of("ledger_position")} where id = 1");
        return await cmd.ExecuteScalarAsync(ct) is long last ? last : 0;
    }
}
