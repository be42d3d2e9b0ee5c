using System.Text.Json;
using DealLedger.Auditing;
using DealLedger.Deals;
using DealLedger.Feed;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Relationships;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Changes;

/// <summary>
/// What changed (DESIGN §12): between two instants, what the ledger learned; between two dates, what happened in the world.
/// Index-backed: the pairs a knowledge diff looks at are the segments its window opened or closed (the projection's
/// sequence indexes), its ties the fact versions the window recorded; a pair's stretches are then read through its GiST
/// index, a tie's versions through its organizations' index.
/// </summary>
public static class ChangesQuery
{
    private static readonly string Segments = ProjectionTables.Of("holding_segments");
    private static readonly string Facts = ProjectionTables.Of("fact_versions");
    private static readonly string StakeWord = LedgerJson.Word(FactType.Stake);

    public static Task<ChangesAnswer> ChangesAsync(this Ledger ledger, ChangesRequest request, CancellationToken ct = default) =>
        request.Question == ChangeQuestion.Knowledge
            ? ledger.ReadAsync(request.KnownTo, (c, k, token) => LearnedAsync(ledger, c, request, k, token), ct)
            : ledger.ReadAsync(request.KnownAt, (c, k, token) => HappenedAsync(ledger, c, request, k, token), ct);

    // --- What the ledger learned in (from, to] ---

    // The pairs whose segments the window opened or closed (both sequence indexes), on the date asked or over all valid time.
    private static readonly string PairsLearned =
        $"select holder, subject from {Segments} where ((sequence > $1 and sequence <= $2) or (closed_sequence > $1 and closed_sequence <= $2)) " +
        "and ($3::text[] is null or holder = any($3) or subject = any($3)) and ($4::date is null or valid @> $4::date) " +
        "and ($5::text is null or (holder, subject) > ($5, $6::text)) group by holder, subject order by holder, subject limit $7";

    // The ties (facts of every kind but stakes, that tie organizations: not exchange rates) of which the window recorded a
    // version, with their organizations.
    private static readonly string TiesLearned =
        $"select fact_id, min(orgs) from {Facts} where sequence > $1 and sequence <= $2 and type <> $3 and cardinality(orgs) > 0 " +
        "and ($4::text[] is null or orgs && $4) and ($5::text is null or fact_id > $5) group by fact_id order by fact_id limit $6";

