using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

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

/// <summary>
/// An organization of a graph answer: its profile and, in a neighbourhood, how far it lies from the
/// organization asked about (<paramref name="Hop"/> 0, 1 or 2) and through which one (<paramref name="Via"/>).
/// </summary>
public sealed record GraphOrganization(string Id, string Name, IReadOnlyList<string> Aliases, OrganizationKind Kind, string? Country,
    IReadOnlyDictionary<string, string> Identifiers, int? Hop, string? Via);

/// <summary>
/// Organizations of a neighbourhood left out of the answer, counted by the kind and direction of their
/// strongest tie (as seen from the nearer organization): "312 more holders, none above 1 %".
/// <paramref name="LargestShare"/>: for stakes, the largest upper bound among them.
/// </summary>
public sealed record GraphRest(int Hop, FactType Type, Direction Direction, int Organizations, decimal? LargestShare);

/// <summary>
/// The graph at at/knownAt. Around an organization: it (hop 0), the organizations tied to it (hop 1, a
/// page of them, strongest ties first) and, with hops 2, those tied to the ones on the page, each tie
/// once; <paramref name="Rest"/> counts who was left out, <paramref name="Changes"/> are the days on which the
/// organization's own ties begin or end (where a time control can step). Without one: a page of every
/// organization (in id order) with the ties it is the holder, investor, acquirer or first party of.
/// </summary>
public sealed record GraphAnswer(string At, string KnownAt, string? Around, int? Hops,
    IReadOnlyList<GraphOrganization> Organizations, IReadOnlyList<GraphEdge> Edges,
    IReadOnlyList<GraphRest> Rest, IReadOnlyList<string> Changes, ListPage Page);

/// <summary>
/// What part of the graph to answer. <paramref name="Limit"/>: organizations of the page (the neighbours
/// of hop 1 around an organization — and as many of hop 2 — or the organizations walked without one).
/// </summary>
public sealed record GraphRequest(string? Around = null, int Hops = 1, int Limit = GraphQuery.DefaultLimit, long After = 0)
{
    /// <summary>The request as a query gives it (the API's parameters and the CLI's options, named as the caller spells them).</summary>
    public static GraphRequest Parse(string? around, string? hops, string? limit, string? after,
        string aroundName = "around", string hopsName = "hops", string limitName = "limit", string afterName = "after")
    {
        var page = PageRequest.Parse(limit, after, around is null ? GraphQuery.WholeDefaultLimit : GraphQuery.DefaultLimit, GraphQuery.MaxLimit, limitName, afterName);
        if (around is null)
        {
            return hops is null
                ? new GraphRequest(null, 1, page.Limit, page.After)
                : throw new LedgerException(LedgerErrorKind.InvalidInput, $"{hopsName} needs {aroundName}: hops count from an organization (e.g. {aroundName}=mistral-ai&{hopsName}=2)") { Field = hopsName };
        }
        var n = QueryArguments.Count(hops, hopsName, 1);
        if (n is < 1 or > GraphQuery.MaxHops)
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, $"{hopsName} must be 1 or {GraphQuery.MaxHops}, got {n}") { Field = hopsName };
        }
        return new GraphRequest(QueryArguments.Id(around, aroundName), (int)n, page.Limit, page.After);
    }
}

/// <summary>The relationship graph at at/knownAt (DESIGN §5) for visual front ends, answered a bounded part at a time.</summary>
public static class GraphQuery
{
    /// <summary>Neighbours a page holds when the caller does not say: as many as a drawing can show legibly.</summary>
    public const int DefaultLimit = 50;

    /// <summary>Organizations a page of the whole graph walks when the caller does not say: each costs its ties' lookup.</summary>
    public const int WholeDefaultLimit = 25;

    /// <summary>With hops 2 a page loads the ties of each of its neighbours: this bounds that work too.</summary>
    public const int MaxLimit = 200;

    public const int MaxHops = 2;

    /// <summary>The days a time control can step to, at most: those nearest the day asked.</summary>
    public const int MaxChanges = 400;

