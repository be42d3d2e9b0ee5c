using DealLedger.Deals;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Writing;

/// <summary>
/// One write in progress, under the ledger's write lock: what the ledger holds as far as the write
/// loaded it, what this write has decided so far, and the events it will append. Each write's pure
/// Decide (RegisterOrganization, RecordDeal, CorrectFact, …) reads it from memory, never the database.
/// </summary>
public sealed class LedgerTransaction
{
    private readonly NpgsqlConnection? connection;
    private readonly List<(string Stream, object Event)> pending = [];
    private readonly Dictionary<string, OrganizationRegistered> organizations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SourceRegistered> sources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DealRecorded> deals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FactState> facts = new(StringComparer.Ordinal);
    // The stake facts of `facts` by pair: a pair's stakes are found without scanning every fact of the write.
    private readonly Dictionary<(string, string), List<FactState>> pairs = [];
    // The rates of `facts` by currency pair (ids).
    private readonly Dictionary<string, List<string>> rates = new(StringComparer.Ordinal);
    private readonly LedgerState state;
    // The merges this write recorded (duplicate → into) and undid (duplicate → null).
    private readonly Dictionary<string, string?> merges = new(StringComparer.Ordinal);

    /// <summary>Who asks for this write (an API key's name, the CLI's user): recorded with its events, and in a merge's.</summary>
    public string Writer { get; init; } = "";

    /// <summary>
    /// Whether this very merge (or, with <paramref name="undo"/>, this very undo: of the duplicate, for this reason) was
    /// recorded already — by this write or an earlier one: the same content twice is recorded once, as a fact's amendments are.
    /// </summary>
    public bool KnownMerge(string duplicate, string into, string reason, bool undo = false) =>
        pending.Any(p => undo
            ? p.Event is OrganizationMergeUndone u && u.Duplicate == duplicate && u.Reason == reason && (into.Length == 0 || u.Into == into)
            : p.Event is OrganizationsMerged m && m.Duplicate == duplicate && m.Into == into && m.Reason == reason)
        || (state.Knows(state.MergeHistory, duplicate) ? state.MergeHistory.GetValueOrDefault(duplicate) ?? [] : throw NotLoaded($"the merges of '{duplicate}'"))
            .Any(h => undo ? h.UndoReason == reason && (into.Length == 0 || h.Into == into) : h.Into == into && h.Reason == reason);

    /// <summary>The organization <paramref name="org"/>'s record is merged into, as this write left it (null: none).</summary>
    public string? MergedInto(string org) =>
        merges.TryGetValue(org, out var into) ? into
        : state.MergesLoaded ? state.Merges.GetValueOrDefault(org) : throw NotLoaded("the merges in force");

    /// <param name="state">What the ledger holds as far as it is loaded: read from memory; decisions read nothing else.</param>
    /// <param name="connection">The write's connection, in its transaction; the write lock is taken by the first round trip on it.</param>
    internal LedgerTransaction(NpgsqlConnection? connection, LedgerState state)
    {
        this.connection = connection;
        this.state = state;
    }

    /// <summary>A write against a ledger held wholly in memory, empty but for what it records (the rule tests): it never reads a database.</summary>
    internal static LedgerTransaction InMemory(DateTimeOffset recordedAt) => new(null, new LedgerState { Complete = true }) { locked = (recordedAt, 0) };

    private NpgsqlConnection Connection => connection ?? throw new InvalidOperationException("a write held in memory reads no database");

    // Read with the write lock held, by the write's first round trip; null until then.
    private (DateTimeOffset RecordedAt, long FirstSequence)? locked;

    /// <summary>
    /// A batch of reads for the write's connection: the first of the write also takes the write lock and reads the clock and
    /// the log's next sequence number, before its own statements — in READ COMMITTED each statement of a batch takes its
    /// snapshot when it starts, so the reads after the lock see the last write it waited for. Which reads a batch holds is
    /// chosen before the lock, from this process's memory only (what is kept, by version); whatever they find is compared
    /// with the database under the lock, as a write of another process is.
    /// </summary>
    internal Reads NewReads()
    {
        var reads = new Reads();
        if (locked is null && connection is not null)
        {
            Ledger.QueueWriteLock(reads, (at, sequence) => locked = (at, sequence));
        }
        return reads;
    }

    /// <summary>The write's connection with the write lock taken (by a round trip of its own when nothing was read yet).</summary>
    internal async Task<NpgsqlConnection> LockedAsync(CancellationToken ct)
    {
        if (locked is null)
        {
            await NewReads().RunAsync(Connection, ct);
        }
        return Connection;
    }

    /// <summary>The recorded time every event of this write will carry: read under the write lock.</summary>
    public DateTimeOffset RecordedAt => Locked.RecordedAt;

    /// <summary>The sequence number the write's first event takes (read under the write lock; <see cref="EventCopy.Append.Statement"/>).</summary>
    internal long FirstSequence => Locked.FirstSequence;

