using System.Globalization;
using System.Text;
using DealLedger.Deals;
using DealLedger.Relationships;

namespace DealLedger.Tests;

/// <summary>
/// The graph a bounded part at a time: an organization's neighbourhood (strongest ties first, the rest
/// counted, a second hop bounded too, the days its ties change), pages that hold every neighbour once,
/// and the search where exploring starts.
/// </summary>
public sealed class GraphTests
{
    private static readonly DateOnly Day = new(2024, 6, 1);

    /// <summary>
    /// A hub held by 30 funds (h01 holds 30 %, h02 29 % … h30 1 %), in a partnership with acme; h01 holds
    /// stakes in three companies further out and sits on globex's board; far-1 … far-3 a second hop away.
    /// </summary>
    private static string Hub()
    {
        var s = new StringBuilder("organizations:\n  - { id: hub, name: Hub Company, aliases: [The Hub], kind: company }\n");
        for (var i = 1; i <= 30; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"  - {{ id: h{i:D2}, name: Holder {i:D2} Fund, kind: fund }}\n");
        }
        for (var i = 1; i <= 3; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"  - {{ id: far-{i}, name: Far Away {i} Ltd, kind: company }}\n");
        }
        s.Append("deals:\n  - id: hub-round\n    parties: [hub]\n    facts:\n");
        for (var i = 1; i <= 30; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"      - {{ id: s{i:D2}, type: stake, holder: h{i:D2}, subject: hub, share: {{ exact: {31 - i} }}, valid: {{ from: 2020-0{1 + i % 9}-01 }}, sources: [ {{ source: press, claim: stated }} ] }}\n");
        }
        s.Append("      - { id: hub-acme, type: partnership, parties: [hub, acme], scope: research, valid: { from: 2021-03-15, to: 2025-01 }, sources: [ { source: press, claim: stated } ] }\n");
        for (var i = 1; i <= 3; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"      - {{ id: far-{i}-stake, type: stake, holder: h01, subject: far-{i}, share: {{ exact: {10 * i} }}, valid: {{ from: 2019 }}, sources: [ {{ source: press, claim: stated }} ] }}\n");
        }
        s.Append("      - { id: h01-seat, type: board-seat, holder: h01, subject: globex, valid: { from: 2019 }, sources: [ { source: filing, claim: stated } ] }\n");
        return s.ToString();
    }

    [Fact]
    public async Task a_neighbourhood_shows_the_strongest_ties_first_and_counts_the_rest()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Hub());

        var graph = await s.Ledger.GraphAsync(Day, request: new GraphRequest("hub", Limit: 10));

        Assert.Equal("hub", graph.Around);
        Assert.Equal(["hub"], graph.Organizations.Where(o => o.Hop == 0).Select(o => o.Id));
        // The ten largest stakes, not the first ten ids, and nothing else drawn.
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"h{i:D2}"), graph.Organizations.Where(o => o.Hop == 1).Select(o => o.Id));
        Assert.All(graph.Organizations.Where(o => o.Hop == 1), o => Assert.Equal("hub", o.Via));
        Assert.Equal(10, graph.Edges.Count);
        Assert.All(graph.Edges, e => Assert.Equal(FactType.Stake, e.Type));
        Assert.Contains(graph.Edges, e => e.Fact == "s01" && e.Organizations.SequenceEqual(["h01", "hub"]) && e.Directed && e.Share!.Exact == 30);
        // Left out: 20 holders, none above 20 %, and the partnership with acme.
        Assert.Contains(graph.Rest, r => r is { Hop: 1, Type: FactType.Stake, Direction: Direction.Incoming, Organizations: 20, LargestShare: 20m });
        Assert.Contains(graph.Rest, r => r is { Hop: 1, Type: FactType.Partnership, Direction: Direction.Mutual, Organizations: 1 });
        Assert.Equal(new ListPage(10, 0, 31, 10), graph.Page);
    }

    /// <summary>
    /// A neighbourhood ranks and pages its ties as data and puts only those it draws in words: each must have the words the
    /// organization's relationships give it — names as borne on the day, sources, confidence — whatever else is drawn.
    /// </summary>
    [Fact]
    public async Task each_tie_a_neighbourhood_draws_has_the_words_the_organizations_relationships_give_it()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Hub());
        // A renamed holder, an investment, a holder merged into another (its ties inherited), and a duplicate record.
        await s.ImportAsync(Seeds.Deal("later",
            "- { id: h01-name, type: name, subject: h01, name: Holder One Capital, use: legal, valid: { from: 2022-01-01 }, sources: [ { source: filing, claim: stated } ] }",
            "- { id: ini-hub, type: stake, holder: initech, subject: hub, share: { exact: 12 }, valid: { from: 2021-01-01 }, sources: [ { source: filing, claim: stated } ] }",
            "- { id: ini-inv, type: investment, investor: initech, investee: hub, amount: { value: 15000000, currency: EUR }, valid: { from: 2022-02-26 }, sources: [ { source: wire, claim: stated } ] }",
            "- { id: merger, type: succession, predecessor: initech, successor: h03, form: merged-into, valid: { from: 2023-03-01 }, sources: [ { source: wire, claim: stated } ] }"));
        await s.ImportAsync(Seeds.MergeOf("h30", "h29"));

        var drawn = 0;
        foreach (var org in new[] { "hub", "h01", "h03", "h29", "initech", "acme", "far-1" })
        {
            var ties = (await s.Ledger.RelationshipsAsync(org, Day)).Relationships;
            foreach (var limit in new[] { 3, 200 })
            {
                var graph = await s.Ledger.GraphAsync(Day, request: new GraphRequest(org, Limit: limit));
                Assert.All(graph.Edges, e => Assert.Contains(ties, r => r.Fact == e.Fact && r.Summary == e.Summary && r.Confidence == e.Confidence && r.Status == e.Status));
                drawn += graph.Edges.Count;
            }
        }
        Assert.True(drawn > 40, $"{drawn} ties drawn");
        var hub = await s.Ledger.GraphAsync(Day, request: new GraphRequest("hub", Limit: 200));
        Assert.Contains(hub.Edges, e => e.Summary == "Holder One Capital holds a 30 % stake in Hub Company");
        Assert.Contains(hub.Edges, e => e.Fact == "ini-inv" && e.Summary.StartsWith("Initech invested", StringComparison.Ordinal) && e.Confidence is not null);
    }

    [Fact]
    public async Task the_pages_of_a_neighbourhood_asked_with_its_known_at_hold_every_neighbour_once()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Hub());

        var first = await s.Ledger.GraphAsync(Day, request: new GraphRequest("hub", Limit: 12));
        var knownAt = DateTimeOffset.Parse(first.KnownAt, CultureInfo.InvariantCulture);
        var pages = new List<GraphAnswer> { first };
        while (pages[^1].Page.Next is { } next)
        {
            pages.Add(await s.Ledger.GraphAsync(Day, knownAt, new GraphRequest("hub", Limit: 12, After: next)));
        }

        Assert.Equal(3, pages.Count);
        var neighbours = pages.SelectMany(p => p.Organizations.Where(o => o.Hop == 1).Select(o => o.Id)).ToList();
        Assert.Equal(31, neighbours.Count);
        Assert.Equal(31, neighbours.Distinct().Count());
        Assert.Contains("acme", pages[^1].Organizations.Select(o => o.Id));
        Assert.Equal(31, pages.SelectMany(p => p.Edges).Select(e => e.Fact).Distinct().Count());
        Assert.DoesNotContain(pages[^1].Rest, r => r.Hop == 1 && r.Type == FactType.Partnership);
    }

    [Fact]
    public async Task a_second_hop_grows_from_the_neighbours_shown_and_is_bounded_by_the_same_limit()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Hub());

        var graph = await s.Ledger.GraphAsync(Day, request: new GraphRequest("hub", Hops: 2, Limit: 2));

        Assert.Equal(["h01", "h02"], graph.Organizations.Where(o => o.Hop == 1).Select(o => o.Id));
        // h01's ties reach far-1, far-2, far-3 (stakes, the largest first) and globex (a seat): two are drawn.
        var second = graph.Organizations.Where(o => o.Hop == 2).ToList();
        Assert.Equal(["far-2", "far-3"], second.Select(o => o.Id).Order());
        Assert.All(second, o => Assert.Equal("h01", o.Via));
        Assert.Contains(graph.Edges, e => e.Fact == "far-3-stake");
        Assert.DoesNotContain(graph.Edges, e => e.Fact == "far-1-stake");
        Assert.Contains(graph.Rest, r => r is { Hop: 2, Type: FactType.Stake, Direction: Direction.Outgoing, Organizations: 1, LargestShare: 10m });
        Assert.Contains(graph.Rest, r => r is { Hop: 2, Type: FactType.BoardSeat, Organizations: 1 });
        Assert.Equal(graph.Edges.Count, graph.Edges.Select(e => e.Fact).Distinct().Count());
    }

    [Fact]
    public async Task the_days_an_organizations_ties_begin_or_end_are_where_the_time_control_steps()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Hub());

        var graph = await s.Ledger.GraphAsync(Day, request: new GraphRequest("hub"));

        Assert.Contains("2020-02-01", graph.Changes);
        Assert.Contains("2021-03-15", graph.Changes);
        // The partnership ends in January 2025: uncertain from its first day, over by its last.
        Assert.Contains("2025-01-01", graph.Changes);
        Assert.Contains("2025-01-31", graph.Changes);
        Assert.Equal(graph.Changes.Order(StringComparer.Ordinal), graph.Changes);
        // On the partnership's last day it is no longer drawn; the day before its start neither.
        var after = await s.Ledger.GraphAsync(new DateOnly(2025, 1, 31), request: new GraphRequest("hub"));
        Assert.DoesNotContain(after.Edges, e => e.Fact == "hub-acme");
        Assert.Contains((await s.Ledger.GraphAsync(new DateOnly(2021, 3, 15), request: new GraphRequest("hub"))).Edges, e => e.Fact == "hub-acme");
    }

    [Fact]
    public async Task a_stakes_end_is_a_day_its_ties_change_whether_its_dates_or_an_ending_give_it()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Hub());
        await s.ImportAsync("""
            deals:
              - id: late-round
                parties: [hub]
                facts:
                  - { id: s31, type: stake, holder: h03, subject: hub, share: { exact: 2 }, valid: { from: 2021-05-10, to: 2023-09 }, sources: [ { source: press, claim: stated } ] }
            endings:
              - { fact: s02, on: 2024-06, sources: [ { source: press, claim: stated } ] }
            """);

        var graph = await s.Ledger.GraphAsync(Day, request: new GraphRequest("hub"));

        // s02 started in March 2020 and ended in June 2024; s31 ran from 2021-05-10 until September 2023.
        Assert.Contains("2020-03-01", graph.Changes);
        Assert.Contains("2024-06-01", graph.Changes);
        Assert.Contains("2024-06-30", graph.Changes);
        Assert.Contains("2021-05-10", graph.Changes);
        Assert.Contains("2023-09-01", graph.Changes);
        Assert.Contains("2023-09-30", graph.Changes);
    }

    [Fact]
    public async Task an_organization_registered_after_known_at_has_no_neighbourhood_then()
    {
        await using var s = await Scenario.StartAsync();
        var before = DateTimeOffset.UtcNow;
        await Task.Delay(5);
        await s.ImportAsync(Hub());

        var e = await Assert.ThrowsAsync<LedgerException>(() => s.Ledger.GraphAsync(Day, before, new GraphRequest("hub")));

        Assert.Equal(LedgerErrorKind.NotFound, e.Kind);
        Assert.Equal("around", e.Field);
        Assert.Contains("'hub' was not yet registered as known at", e.Message);
        // Not registered then, or never: the same answer, naming the same argument.
        var unknown = await Assert.ThrowsAsync<LedgerException>(() => s.Ledger.GraphAsync(Day, request: new GraphRequest("nobody")));
        Assert.Equal(LedgerErrorKind.NotFound, unknown.Kind);
        Assert.Equal("around", unknown.Field);
    }

    [Fact]
    public async Task organizations_are_found_by_a_part_of_a_name_an_alias_or_an_id_names_beginning_with_it_first()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Hub());

        var byName = await s.Ledger.SearchOrganizationsAsync("HOLDER 0", null, new PageRequest(5));
        var byAlias = await s.Ledger.SearchOrganizationsAsync("the hub", null, new PageRequest(5));
        var byId = await s.Ledger.SearchOrganizationsAsync("far-2", null, new PageRequest(5));
        var beginning = await s.Ledger.SearchOrganizationsAsync("a", null, new PageRequest(3));
        var literal = await s.Ledger.SearchOrganizationsAsync("%", null, new PageRequest(5));

        Assert.Equal(["h01", "h02", "h03", "h04", "h05"], byName.Organizations.Select(o => o.Id));
        Assert.Equal(new ListPage(5, 0, 9, 5), byName.Page);
        Assert.Equal(["hub"], byAlias.Organizations.Select(o => o.Id));
        Assert.Equal(["far-2"], byId.Organizations.Select(o => o.Id));
        Assert.Equal("acme", beginning.Organizations[0].Id);
        Assert.Empty(literal.Organizations);
    }
}