    private static async Task<ChangesAnswer> LearnedAsync(Ledger ledger, NpgsqlConnection c, ChangesRequest request, DateTimeOffset to, CancellationToken ct)
    {
        var from = Instant.TruncateToMicroseconds(request.KnownFrom!.Value);
        if (from > to)
        {
            // The knownTo answered (now, or the last instant recorded) is before knownFrom. Later than the clock, knownFrom is
            // refused; else nothing was recorded after it yet, and the window is answered as empty, from knownTo to knownTo:
            // an answer never echoes a window that runs backwards.
            if (from > ledger.Clock.GetUtcNow())
            {
                throw new LedgerException(LedgerErrorKind.InvalidInput, $"{request.Spelled("knownFrom")} {Instant.Format(from)} is in the future: nothing was learned after it yet")
                    { Field = request.Spelled("knownFrom") };
            }
            from = to;
        }
        var org = request.Organization;
        if (org is not null)
        {
            await OrganizationDirectory.RequireAsync(c, org, ct, to, request.Spelled("org"));
        }
        // The organization's records: over a window a merge or an undo may have moved its holdings from one to another.
        var ever = org is null ? null : await MergedRecords.EverAsync(c, ct);
        var records = ever?.Of(org!).ToArray();
        var window = await Sql.ListAsync(c, $"select {EventLog.LastSequenceBy("$1::timestamptz")}, {EventLog.LastSequenceBy("$2::timestamptz")}",
            r => (First: r.GetInt64(0), Last: r.GetInt64(1)), ct, from, to);
        var (first, last) = window[0];
        var day = request.At;
        var (pairs, ties, next) = await PageAsync(request,
            cursor => Sql.ListAsync(c, PairsLearned, r => (r.GetString(0), r.GetString(1)), ct, first, last, records, day, cursor?.Holder, cursor?.Subject, request.Limit),
            (cursor, limit) => Sql.ListAsync(c, TiesLearned, r => (Id: r.GetString(0), Orgs: r.GetFieldValue<string[]>(1)), ct, first, last, StakeWord, records, cursor, limit),
            first < last);

        // Each pair's stretches as known at either end: one GiST probe per pair, by the window (which the index takes); the
        // versions known at neither end (opened and closed within the window) are left out here, not by the statement: with
        // that test in it, the generic plan PostgreSQL settles on after a few runs took seconds a page, not milliseconds.
        // Their recorded bounds tell which writes made the change (below).
        var stretches = pairs.Count == 0 ? [] : await Sql.ListAsync(c,
            "select p.holder, p.subject, lower(s.valid), upper(s.valid), s.finding::text, s.recorded @> $3::timestamptz, s.recorded @> $4::timestamptz, " +
            "lower(s.recorded), upper(s.recorded) " +
            $"from unnest($1::text[], $2::text[]) p(holder, subject) cross join lateral (select valid, finding, recorded from {Segments} " +
            $"where {HoldingQuery.OfPair("p.holder", "p.subject")} and recorded && tstzrange($3, $4, '[]') and ($5::date is null or valid @> $5::date)) s",
            r => (Pair: (r.GetString(0), r.GetString(1)), Stretch: new Stretch(Day(r, 2), Day(r, 3), r.GetString(4)), Before: r.GetBoolean(5), After: r.GetBoolean(6),
                Opened: r.GetFieldValue<DateTimeOffset>(7), Closed: r.IsDBNull(8) ? (DateTimeOffset?)null : r.GetFieldValue<DateTimeOffset>(8)),
            ct, pairs.Select(p => p.Holder).ToArray(), pairs.Select(p => p.Subject).ToArray(), from, to, day);
        // Sorted here, not by the statement: a page's findings are megabytes, which PostgreSQL would sort on disk.
        var byPair = stretches.ToLookup(s => s.Pair);
        var changedPairs = pairs.Select(p =>
        {
            var of = byPair[p].OrderBy(s => s.Stretch.From ?? DateOnly.MinValue).ToList();
            var (before, after) = (of.Where(s => s.Before).Select(s => s.Stretch).ToList(), of.Where(s => s.After).Select(s => s.Stretch).ToList());
            // The writes that made the change: those that opened an after-stretch or closed a before-stretch. A write's events
            // share its recorded instant, which the rows it opened and closed are bounded by.
            var writes = of.Where(s => s.After && !s.Before).Select(s => s.Opened).Concat(of.Where(s => s.Before && !s.After).Select(s => s.Closed!.Value))
                .Select(Instant.Format).ToHashSet();
            return (p.Holder, p.Subject, Before: before, After: after, Kinds: ChangeKinds.Learned(before, after), Writes: writes);
        }).Where(p => p.Kinds.Count > 0).ToList();

        // Each tie's versions as known at either end, found through the organizations' GIN index: a correction cannot change
        // a fact's parties, so all of its versions tie the organizations its window version does.
        var versions = ties.Count == 0 ? [] : await Sql.ListAsync(c,
            "select x.id, v.state::text, v.recorded @> $4::timestamptz, v.recorded @> $5::timestamptz from unnest($1::text[], $2::text[], $3::text[]) x(id, a, b) " +
            $"cross join lateral (select state, recorded from {Facts} v where v.orgs @> array[x.a, x.b] and v.fact_id = x.id " +
            "and (v.recorded @> $4::timestamptz or v.recorded @> $5::timestamptz)) v",
            r => (Id: r.GetString(0), State: FactVersions.Read(r.GetString(1)), Before: r.GetBoolean(2), After: r.GetBoolean(3)),
            ct, ties.Select(t => t.Id).ToArray(), ties.Select(t => t.Orgs[0]).ToArray(), ties.Select(t => t.Orgs[^1]).ToArray(), from, to);
        var sources = await ledger.Citations.SourcesAsync(c, versions.SelectMany(v => SourceCatalog.CitedBy(v.State)), ct);
        Confidence ConfidenceOf(FactState f) => ConfidenceRules.Of(f.Current.Sources, id => sources.TryGetValue(id, out var s) ? s.Kind : SourceKind.ThirdParty);
        TieState? On(FactState? f) => f is null ? null
            : day is not { } d ? new TieState(null, f)
            : !f.IsRetracted && RelationshipsQuery.StatusAt(f, d) is { } status ? new TieState(status, f)
            : null;
        var byFact = versions.ToLookup(v => v.Id);
        // A tie of the window is known at its end (a version it recorded is); one without a version then is skipped, not guessed.
        var changedTies = ties.Where(t => byFact[t.Id].Any(v => v.After)).Select(t =>
        {
            var was = byFact[t.Id].FirstOrDefault(v => v.Before).State;
            var now = byFact[t.Id].First(v => v.After).State;
            var (before, after) = (On(was), On(now));
            var kinds = before is not null && after is null ? ChangeKinds.Gone(was!, now) : ChangeKinds.Learned(before, after, was is not null, ConfidenceOf);
            return (t.Id, Fact: now, Before: before, After: after, Kinds: kinds);
        }).Where(t => t.Kinds.Count > 0).ToList();

        // The events of the window that made them: those of the writes that changed a pair's stretches, of its stake facts
        // (and, where records were ever merged, of the facts of the records merged with its sides, and the merges); a tie's,
        // all of its fact's.
        var merged = changedPairs.Count == 0 ? new MergedRecords([]) : ever ?? await MergedRecords.EverAsync(c, ct);
        var asked = changedPairs.SelectMany(p => merged.Pairs(p.Holder, p.Subject).Select(m => (Asked: (p.Holder, p.Subject), Member: m))).ToList();
        var stakeStreams = changedPairs.Count == 0 ? [] : (await Sql.ListAsync(c,
            $"select p.i, 'fact:' || v.fact_id from unnest($1::text[], $2::text[]) with ordinality p(holder, subject, i) join {Facts} v " +
            "on upper_inf(v.recorded) and v.holder = p.holder and v.subject = p.subject and v.type = $3",
            r => (Pair: asked[(int)r.GetInt64(0) - 1].Asked, Stream: r.GetString(1)), ct,
            asked.Select(p => p.Member.Item1).ToArray(), asked.Select(p => p.Member.Item2).ToArray(), StakeWord))
            .Concat(changedPairs.SelectMany(p => merged.Streams(p.Holder, p.Subject).Select(x => (Pair: (p.Holder, p.Subject), Stream: x)))).ToList();
        var events = await EventLog.OfStreamsAsync(c, stakeStreams.Select(s => s.Stream).Concat(changedTies.Select(t => "fact:" + t.Id)).Distinct().ToList(), first, last, ct);
        var cited = await ledger.Citations.SourcesAsync(c, events.SelectMany(e => SourcesOf(e.Data)), ct);
        List<ChangeEvent> Told(IEnumerable<LogEntry> of) =>
            of.Select(e => new ChangeEvent(ChangeFeed.InPublicWords(e), SourcesOf(e.Data).Distinct().Select(id => SourceCitation.Of(id, cited)).ToList())).ToList();

        var pairsOf = stakeStreams.ToLookup(s => s.Stream, s => s.Pair);
        var byStream = events.ToLookup(e => e.Stream);
        var pairEvents = events.SelectMany(e => pairsOf[e.Stream].Distinct().Select(p => (Pair: p, Event: e))).ToLookup(x => x.Pair, x => x.Event);
        var (holdings, tiesAnswered) = await RenderAsync(ledger, c,
            changedPairs.Select(p => (p.Holder, p.Subject, p.Kinds, p.Before, p.After,
                Events: (IReadOnlyList<ChangeEvent>?)Told(pairEvents[(p.Holder, p.Subject)].Where(e => p.Writes.Contains(e.RecordedAt))))).ToList(),
            changedTies.Select(t => (t.Fact, t.Kinds, t.Before, t.After, Events: (IReadOnlyList<ChangeEvent>?)Told(byStream["fact:" + t.Id]))).ToList(),
            ct);
        return new ChangesAnswer(ChangeQuestion.Knowledge, Instant.Format(from), Instant.Format(to), null, day is { } a ? ValidDate.OfDay(a).ToString() : null, null, org,
            holdings, tiesAnswered, new ChangesPage(request.Limit, request.After?.ToString(), next));
    }