    private (DateTimeOffset RecordedAt, long FirstSequence) Locked => locked ?? throw new InvalidOperationException("the write lock is not taken yet");

    internal IReadOnlyList<(string Stream, object Event)> Pending => pending;

    public static string StreamOf(object e) => e switch
    {
        OrganizationRegistered o => $"organization:{o.Id}",
        SourceRegistered s => $"source:{s.Id}",
        DealRecorded d => $"deal:{d.Id}",
        OrganizationsMerged m => $"organization:{m.Duplicate}",
        OrganizationMergeUndone u => $"organization:{u.Duplicate}",
        _ => FactState.FactIdOf(e) is { } fact ? $"fact:{fact}" : throw new ArgumentException($"not a ledger event: {e.GetType().Name}"),
    };

    /// <summary>Adds an event to this write; later reads in the same write see it.</summary>
    public void Record(object e)
    {
        pending.Add((StreamOf(e), e));
        // Not yet stored: no id or sequence, but the name and recorded time it will have.
        var provisional = new EventRef(Guid.Empty, 0, EventNames.Of(e.GetType()), RecordedAt);
        switch (e)
        {
            case OrganizationRegistered o: organizations[o.Id] = o; break;
            case SourceRegistered s: sources[s.Id] = s; break;
            case DealRecorded d: deals[d.Id] = d; break;
            case OrganizationsMerged m: merges[m.Duplicate] = m.Into; break;
            case OrganizationMergeUndone u: merges[u.Duplicate] = null; break;
            default:
                var id = FactState.FactIdOf(e)!;
                Keep(FactState.Next(facts.GetValueOrDefault(id), e, provisional));
                break;
        }
    }

    private void Keep(FactState fact)
    {
        if (fact.Current is ExchangeRate rate && !facts.ContainsKey(fact.Id))
        {
            if (!rates.TryGetValue(rate.Pair, out var ids))
            {
                rates[rate.Pair] = ids = [];
            }
            ids.Add(fact.Id);
        }
        if (facts.TryGetValue(fact.Id, out var known) && fact.Current is Stake stake)
        {
            var list = pairs[stake.Pair];
            list[list.FindIndex(f => f.Id == known.Id)] = fact;
        }
        else if (fact.Current is Stake recorded)
        {
            var pair = recorded.Pair;
            if (!pairs.TryGetValue(pair, out var list))
            {
                pairs[pair] = list = [];
            }
            list.Add(fact);
        }
        facts[fact.Id] = fact;
    }

    /// <summary>
    /// Loads, in a few set-based queries, what deciding these entries reads and is not loaded yet (nothing
    /// when the write loaded it all beforehand); the decisions then read memory only.
    /// </summary>
    internal Task LoadAsync(IEnumerable<string> organizations, IEnumerable<string> sources, IEnumerable<string> deals, IEnumerable<string> facts,
        IEnumerable<(string Holder, string Subject)> pairs, CancellationToken ct) =>
        state.Complete ? Task.CompletedTask : state.LoadAsync(Connection, NewReads(), organizations, sources, deals, facts, pairs, ct);

    /// <summary>Loads the merges ever recorded of the records a write merges or unmerges (<see cref="KnownMerge"/>).</summary>
    internal Task LoadMergeHistoryAsync(IEnumerable<string> duplicates, CancellationToken ct) =>
        state.Complete ? Task.CompletedTask : state.LoadMergeHistoryAsync(Connection, duplicates, ct);

    /// <summary>Loads the current rates of these currency pairs not loaded yet (<see cref="Rates"/>).</summary>
    internal Task LoadRatesAsync(IEnumerable<string> pairs, CancellationToken ct) =>
        state.Complete ? Task.CompletedTask : state.LoadRatesAsync(Connection, pairs, ct);

    /// <summary>A fact as loaded before deciding, or null when it is not (unknown, or not named): for choosing what else to load.</summary>
    internal FactState? Loaded(string id) => facts.GetValueOrDefault(id) ?? state.Facts.GetValueOrDefault(id);

    /// <summary>What this write loaded (and the fold moves forward once its events are appended).</summary>
    internal LedgerState State => state;

    /// <summary>The ids this write has written so far ("fact:ID", "organization:ID", "fact:ID/AMENDMENT"): one id used twice in one write is the document's mistake (400), not another writer's (409).</summary>
    public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

    // What a decision reads: this write's own events first, then what was loaded before deciding.
    // Never a query: an entry not loaded is a defect of the loading, not something to look up mid-decision.
    public OrganizationRegistered? Organization(string id) => organizations.GetValueOrDefault(id) ?? Loaded(state.Organizations, id);

    public SourceRegistered? Source(string id) => sources.GetValueOrDefault(id) ?? Loaded(state.Sources, id);

