using System.Runtime.InteropServices;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Writing;

/// <summary>
/// What the projections hold, in memory: the registrations, facts, pairs and open holding segments
/// that a set-based write (bulk import) loaded in a few queries, or that a rebuild built from the log.
/// A write decides against it without a round trip per entry (<see cref="LedgerTransaction"/>), and
/// <see cref="ProjectionFold"/> moves it forward event by event. An entry it has not loaded is
/// looked up in the database, unless it is <see cref="Complete"/>.
/// </summary>
internal sealed class LedgerState
{
    /// <summary>Holds the whole ledger (a rebuild from the log): what it lacks does not exist.</summary>
    public bool Complete { get; init; }

    /// <summary>The rows of this ledger the process keeps: a load reads only what they lack.</summary>
    public KeptRows? Kept { get; init; }

    /// <summary>The sources (and events) this ledger's process keeps.</summary>
    public Citations? Citations { get; init; }

    // A rebuild's own: the findings of the pairs it folded last (bounded: a large ledger has many pairs).
    private Recent<(string, string), HoldingTimeline.Renderings>? folded;

    /// <summary>The findings of the pair's previous build, where they are kept: by the ledger's process for its writes, by a rebuild for itself.</summary>
    public HoldingTimeline.Renderings? RenderingsOf((string, string) pair) =>
        Kept?.RenderingsOf(pair) ?? (Complete ? KeptRows.RenderingsOf(folded ??= new(KeptRows.PairRenderings, EqualityComparer<(string, string)>.Default), pair) : null);

