using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Deals;

/// <summary>The projection of every fact's versions over recorded time (table fact_versions; written by <see cref="ProjectionFold"/>).</summary>
internal static class FactVersions
{
    private static readonly string Table = ProjectionTables.Of("fact_versions");

    public static async Task<FactState?> CurrentAsync(NpgsqlConnection c, string id, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, $"select state::text from {Table} where fact_id = $1 and upper_inf(recorded)", id);
        return await cmd.ExecuteScalarAsync(ct) is string json ? LedgerJson.Deserialize<FactState>(json) : null;
    }

    /// <summary>The current facts that tie all of <paramref name="orgs"/> together.</summary>
    public static Task<List<FactState>> AmongAsync(NpgsqlConnection c, IReadOnlyList<string> orgs, CancellationToken ct) =>
        Sql.ListAsync(c, $"select state::text from {Table} where orgs @> $1::text[] and upper_inf(recorded)",
            r => LedgerJson.Deserialize<FactState>(r.GetString(0)), ct, (object)orgs.ToArray());

    /// <summary>Every fact of these kinds as known at an instant.</summary>
    public static Task<List<FactState>> OfTypesAsync(NpgsqlConnection c, DateTimeOffset knownAt, IReadOnlyList<FactType> types, CancellationToken ct) =>
        Sql.ListAsync(c, $"select state::text from {Table} where type = any($1) and recorded @> $2::timestamptz order by fact_id",
            r => LedgerJson.Deserialize<FactState>(r.GetString(0)), ct, types.Select(LedgerJson.Word).ToArray(), knownAt);

    /// <summary>Every fact touching an organization, as known at an instant.</summary>
    public static Task<List<FactState>> InvolvingAsync(NpgsqlConnection c, string org, DateTimeOffset knownAt, CancellationToken ct) =>
        Sql.ListAsync(c, $"select state::text from {Table} where orgs @> array[$1]::text[] and recorded @> $2::timestamptz order by fact_id",
            r => LedgerJson.Deserialize<FactState>(r.GetString(0)), ct, org, knownAt);
}