    public static Task<GraphAnswer> GraphAsync(this Ledger ledger, DateOnly? at = null, DateTimeOffset? knownAt = null, GraphRequest? request = null, CancellationToken ct = default)
    {
        request ??= new GraphRequest();
        var day = at ?? ledger.Today;
        return ledger.ReadAsync(knownAt, (c, k, token) => request.Around is { } around
            ? NeighbourhoodAsync(c, ledger.Citations, around, request, day, k, token)
            : WholeAsync(c, ledger.Citations, request, day, k, token), ct);
    }

    /// <summary>A page of every organization, in id order, with the ties that start at it: each tie is on exactly one page.</summary>
    private static async Task<GraphAnswer> WholeAsync(NpgsqlConnection c, Citations citations, GraphRequest request, DateOnly day, DateTimeOffset k, CancellationToken ct)
    {
        var table = ProjectionTables.Of("organizations");
        // A record merged into another (as known at k) is no node: its ties are drawn at the organization it is.
        var merged = $"id not in (select duplicate from {ProjectionTables.Of("organization_merges")} where recorded @> $1::timestamptz)";
        var ids = await Sql.ListAsync(c, $"select id from {table} where recorded_at <= $1 and {merged} order by id offset $2 limit $3",
            r => r.GetString(0), ct, k, request.After, request.Limit);
        await using var count = Sql.Command(c, $"select count(*) from {table} where recorded_at <= $1 and {merged}", k);
        var total = (long)(await count.ExecuteScalarAsync(ct))!;
        var merges = await OrganizationMerges.AsKnownAsync(c, k, ct);
        var edges = new Dictionary<string, GraphEdge>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var answer = await RelationshipsQuery.LoadAsync(c, citations, id, day, k, ct, merges: merges);
            // Each tie is seen from both ends: keep it at its outgoing end, or a mutual one at its first party.
            // An inherited tie is drawn at its predecessor, whose tie it is.
            foreach (var r in answer.Relationships.Where(r => r.InheritedFrom is null).Where(r => r.Direction == Direction.Outgoing
                || (r.Direction == Direction.Mutual && r.Counterparties.All(x => string.CompareOrdinal(id, x) < 0))))
            {
                edges.TryAdd(r.Fact, Edge(id, r));
            }
        }
        var hops = ids.Select(id => (id, (int?)null, (string?)null));
        var referenced = edges.Values.SelectMany(e => e.Organizations).Except(ids).Distinct().Select(id => (id, (int?)null, (string?)null));
        var end = request.After + ids.Count;
        return new GraphAnswer(ValidDate.OfDay(day).ToString(), Instant.Format(k), null, null,
            await OrganizationsAsync(c, hops.Concat(referenced), day, k, ct),
            edges.Values.OrderBy(e => e.Fact, StringComparer.Ordinal).ToList(), [], [],
            new ListPage(request.Limit, request.After, total, end < total ? end : null));
    }

    /// <summary>One organization's neighbourhood: a page of its neighbours, strongest tie first, and (hops 2) theirs.</summary>
    private static async Task<GraphAnswer> NeighbourhoodAsync(NpgsqlConnection c, Citations citations, string around, GraphRequest request, DateOnly day, DateTimeOffset k, CancellationToken ct)
    {
        // Around a merged record: around the organization it is, with the ties of every record merged into it.
        var merges = await OrganizationMerges.AsKnownAsync(c, k, ct);
        around = merges.Survivor(around);
        // The ties are ranked and paged as data; only those drawn are put in words (a hub has thousands).
        var (center, ties, dates) = await RelationshipsQuery.TiesAsync(c, around, day, k, ct, "around", merges: merges);
        var first = Neighbours(ties.Select(t => t.Shape));
        var (page, where) = ListPage.Of(first, new PageRequest(request.Limit, request.After));
        var drawn = new Dictionary<string, (int Hop, string? Via)>(StringComparer.Ordinal) { [around] = (0, null) };
        foreach (var n in page)
        {
            drawn[n.Id] = (1, around);
        }
        var edges = new Dictionary<string, GraphEdge>(StringComparer.Ordinal);
        // An inherited tie is drawn at its predecessor, whose tie it is (as the whole graph draws it), when that is drawn too.
        var shown = ties.Where(t => t.Shape.Counterparties.Any(drawn.ContainsKey)).ToList();
        foreach (var r in await RelationshipsQuery.InWordsAsync(c, citations, shown, day, k, null, ct))
        {
            AddEdge(edges, drawn, around, r);
        }
        var rest = Rest(1, first.Where(n => !drawn.ContainsKey(n.Id)));

        if (request.Hops == 2)
        {
            // The second hop grows from the neighbours on this page only: what is drawn stays what was asked for.
            var further = new Dictionary<string, (Neighbour Tie, string Via)>(StringComparer.Ordinal);
            var theirs = new List<(string From, Relationship Tie)>();
            foreach (var n in page)
            {
                var answer = await RelationshipsQuery.LoadAsync(c, citations, n.Id, day, k, ct, merges: merges);
                foreach (var next in Neighbours(answer.Relationships).Where(x => !drawn.ContainsKey(x.Id)))
                {
                    if (!further.TryGetValue(next.Id, out var known) || Strength.Compare(next, known.Tie) < 0)
                    {
                        further[next.Id] = (next, n.Id);
                    }
                }
                theirs.AddRange(answer.Relationships.Select(r => (n.Id, r)));
            }
            var ranked = further.Values.OrderBy(x => x.Tie, Strength).ToList();
            foreach (var (tie, via) in ranked.Take(request.Limit))
            {
                drawn[tie.Id] = (2, via);
            }
            rest = [.. rest, .. Rest(2, ranked.Skip(request.Limit).Select(x => x.Tie))];
            // Ties among what is drawn: between the neighbours too, not only along the hops.
            foreach (var (from, r) in theirs.Where(t => t.Tie.Counterparties.Any(x => x != t.From && drawn.ContainsKey(x))))
            {
                AddEdge(edges, drawn, from, r);
            }
        }
        return new GraphAnswer(center.At, center.KnownAt, around, request.Hops,
            await OrganizationsAsync(c, drawn.Select(d => (d.Key, (int?)d.Value.Hop, d.Value.Via)), day, k, ct),
            edges.Values.OrderBy(e => e.Fact, StringComparer.Ordinal).ToList(), rest,
            Changes(dates, day), where);
    }

    /// <summary>An organization tied to another, by its strongest tie to it; the tie's rank made once (a hub ranks thousands).</summary>
    private sealed record Neighbour(string Id, Relationship Tie)
    {
        public (int, int, decimal, decimal) Standing { get; } = (Tie.Status == TieStatus.InForce ? 0 : 1, Rank(Tie.Type), -(Tie.Share?.Lower ?? 0m), -(Tie.Share?.Upper ?? 0m));
    }

    /// <summary>The organizations these ties reach, each once, strongest tie first.</summary>
    private static List<Neighbour> Neighbours(IEnumerable<Relationship> ties) =>
        ties.SelectMany(r => r.Counterparties.Select(x => new Neighbour(x, r)))
            .GroupBy(n => n.Id, StringComparer.Ordinal)
            .Select(g => g.MinBy(n => n, Strength)!)
            .OrderBy(n => n, Strength).ToList();

    /// <summary>
    /// Which neighbours a bounded drawing shows first: ties in force before uncertain ones; stakes (the
    /// larger first), control and acquisitions before money, seats, partnerships and announcements; then by id.
    /// </summary>
    private static readonly Comparer<Neighbour> Strength = Comparer<Neighbour>.Create((a, b) =>
    {
        var byTie = a.Standing.CompareTo(b.Standing);
        return byTie != 0 ? byTie : string.CompareOrdinal(a.Id, b.Id);
    });

    private static int Rank(FactType type) => type switch
    {
        FactType.Stake => 0,
        FactType.Control => 1,
        FactType.Acquisition => 2,
        FactType.Investment => 3,
        FactType.BoardSeat => 4,
        FactType.Partnership => 5,
        _ => 6,
    };

    private static List<GraphRest> Rest(int hop, IEnumerable<Neighbour> left) =>
        left.GroupBy(n => (n.Tie.Type, n.Tie.Direction))
            .Select(g => new GraphRest(hop, g.Key.Type, g.Key.Direction, g.Count(), g.Key.Type == FactType.Stake ? g.Max(n => n.Tie.Share?.Upper) : null))
            .OrderBy(r => Rank(r.Type)).ThenBy(r => r.Direction).ToList();

    /// <summary>
    /// Draws a tie as <paramref name="org"/> sees it; an inherited one (<see cref="Relationship.InheritedFrom"/>) between the
    /// organizations its fact ties — at its predecessor, and only when that is drawn — never as the successor's own.
    /// </summary>
    private static void AddEdge(Dictionary<string, GraphEdge> edges, IReadOnlyDictionary<string, (int Hop, string? Via)> drawn, string org, Relationship r)
    {
        if (r.InheritedFrom is not { } predecessor)
        {
            edges.TryAdd(r.Fact, Edge(org, r));
        }
        else if (drawn.ContainsKey(predecessor))
        {
            edges.TryAdd(r.Fact, Edge(predecessor, r));
        }
    }

    /// <summary>A tie as <paramref name="org"/> sees it, drawn the same from either end: directed from its holder, mutual in id order.</summary>
    private static GraphEdge Edge(string org, Relationship r)
    {
        IReadOnlyList<string> ends = r.Direction switch
        {
            Direction.Outgoing => [org, .. r.Counterparties],
            Direction.Incoming => [.. r.Counterparties, org],
            _ => r.Counterparties.Append(org).Order(StringComparer.Ordinal).ToList(),
        };
        return new GraphEdge(r.Fact, r.Type, r.Direction != Direction.Mutual, ends, r.Status, r.Share, r.Since, r.StartUnknown, r.Until, r.Confidence, r.Summary);
    }

    /// <summary>The organizations drawn, as named on the day (known at k).</summary>
    private static async Task<List<GraphOrganization>> OrganizationsAsync(NpgsqlConnection c, IEnumerable<(string Id, int? Hop, string? Via)> wanted, DateOnly day, DateTimeOffset k,
        CancellationToken ct)
    {
        var list = wanted.ToList();
        var stored = await DatedNames.RegisteredOnAsync(c, list.Select(w => w.Id), day, k, ct);
        return list.Where(w => stored.ContainsKey(w.Id))
            .Select(w => (Organization: stored[w.Id], w.Hop, w.Via))
            .Select(x => new GraphOrganization(x.Organization.Id, x.Organization.Name, x.Organization.Aliases, x.Organization.Kind,
                x.Organization.Country, x.Organization.Identifiers, x.Hop, x.Via))
            .OrderBy(o => o.Hop ?? 0).ThenBy(o => o.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The days an organization's ties begin or end (its facts as known at k) — where its neighbourhood can change
    /// (a start or an end takes effect on its first day and has surely happened by its last, so both count).
    /// The <see cref="MaxChanges"/> nearest <paramref name="day"/>, in order.
    /// </summary>
    private static List<string> Changes(IEnumerable<(ValidDate From, ValidDate? EndsOn)> dates, DateOnly day)
    {
        var days = new SortedSet<DateOnly>();
        foreach (var (from, ends) in dates)
        {
            days.Add(from.Start);
            days.Add(from.LastDay);
            if (ends is { } end)
            {
                days.Add(end.Start);
                days.Add(end.LastDay);
            }
        }
        var all = days.ToList();
        if (all.Count > MaxChanges)
        {
            var at = all.BinarySearch(day);
            var middle = at < 0 ? ~at : at;
            all = all.GetRange(Math.Clamp(middle - MaxChanges / 2, 0, all.Count - MaxChanges), MaxChanges);
        }
        return all.Select(d => ValidDate.OfDay(d).ToString()).ToList();
    }
}
