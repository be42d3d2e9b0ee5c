using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Organizations;

/// <summary>Organizations as the projections know them (table organizations).</summary>
internal static class OrganizationDirectory
{
    /// <param name="knownAt">When given, only organizations registered by then.</param>
    public static async Task<Dictionary<string, string>> NamesAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct, DateTimeOffset? knownAt = null)
    {
        var rows = await Sql.ListAsync(c, $"select id, name from {ProjectionTables.Of("organizations")} where id = any($1) and ($2::timestamptz is null or recorded_at <= $2)",
            r => (Id: r.GetString(0), Name: r.GetString(1)), ct, ids.Distinct().ToArray(), knownAt);
        return rows.ToDictionary(r => r.Id, r => r.Name, StringComparer.Ordinal);
    }

    /// <summary>The organization as registered, or null.</summary>
    public static async Task<OrganizationRegistered?> FindAsync(NpgsqlConnection c, string id, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, $"select data::text from {ProjectionTables.Of("organizations")} where id = $1", id);
        return await cmd.ExecuteScalarAsync(ct) is string json ? FromStored(json) : null;
    }

    /// <summary>
    /// An organization as its row stores it. jsonb keeps object keys in its own order (shortest first),
    /// not the sorted order they were registered in: they are sorted again, or the same organization
    /// would compare as different.
    /// </summary>
    internal static OrganizationRegistered FromStored(string json) =>
        LedgerJson.Deserialize<OrganizationRegistered>(json) is var o
            ? o with { Identifiers = new SortedDictionary<string, string>(o.Identifiers.ToDictionary(), StringComparer.Ordinal) }
            : throw new InvalidOperationException("an organization row without data");

    /// <summary>The organization as registered, or a precise not-found error.</summary>
    public static async Task<OrganizationRegistered> RequireAsync(NpgsqlConnection c, string id, CancellationToken ct) =>
        await FindAsync(c, QueryArguments.Id(id, "organization"), ct)
            ?? throw new LedgerException(LedgerErrorKind.NotFound, $"unknown organization '{id}': no organization with this id is registered") { Field = "organization" };
}