    // --- What happened in the world between two dates, as known at one instant ---

    // A segment that starts or ends between the two dates (covering one of them but not both), of a pair after the cursor:
    // compared as a row with '' for none (every id sorts after it), so a generic plan seeks the btree with it too.
    private const string Moved =
        "valid && daterange($2::date, $3::date, '[]') and not (valid @> $2::date and valid @> $3::date) and ($4::text[] is null or holder = any($4) or subject = any($4)) " +
        "and (holder, subject) > (coalesce($5::text, ''), coalesce($6::text, ''))";

    // The pairs with such a segment known then, a page of them in (holder, subject) order. As the holding probes read: when
    // nothing was recorded after knownAt, the open segments, walked in that order by their btree and no further than the page
    // (ix_holding_segments_current); else the GiST index over both axes, then sorted. Each branch is gated above its limit,
    // so the one not taken is never started.
    private static readonly string PairsHappened =
        $"with k as materialized (select {Ledger.NothingRecordedAfter("$1::timestamptz")} now) " +
        $"select * from (select holder, subject from {Segments} where upper_inf(recorded) and {Moved} " +
        "group by holder, subject order by holder, subject limit $7) o where (select now from k) union all " +
        $"select * from (select holder, subject from {Segments} where recorded @> $1::timestamptz and {Moved} " +
        "group by holder, subject order by holder, subject limit $7) a where not (select now from k) order by holder, subject";

