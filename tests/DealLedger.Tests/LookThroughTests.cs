using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Ownership;
using DealLedger.Relationships;
using DealLedger.Storage;

namespace DealLedger.Tests;

/// <summary>
/// Look-through ownership over stored holdings (DESIGN §11): a group structure — a state holds a holding company,
/// which holds 60 % of an operating company, which holds a small minority stake in the target; two funds hold each
/// other and one of them 10 % of the target; a partner controls the holding company by voting rights — asked at two
/// dates and two moments of knowledge.
/// </summary>
public sealed class LookThroughTests
{
    private static readonly DateOnly Day = new(2024, 6, 1);

    private const string Group = """
        organizations:
          - { id: state, name: The State, kind: government }
          - { id: holdco, name: Holding Company, kind: company }
          - { id: opco, name: Operating Company, kind: company }
          - { id: target, name: Target Ltd, kind: company }
          - { id: partner, name: Partner Fund, kind: fund }
          - { id: early, name: Early Investor, kind: fund }
        deals:
          - id: group
            parties: [state, holdco, opco, target]
            facts:
              - { id: state-holdco, type: stake, holder: state, subject: holdco, share: { exact: 100 }, valid: { from: 2015-01-01 }, sources: [ { source: filing, claim: stated } ] }
              - { id: holdco-opco, type: stake, holder: holdco, subject: opco, share: { exact: 60 }, valid: { from: 2016-01-01 }, sources: [ { source: filing, claim: stated } ] }
              - { id: opco-target, type: stake, holder: opco, subject: target, share: { min: 0, max: 50, minInclusive: false, maxInclusive: false, wording: small minority stake }, valid: { from: 2023-02 }, sources: [ { source: press, claim: stated } ] }
              - { id: early-target, type: stake, holder: early, subject: target, share: { exact: 10 }, valid: { from: 2018-01-01, to: 2022-01-01 }, sources: [ { source: press, claim: stated } ] }
              - { id: partner-votes, type: control, holder: partner, subject: holdco, means: voting rights, valid: { from: 2019-01-01 }, sources: [ { source: filing, claim: stated } ] }
        """;

    /// <summary>Learned later: two funds that hold a fifth of each other, one of them 10 % of the target.</summary>
    private const string CrossHolding = """
        organizations:
          - { id: fund-x, name: Fund X, kind: fund }
          - { id: fund-y, name: Fund Y, kind: fund }
        deals:
          - id: cross
            parties: [fund-x, fund-y]
            facts:
              - { id: x-y, type: stake, holder: fund-x, subject: fund-y, share: { exact: 20 }, valid: { from: 2020-01-01 }, sources: [ { source: wire, claim: stated } ] }
              - { id: y-x, type: stake, holder: fund-y, subject: fund-x, share: { exact: 20 }, valid: { from: 2020-01-01 }, sources: [ { source: wire, claim: stated } ] }
              - { id: y-target, type: stake, holder: fund-y, subject: target, share: { exact: 10 }, valid: { from: 2020-01-01 }, sources: [ { source: wire, claim: stated } ] }
        """;

    private static ChainedStake Owner(LookThroughAnswer a, string id) => Assert.Single(a.Owners!, o => o.Owner == id);

