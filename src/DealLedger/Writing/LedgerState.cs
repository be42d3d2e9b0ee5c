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

    // A key with a null value: looked up, and absent.
    public Dictionary<string, OrganizationRegistered?> Organizations { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, SourceRegistered?> Sources { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, DealRecorded?> Deals { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, FactState?> Facts { get; } = new(StringComparer.Ordinal);

    /// <summary>For each pair loaded: its stake facts (ids, in the order they were recorded or loaded).</summary>
    public Dictionary<(string Holder, string Subject), List<string>> Stakes { get; } = [];

    /// <summary>For each pair loaded: its open holding segments.</summary>
    public Dictionary<(string Holder, string Subject), List<OpenSegment>> Segments { get; } = [];

    public bool Knows<T>(Dictionary<string, T?> entries, string id) where T : class => Complete || entries.ContainsKey(id);

    public bool KnowsPair((string, string) pair) => Complete || Stakes.ContainsKey(pair);

    /// <summary>The pair's current stake facts (its stakes must be loaded).</summary>
    public IReadOnlyList<FactState> StakesOf((string, string) pair) =>
        Stakes.TryGetValue(pair, out var ids) ? ids.Select(id => Facts[id]!).ToList() : [];

    /// <summary>Keeps a fact's current state; a new stake joins its pair's list when the pair is loaded.</summary>
    public void Put(FactState fact)
    {
        var isNew = !Facts.TryGetValue(fact.Id, out var known) || known is null;
        Facts[fact.Id] = fact;
        if (!isNew || fact.Current.Type != FactType.Stake)
        {
            return;
        }
        var pair = (fact.Current.Holder!, fact.Current.Subject!);
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
    public async Task LoadAsync(NpgsqlConnection c, IEnumerable<string> organizations, IEnumerable<string> sources,
        IEnumerable<string> deals, IEnumerable<string> facts, IEnumerable<(string Holder, string Subject)> pairs, CancellationToken ct)
    {
        var factIds = facts.ToList();
        await LoadFactsAsync(c, factIds, ct);
        var named = pairs.Concat(factIds.Select(id => Facts.GetValueOrDefault(id)).Where(f => f?.Current.Type == FactType.Stake).Select(f => (f!.Current.Holder!, f.Current.Subject!)))
            .Distinct().ToArray();
        await LoadPairsAsync(c, named, ct);
        await LoadOrganizationsAsync(c, organizations.Concat(named.SelectMany(p => new[] { p.Item1, p.Item2 })), ct);
        var cited = named.SelectMany(StakesOf).Concat(factIds.Select(id => Facts.GetValueOrDefault(id)).OfType<FactState>()).SelectMany(SourceCatalog.CitedBy);
        await LoadSourcesAsync(c, sources.Concat(cited), ct);
        await LoadMissingAsync(Deals, deals, missing => Sql.ListAsync(c, $"select data::text from {ProjectionTables.Of("deals")} where id = any($1)",
            r => LedgerJson.Deserialize<DealRecorded>(r.GetString(0)), ct, (object)missing), d => Deals[d.Id] = d);
    }

    /// <summary>Loads facts not loaded yet (their current versions).</summary>
    public Task LoadFactsAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct) =>
        LoadMissingAsync(Facts, ids, missing => Sql.ListAsync(c, $"select state::text from {ProjectionTables.Of("fact_versions")} where fact_id = any($1) and upper_inf(recorded)",
            r => LedgerJson.Deserialize<FactState>(r.GetString(0)), ct, (object)missing), Put);

    /// <summary>Loads organizations not loaded yet (a timeline's sentences name them).</summary>
    public Task LoadOrganizationsAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct) =>
        LoadMissingAsync(Organizations, ids, missing => Sql.ListAsync(c, $"select data::text from {ProjectionTables.Of("organizations")} where id = any($1)",
            r => OrganizationDirectory.FromStored(r.GetString(0)), ct, (object)missing), o => Organizations[o.Id] = o);

    /// <summary>Loads sources not loaded yet.</summary>
    public Task LoadSourcesAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct) =>
        LoadMissingAsync(Sources, ids, async missing => (await SourceCatalog.LoadAsync(c, missing, ct)).Values.ToList(), s => Sources[s.Id] = s);

    /// <summary>Marks the ids not loaded yet as looked up (absent unless found), then fetches them in one query and keeps what was found.</summary>
    private async Task LoadMissingAsync<T>(Dictionary<string, T?> entries, IEnumerable<string> ids, Func<string[], Task<List<T>>> fetch, Action<T> keep) where T : class
    {
        var missing = ids.Where(id => !Knows(entries, id)).Distinct().ToArray();
        if (missing.Length == 0)
        {
            return;
        }
        foreach (var id in missing)
        {
            entries[id] = null;
        }
        foreach (var found in await fetch(missing))
        {
            keep(found);
        }
    }

    /// <summary>Loads the stake facts and open segments of pairs not loaded yet.</summary>
    public async Task LoadPairsAsync(NpgsqlConnection c, IReadOnlyCollection<(string Holder, string Subject)> pairs, CancellationToken ct)
    {
        var missing = pairs.Where(p => !KnowsPair(p)).Distinct().ToArray();
        if (missing.Length == 0)
        {
            return;
        }
        var holders = missing.Select(p => p.Holder).ToArray();
        var subjects = missing.Select(p => p.Subject).ToArray();
        foreach (var pair in missing)
        {
            Stakes[pair] = [];
            Segments[pair] = [];
        }
        const string pairs_ = "(holder, subject) in (select * from unnest($1::text[], $2::text[]))";
        var stored = await Sql.ListAsync(c, $"select state::text from {ProjectionTables.Of("fact_versions")} where {pairs_} and type = 'stake' and upper_inf(recorded) order by id",
            r => r.GetString(0), ct, holders, subjects);
        // A bulk write loads tens of thousands of stakes: read in order, parsed on every core.
        foreach (var f in stored.Count < 256 ? stored.Select(LedgerJson.Deserialize<FactState>) : stored.AsParallel().AsOrdered().Select(LedgerJson.Deserialize<FactState>))
        {
            if (Facts.TryGetValue(f.Id, out var known) && known is not null)
            {
                Stakes[(f.Current.Holder!, f.Current.Subject!)].Add(f.Id);
                continue;
            }
            Put(f);
        }
        foreach (var (pair, segment) in await Sql.ListAsync(c,
                     $"select holder, subject, id, lower(valid), upper(valid), finding::text from {ProjectionTables.Of("holding_segments")} where {pairs_} and upper_inf(recorded) order by id",
                     r => ((r.GetString(0), r.GetString(1)), new OpenSegment(r.GetInt64(2), HoldingProjection.StoredKey(r, 3), null)), ct, holders, subjects))
        {
            Segments[pair].Add(segment);
        }
    }
}