    // A key with a null value: looked up, and absent.
    public Dictionary<string, OrganizationRegistered?> Organizations { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, SourceRegistered?> Sources { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, DealRecorded?> Deals { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, FactState?> Facts { get; } = new(StringComparer.Ordinal);

    /// <summary>For each pair loaded: its stake facts (ids, in the order they were recorded or loaded).</summary>
    public Dictionary<(string Holder, string Subject), List<string>> Stakes { get; } = [];

    /// <summary>Pairs taken as kept whole, with every source their facts cited then (all in <see cref="Sources"/>).</summary>
    public Dictionary<(string Holder, string Subject), SourceRegistered[]> SourcedPairs { get; } = [];

    /// <summary>
    /// Every source the pair's facts cite, after a write changed <paramref name="changed"/> (the pair's facts it changed): those
    /// of a pair taken as kept whole and those the changed facts cite, or (a pair read in full) those all its facts cite; null if
    /// one of them is not loaded.
    /// </summary>
    public SourceRegistered[]? CitedSources((string, string) pair, IEnumerable<FactState> changed)
    {
        var cited = SourcedPairs.TryGetValue(pair, out var kept)
            ? kept.Select(s => s.Id).Concat(changed.SelectMany(SourceCatalog.CitedBy))
            : StakesOf(pair).SelectMany(SourceCatalog.CitedBy);
        var sources = new List<SourceRegistered>();
        foreach (var id in cited.Distinct(StringComparer.Ordinal))
        {
            if (Sources.GetValueOrDefault(id) is not { } source)
            {
                return null;
            }
            sources.Add(source);
        }
        return [.. sources];
    }

    /// <summary>The pairs whose facts' sources must still be loaded: all but those taken as kept whole.</summary>
    public IEnumerable<(string, string)> Unsourced(IEnumerable<(string, string)> pairs) => pairs.Where(p => !SourcedPairs.ContainsKey(p));

    /// <summary>For each currency pair loaded: its rates (ids of current facts).</summary>
    public Dictionary<string, List<string>> Rates { get; } = new(StringComparer.Ordinal);

    public bool KnowsRates(string pair) => Complete || Rates.ContainsKey(pair);

    public IReadOnlyList<FactState> RatesOf(string pair) => Rates.TryGetValue(pair, out var ids) ? ids.Select(id => Facts[id]!).ToList() : [];

    /// <summary>Loads the current rates of the currency pairs not loaded yet, by the index of facts by what they are about.</summary>
    public async Task LoadRatesAsync(NpgsqlConnection c, IEnumerable<string> pairs, CancellationToken ct)
    {
        var missing = pairs.Where(p => !KnowsRates(p)).Distinct().ToArray();
        if (missing.Length == 0)
        {
            return;
        }
        foreach (var pair in missing)
        {
            Rates[pair] = [];
        }
        var rows = await Sql.ListAsync(c, CurrentFacts($"holder is null and subject = any($1) and type = '{LedgerJson.Word(FactType.ExchangeRate)}' and upper_inf(recorded)"),
            FactRow, ct, (object)missing);
        foreach (var (id, _, state) in rows)
        {
            var fact = Facts.GetValueOrDefault(id) ?? FactVersions.Read(state!);
            Facts[id] = fact;
            Rates[((ExchangeRate)fact.Current).Pair].Add(id);
        }
    }

    /// <summary>
    /// The merges in force (duplicate → the organization it is merged into: <see cref="OrganizationsMerged"/>), once loaded
    /// (<see cref="MergesLoaded"/>): all of them, a handful at most, in the write's first round trip.
    /// </summary>
    public Dictionary<string, string> Merges { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Every merge recorded of the duplicates loaded (<see cref="LoadMergeHistoryAsync"/>; null: none ever), in force or undone
    /// (with its undo's reason): what makes a merge or an undo known already. Read only for the records a write merges or unmerges.
    /// </summary>
    public Dictionary<string, List<RecordedMerge>?> MergeHistory { get; } = new(StringComparer.Ordinal);

    /// <summary>Loads the merges ever recorded of these duplicates, where not loaded yet (one statement).</summary>
    public Task LoadMergeHistoryAsync(NpgsqlConnection c, IEnumerable<string> duplicates, CancellationToken ct) =>
        LoadMissingAsync(MergeHistory, duplicates, async missing => [.. (await Sql.ListAsync(c,
                $"select duplicate, merged_into, reason, undo_reason from {ProjectionTables.Of("organization_merges")} where duplicate = any($1) order by id",
                r => new RecordedMerge(r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)), ct, (object)missing))
            .GroupBy(m => m.Duplicate, StringComparer.Ordinal).Select(g => g.ToList())],
            merges => MergeHistory[merges[0].Duplicate] = merges);

    private bool mergesRead;

    public bool MergesLoaded => Complete || mergesRead;

    /// <summary>Queues reading the merges in force, unless loaded.</summary>
    public void QueueMerges(Reads reads)
    {
        if (!MergesLoaded)
        {
            mergesRead = true;
            reads.Add($"select duplicate, merged_into from {ProjectionTables.Of("organization_merges")} where upper_inf(recorded)",
                r => Merges[r.GetString(0)] = r.GetString(1));
        }
    }

    public async Task LoadMergesAsync(NpgsqlConnection c, CancellationToken ct)
    {
        if (!MergesLoaded)
        {
            await Together(c, QueueMerges, ct);
        }
    }

    /// <summary>The organization whose record <paramref name="org"/>'s is read as (itself unless merged: <see cref="OrganizationMerges.Survivor"/>).</summary>
    public string Survivor(string org) => OrganizationMerges.Survivor(Merges, org);

    /// <summary>The pair a stake of this pair counts for: both sides read as their survivors.</summary>
    public (string, string) Effective((string Holder, string Subject) pair) => Merges.Count == 0 ? pair : (Survivor(pair.Holder), Survivor(pair.Subject));

    /// <summary>The stored pairs whose stakes count for an effective pair: the pair itself first, then the merged records' pairs in id order.</summary>
    public IEnumerable<(string, string)> MemberPairs((string Holder, string Subject) pair) =>
        Merges.Count == 0 ? [pair] : OrganizationMerges.PairsCounting(Merges, pair);

    /// <summary>Whether an effective pair reads the stakes of merged records (more than its own pair).</summary>
    public bool Combines((string, string) pair) => Merges.Count > 0 && MemberPairs(pair).Skip(1).Any();

    /// <summary>The current stake facts that count for an effective pair: its own, then those of the records merged into its sides.</summary>
    public IReadOnlyList<FactState> StakesCounting((string, string) pair) =>
        Combines(pair) ? MemberPairs(pair).SelectMany(StakesOf).ToList() : StakesOf(pair);

    /// <summary>For each pair loaded: its open holding segments.</summary>
    public Dictionary<(string Holder, string Subject), List<OpenSegment>> Segments { get; } = [];

    public bool Knows<T>(Dictionary<string, T?> entries, string id) where T : class => Complete || entries.ContainsKey(id);

    public bool KnowsPair((string, string) pair) => Complete || Stakes.ContainsKey(pair);

    /// <summary>The pair's current stake facts (its stakes must be loaded).</summary>
    public IReadOnlyList<FactState> StakesOf((string, string) pair)
    {
        if (!Stakes.TryGetValue(pair, out var ids))
        {
            return [];
        }
        var facts = new FactState[ids.Count];
        for (var i = 0; i < facts.Length; i++)
        {
            facts[i] = Facts[ids[i]]!;
        }
        return facts;
    }

    /// <summary>Keeps a fact's current state; a new stake joins its pair's list when the pair is loaded.</summary>
    public void Put(FactState fact)
    {
        var isNew = !Facts.TryGetValue(fact.Id, out var known) || known is null;
        Facts[fact.Id] = fact;
        if (isNew && fact.Current is ExchangeRate rate)
        {
            if (Rates.TryGetValue(rate.Pair, out var ids))
            {
                ids.Add(fact.Id);
            }
            else if (Complete)
            {
                Rates[rate.Pair] = [fact.Id];
            }
        }
        if (!isNew || fact.Current is not Stake stake)
        {
            return;
        }
        var pair = stake.Pair;
        if (Stakes.TryGetValue(pair, out var list))
        {
            list.Add(fact.Id);
        }
        else if (Complete)
        {
            Stakes[pair] = [fact.Id];
        }
    }

    /// <summary>
    /// Loads what a write naming these entries will read and is not loaded yet: the registrations and
    /// facts by id, every stake fact of the pairs named (directly, or through a fact of theirs), the
    /// sources those facts cite and the pairs' open holding segments — a handful of set-based queries.
    /// </summary>
    /// <param name="first">The batch the first reads join (a write's first also takes its lock: <see cref="LedgerTransaction.NewReads"/>); always sent.</param>
    public async Task LoadAsync(NpgsqlConnection c, Reads first, IEnumerable<string> organizations, IEnumerable<string> sources,
        IEnumerable<string> deals, IEnumerable<string> facts, IEnumerable<(string Holder, string Subject)> pairs, CancellationToken ct)
    {
        var factIds = facts.ToList();
        var direct = pairs.Distinct().ToArray();
        organizations = organizations.ToList();
        // What the entries name needs no other read first: read in one round trip. What depends on it (pairs found through
        // the facts read, the sources facts cite) follows, only where not loaded or kept yet.
        await ReadTogetherAsync(c, first, factIds, direct, organizations.Concat(direct.SelectMany(p => new[] { p.Item1, p.Item2 })), deals, ct);
        await LoadFactsAsync(c, factIds, ct);
        var named = direct.Concat(factIds.Select(id => Facts.GetValueOrDefault(id)).Select(f => f?.Current).OfType<Stake>().Select(s => s.Pair))
            .Distinct().ToArray();
        // With merges in force, a stake's pair counts for its sides' survivors, with the pairs of every record merged into them.
        named = Merges.Count == 0 ? named : [.. named.Concat(named.SelectMany(p => MemberPairs(Effective(p)))).Distinct()];
        await LoadPairsAsync(c, named, ct);
        await LoadOrganizationsAsync(c, organizations.Concat(named.SelectMany(p => new[] { p.Item1, p.Item2 })), ct);
        var cited = Unsourced(named).SelectMany(StakesOf).Concat(factIds.Select(id => Facts.GetValueOrDefault(id)).OfType<FactState>()).SelectMany(SourceCatalog.CitedBy);
        await LoadSourcesAsync(c, sources.Concat(cited), ct);
    }

    /// <summary>
    /// Reads in one round trip the facts named by id, the pairs named, organizations and deals — each only where not loaded,
    /// and facts and pairs only where nothing of them is kept (then their versions are compared first, by the loads that follow).
    /// </summary>
    private async Task ReadTogetherAsync(NpgsqlConnection c, Reads reads, List<string> factIds, (string, string)[] pairs, IEnumerable<string> organizations,
        IEnumerable<string> deals, CancellationToken ct)
    {
        var facts = QueueFacts(reads, factIds);
        QueueMerges(reads);
        var readPairs = QueuePairs(reads, pairs);
        QueueOrganizations(reads, organizations);
        QueueDeals(reads, deals);
        await reads.RunAsync(c, ct);
        foreach (var f in Parse(facts, []))
        {
            Put(f);
        }
        readPairs();
    }

    private static async Task Together(NpgsqlConnection c, Action<Reads> queue, CancellationToken ct)
    {
        var reads = new Reads();
        queue(reads);
        await reads.RunAsync(c, ct);
    }

    private static string CurrentFacts(string where) => $"select fact_id, sequence, state::text from {ProjectionTables.Of("fact_versions")} where {where} order by id";

    private const string ById = "fact_id = any($1) and upper_inf(recorded)";

    private const string OfPairs = "(holder, subject) in (select * from unnest($1::text[], $2::text[])) and type = 'stake' and upper_inf(recorded)";

    // The state as its UTF-8 bytes: parsed from them, never made a string (half of what a string of it takes, no transcoding).
    private static (string, long, byte[]?) FactRow(NpgsqlDataReader r) => (r.GetString(0), r.GetInt64(1), r.GetFieldValue<byte[]>(2));

    /// <summary>Queues reading facts by id not loaded yet, unless some of them are kept; the rows read (to parse).</summary>
    private List<(string Id, long Sequence, byte[]? State)> QueueFacts(Reads reads, IEnumerable<string> ids)
    {
        var rows = new List<(string Id, long Sequence, byte[]? State)>();
        var unknown = ids.Where(id => !Knows(Facts, id)).Distinct().ToArray();
        if (unknown.Length == 0 || Kept?.FactsById(unknown).Count > 0)
        {
            return rows;
        }
        var missing = Missing(Facts, unknown);
        reads.Add(CurrentFacts(ById), r => rows.Add(FactRow(r)), (object)missing);
        return rows;
    }

    private void QueueOrganizations(Reads reads, IEnumerable<string> ids) =>
        QueueMissing(reads, Organizations, ids, $"select data::text from {ProjectionTables.Of("organizations")} where id = any($1)",
            r => OrganizationDirectory.FromStored(r.GetString(0)), o => Organizations[o.Id] = o);

    private void QueueDeals(Reads reads, IEnumerable<string> ids) =>
        QueueMissing(reads, Deals, ids, $"select data::text from {ProjectionTables.Of("deals")} where id = any($1)",
            r => LedgerJson.Deserialize<DealRecorded>(r.GetString(0)), d => Deals[d.Id] = d);

    /// <summary>Marks the ids not loaded yet as looked up (absent unless found) and queues the statement ($1: those ids) that finds them.</summary>
    private void QueueMissing<T>(Reads reads, Dictionary<string, T?> entries, IEnumerable<string> ids, string sql, Func<NpgsqlDataReader, T> read, Action<T> keep)
        where T : class
    {
        var missing = Missing(entries, ids);
        if (missing.Length > 0)
        {
            reads.Add(sql, r => keep(read(r)), (object)missing);
        }
    }

    /// <summary>Loads facts not loaded yet (their current versions); the database sends the state only of those not kept.</summary>
    public Task LoadFactsAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct) =>
        LoadMissingAsync(Facts, ids, missing => ReadFactsAsync(c, ById, Kept?.FactsById(missing) ?? [], ct, (object)missing), Put);

    /// <summary>
    /// The current versions of the facts <paramref name="where"/> selects, in id order, taking those kept from memory: when some
    /// are kept, their ids and sequences are read first and only the states of the others next. (Two statements, not one
    /// joined with the kept list: the planner runs such a join as a nested loop, quadratic in a long pair's facts.)
    /// </summary>
    private async Task<List<FactState>> ReadFactsAsync(NpgsqlConnection c, string where, Dictionary<string, (long Sequence, FactState State)> have,
        CancellationToken ct, params object[] args)
    {
        var versions = ProjectionTables.Of("fact_versions");
        if (have.Count == 0)
        {
            return Parse(await Sql.ListAsync(c, CurrentFacts(where), FactRow, ct, args), have);
        }
        var current = await Sql.ListAsync(c, $"select fact_id, sequence from {versions} where {where} order by id", r => (Id: r.GetString(0), Sequence: r.GetInt64(1)), ct, args);
        var lacking = current.Where(v => !(have.TryGetValue(v.Id, out var kept) && kept.Sequence == v.Sequence)).Select(v => v.Id).ToArray();
        var states = lacking.Length == 0 ? []
            : (await Sql.ListAsync(c, $"select fact_id, state::text from {versions} where {ById}",
                r => (Id: r.GetString(0), State: r.GetFieldValue<byte[]>(1)), ct, (object)lacking)).ToDictionary(v => v.Id, v => v.State, StringComparer.Ordinal);
        return Parse(current.Select(v => (v.Id, v.Sequence, states.GetValueOrDefault(v.Id))).ToList(), have);
    }

    /// <summary>The states of fact rows, in order: kept ones as kept, the others parsed (and kept).</summary>
    private List<FactState> Parse(List<(string Id, long Sequence, byte[]? State)> rows, Dictionary<string, (long Sequence, FactState State)> have)
    {
        FactState Read((string Id, long Sequence, byte[]? State) row) => row.State is null ? have[row.Id].State : FactVersions.Read(row.State);
        // A bulk write loads tens of thousands of stakes: read in order, parsed on every core.
        var states = rows.Count(r => r.State is not null) < 256 ? rows.Select(Read).ToList() : rows.AsParallel().AsOrdered().Select(Read).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].State is not null)
            {
                Kept?.Keep(rows[i].Id, rows[i].Sequence, states[i]);
            }
        }
        return states;
    }

    /// <summary>Loads organizations not loaded yet (a timeline's sentences name them).</summary>
    public Task LoadOrganizationsAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct) => Together(c, reads => QueueOrganizations(reads, ids), ct);

    /// <summary>
    /// Loads sources not loaded yet, through the ledger's citations when it has them: every load runs before the
    /// write stores a row, so what it reads was committed by earlier writes and may be kept.
    /// </summary>
    public Task LoadSourcesAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct) =>
        LoadMissingAsync(Sources, ids, async missing =>
            (Citations is { } cited ? await cited.SourcesAsync(c, missing, ct) : await SourceCatalog.LoadAsync(c, missing, ct)).Values.ToList(), s => Sources[s.Id] = s);

    /// <summary>Marks the ids not loaded yet as looked up (absent unless found), then fetches them in one query and keeps what was found.</summary>
    private async Task LoadMissingAsync<T>(Dictionary<string, T?> entries, IEnumerable<string> ids, Func<string[], Task<List<T>>> fetch, Action<T> keep) where T : class
    {
        var missing = Missing(entries, ids);
        if (missing.Length == 0)
        {
            return;
        }
        foreach (var found in await fetch(missing))
        {
            keep(found);
        }
    }

    /// <summary>The ids not loaded yet, each once, marked as looked up (absent unless found).</summary>
    private string[] Missing<T>(Dictionary<string, T?> entries, IEnumerable<string> ids) where T : class
    {
        var missing = ids.Where(id => !Knows(entries, id)).Distinct().ToArray();
        foreach (var id in missing)
        {
            entries[id] = null;
        }
        return missing;
    }

    /// <summary>Loads the stake facts and open segments of pairs not loaded yet.</summary>
    public async Task LoadPairsAsync(NpgsqlConnection c, IReadOnlyCollection<(string Holder, string Subject)> pairs, CancellationToken ct)
    {
        var reads = new Reads();
        var take = QueuePairs(reads, pairs);
        await reads.RunAsync(c, ct);
        take();
        // Left: pairs partly kept, or kept whole and changed since — read with what is kept compared by version.
        var missing = pairs.Where(p => !KnowsPair(p)).Distinct().ToArray();
        if (missing.Length == 0)
        {
            return;
        }
        var holders = missing.Select(p => p.Holder).ToArray();
        var subjects = missing.Select(p => p.Subject).ToArray();
        var (haveFacts, haveSegments) = Kept?.OfPairs(missing) ?? ([], []);
        var stored = await ReadFactsAsync(c, OfPairs, haveFacts, ct, holders, subjects);
        TakeRead(missing, stored, await ReadSegmentsAsync(c, haveSegments, holders, subjects, ct));
    }

    /// <summary>
    /// Queues reading pairs not loaded yet: the heads of those kept whole, every fact and open segment of those of which
    /// nothing is kept; returns what takes the rows read. Pairs partly kept, or kept whole and changed since, are left to
    /// <see cref="LoadPairsAsync"/>.
    /// </summary>
    private Action QueuePairs(Reads reads, IEnumerable<(string Holder, string Subject)> pairs)
    {
        // A pair kept whole is taken as kept when its heads say the database holds it unchanged: a write to a pair with a
        // long history then reads two index entries of it, not its every fact and segment.
        var unknown = pairs.Where(p => !KnowsPair(p)).Distinct().ToList();
        var kept = KeptWhole(unknown.Where(p => !movedOn.Contains(p)));
        var unchanged = new List<long>();
        if (kept.Count > 0)
        {
            QueueUnchanged(reads, kept, unchanged);
        }
        var cold = unknown.Except(kept.Select(k => k.Pair)).ToArray();
        var (haveFacts, haveSegments) = Kept?.OfPairs(cold) ?? ([], []);
        var facts = new List<(string Id, long Sequence, byte[]? State)>();
        var segments = new List<((string, string) Pair, KeptSegment Segment)>();
        var read = cold.Length > 0 && haveFacts.Count == 0 && haveSegments.Count == 0;
        if (read)
        {
            string[] holders = [.. cold.Select(p => p.Item1)], subjects = [.. cold.Select(p => p.Item2)];
            reads.Add(CurrentFacts(OfPairs), r => facts.Add(FactRow(r)), holders, subjects);
            reads.Add(OpenSegments, r => segments.Add(SegmentRow(r)), holders, subjects);
        }
        return () =>
        {
            foreach (var i in unchanged)
            {
                TakeKept(kept[(int)i - 1].Pair, kept[(int)i - 1].Snapshot);
            }
            // The others moved on since they were kept: not asked about again in this write.
            movedOn.UnionWith(kept.Select(k => k.Pair).Where(p => !KnowsPair(p)));
            if (read)
            {
                TakeRead(cold, Parse(facts, []), segments);
            }
        };
    }

    // Pairs kept whole whose heads this write found changed.
    private readonly HashSet<(string, string)> movedOn = [];

    /// <summary>Takes a pair as kept (its heads were found unchanged): its facts, open segments and the sources they cite.</summary>
    private void TakeKept((string, string) pair, PairSnapshot snapshot)
    {
        var stakes = new List<string>(snapshot.Facts.Length);
        Facts.EnsureCapacity(Facts.Count + snapshot.Facts.Length);
        foreach (var f in snapshot.Facts)
        {
            TakeStake(f, stakes);
        }
        Stakes[pair] = stakes;
        var open = new List<OpenSegment>(snapshot.Segments.Length + 1);
        foreach (var s in snapshot.Segments)
        {
            open.Add(s.Open);
        }
        Segments[pair] = open;
        foreach (var source in snapshot.Sources)
        {
            Sources[source.Id] = source;
        }
        SourcedPairs[pair] = snapshot.Sources;
    }

    /// <summary>
    /// Takes a stake of a pair being loaded into its list (<paramref name="stakes"/>): a fact loaded already stays as loaded,
    /// any other is kept as read. One lookup a fact: a pair's facts are thousands in a long history.
    /// </summary>
    private void TakeStake(FactState fact, List<string> stakes)
    {
        ref var known = ref CollectionsMarshal.GetValueRefOrAddDefault(Facts, fact.Id, out _);
        known ??= fact;
        stakes.Add(fact.Id);
    }

    /// <summary>Takes pairs as read: their current stake facts (those loaded already stay as loaded) and open segments; keeps them for later writes.</summary>
    private void TakeRead((string, string)[] pairs, List<FactState> stored, List<((string, string) Pair, KeptSegment Segment)> segments)
    {
        foreach (var pair in pairs)
        {
            Stakes[pair] = [];
            Segments[pair] = [];
        }
        foreach (var f in stored)
        {
            TakeStake(f, Stakes[f.Stake.Pair]);
        }
        foreach (var (pair, segment) in segments)
        {
            Segments[pair].Add(segment.Open);
        }
        foreach (var pair in pairs)
        {
            Kept?.KeepPair(pair, Stakes[pair], Segments[pair].Select(s => s.Id));
        }
    }

    /// <summary>The pairs kept whole, with what is kept of them (<see cref="PairSnapshot"/>).</summary>
    private List<((string, string) Pair, PairSnapshot Snapshot)> KeptWhole(IEnumerable<(string, string)> pairs)
    {
        var kept = new List<((string, string) Pair, PairSnapshot Snapshot)>();
        foreach (var pair in pairs)
        {
            if (Kept?.SnapshotOf(pair) is { } snapshot)
            {
                kept.Add((pair, snapshot));
            }
        }
        return kept;
    }

    /// <summary>Queues the statement answering which of the pairs kept whole the database still holds at their heads (their 1-based places in <paramref name="kept"/>).</summary>
    private static void QueueUnchanged(Reads reads, List<((string, string) Pair, PairSnapshot Snapshot)> kept, List<long> unchanged) =>
        reads.Add($"select x.i from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) with ordinality as x(holder, subject, fact_head, segment_head, i) " +
            $"where (select max(f.sequence) from {ProjectionTables.Of("fact_versions")} f where f.holder = x.holder and f.subject = x.subject and upper_inf(f.recorded)) = x.fact_head " +
            $"and exists (select 1 from {ProjectionTables.Of("holding_segments")} g where g.id = x.segment_head and upper_inf(g.recorded))",
            r => unchanged.Add(r.GetInt64(0)), kept.Select(k => k.Pair.Item1).ToArray(), kept.Select(k => k.Pair.Item2).ToArray(),
            kept.Select(k => k.Snapshot.FactHead).ToArray(), kept.Select(k => k.Snapshot.SegmentHead).ToArray());

    private const string OpenOfPairs = "(holder, subject) in (select * from unnest($1::text[], $2::text[])) and upper_inf(recorded) order by id";

    private static string OpenSegments => $"select holder, subject, id, sequence, lower(valid), upper(valid), finding::text from {ProjectionTables.Of("holding_segments")} where {OpenOfPairs}";

    private static DateOnly? End(NpgsqlDataReader r, int at) => r.IsDBNull(at) ? null : r.GetFieldValue<DateOnly>(at);

    private ((string, string) Pair, KeptSegment Segment) SegmentRow(NpgsqlDataReader r) =>
        ((r.GetString(0), r.GetString(1)), Made(r.GetInt64(2), r.GetInt64(3), End(r, 4), End(r, 5), r.GetString(6)));

    /// <summary>The open segments of these pairs, in id order, taking those kept from memory (as <see cref="ReadFactsAsync"/> does).</summary>
    private async Task<List<((string, string) Pair, KeptSegment Segment)>> ReadSegmentsAsync(NpgsqlConnection c, Dictionary<long, KeptSegment> have,
        string[] holders, string[] subjects, CancellationToken ct)
    {
        if (have.Count == 0)
        {
            return await Sql.ListAsync(c, OpenSegments, SegmentRow, ct, holders, subjects);
        }
        var current = await Sql.ListAsync(c, $"select holder, subject, id, sequence, lower(valid), upper(valid) from {ProjectionTables.Of("holding_segments")} where {OpenOfPairs}",
            r => (Pair: (r.GetString(0), r.GetString(1)), Id: r.GetInt64(2), Sequence: r.GetInt64(3), From: End(r, 4), To: End(r, 5)), ct, holders, subjects);
        // Kept only if the very same row: its id, the write that opened it and its valid period (a rebuild numbers segments anew).
        var lacking = current.Where(s => !(have.TryGetValue(s.Id, out var kept) && kept.Sequence == s.Sequence && kept.From == s.From && kept.To == s.To))
            .Select(s => s.Id).ToArray();
        var findings = lacking.Length == 0 ? []
            : (await Sql.ListAsync(c, $"select id, finding::text from {ProjectionTables.Of("holding_segments")} where id = any($1)", r => (Id: r.GetInt64(0), Finding: r.GetString(1)), ct, (object)lacking))
                .ToDictionary(f => f.Id, f => f.Finding);
        return current.Select(s => (s.Pair, findings.TryGetValue(s.Id, out var finding) ? Made(s.Id, s.Sequence, s.From, s.To, finding) : have[s.Id])).ToList();
    }

    /// <summary>An open segment read from the database, kept for later writes.</summary>
    private KeptSegment Made(long id, long sequence, DateOnly? from, DateOnly? to, string finding)
    {
        var segment = new KeptSegment(id, sequence, from, to, new SegmentKey(from, to, finding));
        Kept?.Keep(segment);
        return segment;
    }
}

/// <summary>A merge as recorded (table organization_merges): of a duplicate into an organization, for a reason, and its undo's reason if undone.</summary>
internal sealed record RecordedMerge(string Duplicate, string Into, string Reason, string? UndoReason);
