using DealLedger.Auditing;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;
using static DealLedger.Tests.Seeds;

namespace DealLedger.Tests;

/// <summary>Issue 19, item 2: successions as facts — where a predecessor's ties went, and what its successor inherited, on both time axes.</summary>
public sealed class SuccessionTests
{
    // Initech holds 5 % of Acme and works with it; Acme holds 10 % of Initech; Initech also works with Globex. On 2024-03-01
    // Initech merges into Globex.
    private const string Ties = """
        - { id: own, type: stake, holder: initech, subject: acme, share: { exact: 5 }, valid: { from: 2020-01-01 }, sources: [ { source: filing, claim: stated } ] }
        - { id: st, type: stake, holder: acme, subject: initech, share: { exact: 10 }, valid: { from: 2021-01-01 }, sources: [ { source: filing, claim: stated } ] }
        - { id: rnd, type: partnership, parties: [initech, acme], scope: joint research, valid: { from: 2019 }, sources: [ { source: press, claim: stated } ] }
        - { id: supply, type: partnership, parties: [initech, globex], scope: supply, valid: { from: 2019 }, sources: [ { source: press, claim: stated } ] }
        """;

    private const string Merger =
        "- { id: merger, type: succession, predecessor: initech, successor: globex, form: merged-into, valid: { from: 2024-03-01 }, sources: [ { source: wire, claim: stated } ] }\n";

    private static readonly DateOnly Before = new(2024, 2, 1);
    private static readonly DateOnly After = new(2024, 6, 1);

