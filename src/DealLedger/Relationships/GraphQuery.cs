using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Relationships;

/// <summary>
/// A tie between organizations in the graph: directed (from → to) for stakes, investments,
/// board seats and acquisitions; between all <paramref name="Organizations"/> otherwise.
/// <paramref name="Share"/>: a stake's size (null for other kinds); <paramref name="StartUnknown"/>: in force by <paramref name="Since"/>, start not given.
/// </summary>
public sealed record GraphEdge(
    string Fact,
    FactType Type,
    bool Directed,
    IReadOnlyList<string> Organizations,
    TieStatus Status,
    Share? Share,
    DateWithPrecision? Since,
    bool StartUnknown,
    DateWithPrecision? Until,
    Confidence? Confidence,
    string Summary);

public sealed record GraphAnswer(string At, string KnownAt, IReadOnlyList<OrganizationProfile> Organizations, IReadOnlyList<GraphEdge> Edges);

/// <summary>The whole relationship graph at at/knownAt (DESIGN §5), for visual front ends: every organization's ties, each once.</summary>
public static class GraphQuery
{
    public static Task<GraphAnswer> GraphAsync(this Ledger ledger, DateOnly? at = null, DateTimeOffset? knownAt = null, CancellationToken ct = default) =>
        ledger.ReadAsync(knownAt, async (c, k, token) =>
        {
            var day = at ?? ledger.Today;
            var ids = await Sql.ListAsync(c, $"select id from {ProjectionTables.Of("organizations")} where recorded_at <= $1 order by id",
                r => r.GetString(0), token, k);
            var profiles = new List<OrganizationProfile>();
            var edges = new Dictionary<string, GraphEdge>(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                var answer = await RelationshipsQuery.LoadAsync(c, id, day, k, token);
                profiles.Add(answer.Organization);
                // Each tie is seen from both ends: keep it once, from its outgoing (or first) end.
                foreach (var r in answer.Relationships.Where(r => r.Direction != Direction.Incoming))
                {
                    edges.TryAdd(r.Fact, new GraphEdge(r.Fact, r.Type, r.Direction == Direction.Outgoing, [id, .. r.Counterparties],
                        r.Status, r.Share, r.Since, r.StartUnknown, r.Until, r.Confidence, r.Summary));
                }
            }
            return new GraphAnswer(ValidDate.OfDay(day).ToString(), Instant.Format(k), profiles,
                edges.Values.OrderBy(e => e.Fact, StringComparer.Ordinal).ToList());
        }, ct);
}
