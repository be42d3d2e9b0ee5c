using DealLedger.Deals;
using DealLedger.Organizations;
using DealLedger.Sources;
using Npgsql;

namespace DealLedger.Storage;

/// <summary>
/// One write in progress, under the ledger's write lock: what the ledger already holds plus what
/// this write has decided so far, and the events it will append. Commands decide against it.
/// </summary>
public sealed class LedgerTransaction
{
    private readonly NpgsqlConnection connection;
    private readonly List<(string Stream, object Event)> pending = [];
    private readonly Dictionary<string, OrganizationRegistered> organizations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SourceRegistered> sources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DealRecorded> deals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FactState> facts = new(StringComparer.Ordinal);
    // The stake facts of `facts` by pair: a pair's stakes are found without scanning every fact of the write.
    private readonly Dictionary<(string, string), List<FactState>> pairs = [];
    private readonly LedgerState? state;

    /// <param name="state">What the ledger holds, loaded beforehand (a bulk import): read from memory, not entry by entry.</param>
    internal LedgerTransaction(NpgsqlConnection connection, DateTimeOffset recordedAt, LedgerState? state = null)
    {
        this.connection = connection;
        RecordedAt = recordedAt;
        this.state = state;
    }

    /// <summary>The recorded time every event of this write will carry.</summary>
    public DateTimeOffset RecordedAt { get; }

    internal IReadOnlyList<(string Stream, object Event)> Pending => pending;

    public static string StreamOf(object e) => e switch
    {
        OrganizationRegistered o => $"organization:{o.Id}",
        SourceRegistered s => $"source:{s.Id}",
        DealRecorded d => $"deal:{d.Id}",
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
            default:
                var id = FactState.FactIdOf(e)!;
                Keep(FactState.Next(facts.GetValueOrDefault(id), e, provisional));
                break;
        }
    }

    private void Keep(FactState fact)
    {
        if (facts.TryGetValue(fact.Id, out var known) && fact.Current.Type == FactType.Stake)
        {
            var list = pairs[(fact.Current.Holder!, fact.Current.Subject!)];
            list[list.FindIndex(f => f.Id == known.Id)] = fact;
        }
        else if (fact.Current.Type == FactType.Stake)
        {
            var pair = (fact.Current.Holder!, fact.Current.Subject!);
            if (!pairs.TryGetValue(pair, out var list))
            {
                pairs[pair] = list = [];
            }
            list.Add(fact);
        }
        facts[fact.Id] = fact;
    }

    public async Task<OrganizationRegistered?> OrganizationAsync(string id, CancellationToken ct) =>
        organizations.GetValueOrDefault(id)
        ?? (state is not null && state.Knows(state.Organizations, id) ? state.Organizations.GetValueOrDefault(id) : await OrganizationDirectory.FindAsync(connection, id, ct));

    public async Task<SourceRegistered?> SourceAsync(string id, CancellationToken ct) =>
        sources.GetValueOrDefault(id)
        ?? (state is not null && state.Knows(state.Sources, id) ? state.Sources.GetValueOrDefault(id) : (await SourceCatalog.LoadAsync(connection, [id], ct)).GetValueOrDefault(id));

    public async Task<DealRecorded?> DealAsync(string id, CancellationToken ct)
    {
        if (deals.TryGetValue(id, out var deal))
        {
            return deal;
        }
        if (state is not null && state.Knows(state.Deals, id))
        {
            return state.Deals.GetValueOrDefault(id);
        }
        await using var cmd = Sql.Command(connection, $"select data::text from {ProjectionTables.Of("deals")} where id = $1", id);
        return await cmd.ExecuteScalarAsync(ct) is string json ? LedgerJson.Deserialize<DealRecorded>(json) : null;
    }

    public async Task<FactState?> FactAsync(string id, CancellationToken ct)
    {
        if (facts.TryGetValue(id, out var fact))
        {
            return fact;
        }
        var stored = state is not null && state.Knows(state.Facts, id) ? state.Facts.GetValueOrDefault(id) : await FactVersions.CurrentAsync(connection, id, ct);
        if (stored is not null)
        {
            Keep(stored);
        }
        return stored;
    }

    /// <summary>The stake facts about a pair, stored and pending (pending ones as this write left them).</summary>
    public async Task<IReadOnlyList<FactState>> StakesAsync(string holder, string subject, CancellationToken ct)
    {
        var stored = state is not null && state.KnowsPair((holder, subject))
            ? state.StakesOf((holder, subject))
            : await FactVersions.StakesAsync(connection, holder, subject, ct);
        var known = pairs.GetValueOrDefault((holder, subject)) ?? [];
        return [.. known, .. stored.Where(f => !facts.ContainsKey(f.Id))];
    }

    /// <summary>The facts of a deal as this write left them (stored and pending), found through its parties.</summary>
    public async Task<IReadOnlyList<FactState>> FactsOfDealAsync(string deal, IReadOnlyList<string> parties, CancellationToken ct)
    {
        var stored = await FactVersions.AmongAsync(connection, parties, ct);
        return [.. facts.Values.Where(f => f.Original.Deal == deal), .. stored.Where(f => f.Original.Deal == deal && !facts.ContainsKey(f.Id))];
    }
}
