using DealLedger.Deals;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Holdings;

/// <summary>"What was HOLDER's stake in SUBJECT at AT, as known at KNOWNAT?" — one index lookup.</summary>
public static class HoldingQuery
{
    private static readonly string Table = ProjectionTables.Of("holding_segments");

    public static Task<HoldingAnswer> HoldingAsync(this Ledger ledger, string holder, string subject, DateOnly? at = null, DateTimeOffset? knownAt = null, CancellationToken ct = default)
    {
        // Before the probe: a read may share its round trip with others (Ledger.ReadAsync), and only a valid pair reaches it.
        CheckPair(holder, subject);
        var day = at ?? ledger.Today;
        // Both names known already (a registration never changes): the probe reads the segment only.
        var named = ledger.Names.TryGet(holder, out var holderName) & ledger.Names.TryGet(subject, out var subjectName);
        NpgsqlBatchCommand Probe(bool now) => new((now, named) switch
        {
            (true, true) => ProbeNow,
            (true, false) => ProbeAndNamesNow,
            (false, true) => ProbeAsked,
            (false, false) => ProbeAndNamesAsked,
        })
        {
            Parameters = { new() { Value = holder }, new() { Value = subject }, new() { Value = day } },
        };
        // The row is read as text: a read whose round trip others shared is parsed on its own thread, not the sender's.
        var namesAt = named ? 1 : 2;
        return ledger.ReadAsync(knownAt, Probe, (r, at) => (Finding: r.IsDBNull(at) ? null : r.GetString(at), Names: named || r.IsDBNull(at + 1) ? null : r.GetString(at + 1),
                NamesSequence: r.IsDBNull(at + namesAt) ? 0 : r.GetInt64(at + namesAt)),
            async (connect, k, row, token) =>
        {
            var stored = row.Finding is null ? null : Finding.Parse(row.Finding);
            Dictionary<string, string>? names = named ? null : row.Names is null ? [] : Names(row.Names);
            if (names is not null)
            {
                foreach (var (id, name) in names)
                {
                    ledger.Names.Add(id, name);
                }
                holderName = names.GetValueOrDefault(holder, holder);
                subjectName = names.GetValueOrDefault(subject, subject);
            }
            // An organization not registered: each refusal in its own words. Names in hand (read now, or kept) are of
            // registered organizations.
            if (names?.Count < 2)
            {
                await PairNamesAsync(await connect(token), holder, subject, token);
            }
            // Names the facts give the pair, and merges of its records (rarely any): names as borne on the day, both as known at k.
            var (isNamed, isMerged) = row.NamesSequence > 0 ? await ledger.Named.EitherAsync(connect, row.NamesSequence, holder, subject, token) : (false, false);
            IReadOnlyList<MergeNote>? merges = null;
            if (isMerged)
            {
                var known = await OrganizationMerges.AsKnownAsync(await connect(token), k, token);
                merges = known.Behind(holder, subject);
                var (h, s) = (known.Survivor(holder), known.Survivor(subject));
                if (h == s)
                {
                    throw LedgerException.Invalid($"'{holder}' and '{subject}' are records of one organization: {merges[0].Explanation}");
                }
                if ((h, s) != (holder, subject))
                {
                    // The holdings of merged records are kept under their survivors: the answer is theirs, asked as known at k.
                    return await ledger.HoldingAsync(h, s, day, k, token) with { Holder = holder, Subject = subject };
                }
            }
            var dated = isNamed ? await DatedNames.OfAsync(await connect(token), [holder, subject], k, token) : null;
            if (dated is not null)
            {
                (holderName, subjectName) = DatedNames.On(holderName!, subjectName!, holder, subject, dated, day);
            }
            HoldingFinding finding;
            if (stored is not null)
            {
                var cited = ledger.Citations.For([stored]);
                if (!cited.Complete)
                {
                    await cited.LoadAsync(await connect(token), token);
                }
                finding = FindingWords.Render(stored, holderName, subjectName, cited.Sources);
            }
            else
            {
                // The names as recorded by knownAt: for a read asked "now", those in hand (a registration never changes,
                // and was recorded before any read that saw it); for an earlier instant, read as of it.
                finding = knownAt is null ? Unknown(holderName, subjectName, k) : await UnknownAsync(await connect(token), holder, subject, k, dated, day, token);
            }
            return HoldingAnswer.From(holder, subject, day, k, finding) with { Merges = merges is { Count: > 0 } ? merges : null };
        }, ct);
    }