    public DealRecorded? Deal(string id) => deals.GetValueOrDefault(id) ?? Loaded(state.Deals, id);

    public FactState? Fact(string id)
    {
        if (facts.TryGetValue(id, out var fact))
        {
            return fact;
        }
        var stored = Loaded(state.Facts, id);
        if (stored is not null)
        {
            Keep(stored);
        }
        return stored;
    }

    /// <summary>The stake facts about a pair, stored and pending (pending ones as this write left them).</summary>
    public IReadOnlyList<FactState> Stakes(string holder, string subject) =>
        state.KnowsPair((holder, subject)) ? WithPending(holder, subject, state.StakesOf((holder, subject))) : throw NotLoaded($"{holder} → {subject}");

    /// <summary>The stake facts that count for the pair's holding: its own, and, with merges in force, those of every pair of the records read as its sides.</summary>
    public IReadOnlyList<FactState> StakesCounting(string holder, string subject)
    {
        var pair = state.Effective((holder, subject));
        return state.Combines(pair) ? [.. state.MemberPairs(pair).SelectMany(p => Stakes(p.Item1, p.Item2))] : Stakes(holder, subject);
    }

    /// <summary>The rates of a currency pair, stored and pending (pending ones as this write left them).</summary>
    public IReadOnlyList<FactState> Rates(string pair) =>
        state.KnowsRates(pair)
            ? [.. rates.GetValueOrDefault(pair)?.Select(id => facts[id]) ?? [], .. state.RatesOf(pair).Where(f => !facts.ContainsKey(f.Id))]
            : throw NotLoaded(pair);

    private IReadOnlyList<FactState> WithPending(string holder, string subject, IReadOnlyList<FactState> stored) =>
        [.. pairs.GetValueOrDefault((holder, subject)) ?? [], .. stored.Where(f => !facts.ContainsKey(f.Id))];

    private T? Loaded<T>(Dictionary<string, T?> entries, string id) where T : class =>
        state.Knows(entries, id) ? entries.GetValueOrDefault(id) : throw NotLoaded(id);

    private static InvalidOperationException NotLoaded(string what) => new($"'{what}' was not loaded before deciding");

    // What a translation (BODS) reads while it makes its documents, and the checks of a request's
    // If-Match before deciding: from memory when loaded, else looked up.

    public async Task<OrganizationRegistered?> OrganizationAsync(string id, CancellationToken ct) =>
        organizations.ContainsKey(id) || state.Knows(state.Organizations, id) ? Organization(id) : await OrganizationDirectory.FindAsync(await LockedAsync(ct), id, ct);

    /// <summary>The survivor <paramref name="org"/>'s record is read as (itself unless merged), the merges read first if not loaded yet.</summary>
    public async Task<string> SurvivorAsync(string org, CancellationToken ct)
    {
        if (!state.MergesLoaded)
        {
            await state.LoadMergesAsync(await LockedAsync(ct), ct);
        }
        return Survivor(org);
    }

    /// <summary>The survivor <paramref name="org"/>'s record is read as, as this write left the merges (along a chain; itself unless merged).</summary>
    public string Survivor(string org)
    {
        while (MergedInto(org) is { } into)
        {
            org = into;
        }
        return org;
    }

    public async Task<SourceRegistered?> SourceAsync(string id, CancellationToken ct) =>
        sources.ContainsKey(id) || state.Knows(state.Sources, id) ? Source(id) : (await SourceCatalog.LoadAsync(await LockedAsync(ct), [id], ct)).GetValueOrDefault(id);

    public async Task<DealRecorded?> DealAsync(string id, CancellationToken ct)
    {
        if (deals.ContainsKey(id) || state.Knows(state.Deals, id))
        {
            return Deal(id);
        }
        await using var cmd = Sql.Command(await LockedAsync(ct), $"select data::text from {ProjectionTables.Of("deals")} where id = $1", id);
        return await cmd.ExecuteScalarAsync(ct) is string json ? LedgerJson.Deserialize<DealRecorded>(json) : null;
    }

    public async Task<FactState?> FactAsync(string id, CancellationToken ct)
    {
        if (facts.ContainsKey(id) || state.Knows(state.Facts, id))
        {
            return Fact(id);
        }
        var stored = await FactVersions.CurrentAsync(await LockedAsync(ct), id, ct);
        if (stored is not null)
        {
            Keep(stored);
        }
        return stored;
    }

    /// <summary>The facts of a deal as this write left them (stored and pending), found through its parties.</summary>
    public async Task<IReadOnlyList<FactState>> FactsOfDealAsync(string deal, IReadOnlyList<string> parties, CancellationToken ct)
    {
        var stored = await FactVersions.AmongAsync(await LockedAsync(ct), parties, ct);
        return [.. facts.Values.Where(f => f.Original.Deal == deal), .. stored.Where(f => f.Original.Deal == deal && !facts.ContainsKey(f.Id))];
    }
}
