using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Deals;

/// <summary>The projection of every fact's versions over recorded time (table fact_versions).</summary>
internal static class FactVersions
{
    private static readonly string Table = ProjectionTables.Of("fact_versions");

    public static async Task<FactState?> CurrentAsync(NpgsqlConnection c, string id, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, $"select state::text from {Table} where fact_id = $1 and upper_inf(recorded)", id);
        return await cmd.ExecuteScalarAsync(ct) is string json ? LedgerJson.Deserialize<FactState>(json) : null;
    }

    /// <summary>The current stake facts about a pair (retracted ones included: they are still named).</summary>
    public static Task<List<FactState>> StakesAsync(NpgsqlConnection c, string holder, string subject, CancellationToken ct) =>
        Sql.ListAsync(c, $"select state::text from {Table} where holder = $1 and subject = $2 and type = 'stake' and upper_inf(recorded)",
            r => LedgerJson.Deserialize<FactState>(r.GetString(0)), ct, holder, subject);

    /// <summary>The current facts that tie all of <paramref name="orgs"/> together.</summary>
    public static Task<List<FactState>> AmongAsync(NpgsqlConnection c, IReadOnlyList<string> orgs, CancellationToken ct) =>
        Sql.ListAsync(c, $"select state::text from {Table} where orgs @> $1::text[] and upper_inf(recorded)",
            r => LedgerJson.Deserialize<FactState>(r.GetString(0)), ct, (object)orgs.ToArray());

    public static async Task StoreAsync(NpgsqlConnection c, IEnumerable<FactState> facts, DateTimeOffset recordedAt, long sequence, CancellationToken ct)
    {
        foreach (var f in facts)
        {
            await Sql.ExecAsync(c, $"update {Table} set recorded = tstzrange(lower(recorded), $2::timestamptz, '[)') where fact_id = $1 and upper_inf(recorded)",
                ct, f.Id, recordedAt);
            var row = new FactVersionRow(0, f, recordedAt, sequence);
            await Sql.ExecAsync(c,
                $"insert into {Table} (fact_id, type, holder, subject, orgs, recorded, sequence, state) values ($1, $2, $3, $4, $5, tstzrange($6::timestamptz, null, '[)'), $7, $8::jsonb)",
                ct, f.Id, row.Type, row.Holder, row.Subject, f.Current.Organizations.ToArray(), recordedAt, sequence, LedgerJson.Canonical(f));
        }
    }

    /// <summary>Every fact of these kinds as known at an instant.</summary>
    public static Task<List<FactState>> OfTypesAsync(NpgsqlConnection c, DateTimeOffset knownAt, IReadOnlyList<FactType> types, CancellationToken ct) =>
        Sql.ListAsync(c, $"select state::text from {Table} where type = any($1) and recorded @> $2::timestamptz order by fact_id",
            r => LedgerJson.Deserialize<FactState>(r.GetString(0)), ct, types.Select(LedgerJson.Word).ToArray(), knownAt);

    /// <summary>Every fact touching an organization, as known at an instant.</summary>
    public static Task<List<FactState>> InvolvingAsync(NpgsqlConnection c, string org, DateTimeOffset knownAt, CancellationToken ct) =>
        Sql.ListAsync(c, $"select state::text from {Table} where orgs @> array[$1]::text[] and recorded @> $2::timestamptz order by fact_id",
            r => LedgerJson.Deserialize<FactState>(r.GetString(0)), ct, org, knownAt);
}