    // In the read's own round trip: the segment, and — unless this ledger knows both names — the pair's names (whether
    // both organizations exist); the sources its words cite come from the ledger's citations (a second round trip only
    // for those not read before), the events it rests on from the finding itself.
    // When nothing was recorded after knownAt (in this statement's snapshot, as always for a "now" read), the pair's open
    // segments are exactly those in force then: a seek in the btree of open segments to the last (holder, subject, valid)
    // at or before (holder, subject, [day,)) — ranges sort by their start, then their end, so it is the pair's segment
    // starting last on or before the day, as fast for a pair with thousands of segments as for one with a few. The row
    // comparison is what only that btree can serve, so a generic plan takes it too. Else the GiST index over both time
    // axes finds it. The day is only compared, never added to: the calendar's first and last days arrive as -infinity and
    // infinity (Sql.Command), where day + 1 is the day. The holder, subject and day are $2, $3 and $4 in both forms.
    private static readonly string OpenSegment =
        $"(select finding from (select finding, valid, holder, subject from {Table} where upper_inf(recorded) " +
        "and (holder, subject, valid) <= ($2, $3, daterange($4::date, null)) order by holder desc, subject desc, valid desc limit 1) s " +
        "where holder = $2 and subject = $3 and valid @> $4::date)";

    private static readonly string Segment =
        $"with f as materialized (select case when {Ledger.NothingRecordedAfter(Ledger.KnownAtSql)} then {OpenSegment} " +
        $"else (select finding from {Table} where {OfPair("$2", "$3")} and recorded @> {Ledger.KnownAtSql} and valid @> $4::date limit 1) end finding) ";

    private static readonly string NamesSql = $"(select json_object_agg(o.id, o.name) from {ProjectionTables.Of("organizations")} o where o.id in ($2, $3))::text";

    // The last write that touched a name fact (NamedOrganizations): for a "now" read, from the position row the read reads anyway.
    // A subselect of the pair's name facts in every probe took a fifth of GET /api/holdings' throughput (docs/benchmarks.md).
    private static readonly string NamesSequenceAsked = $"(select names_sequence from {ProjectionTables.Of("ledger_position")} where id = 1)";

    private static readonly string ProbeAsked = Segment + $"select f.finding::text, {NamesSequenceAsked} from f";

    private static readonly string ProbeAndNamesAsked = Segment + $"select f.finding::text, {NamesSql}, {NamesSequenceAsked} from f";

    private static readonly string ProbeNow = Ledger.AtHighWater($"{OpenSegment}::text, p.names_sequence");

    private static readonly string ProbeAndNamesNow = Ledger.AtHighWater($"{OpenSegment}::text, {NamesSql}, p.names_sequence");

    /// <summary>Segments of the pair (SQL expressions), found through the pair's GiST index by the ids' keys, then by the ids.</summary>
    internal static string OfPair(string holder, string subject, string alias = "") =>
        $"{IdIs(alias + "holder", holder)} and {IdIs(alias + "subject", subject)}";

    /// <summary>A segment's id column equal to an id (SQL expressions), by its key first (see <see cref="ProjectionTables.IdKey"/>).</summary>
    private static string IdIs(string column, string id) => $"{ProjectionTables.IdKey(column)} = {ProjectionTables.IdKey(id)} and {column} = {id}";

    private static Dictionary<string, string> Names(string json) => LedgerJson.Deserialize<Dictionary<string, string>>(json);

