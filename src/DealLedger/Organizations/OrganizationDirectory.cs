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

    /// <summary>
    /// The organization as registered, or a precise not-found error naming <paramref name="field"/> (how the
    /// caller spells the argument). With <paramref name="knownAt"/>, one registered only after it is not found
    /// either: as a replay of the log up to knownAt would have it, it is unknown then.
    /// </summary>
    public static async Task<OrganizationRegistered> RequireAsync(NpgsqlConnection c, string id, CancellationToken ct, DateTimeOffset? knownAt = null, string field = "organization")
    {
        var rows = await Sql.ListAsync(c, $"select data::text, $2::timestamptz is null or recorded_at <= $2 from {ProjectionTables.Of("organizations")} where id = $1",
            r => (Json: r.GetString(0), Known: r.GetBoolean(1)), ct, QueryArguments.Id(id, field), knownAt);
        return rows switch
        {
            [] => throw new LedgerException(LedgerErrorKind.NotFound, $"unknown organization '{id}': no organization with this id is registered") { Field = field },
            [{ Known: false }] => throw new LedgerException(LedgerErrorKind.NotFound, $"organization '{id}' was not yet registered as known at {Instant.Format(knownAt!.Value)}") { Field = field },
            [var row] => FromStored(row.Json),
            _ => throw new InvalidOperationException($"two rows of organization '{id}'"),
        };
    }
}