    // A batch of the ties known then (facts that tie organizations, not stakes), in fact id order after the cursor (compared with '' for none, as the pairs' is): the
    // open versions by their btree when nothing was recorded after knownAt, else every version known then.
    private static readonly string TiesKnown =
        $"with k as materialized (select {Ledger.NothingRecordedAfter("$2::timestamptz")} now) " +
        $"select * from (select fact_id, state::text from {Facts} where upper_inf(recorded) and type <> $1 and cardinality(orgs) > 0 and ($3::text[] is null or orgs && $3) " +
        "and fact_id > coalesce($4::text, '') order by fact_id limit $5) o where (select now from k) union all " +
        $"select * from (select fact_id, state::text from {Facts} where recorded @> $2::timestamptz and type <> $1 and cardinality(orgs) > 0 and ($3::text[] is null or orgs && $3) " +
        "and fact_id > coalesce($4::text, '') order by fact_id limit $5) a where not (select now from k) order by fact_id";

    /// <summary>How many ties a world diff reads and parses at a time, until one more than its page can take has moved.</summary>
    private const int TieBatch = 2_000;

    private static async Task<ChangesAnswer> HappenedAsync(Ledger ledger, NpgsqlConnection c, ChangesRequest request, DateTimeOffset k, CancellationToken ct)
    {
        var org = request.Organization;
        if (org is not null)
        {
            await OrganizationDirectory.RequireAsync(c, org, ct, k, request.Spelled("org"));
        }
        // The organization's records as known at k: its own, and those merged into its survivor.
        var merges = org is null ? KnownMerges.None : await OrganizationMerges.AsKnownAsync(c, k, ct);
        var records = org is null ? null : merges.Members(merges.Survivor(org)).ToArray();
        var (day, toDay) = (request.At!.Value, request.ToAt!.Value);
        List<(FactState Fact, TieStatus? Before, TieStatus? After, bool Between)> moved = [];
        var (pairs, ties, next) = await PageAsync(request,
            cursor => Sql.ListAsync(c, PairsHappened, r => (r.GetString(0), r.GetString(1)), ct, k, day, toDay, records, cursor?.Holder, cursor?.Subject, request.Limit),
            async (cursor, limit) =>
            {
                // Whether a tie was in force on either date, or between, is in its state, not in an index: read a batch at a
                // time, no further than the page needs.
                for (var after = cursor; moved.Count <= limit;)
                {
                    var batch = await Sql.ListAsync(c, TiesKnown, r => (Id: r.GetString(0), State: r.GetString(1)), ct, StakeWord, k, records, after, TieBatch);
                    foreach (var version in batch.TakeWhile(_ => moved.Count <= limit))
                    {
                        var f = FactVersions.Read(version.State);
                        var (before, then) = (RelationshipsQuery.StatusAt(f, day), RelationshipsQuery.StatusAt(f, toDay));
                        var between = before is null && then is null && InForceBetween(f, day, toDay);
                        if (!f.IsRetracted && (before != then || between))
                        {
                            moved.Add((f, before, then, between));
                        }
                    }
                    if (batch.Count < TieBatch)
                    {
                        break;
                    }
                    after = batch[^1].Id;
                }
                return moved.Take(limit).Select(f => (Id: f.Fact.Id, Orgs: f.Fact.Current.Organizations.ToArray())).ToList();
            },
            day < toDay, moreTies: () => moved.Count);

        // Each pair's stretches known then that cover either date, and whether one held (or may have) lies between them: one
        // GiST probe per pair. A stretch between is only looked at, not read.
        var stretches = pairs.Count == 0 ? [] : await Sql.ListAsync(c,
            "select p.holder, p.subject, lower(s.valid), upper(s.valid), s.finding::text, s.valid @> $4::date, s.valid @> $5::date " +
            $"from unnest($1::text[], $2::text[]) p(holder, subject) cross join lateral (select valid, case when valid @> $4::date or valid @> $5::date then finding end finding " +
            $"from {Segments} where {HoldingQuery.OfPair("p.holder", "p.subject")} and recorded @> $3::timestamptz and valid && daterange($4::date, $5::date, '[]') " +
            "and (valid @> $4::date or valid @> $5::date or status in ('held', 'uncertain'))) s",
            r => (Pair: (r.GetString(0), r.GetString(1)), Stretch: r.IsDBNull(4) ? null : new Stretch(Day(r, 2), Day(r, 3), r.GetString(4)), Before: r.GetBoolean(5), After: r.GetBoolean(6)),
            ct, pairs.Select(p => p.Holder).ToArray(), pairs.Select(p => p.Subject).ToArray(), k, day, toDay);
        var byPair = stretches.ToLookup(s => s.Pair);
        var changedPairs = pairs.Select(p =>
        {
            var before = byPair[p].Where(s => s.Before).Select(s => s.Stretch!).ToList();
            var after = byPair[p].Where(s => s.After).Select(s => s.Stretch!).ToList();
            var heldBetween = byPair[p].Any(s => !s.Before && !s.After);
            return (p.Holder, p.Subject, Before: before, After: after,
                Kinds: ChangeKinds.Happened(before.FirstOrDefault()?.Finding, after.FirstOrDefault()?.Finding, heldBetween));
        }).Where(p => p.Kinds.Count > 0).ToList();
        var changedTies = moved.Take(ties.Count)
            .Select(t => (t.Fact, Kinds: ChangeKinds.Happened(t.Before, t.After, t.Between),
                Before: t.Before is { } b ? new TieState(b, t.Fact) : null, After: t.After is { } a ? new TieState(a, t.Fact) : null)).ToList();

        var (holdings, tiesAnswered) = await RenderAsync(ledger, c,
            changedPairs.Select(p => (p.Holder, p.Subject, p.Kinds, p.Before, p.After, Events: (IReadOnlyList<ChangeEvent>?)null)).ToList(),
            changedTies.Select(t => (t.Fact, t.Kinds, t.Before, t.After, Events: (IReadOnlyList<ChangeEvent>?)null)).ToList(), ct);
        return new ChangesAnswer(ChangeQuestion.World, null, null, Instant.Format(k), ValidDate.OfDay(day).ToString(), ValidDate.OfDay(toDay).ToString(), org,
            holdings, tiesAnswered, new ChangesPage(request.Limit, request.After?.ToString(), next));
    }