    private static async Task<HoldingFinding> UnknownAsync(NpgsqlConnection c, string holder, string subject, DateTimeOffset knownAt, ILookup<string, Deals.FactState>? dated, DateOnly day,
        CancellationToken ct)
    {
        // Names as recorded by knownAt, as a replay of the log up to then would have them; as borne on the day.
        var names = await OrganizationDirectory.NamesAsync(c, [holder, subject], ct, knownAt);
        var (holderName, subjectName) = (names.GetValueOrDefault(holder, holder), names.GetValueOrDefault(subject, subject));
        if (dated is not null)
        {
            (holderName, subjectName) = DatedNames.On(holderName, subjectName, holder, subject, dated, day);
        }
        return Unknown(holderName, subjectName, knownAt);
    }

    /// <summary>Which side of a stake an organization is on.</summary>
    internal enum Side { Holder, Subject }

    /// <summary>The pairs in which <paramref name="org"/> is on <paramref name="side"/> whose holding is held or uncertain at (knownAt, day): one index lookup.</summary>
    internal static async Task<List<(string Holder, string Subject, HoldingFinding Finding)>> HeldAsync(
        NpgsqlConnection c, Citations citations, Side side, string org, DateTimeOffset knownAt, DateOnly day, CancellationToken ct) =>
        await RenderAsync(c, citations, await HeldRowsAsync(c, side, [org], knownAt, day, ct), ct);

    /// <summary>The stored findings of the pairs in which any of <paramref name="orgs"/> is on <paramref name="side"/>, held or uncertain at (knownAt, day): what their findings read (<see cref="Reading"/>: no explanation, no words).</summary>
    internal static async Task<List<(string Holder, string Subject, Reading Reading)>> HeldByAnyAsync(
        NpgsqlConnection c, Side side, IReadOnlyCollection<string> orgs, DateTimeOffset knownAt, DateOnly day, CancellationToken ct) =>
        (await HeldRowsAsync(c, side, orgs, knownAt, day, ct)).Select(r => (r.Holder, r.Subject, Reading.Parse(r.Finding))).ToList();

    /// <summary>
    /// The segments held or uncertain at (knownAt, day) of the pairs in which any of <paramref name="orgs"/> is on
    /// <paramref name="side"/>, in (holder, subject) order (by their bytes, whatever the database's collation: a look-through's
    /// chains are listed in the order its stakes are read), in one statement. As the headline probe does: when nothing was
    /// recorded after knownAt, the open segments by btree (by subject, or by holder); else the GiST index over both axes.
    /// The open segments' day is tested outside a fenced subquery (offset 0): given the test, the generic plan PostgreSQL
    /// settles on after a few runs also scanned the whole GiST index by valid for every organization and intersected the
    /// two (18 s for a level of 790 organizations on the 100k bench ledger, against 0.08 s: docs/benchmarks.md).
    /// </summary>
    private static Task<List<(string Holder, string Subject, string Finding)>> HeldRowsAsync(
        NpgsqlConnection c, Side side, IReadOnlyCollection<string> orgs, DateTimeOffset knownAt, DateOnly day, CancellationToken ct) =>
        Sql.ListAsync(c, HeldSql(side), r => (Holder: r.GetString(0), Subject: r.GetString(1), Finding: r.GetString(2)), ct, orgs.ToArray(), knownAt, day);

    /// <summary>The statement of <see cref="HeldRowsAsync"/>: the organizations ($1), knownAt ($2) and the day ($3).</summary>
    internal static string HeldSql(Side side)
    {
        var column = side == Side.Holder ? "holder" : "subject";
        const string held = "valid @> $3::date and status in ('held', 'uncertain')";
        return $"with k as materialized (select {Ledger.NothingRecordedAfter("$2::timestamptz")} now) " +
            "select s.holder, s.subject, s.finding::text from unnest($1::text[]) o(id) cross join lateral (" +
            $"select holder, subject, finding from (select holder, subject, finding, valid, status from {Table} " +
            $"where (select now from k) and upper_inf(recorded) and {column} = o.id offset 0) n where {held} union all " +
            $"select holder, subject, finding from {Table} where not (select now from k) and {IdIs(column, "o.id")} and recorded @> $2::timestamptz and {held}) s " +
            "order by s.holder collate \"C\", s.subject collate \"C\"";
    }