    [Fact]
    public async Task after_a_merger_the_successor_inherits_what_the_predecessor_held_and_its_ties_say_where_they_went_on_both_time_axes()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Ties));
        var merged = await s.ImportAsync(Deal("d2", Merger));

        // Before the merger's date: two organizations, nothing moved.
        var initechBefore = await s.Ledger.RelationshipsAsync("initech", Before);
        Assert.DoesNotContain(initechBefore.Relationships, r => r.Type == FactType.Succession || r.WentTo is not null);
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("globex", Before)).Relationships, r => r.InheritedFrom is not null);

        // After it: what Initech held and did went to Globex; what Acme holds in Initech did not (a merger, not a renaming).
        var initech = (await s.Ledger.RelationshipsAsync("initech", After)).Relationships;
        Assert.Equal(["globex"], initech.Single(r => r.Fact == "own").WentTo);
        Assert.Equal(["globex"], initech.Single(r => r.Fact == "rnd").WentTo);
        Assert.Null(initech.Single(r => r.Fact == "st").WentTo);
        var tie = initech.Single(r => r.Type == FactType.Succession);
        Assert.Equal(("merger", Direction.Outgoing, "Initech merged into Globex"), (tie.Fact, tie.Direction, tie.Summary));
        var globex = (await s.Ledger.RelationshipsAsync("globex", After)).Relationships;
        var own = globex.Single(r => r.Fact == "own");
        Assert.Equal(("initech", Direction.Outgoing, TieStatus.InForce, "Initech holds a 5 % stake in Acme Holdings"), (own.InheritedFrom, own.Direction, own.Status, own.Summary));
        Assert.Equal(["acme"], own.Counterparties);
        Assert.Equal("initech", globex.Single(r => r.Fact == "rnd").InheritedFrom);
        Assert.DoesNotContain(globex, r => r.Fact == "st");
        // Its tie with Globex itself is not inherited by Globex, and is listed once, as Globex's own.
        Assert.Null(Assert.Single(globex, r => r.Fact == "supply").InheritedFrom);
        Assert.Equal(Direction.Incoming, globex.Single(r => r.Fact == "merger").Direction);

        // As known before the merger was recorded, nothing moved either.
        var earlier = merged.RecordedAt!.Value.AddTicks(-10);
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("globex", After, earlier)).Relationships, r => r.InheritedFrom is not null);
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("initech", After, earlier)).Relationships, r => r.WentTo is not null);

        // A pair's history says where it went, by side, and only as known after the merger was recorded.
        var held = await s.Ledger.HistoryAsync("initech", "acme");
        var note = Assert.Single(held.Successions!);
        Assert.Equal(("merger", "holder", "globex"), (note.Fact, note.Side, note.Successor));
        Assert.Equal("From 2024-03-01, Initech merged into Globex: the stake passed to Globex with Initech's other holdings; the periods stay as recorded for Initech.", note.Explanation);
        Assert.Equal(["wire"], note.Sources.Select(x => x.Id));
        Assert.Contains("no longer exists as itself", Assert.Single((await s.Ledger.HistoryAsync("acme", "initech")).Successions!).Explanation, StringComparison.Ordinal);
        Assert.Null((await s.Ledger.HistoryAsync("initech", "acme", earlier)).Successions);

        Assert.True((await s.Ledger.ReplayAsync(null)).Agrees);
    }

    [Fact]
    public async Task a_renaming_passes_every_tie_a_correction_of_its_form_is_followed_and_a_retraction_undoes_it()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Ties, Merger));

        var renamed = await s.ImportAsync("corrections:\n  - { fact: merger, set: { form: renamed }, reason: the register shows a change of name, sources: [ { source: filing, claim: stated } ] }\n");
        // A renaming is the same body: what Acme holds in Initech is now held in it under its new id too.
        var globex = (await s.Ledger.RelationshipsAsync("globex", After)).Relationships;
        var st = globex.Single(r => r.Fact == "st");
        Assert.Equal(("initech", Direction.Incoming), (st.InheritedFrom, st.Direction));
        Assert.Equal(["globex"], (await s.Ledger.RelationshipsAsync("initech", After)).Relationships.Single(r => r.Fact == "st").WentTo);
        Assert.Equal("Initech was renamed Globex", globex.Single(r => r.Fact == "merger").Summary);
        // As known before the correction: the merger.
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("globex", After, renamed.RecordedAt!.Value.AddTicks(-10))).Relationships, r => r.Fact == "st");

        var retracted = await s.ImportAsync("retractions:\n  - { fact: merger, reason: it never happened, sources: [ { source: filing, claim: stated } ] }\n");
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("globex", After)).Relationships, r => r.InheritedFrom is not null || r.Type == FactType.Succession);
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("initech", After)).Relationships, r => r.WentTo is not null);
        Assert.Null((await s.Ledger.HistoryAsync("initech", "acme")).Successions);
        Assert.Contains((await s.Ledger.RelationshipsAsync("globex", After, retracted.RecordedAt!.Value.AddTicks(-10))).Relationships, r => r.Fact == "st");

        Assert.True((await s.Ledger.ReplayAsync(null)).Agrees);
        Assert.True((await s.Ledger.ReplayAsync(renamed.RecordedAt)).Agrees);
    }

    [Fact]
    public async Task ties_follow_a_chain_of_successions_an_imprecise_date_makes_them_uncertain_and_a_split_passes_nothing_on()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync("""
            organizations:
              - { id: umbrella, name: Umbrella, kind: company }
              - { id: spinco, name: Spinco, kind: company }
            """);
        await s.ImportAsync(Deal("d1", Ties, Merger,
            "- { id: rename, type: succession, predecessor: globex, successor: umbrella, form: renamed, valid: { from: 2025-03 }, sources: [ { source: filing, claim: stated } ] }\n"));

        // In March 2025 Globex may or may not be Umbrella yet: what Umbrella holds through it is uncertain then, certain after.
        var march = (await s.Ledger.RelationshipsAsync("umbrella", new DateOnly(2025, 3, 10))).Relationships;
        var own = march.Single(r => r.Fact == "own");
        Assert.Equal(("initech", TieStatus.Uncertain), (own.InheritedFrom, own.Status));
        Assert.Equal(TieStatus.Uncertain, march.Single(r => r.Fact == "supply").Status);
        var april = (await s.Ledger.RelationshipsAsync("umbrella", new DateOnly(2025, 4, 1))).Relationships;
        Assert.Equal(("initech", TieStatus.InForce), (april.Single(r => r.Fact == "own").InheritedFrom, april.Single(r => r.Fact == "own").Status));
        Assert.Equal("globex", april.Single(r => r.Fact == "supply").InheritedFrom);

        // A split's part inherits nothing: which part took which tie is not recorded; the predecessor's ties say where they may have gone.
        await s.ImportAsync(Deal("d2",
            "- { id: split, type: succession, predecessor: acme, successor: spinco, form: split-into, valid: { from: 2024-01-01 }, sources: [ { source: filing, claim: stated } ] }\n"));
        Assert.DoesNotContain((await s.Ledger.RelationshipsAsync("spinco", After)).Relationships, r => r.InheritedFrom is not null);
        Assert.Equal(["spinco"], (await s.Ledger.RelationshipsAsync("acme", After)).Relationships.Single(r => r.Fact == "st").WentTo);
        Assert.Contains("does not record which", Assert.Single((await s.Ledger.HistoryAsync("acme", "initech")).Successions!, n => n.Fact == "split").Explanation, StringComparison.Ordinal);

        Assert.True((await s.Ledger.ReplayAsync(null)).Agrees);
    }

    [Theory]
    [InlineData("successor: globex", "successor: initech", "cannot be on both sides of one succession")]
    [InlineData("form: merged-into", "form: swallowed", "form")]
    [InlineData("valid: { from: 2024-03-01 }", "valid: { from: 2024-03-01, to: 2025 }", "does not end")]
    [InlineData("predecessor: initech", "predecessor: nobody", "unknown organization 'nobody'")]
    public async Task a_bad_succession_is_refused_precisely_and_nothing_is_stored(string field, string bad, string message)
    {
        await using var s = await Scenario.StartAsync();
        var e = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(Deal("d1", Merger.Replace(field, bad, StringComparison.Ordinal))));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Empty((await s.Ledger.RelationshipsAsync("globex", After)).Relationships);
    }

    [Fact]
    public async Task a_succession_cannot_be_ended_and_its_form_is_no_other_facts_field()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Ties, Merger));
        var ending = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync("endings:\n  - { fact: merger, on: 2025, sources: [ { source: filing, claim: stated } ] }\n"));
        Assert.Contains("does not end", ending.Message, StringComparison.Ordinal);
        var until = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(
            "corrections:\n  - { fact: merger, set: { valid: { from: 2024-03-01, to: 2025 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n"));
        Assert.Contains("does not end", until.Message, StringComparison.Ordinal);
        var form = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync("corrections:\n  - { fact: own, set: { form: renamed }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n"));
        Assert.Contains("'form' cannot be set on a stake fact", form.Message, StringComparison.Ordinal);
        Assert.Null((await s.Ledger.RelationshipsAsync("initech", After)).Relationships.Single(r => r.Fact == "merger").Until);
    }
}
