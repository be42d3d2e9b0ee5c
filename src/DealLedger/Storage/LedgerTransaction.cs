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

    internal LedgerTransaction(NpgsqlConnection connection, DateTimeOffset recordedAt)
    {
        this.connection = connection;
        RecordedAt = recordedAt;
    }

    /// <summary>The recorded time every event of this write will carry.</summary>
    public DateTimeOffset RecordedAt { get; }

    internal IReadOnlyList<(string Stream, object Event)> Pending => pending;

    public static string StreamOf(object e) => e switch
    {
        OrganizationRegistered o => $"organization:{o.Id}",
        SourceRegistered s => $"source:{s.Id}",
        DealRecorded d => $"deal:{d.Id}",
        FactRecorded f => $"fact:{f.Fact.Id}",
        SourceAddedToFact f => $"fact:{f.Fact}",
        FactCorrected f => $"fact:{f.Fact}",
        FactRetracted f => $"fact:{f.Fact}",
        FactEnded f => $"fact:{f.Fact}",
        _ => throw new ArgumentException($"not a ledger event: {e.GetType().Name}"),
    };

    /// <summary>Adds an event to this write; later reads in the same write see it.</summary>
    public void Record(object e)
    {
        pending.Add((StreamOf(e), e));
        var provisional = new EventRef(Guid.Empty, 0, e.GetType().Name, RecordedAt);
        switch (e)
        {
            case OrganizationRegistered o: organizations[o.Id] = o; break;
            case SourceRegistered s: sources[s.Id] = s; break;
            case DealRecorded d: deals[d.Id] = d; break;
            case FactRecorded f: facts[f.Fact.Id] = FactState.Recorded(f, provisional); break;
            default:
                var id = StreamOf(e)["fact:".Length..];
                facts[id] = facts[id].Apply(e, provisional);
                break;
        }
    }

    public async Task<OrganizationRegistered?> OrganizationAsync(string id, CancellationToken ct) =>
        organizations.TryGetValue(id, out var o) ? o
        : await ReadJsonAsync<OrganizationRegistered>($"select data from {ProjectionTables.Name("organizations")} where id = $1", id, ct);

    public async Task<SourceRegistered?> SourceAsync(string id, CancellationToken ct) =>
        sources.TryGetValue(id, out var s) ? s
        : await ReadJsonAsync<SourceRegistered>($"select data from {ProjectionTables.Name("sources")} where id = $1", id, ct);

    public async Task<DealRecorded?> DealAsync(string id, CancellationToken ct) =>
        deals.TryGetValue(id, out var d) ? d
        : await ReadJsonAsync<DealRecorded>($"select data from {ProjectionTables.Name("deals")} where id = $1", id, ct);

    public async Task<FactState?> FactAsync(string id, CancellationToken ct)
    {
        if (facts.TryGetValue(id, out var f))
        {
            return f;
        }
        var stored = await ReadJsonAsync<FactState>(
            $"select state from {ProjectionTables.Name("fact_versions")} where fact_id = $1 and upper_inf(recorded)", id, ct);
        if (stored is not null)
        {
            facts[id] = stored;
        }
        return stored;
    }

    /// <summary>The stake facts about a pair, stored and pending.</summary>
    public async Task<IReadOnlyList<FactState>> StakesAsync(string holder, string subject, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"select fact_id from {ProjectionTables.Name("fact_versions")} where holder = $1 and subject = $2 and type = 'stake' and upper_inf(recorded)",
            connection);
        cmd.Parameters.AddWithValue(holder);
        cmd.Parameters.AddWithValue(subject);
        var ids = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                ids.Add(reader.GetString(0));
            }
        }
        ids.AddRange(facts.Values.Where(f => f.Current.Type == FactType.Stake && f.Current.Holder == holder && f.Current.Subject == subject).Select(f => f.Id));
        var result = new List<FactState>();
        foreach (var id in ids.Distinct())
        {
            result.Add((await FactAsync(id, ct))!);
        }
        return result;
    }

    private async Task<T?> ReadJsonAsync<T>(string sql, string id, CancellationToken ct) where T : class
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        cmd.Parameters.AddWithValue(id);
        return await cmd.ExecuteScalarAsync(ct) is string json ? LedgerJson.Deserialize<T>(json) : null;
    }
}