    /// <summary>Every pair whose holding is held or uncertain at (knownAt, day), in id order.</summary>
    internal static async Task<List<(string Holder, string Subject, HoldingFinding Finding)>> AllHeldAsync(
        NpgsqlConnection c, Citations citations, DateTimeOffset knownAt, DateOnly day, CancellationToken ct) =>
        await RenderAsync(c, citations, await Sql.ListAsync(c,
            $"select holder, subject, finding::text from {Table} where recorded @> $1::timestamptz and valid @> $2::date and status in ('held', 'uncertain') order by holder, subject",
            r => (Holder: r.GetString(0), Subject: r.GetString(1), Finding: r.GetString(2)), ct, knownAt, day), ct);

    /// <summary>
    /// Stored findings of many segments in words: the pairs' names and the citations not kept yet (sources cited,
    /// events the findings rest on) are read for all of them at once, in one round trip, not once per row.
    /// </summary>
    /// <param name="keep">Whether the citations read are kept: not inside a write's transaction (see <see cref="Citations"/>).</param>
    internal static async Task<List<(string Holder, string Subject, HoldingFinding Finding)>> RenderAsync(
        NpgsqlConnection c, Citations citations, IReadOnlyList<(string Holder, string Subject, string Finding)> rows, CancellationToken ct, bool keep = true)
    {
        if (rows.Count == 0)
        {
            return [];
        }
        var findings = rows.Select(r => Finding.Parse(r.Finding)).ToList();
        var cited = citations.For(findings, keep);
        await using var batch = new NpgsqlBatch(c)
        {
            BatchCommands =
            {
                new($"select id, name from {ProjectionTables.Of("organizations")} where id = any($1)")
                    { Parameters = { new() { Value = rows.SelectMany(r => new[] { r.Holder, r.Subject }).Distinct().ToArray() } } },
            },
        };
        cited.AddTo(batch);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var r = await batch.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                names[r.GetString(0)] = r.GetString(1);
            }
            if (!cited.Complete)
            {
                await r.NextResultAsync(ct);
                await cited.ReadAsync(r, ct);
            }
        }
        return rows.Select((row, i) => (row.Holder, row.Subject, FindingWords.Render(findings[i],
            names.GetValueOrDefault(row.Holder, row.Holder), names.GetValueOrDefault(row.Subject, row.Subject), cited.Sources))).ToList();
    }

    /// <summary>Refuses a pair that cannot hold a stake: an id that is not one, or an organization on both sides.</summary>
    private static void CheckPair(string holder, string subject)
    {
        QueryArguments.Id(holder, "holder");
        QueryArguments.Id(subject, "subject");
        if (holder == subject)
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, $"holder and subject are both '{holder}': an organization holds no stake in itself") { Field = "subject" };
        }
    }

    /// <summary>Rule 3: no stake fact about the pair was recorded by knownAt.</summary>
    public static HoldingFinding Unknown(string holderName, string subjectName, DateTimeOffset knownAt) =>
        new(HoldingStatus.Unknown, null, null, null, null, [], [],
            $"The ledger had recorded no stake facts about {holderName} in {subjectName} by {Instant.Format(knownAt)}.");

    internal static async Task<(string Holder, string Subject)> PairNamesAsync(NpgsqlConnection c, string holder, string subject, CancellationToken ct)
    {
        CheckPair(holder, subject);
        var names = await OrganizationDirectory.NamesAsync(c, [holder, subject], ct);
        foreach (var (id, field) in new[] { (holder, "holder"), (subject, "subject") })
        {
            if (!names.ContainsKey(id))
            {
                throw new LedgerException(LedgerErrorKind.NotFound, $"unknown organization '{id}': no organization with this id is registered") { Field = field };
            }
        }
        return (names[holder], names[subject]);
    }
}