    /// <summary>
    /// Whether a tie in force on neither date was in force (or may have been) between them: it starts after the first and,
    /// not in force on the second, ended by then.
    /// </summary>
    private static bool InForceBetween(FactState f, DateOnly day, DateOnly toDay)
    {
        var start = f.Current.Valid.From.Start;
        return day < start && start <= toDay && RelationshipsQuery.StatusAt(f, start) is not null;
    }

    /// <summary>
    /// A page: pairs after the cursor first, up to the limit; then — once the pairs are done — ties with what is left of it.
    /// Next is the last looked at when the page is full. Nothing is looked at when <paramref name="any"/> is false (an empty
    /// window). <paramref name="moreTies"/>: how many ties the tie reader found, when it reads one more than it returns to
    /// know whether more follow; else a full page of ties has a next.
    /// </summary>
    private static async Task<(List<(string Holder, string Subject)> Pairs, List<(string Id, string[] Orgs)> Ties, string? Next)> PageAsync(ChangesRequest request,
        Func<ChangesCursor?, Task<List<(string, string)>>> pairsAfter, Func<string?, int, Task<List<(string Id, string[] Orgs)>>> tiesAfter, bool any,
        Func<int>? moreTies = null)
    {
        if (!any)
        {
            return ([], [], null);
        }
        var cursor = request.After;
        var pairs = cursor?.Fact is null ? await pairsAfter(cursor) : [];
        if (pairs.Count == request.Limit)
        {
            return (pairs, [], $"{pairs[^1].Item1}:{pairs[^1].Item2}");
        }
        var left = request.Limit - pairs.Count;
        var ties = await tiesAfter(cursor?.Fact, left);
        var full = moreTies is null ? ties.Count == left : moreTies() > left;
        return (pairs, ties, full && ties.Count > 0 ? ties[^1].Id : null);
    }

