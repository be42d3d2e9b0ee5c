using DealLedger.Amounts;
using DealLedger.Bods;
using DealLedger.Changes;
using DealLedger.Deals;
using DealLedger.Relationships;
using static DealLedger.Tests.Seeds;

namespace DealLedger.Tests;

/// <summary>Review of issue 19: defects found in successions, dated names and exchange rates, each shown by a failing test.</summary>
public sealed class Review19Tests
{
    private const string Rates = """
        sources:
          - { id: ecb, title: ECB reference rates, kind: official-register }
          - { id: fed, title: Federal Reserve H.10, kind: official-register }
        deals:
          - id: rates-2024
            title: Reference rates, 2024
            facts:
              - { id: eur-usd-ecb, type: exchange-rate, base: EUR, quote: USD, rate: 1.0852, valid: { from: 2024-02-26, to: 2024-02-27 }, sources: [ { source: ecb, claim: stated } ] }
              - { id: eur-usd-fed, type: exchange-rate, base: EUR, quote: USD, rate: 1.2, valid: { from: 2024-02-26, to: 2024-02-27 }, sources: [ { source: fed, claim: stated } ] }
        """;

    /// <summary>
    /// "One source cannot give two rates of a pair starting together": adding that source to the other rate (a claim) makes it
    /// give two, and must be refused as a new fact or a correction would be (StakeContradiction is checked for claims; rates were not).
    /// </summary>
    [Fact]
    public async Task a_claim_that_makes_one_source_give_two_rates_for_the_same_day_is_refused()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Rates);
        var e = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync("claims:\n  - { fact: eur-usd-fed, source: ecb, claim: stated }\n"));
        Assert.Contains("contradicts rate 'eur-usd-ecb'", e.Message, StringComparison.Ordinal);
        // Nothing stored: the rate still has its one source.
        Assert.Equal(["fed"], (await s.Ledger.FactAsync("eur-usd-fed")).Current.Sources.Select(c => c.Source));
    }

    /// <summary>An exchange rate ties no organization: a window of the change feed that recorded one must not crash (Orgs[0] of an empty array).</summary>
    [Fact]
    public async Task what_the_ledger_learned_over_a_window_that_recorded_a_rate_is_answered_and_rates_are_no_ties()
    {
        await using var s = await Scenario.StartAsync();
        var first = await s.ImportAsync(Deal("d1", Stake("st", "{ exact: 10 }", "{ from: 2020 }")));
        await s.ImportAsync(Rates);
        var learned = await s.Ledger.ChangesAsync(ChangesRequest.Parse(Time.Instant.Format(first.RecordedAt!.Value), null, null, null, null, null, "100", null, cli: false));
        Assert.DoesNotContain(learned.Ties, t => t.Type == FactType.ExchangeRate);
        var world = await s.Ledger.ChangesAsync(ChangesRequest.Parse(null, null, "2024-01-01", "2024-06-01", null, null, "100", null, cli: false));
        Assert.DoesNotContain(world.Ties, t => t.Type == FactType.ExchangeRate);
    }

    // Initech holds 5 % of Acme; on 2024-03-01 it merges into Globex.
    private const string Merged = """
        - { id: own, type: stake, holder: initech, subject: acme, share: { exact: 5 }, valid: { from: 2020-01-01 }, sources: [ { source: filing, claim: stated } ] }
        - { id: rnd, type: partnership, parties: [initech, acme], scope: joint research, valid: { from: 2019 }, sources: [ { source: press, claim: stated } ] }
        - { id: merger, type: succession, predecessor: initech, successor: globex, form: merged-into, valid: { from: 2024-03-01 }, sources: [ { source: wire, claim: stated } ] }
        """;

    /// <summary>
    /// The whole graph draws an inherited tie at its predecessor, whose tie it is; a neighbourhood around the successor drew it
    /// as the successor's own (Globex → Acme for Initech's stake): a tie rewritten.
    /// </summary>
    [Fact]
    public async Task a_neighbourhood_around_a_successor_draws_an_inherited_tie_between_the_organizations_it_ties()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Merged));
        var day = new DateOnly(2024, 6, 1);
        foreach (var hops in new[] { 1, 2 })
        {
            var graph = await s.Ledger.GraphAsync(day, null, new GraphRequest(Around: "globex", Hops: hops));
            Assert.All(graph.Edges.Where(e => e.Fact == "own"), e => Assert.Equal(["initech", "acme"], e.Organizations));
            Assert.All(graph.Edges.Where(e => e.Fact == "rnd"), e => Assert.Equal(["acme", "initech"], e.Organizations));
            Assert.All(graph.Edges, e => Assert.All(e.Organizations, o => Assert.Contains(graph.Organizations, x => x.Id == o)));
        }
        var whole = await s.Ledger.GraphAsync(day);
        Assert.Equal(["initech", "acme"], whole.Edges.Single(e => e.Fact == "own").Organizations);
    }

    private static string Entity(string statement, string date, string status, string name) =>
        $$"""[{ "statementId": "{{statement}}-00000000000000000000000000000000", "statementDate": "{{date}}", "recordId": "ren", "recordType": "entity", "recordStatus": "{{status}}", "declarationSubject": "ren", "recordDetails": { "isComponent": false, "entityType": { "type": "registeredEntity" }, "name": "{{name}}" } }]""";

    /// <summary>
    /// A BODS entity renamed, then renamed back to the name it was registered under (or to a name it bore before): the later
    /// statement's name was compared with the registered name (or any name ever recorded), so nothing was recorded and the
    /// ledger kept naming it by the intermediate name for ever after.
    /// </summary>
    [Fact]
    public async Task a_bods_entity_renamed_back_is_named_by_its_name_again_from_that_statement()
    {
        await using var s = await Scenario.StartAsync();
        await s.Ledger.ImportBodsAsync([("ren1.json", Entity("ren1", "2020-01-10", "new", "Renco Ltd"))]);
        await s.Ledger.ImportBodsAsync([("ren2.json", Entity("ren2", "2023-05-02", "updated", "Renco Group Ltd"))]);
        await s.Ledger.ImportBodsAsync([("ren3.json", Entity("ren3", "2024-06-03", "updated", "Renco Ltd"))]);
        Assert.Equal("Renco Group Ltd", (await s.Ledger.RelationshipsAsync("bods-ren", new DateOnly(2024, 1, 1))).Organization.Name);
        Assert.Equal("Renco Ltd", (await s.Ledger.RelationshipsAsync("bods-ren", new DateOnly(2024, 7, 1))).Organization.Name);

        // And to a name borne before: Group, then Holdings, then Group again.
        await s.Ledger.ImportBodsAsync([("ren4.json", Entity("ren4", "2025-01-06", "updated", "Renco Holdings"))]);
        await s.Ledger.ImportBodsAsync([("ren5.json", Entity("ren5", "2025-09-01", "updated", "Renco Group Ltd"))]);
        Assert.Equal("Renco Holdings", (await s.Ledger.RelationshipsAsync("bods-ren", new DateOnly(2025, 3, 1))).Organization.Name);
        Assert.Equal("Renco Group Ltd", (await s.Ledger.RelationshipsAsync("bods-ren", new DateOnly(2025, 10, 1))).Organization.Name);

        // Importing them all again changes nothing.
        var again = await s.Ledger.ImportBodsAsync([("ren3.json", Entity("ren3", "2024-06-03", "updated", "Renco Ltd")), ("ren5.json", Entity("ren5", "2025-09-01", "updated", "Renco Group Ltd"))]);
        Assert.Equal(0, again.Import.EventsAppended);
    }

    /// <summary>
    /// Answers never invent precision: a month's amount converted by the first rate of a daily series (later rates of the month
    /// supersede it) is the rate of its first day, not of the whole month; an amount only known to date "by" a day is converted
    /// by that day's rate, and must say so.
    /// </summary>
    [Fact]
    public async Task a_conversion_says_when_its_rate_is_not_the_rate_of_the_whole_date_or_the_date_is_only_a_by_date()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync("""
            sources:
              - { id: ecb, title: ECB reference rates, kind: official-register }
            deals:
              - id: rates
                facts:
                  - { id: r-0301, type: exchange-rate, base: EUR, quote: USD, rate: 1.08, valid: { from: 2024-03-01 }, sources: [ { source: ecb, claim: stated } ] }
                  - { id: r-0315, type: exchange-rate, base: EUR, quote: USD, rate: 1.10, valid: { from: 2024-03-15 }, sources: [ { source: ecb, claim: stated } ] }
              - id: d1
                parties: [acme, globex]
                facts:
                  - { id: inv-march, type: investment, investor: acme, investee: globex, amount: { value: 1000000, currency: EUR }, valid: { from: 2024-03 }, sources: [ { source: press, claim: stated } ] }
                  - { id: inv-by, type: investment, investor: acme, investee: globex, amount: { value: 1000000, currency: EUR }, valid: { by: 2024-04-10 }, sources: [ { source: press, claim: stated } ] }
            """);
        var answer = await s.Ledger.InvestmentsAsync("acme", new DateOnly(2024, 1, 1), new DateOnly(2025, 1, 1), null);
        var march = answer.Investments.Single(i => i.Fact == "inv-march").Converted.Single(x => x.Currency == "USD");
        Assert.Equal("r-0301", march.RateFact);
        Assert.Contains("the date is known only to the month: the rate of its first day", march.Explanation, StringComparison.Ordinal);
        var by = answer.Investments.Single(i => i.Fact == "inv-by").Converted.Single(x => x.Currency == "USD");
        Assert.Equal("r-0315", by.RateFact);
        Assert.Contains("2024-04-10 or earlier", by.Explanation, StringComparison.Ordinal);
    }

    /// <summary>
    /// An amount and a rate the ledger accepts (each up to what a decimal holds) can multiply past it: the relationships and
    /// investments answers must not crash (OverflowException) but say the amount is not converted.
    /// </summary>
    [Fact]
    public async Task an_amount_too_large_to_convert_is_said_not_to_be_and_no_answer_crashes()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync("""
            sources:
              - { id: ecb, title: ECB reference rates, kind: official-register }
            deals:
              - id: rates
                facts:
                  - { id: r-eur-usd, type: exchange-rate, base: EUR, quote: USD, rate: 10, valid: { from: 2024-01-01 }, sources: [ { source: ecb, claim: stated } ] }
              - id: d1
                parties: [acme, globex]
                facts:
                  - { id: inv-huge, type: investment, investor: acme, investee: globex, amount: { value: 10000000000000000000000000000, currency: EUR }, valid: { from: 2024-03-01 }, sources: [ { source: press, claim: stated } ] }
                  - { id: inv-huge-2, type: investment, investor: acme, investee: globex, amount: { value: 70000000000000000000000000000, currency: USD }, valid: { from: 2024-03-02 }, sources: [ { source: press, claim: stated } ] }
                  - { id: inv-huge-3, type: investment, investor: acme, investee: globex, amount: { value: 70000000000000000000000000000, currency: USD }, valid: { from: 2024-03-03 }, sources: [ { source: press, claim: stated } ] }
            """);
        var tie = (await s.Ledger.RelationshipsAsync("acme", new DateOnly(2024, 6, 1))).Relationships.Single(r => r.Fact == "inv-huge");
        Assert.Null(tie.Converted!.Single(x => x.Currency == "USD").Value);
        var answer = await s.Ledger.InvestmentsAsync("acme", null, null, null);
        Assert.Null(answer.Investments.Single(i => i.Fact == "inv-huge").Converted.Single().Value);
        // In EUR all three add up (1e28 + 7e27 + 7e27); in USD the first cannot be converted and the two others cannot be added up.
        var eur = answer.Totals.Single(t => t.Currency == "EUR");
        Assert.Equal((3, 24000000000000000000000000000m), (eur.Counted, eur.Sure));
        var usd = answer.Totals.Single(t => t.Currency == "USD");
        Assert.Equal((1, 1, 70000000000000000000000000000m), (usd.Counted, usd.Unconverted, usd.Sure));
        Assert.Contains("too large", usd.Explanation, StringComparison.Ordinal);
    }
}