/// <summary>
/// One stretch of a pair's history over valid time, with the corrections that touched it and what
/// the ledger said about (part of) it before (<paramref name="Supersedes"/>, latest first).
/// </summary>
public sealed record HoldingPeriod(string? From, string? To, HoldingFinding Finding, IReadOnlyList<EventRef> Corrections, IReadOnlyList<SupersededVersion> Supersedes);

/// <summary>
/// An earlier version of the pair's timeline over this period: what it said, while it was the
/// ledger's knowledge (knownFrom–knownUntil), and the events (with their sources) that replaced it.
/// </summary>
public sealed record SupersededVersion(string? From, string? To, HoldingStatus Status, Share? Share, string KnownFrom, string KnownUntil,
    IReadOnlyList<EventRef> ReplacedBy, IReadOnlyList<SourceCitation> Sources);

public sealed record HoldingHistory(string Holder, string Subject, string KnownAt, IReadOnlyList<HoldingPeriod> Periods)
{
    /// <summary>The merges of duplicate records this answer reads (as known at knownAt; null: none): it is the survivor's.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Organizations.MergeNote>? Merges { get; init; }

    /// <summary>
    /// Successions of the holder or the subject recorded by knownAt (null when none): from their dates the pair's side went
    /// to a successor. The periods stay as recorded; these say where the holding went.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Organizations.SuccessionNote>? Successions { get; init; }

    /// <summary>The names the facts give the holder and the subject over time, by organization (null when none): who they were when.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, IReadOnlyList<Organizations.DatedName>>? Names { get; init; }
}

/// <summary>All segments of a pair over valid time, as known at an instant (DESIGN §5).</summary>
public static class HoldingHistoryQuery
{
    private static readonly HashSet<string> Amending = [EventNames.Of(typeof(Deals.FactCorrected)), EventNames.Of(typeof(Deals.FactRetracted)), EventNames.Of(typeof(Deals.FactEnded))];

