using DealLedger.Auditing;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;
using static DealLedger.Tests.Seeds;

namespace DealLedger.Tests;

/// <summary>Issue 19, item 1: names and identifiers with valid periods and sources — the name in force on the date asked, as known then; search by a former name.</summary>
public sealed class DatedNameTests
{
    // Globex was registered as "Globex". Its legal name was Globex Corporation from 2010 until June 2020, then Globex Worldwide.
    private const string Names = """
        - { id: gx-corp, type: name, subject: globex, name: Globex Corporation, use: legal, valid: { from: 2010, to: 2020-06 }, sources: [ { source: filing, claim: stated } ] }
        - { id: gx-world, type: name, subject: globex, name: Globex Worldwide, use: legal, valid: { from: 2020-06 }, sources: [ { source: filing, claim: stated } ] }
        - { id: gx-short, type: name, subject: globex, name: GX, use: alias, valid: { from: 2015 }, sources: [ { source: press, claim: stated } ] }
        - { id: gx-lei, type: identifier, subject: globex, scheme: lei, value: 5493001KJTIIGC8Y1R12, valid: { from: 2012 }, sources: [ { source: filing, claim: stated } ] }
        """;

    private static readonly PageRequest Page = new(OrganizationSearch.DefaultLimit);

    [Fact]
    public async Task answers_name_an_organization_by_its_legal_name_on_the_date_asked_as_known_then_and_list_its_names_over_time()
    {
        await using var s = await Scenario.StartAsync();
        var stake = await s.ImportAsync(Deal("d1", Stake("st", "{ exact: 10 }", "{ from: 2005 }")));
        var named = await s.ImportAsync(Deal("d2", Names));

        async Task<OrganizationProfile> Profile(int year, int month = 1, int day = 1, DateTimeOffset? knownAt = null) =>
            (await s.Ledger.RelationshipsAsync("globex", new DateOnly(year, month, day), knownAt)).Organization;

        Assert.Equal("Globex", (await Profile(2009)).Name);
        var y2016 = await Profile(2016, 6);
        Assert.Equal(("Globex Corporation", "5493001KJTIIGC8Y1R12"), (y2016.Name, y2016.Identifiers["lei"]));
        Assert.Contains("GX", y2016.Aliases);
        Assert.DoesNotContain("GX", (await Profile(2015, 6)).Aliases);
        // In June 2020 neither legal name is surely borne (both dates are a month): the registered name, never a guess.
        Assert.Equal("Globex", (await Profile(2020, 6, 15)).Name);
        Assert.Equal("Globex Worldwide", (await Profile(2021)).Name);
        Assert.Equal(["gx-corp", "gx-short", "gx-world"], (await Profile(2021)).Names!.Select(n => n.Fact));
        Assert.Equal("2020-06", (await Profile(2021)).Names![0].Until!.Date);
        // As known before the names were recorded: the registered name, no names over time.
        var before = await Profile(2021, knownAt: named.RecordedAt!.Value.AddTicks(-10));
        Assert.Equal(("Globex", null), (before.Name, before.Names));

        // Other answers name it as on their date too; names are the profile's, never ties.
        Assert.Equal("Acme Holdings holds a 10 % stake in Globex Corporation",
            (await s.Ledger.RelationshipsAsync("acme", new DateOnly(2015, 6, 1))).Relationships.Single().Summary);
        Assert.Contains("Globex Worldwide", (await s.Ledger.RelationshipsAsync("acme", new DateOnly(2022, 1, 1))).Relationships.Single().Summary, StringComparison.Ordinal);
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("globex", new DateOnly(2022, 1, 1))).Relationships, r => r.Type is FactType.Name or FactType.Identifier);
        Assert.Equal("Globex Corporation", (await s.Ledger.GraphAsync(new DateOnly(2015, 6, 1))).Organizations.Single(o => o.Id == "globex").Name);
        // The headline answer too, in both of its reads (now, and at an instant asked), and where it knows no stake.
        Assert.Contains("in Globex Corporation", (await s.Ledger.HoldingAsync("acme", "globex", new DateOnly(2015, 6, 1))).Explanation, StringComparison.Ordinal);
        Assert.Contains("in Globex Worldwide", (await s.Ledger.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1), named.RecordedAt)).Explanation, StringComparison.Ordinal);
        Assert.DoesNotContain("Worldwide", (await s.Ledger.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1), stake.RecordedAt)).Explanation, StringComparison.Ordinal);
        Assert.Contains("Globex Worldwide", (await s.Ledger.HoldingAsync("globex", "acme", new DateOnly(2022, 1, 1), named.RecordedAt)).Explanation, StringComparison.Ordinal);
        var history = await s.Ledger.HistoryAsync("acme", "globex");
        Assert.Equal(["gx-corp", "gx-short", "gx-world"], history.Names!["globex"].Select(n => n.Fact));
        Assert.Null((await s.Ledger.HistoryAsync("acme", "globex", stake.RecordedAt)).Names);

        // A correction of a name is followed from its recorded time on.
        var corrected = await s.ImportAsync("corrections:\n  - { fact: gx-world, set: { name: Globex Worldwide Inc. }, reason: the register spells it so, sources: [ { source: filing, claim: stated } ] }\n");
        Assert.Equal("Globex Worldwide Inc.", (await Profile(2021)).Name);
        Assert.Equal("Globex Worldwide", (await Profile(2021, knownAt: corrected.RecordedAt!.Value.AddTicks(-10))).Name);

        Assert.True((await s.Ledger.ReplayAsync(null)).Agrees);
    }

    [Fact]
    public async Task search_finds_an_organization_by_a_former_name_as_known_then_and_not_after_the_name_is_retracted()
    {
        await using var s = await Scenario.StartAsync();
        var named = await s.ImportAsync(Deal("d1", Names));

        var found = await s.Ledger.SearchOrganizationsAsync("corporation", null, Page);
        var globex = Assert.Single(found.Organizations);
        Assert.Equal("globex", globex.Id);
        Assert.Contains(globex.Names!, n => n.Name == "Globex Corporation" && n.Until is not null);
        Assert.Empty((await s.Ledger.SearchOrganizationsAsync("corporation", named.RecordedAt!.Value.AddTicks(-10), Page)).Organizations);
        Assert.Equal(1, (await s.Ledger.SearchOrganizationsAsync("corporation", null, new PageRequest(1, 1))).Page.Total);

        var retracted = await s.ImportAsync("retractions:\n  - { fact: gx-corp, reason: a misread filing, sources: [ { source: filing, claim: stated } ] }\n");
        Assert.Empty((await s.Ledger.SearchOrganizationsAsync("corporation", null, Page)).Organizations);
        Assert.Single((await s.Ledger.SearchOrganizationsAsync("corporation", retracted.RecordedAt!.Value.AddTicks(-10), Page)).Organizations);
    }

    [Theory]
    [InlineData("use: legal", "use: official", "use")]
    [InlineData("scheme: lei", "scheme: LEI!", "is not an identifier kind")]
    [InlineData("subject: globex, name: Globex Corporation", "subject: nobody, name: Globex Corporation", "unknown organization 'nobody'")]
    [InlineData("name: GX, use: alias", "use: alias", "name")]
    public async Task a_bad_name_or_identifier_is_refused_precisely_and_nothing_is_stored(string field, string bad, string message)
    {
        await using var s = await Scenario.StartAsync();
        var e = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(Deal("d1", Names.Replace(field, bad, StringComparison.Ordinal))));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Null((await s.Ledger.RelationshipsAsync("globex", new DateOnly(2021, 1, 1))).Organization.Names);
        await s.ImportAsync(Deal("d2", Names));
        var wrong = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync("corrections:\n  - { fact: gx-lei, set: { name: X }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n"));
        Assert.Contains("'name' cannot be set on an identifier fact", wrong.Message, StringComparison.Ordinal);
    }
}
