using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;
using static DealLedger.Tests.Seeds;

namespace DealLedger.Tests;

/// <summary>Ties of every kind at at/knownAt, incoming and outgoing.</summary>
public sealed class RelationshipsTests
{
    private const string Ties = """
        - { id: seat, type: board-seat, holder: acme, subject: globex, role: observer, valid: { from: 2021-05-10 }, sources: [ { source: filing, claim: stated } ] }
        - { id: buy, type: acquisition, acquirer: globex, target: initech, amount: { value: 1.5, currency: USD }, valid: { from: 2022-01-01 }, sources: [ { source: wire, claim: stated } ] }
        - { id: rnd, type: partnership, parties: [acme, globex, initech], scope: joint research, valid: { from: 2020, to: 2023-07 }, sources: [ { source: press, claim: stated } ] }
        - { id: intent, type: announcement, parties: [acme], title: expansion plan, valid: { by: 2022 }, sources: [ { source: acme-release, claim: claimed } ] }
        """;

    [Fact]
    public async Task every_kind_of_tie_appears_with_its_direction()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Ties));

        var acme = await s.Ledger.RelationshipsAsync("acme", new DateOnly(2022, 6, 1));
        var globex = await s.Ledger.RelationshipsAsync("globex", new DateOnly(2022, 6, 1));

        Assert.Contains(acme.Relationships, r => r.Fact == "seat" && r.Direction == Direction.Outgoing && r.Counterparties.SequenceEqual(["globex"]) && r.Status == TieStatus.InForce);
        Assert.Contains(globex.Relationships, r => r.Fact == "seat" && r.Direction == Direction.Incoming);
        Assert.Contains(globex.Relationships, r => r.Fact == "buy" && r.Direction == Direction.Outgoing && r.Summary.Contains("1.5 USD"));
        Assert.Contains(acme.Relationships, r => r.Fact == "rnd" && r.Direction == Direction.Mutual && r.Counterparties.SequenceEqual(["globex", "initech"]));
        Assert.Contains(acme.Relationships, r => r.Fact == "intent" && r.Type == FactType.Announcement && r.StartUnknown && r.Confidence == Sources.Confidence.Claimed);
    }

    private const string Undisclosed =
        "- { id: hidden, type: owners-undisclosed, subject: globex, reason: register-not-public, details: the rest of the shares, valid: { from: 2022-03 }, sources: [ { source: filing, claim: stated } ] }\n";

    /// <summary>Issue 19, item 5: where a chain of ownership stops, and why — beside the owners that are known, on both time axes.</summary>
    [Fact]
    public async Task owners_not_disclosed_are_told_with_their_reason_beside_the_known_owners_and_follow_corrections_and_retractions()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("st", "{ exact: 10 }", "{ from: 2021 }"), Undisclosed));
        var page = new PageRequest(OwnersPaging.DefaultLimit);

        var before = await s.Ledger.OwnersAsync("globex", new DateOnly(2022, 2, 1), null, page);
        Assert.Empty(before.Undisclosed);
        var unsure = await s.Ledger.OwnersAsync("globex", new DateOnly(2022, 3, 15), null, page);
        Assert.Equal(TieStatus.Uncertain, Assert.Single(unsure.Undisclosed).Status);
        var owners = await s.Ledger.OwnersAsync("globex", new DateOnly(2023, 1, 1), null, page);
        Assert.Equal("acme", Assert.Single(owners.Owners).Holder);
        var hidden = Assert.Single(owners.Undisclosed);
        Assert.Equal(("hidden", UndisclosedReason.RegisterNotPublic, TieStatus.InForce, "the rest of the shares"), (hidden.Fact, hidden.Reason, hidden.Status, hidden.Details));
        Assert.Equal("the register that holds them is not public", hidden.Explanation);
        Assert.Equal(["filing"], hidden.Sources.Select(x => x.Id));
        // As a tie of globex with no counterparty, in words.
        var tie = Assert.Single((await s.Ledger.RelationshipsAsync("globex", new DateOnly(2023, 1, 1))).Relationships, r => r.Type == FactType.OwnersUndisclosed);
        Assert.Equal(("hidden", Direction.Mutual, 0), (tie.Fact, tie.Direction, tie.Counterparties.Count));
        Assert.Equal("The owners of Globex are not disclosed: the register that holds them is not public (the rest of the shares)", tie.Summary);
        // Only globex's: acme's owners say nothing of it.
        Assert.Empty((await s.Ledger.OwnersAsync("acme", new DateOnly(2023, 1, 1), null, page)).Undisclosed);

        var corrected = await s.ImportAsync("corrections:\n  - { fact: hidden, set: { reason: exempt }, reason: the register says it is exempt, sources: [ { source: filing, claim: stated } ] }\n");
        var now = await s.Ledger.OwnersAsync("globex", new DateOnly(2023, 1, 1), null, page);
        Assert.Equal((UndisclosedReason.Exempt, "the rest of the shares"), (Assert.Single(now.Undisclosed).Reason, now.Undisclosed[0].Details));
        var then = await s.Ledger.OwnersAsync("globex", new DateOnly(2023, 1, 1), corrected.RecordedAt!.Value.AddTicks(-10), page);
        Assert.Equal(UndisclosedReason.RegisterNotPublic, Assert.Single(then.Undisclosed).Reason);

        await s.ImportAsync("retractions:\n  - { fact: hidden, reason: the filing was misread, sources: [ { source: filing, claim: stated } ] }\n");
        Assert.Empty((await s.Ledger.OwnersAsync("globex", new DateOnly(2023, 1, 1), null, page)).Undisclosed);
    }

    [Theory]
    [InlineData("reason: secret", "reason")]
    [InlineData("holder: acme", "holder")]
    public async Task an_owners_undisclosed_fact_with_a_bad_field_is_refused_and_nothing_is_stored(string field, string named)
    {
        await using var s = await Scenario.StartAsync();
        var bad = Undisclosed.Replace("reason: register-not-public", field, StringComparison.Ordinal);
        var e = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(Deal("d1", bad)));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Empty((await s.Ledger.RelationshipsAsync("globex", new DateOnly(2023, 1, 1))).Relationships);
        // A reason is a correction of this kind only.
        await s.ImportAsync(Deal("d2", Stake("st", "{ exact: 10 }", "{ from: 2021 }")));
        var wrong = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync("corrections:\n  - { fact: st, set: { reason: exempt }, reason: misread, sources: [ { source: press, claim: stated } ] }\n"));
        Assert.Contains("reason", wrong.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// One rule for imprecise dates, stakes and other ties alike: a start or an end takes effect on its
    /// day and has surely happened by the last day its date can mean; before that the ledger cannot tell.
    /// </summary>
    [Theory]
    [InlineData("2024-02", "2025-06")]
    [InlineData("2024", "2025-06-15")]
    [InlineData("2024-02-10", "2025")]
    public async Task a_tie_is_in_force_on_exactly_the_days_a_stake_with_the_same_dates_is_held(string from, string to)
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("st", "{ exact: 10 }", $"{{ from: {from} }}", "[ { source: press, claim: stated } ]"),
            $"- {{ id: seat, type: board-seat, holder: acme, subject: globex, valid: {{ from: {from} }}, sources: [ {{ source: filing, claim: stated }} ] }}\n"));
        await s.ImportAsync($$"""
            endings:
              - { fact: st, on: {{to}}, sources: [ { source: press, claim: stated } ] }
              - { fact: seat, on: {{to}}, sources: [ { source: filing, claim: stated } ] }
            """);
        var start = Time.ValidDate.Parse(from);
        var end = Time.ValidDate.Parse(to);
        var days = new[] { start.Start, start.LastDay, end.Start, end.LastDay }
            .SelectMany(d => new[] { d.AddDays(-1), d, d.AddDays(1) }).Distinct().Order();
        foreach (var day in days)
        {
            var ties = (await s.Ledger.RelationshipsAsync("acme", day)).Relationships;
            var stake = ties.SingleOrDefault(r => r.Type == FactType.Stake)?.Status;
            var seat = ties.SingleOrDefault(r => r.Fact == "seat")?.Status;
            Assert.True(stake == seat, $"on {day}: the stake is {stake?.ToString() ?? "not held"}, the board seat {seat?.ToString() ?? "not in force"}");
        }
        Assert.Equal(TieStatus.InForce, (await s.Ledger.RelationshipsAsync("acme", start.LastDay)).Relationships.Single(r => r.Fact == "seat").Status);
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("acme", end.LastDay)).Relationships, r => r.Fact == "seat");
    }

    [Fact]
    public async Task graph_edges_carry_a_stakes_share_and_answers_cite_a_sources_link()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync("""
            sources:
              - { id: acme-report, title: Acme annual report, kind: self-declaration, url: "https://example.org/acme/2024" }
            """);
        await s.ImportAsync(Deal("d1",
            Stake("st", "{ exact: 12.5, wording: minority stake }", "{ from: 2024-03 }", "[ { source: acme-report, claim: stated }, { source: press, claim: stated } ]"),
            "- { id: intent, type: announcement, parties: [acme], title: expansion plan, valid: { by: 2022 }, sources: [ { source: press, claim: stated } ] }\n"));

        var graph = await s.Ledger.GraphAsync(new DateOnly(2024, 6, 1));
        var stake = graph.Edges.Single(e => e.Fact == "st");
        Assert.Equal(12.5m, stake.Share?.Exact);
        Assert.Equal("minority stake", stake.Share?.Wording);
        Assert.False(stake.StartUnknown);
        var intent = graph.Edges.Single(e => e.Fact == "intent");
        Assert.Null(intent.Share);
        Assert.True(intent.StartUnknown);

        var answer = await s.AtAsync("2024-06-01");
        Assert.Equal("https://example.org/acme/2024", answer.Sources.Single(x => x.Id == "acme-report").Url);
        // A source without a link is cited in exactly the shape of DESIGN §4: no 'url' field at all.
        var json = System.Text.Json.JsonDocument.Parse(Storage.LedgerJson.Serialize(answer)).RootElement.GetProperty("sources");
        var press = json.EnumerateArray().Single(x => x.GetProperty("id").GetString() == "press");
        Assert.Equal(["id", "title", "publisher", "published", "kind"], press.EnumerateObject().Select(p => p.Name));
        var report = json.EnumerateArray().Single(x => x.GetProperty("id").GetString() == "acme-report");
        Assert.Equal("https://example.org/acme/2024", report.GetProperty("url").GetString());
    }

    [Fact]
    public async Task ties_follow_their_valid_periods_and_imprecise_ends()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Ties));

        async Task<TieStatus?> Rnd(string day) =>
            (await s.Ledger.RelationshipsAsync("acme", DateOnly.Parse(day))).Relationships.FirstOrDefault(r => r.Fact == "rnd")?.Status;

        Assert.Equal(TieStatus.Uncertain, await Rnd("2020-06-01"));
        Assert.Equal(TieStatus.InForce, await Rnd("2022-06-01"));
        Assert.Equal(TieStatus.Uncertain, await Rnd("2023-07-15"));
        Assert.Null(await Rnd("2023-08-01"));
        Assert.Null(await Rnd("2019-12-31"));
        var before = (await s.Ledger.RelationshipsAsync("acme", new DateOnly(2010, 1, 1))).Relationships.Single(r => r.Fact == "intent");
        Assert.Equal(TieStatus.Uncertain, before.Status);
    }

    [Fact]
    public async Task a_retracted_tie_disappears_only_as_known_from_its_retraction()
    {
        await using var s = await Scenario.StartAsync();
        var recorded = await s.ImportAsync(Deal("d1", Ties));
        var retracted = await s.ImportAsync("retractions:\n  - { fact: seat, reason: misreported, sources: [ { source: filing, claim: stated } ] }\n");

        var then = await s.Ledger.RelationshipsAsync("acme", new DateOnly(2022, 6, 1), recorded.RecordedAt);
        var now = await s.Ledger.RelationshipsAsync("acme", new DateOnly(2022, 6, 1), retracted.RecordedAt);

        Assert.Contains(then.Relationships, r => r.Fact == "seat");
        Assert.DoesNotContain(now.Relationships, r => r.Fact == "seat");
        Assert.Empty((await s.Ledger.RelationshipsAsync("acme", new DateOnly(2022, 6, 1), recorded.RecordedAt!.Value.AddTicks(-10))).Relationships);
    }

    [Fact]
    public async Task an_ended_partnership_is_no_longer_in_force()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", "- { id: p, type: partnership, parties: [acme, globex], scope: distribution, valid: { from: 2020-01-01 }, sources: [ { source: press, claim: stated } ] }\n")
            + "endings:\n  - { fact: p, on: 2022-03-01, sources: [ { source: wire, claim: stated } ] }\n");

        Assert.Contains((await s.Ledger.RelationshipsAsync("globex", new DateOnly(2022, 2, 28))).Relationships, r => r.Fact == "p");
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("globex", new DateOnly(2022, 3, 1))).Relationships, r => r.Fact == "p");
    }

    [Fact]
    public async Task an_organization_registered_after_known_at_has_no_relationships_or_owners_then()
    {
        await using var s = await Scenario.StartAsync();
        var before = DateTimeOffset.UtcNow;
        await Task.Delay(5);
        var registered = await s.ImportAsync("organizations:\n  - { id: newco, name: New Company, kind: company }\n"
            + "deals:\n  - id: d1\n    parties: [acme, newco]\n    facts:\n"
            + "      - { id: st, type: stake, holder: acme, subject: newco, share: { exact: 10 }, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n");
        var day = new DateOnly(2022, 6, 1);

        // As known before it was registered, as a replay of the log up to then would have it: no such organization.
        foreach (var ask in new Func<Task>[] { () => s.Ledger.RelationshipsAsync("newco", day, before), () => s.Ledger.OwnersAsync("newco", day, before) })
        {
            var e = await Assert.ThrowsAsync<LedgerException>(ask);
            Assert.Equal(LedgerErrorKind.NotFound, e.Kind);
            Assert.Equal("organization", e.Field);
            Assert.Contains("'newco' was not yet registered as known at", e.Message);
        }
        // From its registration on, it is known; an organization registered earlier is known before it too.
        Assert.Single((await s.Ledger.RelationshipsAsync("newco", day, registered.RecordedAt)).Relationships);
        Assert.Single((await s.Ledger.OwnersAsync("newco", day, registered.RecordedAt)).Owners);
        Assert.Empty((await s.Ledger.RelationshipsAsync("acme", day, before)).Relationships);
    }
}