    public static Task<HoldingHistory> HistoryAsync(this Ledger ledger, string holder, string subject, DateTimeOffset? knownAt = null, CancellationToken ct = default) =>
        ledger.ReadAsync(knownAt, async (c, k, token) =>
        {
            await HoldingQuery.PairNamesAsync(c, holder, subject, token);
            var merges = await Organizations.OrganizationMerges.AsKnownAsync(c, k, token);
            var notes = merges.Behind(holder, subject);
            if (notes.Count > 0)
            {
                var (h, s) = (merges.Survivor(holder), merges.Survivor(subject));
                if (h == s)
                {
                    throw LedgerException.Invalid($"'{holder}' and '{subject}' are records of one organization: {notes[0].Explanation}");
                }
                if ((h, s) != (holder, subject))
                {
                    // The history of merged records is their survivors', kept under them from the merge on.
                    return await ledger.HistoryAsync(h, s, k, token) with { Holder = holder, Subject = subject };
                }
            }
            var table = ProjectionTables.Of("holding_segments");
            var stored = await Sql.ListAsync(c,
                $"select lower(valid), upper(valid), finding::text from {table} where {HoldingQuery.OfPair("$1", "$2")} and recorded @> $3::timestamptz order by lower(valid) nulls first",
                r => (From: Day(r, 0), To: Day(r, 1), Finding: r.GetString(2)), token, holder, subject, k);
            var rendered = await HoldingQuery.RenderAsync(c, ledger.Citations, stored.Select(p => (holder, subject, p.Finding)).ToList(), token);
            var current = stored.Select((p, i) => (p.From, p.To, Finding: rendered[i].Finding)).ToList();
            // Versions the ledger held before and replaced by knownAt, and the pair's fact events that replaced them.
            var replaced = await Sql.ListAsync(c,
                $"select lower(valid), upper(valid), finding::text, lower(recorded), upper(recorded) from {table} " +
                $"where {HoldingQuery.OfPair("$1", "$2")} and upper(recorded) <= $3 order by upper(recorded) desc, lower(valid) nulls first",
                r => (From: Day(r, 0), To: Day(r, 1), Finding: Finding.Parse(r.GetString(2)),
                    KnownFrom: r.GetFieldValue<DateTimeOffset>(3), KnownUntil: r.GetFieldValue<DateTimeOffset>(4)), token, holder, subject, k);
            // The pair's fact streams first: the log is then read through its (stream, version) index.
            var streams = replaced.Count == 0 ? [] : await Sql.ListAsync(c,
                $"select 'fact:' || fact_id from {ProjectionTables.Of("fact_versions")} where holder = $1 and subject = $2 and upper_inf(recorded)",
                r => r.GetString(0), token, holder, subject);
            var replacing = replaced.Count == 0 ? [] : await Sql.ListAsync(c,
                $"select e.seq_id, e.id, e.type, e.timestamp, jsonb_path_query_array(e.data, 'strict $.**.source')::text from {ProjectionTables.Name("mt_events")} e " +
                "where e.stream_id = any($2) and e.timestamp = any($1) order by e.seq_id",
                r => (Event: new EventRef(r.GetGuid(1), r.GetInt64(0), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3)), Sources: LedgerJson.Deserialize<string[]>(r.GetString(4))),
                token, replaced.Select(v => v.KnownUntil).Distinct().ToArray(), streams.ToArray());
            var sources = await ledger.Citations.SourcesAsync(c, replacing.SelectMany(e => e.Sources), token);

            var periods = current.Select(p => new HoldingPeriod(p.From?.ToString(), p.To?.ToString(), p.Finding,
                p.Finding.Basis.Where(b => Amending.Contains(b.Type)).ToList(),
                replaced.Where(v => Overlap(v.From, v.To, p.From, p.To)).Select(v =>
                {
                    var by = replacing.Where(e => e.Event.RecordedAt == v.KnownUntil).ToList();
                    return new SupersededVersion(v.From?.ToString(), v.To?.ToString(), v.Finding.Status, v.Finding.Share, Instant.Format(v.KnownFrom), Instant.Format(v.KnownUntil),
                        by.Select(e => e.Event).ToList(), by.SelectMany(e => e.Sources).Distinct().Where(sources.ContainsKey).Select(id => SourceCitation.Of(id, sources)).ToList());
                }).ToList())).ToList();
            var successions = await Organizations.Successions.OfPredecessorsAsync(c, ledger.Citations, [(holder, "holder"), (subject, "subject")], k, token);
            var dated = await Organizations.DatedNames.OfAsync(c, [holder, subject], k, token);
            var names = new[] { holder, subject }.Distinct().Select(id => (id, Names: Organizations.DatedNames.Names(dated[id]))).Where(x => x.Names is not null)
                .ToDictionary(x => x.id, x => x.Names!, StringComparer.Ordinal);
            return new HoldingHistory(holder, subject, Instant.Format(k), periods)
            {
                Successions = successions.Count == 0 ? null : successions,
                Names = names.Count == 0 ? null : names,
                Merges = notes.Count == 0 ? null : notes,
            };
        }, ct);

    private static ValidDate? Day(NpgsqlDataReader r, int column) => r.IsDBNull(column) ? null : ValidDate.OfDay(r.GetFieldValue<DateOnly>(column));

    /// <summary>Half-open valid periods (null: unbounded) that share at least one day.</summary>
    private static bool Overlap(ValidDate? aFrom, ValidDate? aTo, ValidDate? bFrom, ValidDate? bTo) =>
        (aTo is null || bFrom is null || bFrom.Value.Start < aTo.Value.Start) && (bTo is null || aFrom is null || aFrom.Value.Start < bTo.Value.Start);
}