    /// <summary>The changes in words: the pairs' findings rendered (names, sources cited) all at once, the ties' summaries.</summary>
    private static async Task<(List<HoldingChange>, List<TieChange>)> RenderAsync(Ledger ledger, NpgsqlConnection c,
        List<(string Holder, string Subject, List<ChangeKind> Kinds, List<Stretch> Before, List<Stretch> After, IReadOnlyList<ChangeEvent>? Events)> pairs,
        List<(FactState Fact, List<ChangeKind> Kinds, TieState? Before, TieState? After, IReadOnlyList<ChangeEvent>? Events)> ties, CancellationToken ct)
    {
        var rows = pairs.SelectMany(p => p.Before.Concat(p.After).Select(s => (p.Holder, p.Subject, s.Text))).ToList();
        var rendered = await HoldingQuery.RenderAsync(c, ledger.Citations, rows, ct);
        var names = await OrganizationDirectory.NamesAsync(c, pairs.SelectMany(p => new[] { p.Holder, p.Subject }).Concat(ties.SelectMany(t => t.Fact.Current.Organizations)), ct);
        string Name(string id) => names.GetValueOrDefault(id, id);
        var at = 0;
        List<PeriodFinding> Periods(List<Stretch> of) => of.Select(s => new PeriodFinding(Bound(s.From), Bound(s.To), rendered[at++].Finding)).ToList();
        var holdings = pairs.Select(p => new HoldingChange(p.Holder, p.Subject, $"{Name(p.Holder)} in {Name(p.Subject)}", p.Kinds, Periods(p.Before), Periods(p.After))
            { Events = p.Events }).ToList();
        var tieChanges = ties.Select(t => new TieChange(t.Fact.Id, t.Fact.Current.Type, t.Fact.Current.Organizations, FactWords.Summary(t.Fact.Current, Name), t.Kinds,
            t.Before, t.After) { Events = t.Events }).ToList();
        return (holdings, tieChanges);
    }

    /// <summary>The sources an event cites: every "source" of its claims, wherever they sit in its data.</summary>
    private static IEnumerable<string> SourcesOf(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    if (p.Name == "source" && p.Value.ValueKind == JsonValueKind.String)
                    {
                        yield return p.Value.GetString()!;
                    }
                    else
                    {
                        foreach (var s in SourcesOf(p.Value))
                        {
                            yield return s;
                        }
                    }
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray())
                {
                    foreach (var s in SourcesOf(item))
                    {
                        yield return s;
                    }
                }
                break;
        }
    }

    private static DateOnly? Day(NpgsqlDataReader r, int column) => r.IsDBNull(column) ? null : r.GetFieldValue<DateOnly>(column);

    private static string? Bound(DateOnly? day) => day is { } d ? ValidDate.OfDay(d).ToString() : null;
}
