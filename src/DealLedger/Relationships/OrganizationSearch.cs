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
                $"select data::text, count(*) over () from {ProjectionTables.Of("organizations")} o where recorded_at <= $1 and {Matches} " +
                "order by lower(name) like $3 desc, lower(name), id offset $4 limit $5",
                r => (Organization: OrganizationDirectory.FromStored(r.GetString(0)), Total: r.GetInt64(1)), token,
                k, $"%{pattern}%", $"{pattern}%", page.After, page.Limit);
            var total = rows.Count > 0 ? rows[0].Total : await CountAsync(c, k, pattern, token);
            var end = page.After + rows.Count;
            // Each as named today, with the names it bore (what a former name matched).
            var dated = await DatedNames.OfAsync(c, rows.Select(r => r.Organization.Id), k, token);
            // A record merged into another is found as itself, saying which organization answers for it.
            var merges = await OrganizationMerges.AsKnownAsync(c, k, token);
            string? Into(string id) => merges.Survivor(id) is var survivor && survivor != id ? survivor : null;
            return new OrganizationSearchAnswer(query, Instant.Format(k),
                rows.Select(r => RelationshipsQuery.Profile(DatedNames.On(r.Organization, dated[r.Organization.Id], ledger.Today))
                    with { Names = DatedNames.Names(dated[r.Organization.Id]), MergedInto = Into(r.Organization.Id) }).ToList(),
                new ListPage(page.Limit, page.After, total, end < total ? end : null));
        }, ct);
    }

    /// <summary>
    /// An organization matches by its id, its registered name or aliases, or any name the facts known at $1 give it (a
    /// former name too), each by the organization's index of names.
    /// </summary>
    private static readonly string Matches =
        "(lower(o.id) like $2 or lower(o.name) like $2 or exists (select 1 from jsonb_array_elements_text(o.data->'aliases') a where lower(a) like $2) " +
        $"or exists (select 1 from {ProjectionTables.Of("fact_versions")} f where f.holder is null and f.subject = o.id and f.type = 'name' and f.recorded @> $1::timestamptz " +
        "and f.state->'retraction' is null and lower(f.state->'current'->>'name') like $2))";

    /// <summary>Matches in all, for a page past the last one (which has no row to carry the count).</summary>
    private static async Task<long> CountAsync(Npgsql.NpgsqlConnection c, DateTimeOffset k, string pattern, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c,
            $"select count(*) from {ProjectionTables.Of("organizations")} o where recorded_at <= $1 and {Matches}", k, $"%{pattern}%");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
