using DealLedger.Organizations;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Relationships;

public sealed record OrganizationSearchAnswer(string Query, string KnownAt, IReadOnlyList<OrganizationProfile> Organizations, ListPage Page);

/// <summary>
/// Organizations by a part of their name, an alias or their id (case-insensitive), as registered by
/// knownAt: where exploring starts. Names that begin with the text come first, then by name.
/// </summary>
public static class OrganizationSearch
{
    public const int DefaultLimit = 20;

    public const int MaxLimit = 200;

    public static Task<OrganizationSearchAnswer> SearchOrganizationsAsync(this Ledger ledger, string? text, DateTimeOffset? knownAt, PageRequest page, CancellationToken ct = default)
    {
        var query = (QueryArguments.Text(text, "q") ?? "").Trim();
        // The text is matched as it is: % and _ are letters here, not patterns.
        var pattern = query.ToLowerInvariant().Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_");
        return ledger.ReadAsync(knownAt, async (c, k, token) =>
        {
            var rows = await Sql.ListAsync(c,
                $"select data::text, count(*) over () from {ProjectionTables.Of("organizations")} o where recorded_at <= $1 and (lower(id) like $2 or lower(name) like $2 " +
                "or exists (select 1 from jsonb_array_elements_text(data->'aliases') a where lower(a) like $2)) " +
                "order by lower(name) like $3 desc, lower(name), id offset $4 limit $5",
                r => (Organization: OrganizationDirectory.FromStored(r.GetString(0)), Total: r.GetInt64(1)), token,
                k, $"%{pattern}%", $"{pattern}%", page.After, page.Limit);
            var total = rows.Count > 0 ? rows[0].Total : await CountAsync(c, k, pattern, token);
            var end = page.After + rows.Count;
            return new OrganizationSearchAnswer(query, Instant.Format(k),
                rows.Select(r => RelationshipsQuery.Profile(r.Organization)).ToList(),
                new ListPage(page.Limit, page.After, total, end < total ? end : null));
        }, ct);
    }

    /// <summary>Matches in all, for a page past the last one (which has no row to carry the count).</summary>
    private static async Task<long> CountAsync(Npgsql.NpgsqlConnection c, DateTimeOffset k, string pattern, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c,
            $"select count(*) from {ProjectionTables.Of("organizations")} where recorded_at <= $1 and (lower(id) like $2 or lower(name) like $2 " +
            "or exists (select 1 from jsonb_array_elements_text(data->'aliases') a where lower(a) like $2))", k, $"%{pattern}%");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