    /// <summary>Issue 19, item 5: a chain that stops where owners are not disclosed says so, and why, for every organization reached.</summary>
    [Fact]
    public async Task look_through_tells_where_chains_stop_because_owners_are_not_disclosed()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Group);
        await s.ImportAsync("""
            deals:
              - id: registers
                parties: [state, opco]
                facts:
                  - { id: state-listed, type: owners-undisclosed, subject: state, reason: no-controller, valid: { from: 2010 }, sources: [ { source: filing, claim: stated } ] }
                  - { id: opco-minority, type: owners-undisclosed, subject: opco, reason: register-not-public, details: the other 40 %, valid: { from: 2016-01-01, to: 2020-01-01 }, sources: [ { source: press, claim: stated } ] }
            """);

        var a = await s.Ledger.OwnersThroughAsync("target", Day, null, new LookThroughRequest());
        var along = Assert.Single(a.Undisclosed);
        Assert.Equal(("state", "The State"), (along.Organization, along.Name));
        Assert.Equal(UndisclosedReason.NoController, Assert.Single(along.Statements).Reason);
        // The organization asked about counts too: opco's own, in force in 2018; a depth that stops before the state does not reach it.
        var earlier = await s.Ledger.OwnersThroughAsync("opco", new DateOnly(2018, 6, 1), null, new LookThroughRequest());
        Assert.Equal(["opco", "state"], earlier.Undisclosed.Select(u => u.Organization));
        Assert.Equal("the other 40 %", earlier.Undisclosed[0].Statements[0].Details);
        Assert.Empty((await s.Ledger.OwnersThroughAsync("target", Day, null, new LookThroughRequest(Depth: 1))).Undisclosed);
    }

    [Fact]
    public async Task owners_through_chains_multiply_their_shares_and_keep_ranges_with_every_chain_explained()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Group);
        await s.ImportAsync(CrossHolding);

        var a = await s.Ledger.OwnersThroughAsync("target", Day, null, new LookThroughRequest(Threshold: 25m));

        // Strongest first: by the lower bound, then the upper.
        Assert.Equal(["fund-y", "fund-x", "opco", "holdco", "state"], a.Owners!.Select(o => o.Owner));
        // The operating company: its small minority stake, direct. The holding company and the state: 60 % of it.
        var opco = Owner(a, "opco");
        Assert.Equal(Share.Range(0m, false, 50m, false), opco.Share);
        Assert.Equal("small minority stake", opco.Direct!.Wording);
        Assert.False(opco.Ultimate);
        Assert.Equal(ThresholdSide.Possibly, opco.Threshold);
        var state = Owner(a, "state");
        Assert.Equal(Share.Range(0m, false, 30m, false), state.Share);
        Assert.Null(state.Direct);
        Assert.True(state.Ultimate);
        var chain = Assert.Single(state.Paths);
        Assert.Equal(["holdco", "opco"], chain.Via);
        Assert.Equal(["state-holdco", "holdco-opco", "opco-target"], chain.Edges.Select(e => e.Fact));
        Assert.Equal(["filing", "filing", "press"], chain.Edges.Select(e => e.Sources.Single().Id));
        Assert.Equal(Share.OfExact(60m), chain.Edges[1].Share);
        // The cross-holding: named, and its shares summed to the limit: y 10 % / (1 − 4 %), x a fifth of that.
        Assert.Equal(["fund-x", "fund-y"], Assert.Single(a.Cycles).Organizations);
        Assert.Equal(Share.OfExact(10.416667m), Owner(a, "fund-y").Share);
        Assert.Equal(Share.OfExact(2.083333m), Owner(a, "fund-x").Share);
        Assert.Equal(ThresholdSide.Below, Owner(a, "fund-y").Threshold);
        Assert.False(Owner(a, "fund-x").Ultimate);
        // Unaccounted capital, of the organizations on the chains: the target's known owners hold at least 10 %, the operating company's 60 %, fund Y's 20 %; the holding company is all accounted for.
        Assert.Equal(["fund-y", "opco", "target"], a.Unaccounted.Select(u => u.Organization));
        Assert.Equal(10m, a.Unaccounted.Single(u => u.Organization == "target").Known.Min);
        Assert.True(state.Unaccounted);
        Assert.True(a.AllChainsCounted);
        // Control passes to the target through no one: the operating company holds no majority of it.
        Assert.Empty(a.Control);
    }

    [Fact]
    public async Task control_is_listed_apart_where_it_passes_through_a_majority_held_intermediary()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Group);

        var a = await s.Ledger.OwnersThroughAsync("opco", Day, null, new LookThroughRequest());

        var partner = Assert.Single(a.Control);
        Assert.Equal("partner", partner.Organization);
        var path = Assert.Single(partner.Paths);
        Assert.Equal(["holdco"], path.Via);
        Assert.Equal([(FactType.Control, "partner-votes"), (FactType.Stake, "holdco-opco")], path.Edges.Select(e => (e.Kind, e.Fact)));
        Assert.Equal("voting rights", path.Edges[0].Means);
        // Control is not ownership: the partner holds no share of opco.
        Assert.DoesNotContain(a.Owners!, o => o.Owner == "partner");
    }

    [Fact]
    public async Task the_same_structure_at_two_dates_and_two_moments_of_knowledge_answers_as_the_timelines_imply()
    {
        await using var s = await Scenario.StartAsync();
        var first = await s.ImportAsync(Group);
        await s.ImportAsync(CrossHolding);

        string[] Owners(LookThroughAnswer a) => [.. a.Owners!.Select(o => o.Owner!).Order()];

        // Before the cross-holding was recorded: only the group's chain in 2024.
        Assert.Equal(["holdco", "opco", "state"], Owners(await s.Ledger.OwnersThroughAsync("target", Day, first.RecordedAt, new LookThroughRequest())));
        // In 2021 the operating company held nothing of the target yet; the early investor held 10 %, and the funds 10 % (as known now).
        var in2021 = await s.Ledger.OwnersThroughAsync("target", new DateOnly(2021, 6, 1), null, new LookThroughRequest());
        Assert.Equal(["early", "fund-x", "fund-y"], Owners(in2021));
        Assert.Equal(Share.OfExact(10m), Owner(in2021, "early").Share);
        Assert.True(Owner(in2021, "early").Ultimate);
        Assert.Equal(["early"], Owners(await s.Ledger.OwnersThroughAsync("target", new DateOnly(2021, 6, 1), first.RecordedAt, new LookThroughRequest())));
        // In February 2023 the stake was acquired on a day the month does not tell: uncertain, so counted from 0 — still a range below 50 %.
        var feb = await s.Ledger.OwnersThroughAsync("target", new DateOnly(2023, 2, 10), first.RecordedAt, new LookThroughRequest());
        Assert.Equal(Share.Range(0m, true, 50m, false), Owner(feb, "opco").Share);
        Assert.Equal(HoldingStatus.Uncertain, Assert.Single(Owner(feb, "opco").Paths).Edges[0].Status);
    }

    [Fact]
    public async Task holdings_through_chains_are_the_portfolio_in_the_same_shape()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Group);

        var a = await s.Ledger.HoldingsThroughAsync("state", Day, null, new LookThroughRequest());

        Assert.Null(a.Owners);
        Assert.Equal(["holdco", "opco", "target"], a.Holdings!.Select(h => h.Subject));
        Assert.Equal(Share.OfExact(100m), a.Holdings![0].Share);
        Assert.Equal(Share.OfExact(100m), a.Holdings![0].Direct);
        Assert.Equal(Share.OfExact(60m), a.Holdings![1].Share);
        Assert.Equal(Share.Range(0m, false, 30m, false), a.Holdings![2].Share);
        Assert.All(a.Holdings!, h => Assert.Null(h.Ultimate));
        Assert.Equal(["holdco", "opco"], a.Holdings![2].Paths.Single().Via);
        // Depth 1: direct stakes only.
        Assert.Equal(["holdco"], (await s.Ledger.HoldingsThroughAsync("state", Day, null, new LookThroughRequest(Depth: 1))).Holdings!.Select(h => h.Subject));
        // The partner holds no stake: it controls the holding company by its voting rights, listed apart.
        var control = await s.Ledger.HoldingsThroughAsync("partner", Day, null, new LookThroughRequest());
        Assert.Empty(control.Holdings!);
        Assert.Equal(["holdco"], control.Control.Select(c => c.Organization));
    }

    /// <summary>
    /// Stated indirect stakes (as BODS's indirect interests import) into the operating company: the state's 60 % is what
    /// its chain through the holding company gives (its direct 10 % left out), 75 % or more is not; the partner's chain is
    /// one of control, of unstated share; the early investor has no chain at all.
    /// </summary>
    private const string Stated = """
        deals:
          - id: stated
            parties: [state, opco]
            facts:
              - { id: state-opco, type: stake, holder: state, subject: opco, share: { exact: 10 }, valid: { from: 2016-01-01 }, sources: [ { source: filing, claim: stated } ] }
              - { id: state-opco-said, type: indirect-stake, holder: state, subject: opco, share: { exact: 60 }, valid: { from: 2016-01-01 }, sources: [ { source: wire, claim: stated } ] }
              - { id: state-opco-more, type: indirect-stake, holder: state, subject: opco, share: { min: 75, max: 100 }, valid: { from: 2016-01-01 }, sources: [ { source: wire, claim: stated } ] }
              - { id: partner-opco-said, type: indirect-stake, holder: partner, subject: opco, share: { exact: 60 }, valid: { from: 2020-01-01 }, sources: [ { source: wire, claim: stated } ] }
              - { id: early-opco-said, type: indirect-stake, holder: early, subject: opco, share: { exact: 5 }, valid: { from: 2016-01-01 }, sources: [ { source: wire, claim: stated } ] }
              - { id: partner-holdco-said, type: indirect-stake, holder: partner, subject: holdco, share: { exact: 80 }, valid: { from: 2020-01-01 }, sources: [ { source: wire, claim: stated } ] }
        """;

    [Fact]
    public async Task stated_indirect_stakes_are_set_against_the_chains_and_never_added_to_them()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Group);
        var before = await s.Ledger.OwnersThroughAsync("opco", Day, null, new LookThroughRequest());
        Assert.Empty(before.Stated);
        await s.ImportAsync(Stated);

        var a = await s.Ledger.OwnersThroughAsync("opco", Day, null, new LookThroughRequest());

        // The claims change no share: the state holds 10 % directly and 60 % through the holding company, 70 % in all.
        Assert.Equal(Share.OfExact(70m), Owner(a, "state").Share);
        Assert.Equal(Share.OfExact(10m), Owner(a, "state").Direct);
        Assert.DoesNotContain(a.Owners!, o => o.Owner is "partner" or "early");
        Assert.Equal(Share.OfExact(10m), (await s.Ledger.HoldingAsync("state", "opco", Day)).Share);
        // Flagged first: what no chain allows.
        Assert.Equal([("early-opco-said", (bool?)false), ("state-opco-more", false), ("partner-opco-said", true), ("state-opco-said", true)],
            a.Stated.Select(x => (x.Fact, x.Allowed)));
        var said = a.Stated.Single(x => x.Fact == "state-opco-said");
        Assert.Equal(Share.OfExact(60m), said.Computed);
        Assert.Equal("The State", said.Name);
        Assert.Equal("wire", Assert.Single(said.Sources).Id);
        Assert.Equal(TieStatus.InForce, said.Status);
        Assert.Null(a.Stated.Single(x => x.Fact == "early-opco-said").Computed);
        var partner = a.Stated.Single(x => x.Fact == "partner-opco-said");
        Assert.Null(partner.Computed);
        Assert.True(partner.Control);
        // Before the partner's claim begins it is not in force, so not listed.
        Assert.DoesNotContain((await s.Ledger.OwnersThroughAsync("opco", new DateOnly(2019, 6, 1), null, new LookThroughRequest())).Stated, x => x.Fact == "partner-opco-said");
        // The holdings direction: the state's claims about what it holds through chains.
        var held = await s.Ledger.HoldingsThroughAsync("state", Day, null, new LookThroughRequest());
        Assert.Equal([("state-opco-more", (bool?)false), ("state-opco-said", true)], held.Stated.Select(x => (x.Fact, x.Allowed)));
        Assert.Equal("Operating Company", held.Stated[0].Name);
        // The partner's voting rights over the holding company are a control fact straight to it: no chain through
        // anyone, so they allow no indirect share of it.
        var holdco = Assert.Single((await s.Ledger.OwnersThroughAsync("holdco", Day, null, new LookThroughRequest())).Stated);
        Assert.Equal(("partner-holdco-said", false, (bool?)false), (holdco.Fact, holdco.Control, holdco.Allowed));
        // Within one stake, no chain through an intermediary is followed: the state's claims are not judged, not refused.
        var shallow = await s.Ledger.OwnersThroughAsync("opco", Day, null, new LookThroughRequest(Depth: 1));
        Assert.Null(shallow.Stated.Single(x => x.Fact == "state-opco-said").Allowed);
        Assert.Null(shallow.Stated.Single(x => x.Fact == "state-opco-more").Allowed);
    }

    [Fact]
    public async Task a_stated_share_equal_to_the_one_the_chains_give_as_shown_is_allowed()
    {
        await using var s = await Scenario.StartAsync();
        // A third of a third of a third: 3.6926037 %, shown as 3.692604 %.
        await s.ImportAsync("""
            organizations:
              - { id: p1, name: P1, kind: company }
              - { id: p2, name: P2, kind: company }
              - { id: p3, name: P3, kind: company }
              - { id: p4, name: P4, kind: company }
            deals:
              - id: thirds
                parties: [p1, p4]
                facts:
                  - { id: p1-p2, type: stake, holder: p1, subject: p2, share: { exact: 33.3 }, valid: { from: 2020-01-01 }, sources: [ { source: filing, claim: stated } ] }
                  - { id: p2-p3, type: stake, holder: p2, subject: p3, share: { exact: 33.3 }, valid: { from: 2020-01-01 }, sources: [ { source: filing, claim: stated } ] }
                  - { id: p3-p4, type: stake, holder: p3, subject: p4, share: { exact: 33.3 }, valid: { from: 2020-01-01 }, sources: [ { source: filing, claim: stated } ] }
                  - { id: p1-p4-said, type: indirect-stake, holder: p1, subject: p4, share: { exact: 3.692604 }, valid: { from: 2020-01-01 }, sources: [ { source: wire, claim: stated } ] }
            """);

        var stated = Assert.Single((await s.Ledger.OwnersThroughAsync("p4", Day, null, new LookThroughRequest())).Stated);

        Assert.Equal(Share.OfExact(3.692604m), stated.Computed);
        Assert.True(stated.Allowed);
    }

    [Theory]
    [InlineData(false, "3", null, "depth", "depth needs through")]
    [InlineData(false, null, "25", "threshold", "threshold needs through")]
    [InlineData(true, "0", null, "depth", "depth must be between 1 and 20 stakes, got 0")]
    [InlineData(true, "21", null, "depth", "between 1 and 20")]
    [InlineData(true, "ten", null, "depth", "is not a whole number")]
    [InlineData(true, null, "0", "threshold", "threshold '0' is not a percentage above 0 and at most 100")]
    [InlineData(true, null, "100.5", "threshold", "is not a percentage")]
    [InlineData(true, null, "25%", "threshold", "is not a percentage")]
    public void depth_and_threshold_out_of_range_are_refused_naming_them(bool through, string? depth, string? threshold, string field, string says)
    {
        var e = Assert.Throws<LedgerException>(() => LookThroughRequest.Parse(through, depth, threshold));
        Assert.Equal(LedgerErrorKind.InvalidInput, e.Kind);
        Assert.Equal(field, e.Field);
        Assert.Contains(says, e.Message);
    }

    /// <summary>
    /// A replay keeps each ledger's look-through reads across its organizations (<see cref="LookThroughReads"/>): every
    /// organization's answer read through them, one after another, is the answer read alone, to the byte.
    /// </summary>
    [Fact]
    public async Task look_through_reads_kept_across_organizations_give_each_the_answer_it_has_alone()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Group);
        await s.ImportAsync(CrossHolding);
        await s.ImportAsync(Stated);
        var k = await s.Ledger.ReadAsync(null, (_, resolved, _) => Task.FromResult(resolved));
        var kept = new LookThroughReads(k, Day);

        foreach (var org in new[] { "target", "opco", "holdco", "state", "fund-x", "fund-y", "partner", "early", "target" })
        {
            var alone = await s.Ledger.OwnersThroughAsync(org, Day, k, new LookThroughRequest());
            var through = await s.Ledger.OwnersThroughAsync(org, Day, k, new LookThroughRequest(), kept, default);
            Assert.Equal(LedgerJson.Serialize(alone), LedgerJson.Serialize(through));
        }
        Assert.NotEmpty((await s.Ledger.OwnersThroughAsync("target", Day, k, new LookThroughRequest(), kept, default)).Owners!);
    }

    [Fact]
    public async Task an_unknown_organization_is_not_found()
    {
        await using var s = await Scenario.StartAsync();

        var e = await Assert.ThrowsAsync<LedgerException>(() => s.Ledger.OwnersThroughAsync("nobody", Day, null, new LookThroughRequest()));
        Assert.Equal(LedgerErrorKind.NotFound, e.Kind);
        Assert.Equal(LedgerErrorKind.NotFound, (await Assert.ThrowsAsync<LedgerException>(() => s.Ledger.HoldingsThroughAsync("nobody", Day, null, new LookThroughRequest()))).Kind);
    }

    /// <summary>
    /// Owners and look-through read a level of organizations in one statement, run again and again, so PostgreSQL soon
    /// plans it once for any parameters (a generic plan). Such a plan must still find each organization's open segments
    /// by their btree alone: one that also scanned a GiST index over the whole valid-time axis for each organization
    /// took 18 s a level on the 100k bench ledger, and a replay's look-through comparisons hours.
    /// </summary>
    [Theory]
    [InlineData("subject")]
    [InlineData("holder")]
    public async Task a_level_read_as_known_now_never_scans_a_valid_time_index_even_in_a_generic_plan(string side)
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await using var c = await ledger.Database.OpenConnectionAsync();
        // Enough open segments (20,000 of 400 holders and 500 subjects) for the planner to weigh its indexes; what they say does not matter here.
        await Sql.ExecAsync(c,
            $"insert into {ProjectionTables.Of("holding_segments")} (holder, subject, valid, recorded, status, sequence, finding) " +
            "select 'h' || (g % 400), 's' || (g % 500), daterange('1990-01-01'::date + (g % 37) * 300, '1990-01-01'::date + (g % 37) * 300 + 300), " +
            "tstzrange(now() - interval '1 day', null), 'held', g, '{}'::json from generate_series(1, 20000) g; " +
            $"analyze {ProjectionTables.Of("holding_segments")}", default);
        await Sql.ExecAsync(c, $"set plan_cache_mode = force_generic_plan; prepare level(text[], timestamptz, date) as {HoldingQuery.HeldSql(side == "subject" ? HoldingQuery.Side.Subject : HoldingQuery.Side.Holder)}", default);

        // EXPLAIN takes no bound parameters: the organizations are written in.
        var plan = await Sql.ScalarAsync<string>(c, $"explain (analyze, format json) execute level('{{{side[0]}1,{side[0]}2,{side[0]}3}}', now(), '2000-01-01')", default);

        var scanned = Nodes(System.Text.Json.JsonDocument.Parse(plan!).RootElement[0].GetProperty("Plan"))
            .Where(n => n.TryGetProperty("Index Name", out var index) && index.GetString() is "ix_holding_segments_subject" or "ix_holding_segments_pair"
                && n.GetProperty("Actual Loops").GetInt64() > 0)
            .ToList();
        Assert.True(scanned.Count == 0, $"the generic plan scanned a GiST index: {plan}");
    }

    private static IEnumerable<System.Text.Json.JsonElement> Nodes(System.Text.Json.JsonElement node) =>
        node.TryGetProperty("Plans", out var children) ? children.EnumerateArray().SelectMany(Nodes).Prepend(node) : [node];
}
