using DealLedger.Holdings;
using DealLedger.Sources;
using static DealLedger.Tests.Seeds;

namespace DealLedger.Tests;

/// <summary>DESIGN §3 rules 2–7, each on a small story of acme's stake in globex.</summary>
public sealed class HoldingRulesTests
{
    private const string Minority = "{ min: 0, minInclusive: false, max: 50, maxInclusive: false, wording: minority stake }";

    [Fact]
    public async Task stake_acquired_in_february_is_uncertain_within_february()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", Minority, "{ from: 2024-02 }")));

        Assert.Equal(HoldingStatus.Uncertain, (await s.AtAsync("2024-02-10")).Status);
        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2024-03-01")).Status);
        Assert.Equal(HoldingStatus.NotHeld, (await s.AtAsync("2024-01-31")).Status);
        var uncertain = await s.AtAsync("2024-02-29");
        Assert.Equal(Share.Range(0, false, 50, false, "minority stake"), uncertain.Share);
        Assert.Contains("cannot tell", uncertain.Explanation);
    }

    [Fact]
    public async Task a_stake_taken_on_a_day_is_held_from_that_day()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2024-02-26 }")));

        Assert.Equal(HoldingStatus.NotHeld, (await s.AtAsync("2024-02-25")).Status);
        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2024-02-26")).Status);
    }

    [Fact]
    public async Task a_pair_without_facts_is_unknown()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020 }", holder: "initech")));

        var a = await s.AtAsync("2024-01-01");
        Assert.Equal(HoldingStatus.Unknown, a.Status);
        Assert.Null(a.Share);
        Assert.Null(a.Confidence);
    }

    [Fact]
    public async Task a_later_stake_succeeds_an_open_ended_earlier_one()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }"),
            Stake("s2", "{ exact: 20 }", "{ from: 2022-01-01 }", "[ { source: wire, claim: stated } ]")));

        var early = await s.AtAsync("2021-06-01");
        Assert.Equal(Share.OfExact(10), early.Share);
        Assert.Equal("2022-01-01", early.Until?.Date);
        Assert.Equal(Share.OfExact(20), (await s.AtAsync("2022-01-01")).Share);
        Assert.Equal("2022-01-01", (await s.AtAsync("2023-01-01")).Since?.Date);
    }

    [Fact]
    public async Task an_ending_means_not_held_from_that_day_on()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }")) +
            "endings:\n  - { fact: s1, on: 2023-06-30, reason: sold, sources: [ { source: wire, claim: stated } ] }\n");

        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2023-06-29")).Status);
        var after = await s.AtAsync("2023-06-30");
        Assert.Equal(HoldingStatus.NotHeld, after.Status);
        Assert.Equal("2023-06-30", after.Since?.Date);
        Assert.Contains(after.Sources, x => x.Id == "press");
        Assert.Contains(after.Basis, b => b.Type == "fact_ended");
        Assert.Equal("2023-06-30", (await s.AtAsync("2021-01-01")).Until?.Date);
    }

    [Fact]
    public async Task a_stake_of_exactly_zero_ends_the_holding()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }"),
            Stake("s2", "{ exact: 0 }", "{ from: 2021-03-01 }")));

        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2021-02-28")).Status);
        Assert.Equal(HoldingStatus.NotHeld, (await s.AtAsync("2021-03-01")).Status);
    }

    [Fact]
    public async Task coinciding_starts_narrow_to_the_intersection_citing_both()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ max: 50, maxInclusive: false }", "{ from: 2024-02 }"),
            Stake("s2", "{ exact: 0.8 }", "{ from: 2024-02-26 }", "[ { source: filing, claim: stated } ]")));

        var a = await s.AtAsync("2024-06-01");
        Assert.Equal(HoldingStatus.Held, a.Status);
        Assert.Equal(Share.OfExact(0.8m), a.Share);
        Assert.Equal(new DateWithPrecision("2024-02-26", Time.DatePrecision.Day), a.Since);
        Assert.Equal(["filing", "press"], a.Sources.Select(x => x.Id).Order());
        Assert.Equal(Confidence.Confirmed, a.Confidence);
        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2024-02-26")).Status);
    }

    [Fact]
    public async Task incompatible_shares_are_disputed_and_show_each_value_with_its_sources()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 5 }", "{ from: 2024-02 }"),
            Stake("s2", "{ exact: 9 }", "{ from: 2024-02 }", "[ { source: wire, claim: stated } ]")));

        var a = await s.AtAsync("2024-06-01");
        Assert.Equal(HoldingStatus.Held, a.Status);
        Assert.Equal(Confidence.Disputed, a.Confidence);
        Assert.NotNull(a.Alternatives);
        Assert.Contains(a.Alternatives!, x => x.Share == Share.OfExact(5) && x.Sources.SequenceEqual(["press"]));
        Assert.Contains(a.Alternatives!, x => x.Share == Share.OfExact(9) && x.Sources.SequenceEqual(["wire"]));
        Assert.Contains("disagree", a.Explanation);
    }

    [Theory]
    [InlineData("[ { source: acme-release, claim: stated } ]", Confidence.Confirmed)]
    [InlineData("[ { source: filing, claim: stated } ]", Confidence.Confirmed)]
    [InlineData("[ { source: press, claim: stated } ]", Confidence.Reported)]
    [InlineData("[ { source: press, claim: attributed, attributedTo: Financial Times } ]", Confidence.Reported)]
    [InlineData("[ { source: acme-release, claim: claimed } ]", Confidence.Claimed)]
    [InlineData("[ { source: press, claim: stated }, { source: globex-release, claim: denied } ]", Confidence.Disputed)]
    public async Task confidence_is_derived_from_the_claims(string sources, Confidence expected)
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020 }", sources)));

        Assert.Equal(expected, (await s.AtAsync("2022-01-01")).Confidence);
    }

    [Fact]
    public async Task a_combined_state_takes_the_strongest_confidence_of_its_facts()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ max: 20 }", "{ from: 2020 }", "[ { source: acme-release, claim: claimed } ]"),
            Stake("s2", "{ exact: 10 }", "{ from: 2020-05 }", "[ { source: filing, claim: stated } ]")));

        Assert.Equal(Confidence.Confirmed, (await s.AtAsync("2022-01-01")).Confidence);
    }

    [Fact]
    public async Task a_correction_changes_answers_only_from_when_it_was_recorded()
    {
        await using var s = await Scenario.StartAsync();
        var first = await s.ImportAsync(Deal("d1", Stake("s1", Minority, "{ from: 2024-02 }")));
        var correction = await s.ImportAsync("corrections:\n  - { fact: s1, set: { share: { exact: 0.8 } }, reason: filing gives the exact figure, sources: [ { source: filing, claim: stated } ] }\n");

        var before = await s.AtAsync("2024-06-01", first.RecordedAt);
        var after = await s.AtAsync("2024-06-01", correction.RecordedAt);
        Assert.Equal(Share.Range(0, false, 50, false, "minority stake"), before.Share);
        Assert.Equal(Share.OfExact(0.8m), after.Share);
        Assert.Equal(Confidence.Confirmed, after.Confidence);
        Assert.Contains("corrected", after.Explanation);
        Assert.Contains(after.Basis, b => b.Type == "fact_corrected" && b.Sequence == correction.LastSequence);
        Assert.Equal(HoldingStatus.Unknown, (await s.AtAsync("2024-06-01", first.RecordedAt!.Value.AddTicks(-10))).Status);
    }

    [Fact]
    public async Task a_retracted_only_fact_makes_the_pair_unknown_but_is_still_named()
    {
        await using var s = await Scenario.StartAsync();
        var first = await s.ImportAsync(Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020 }")));
        var retraction = await s.ImportAsync("retractions:\n  - { fact: s1, reason: the report was wrong, sources: [ { source: press, claim: stated } ] }\n");

        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2022-01-01", first.RecordedAt)).Status);
        var a = await s.AtAsync("2022-01-01", retraction.RecordedAt);
        Assert.Equal(HoldingStatus.Unknown, a.Status);
        Assert.Contains("retracted", a.Explanation);
        Assert.Contains(a.Basis, b => b.Type == "fact_retracted");
        Assert.Equal(HoldingStatus.Unknown, (await s.AtAsync("2022-01-01")).Status);
    }

    [Fact]
    public async Task a_retracted_fact_no_longer_counts_next_to_others()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 5 }", "{ from: 2024-02 }"),
            Stake("s2", "{ exact: 9 }", "{ from: 2024-02 }", "[ { source: wire, claim: stated } ]")));
        await s.ImportAsync("retractions:\n  - { fact: s2, reason: misprint, sources: [ { source: wire, claim: stated } ] }\n");

        var a = await s.AtAsync("2024-06-01");
        Assert.Equal(Share.OfExact(5), a.Share);
        Assert.Equal(Confidence.Reported, a.Confidence);
        Assert.Contains("retracted", a.Explanation);
    }

    [Fact]
    public async Task history_lists_every_period_with_the_corrections_that_touched_it()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }"),
            Stake("s2", "{ exact: 20 }", "{ from: 2022-01-01 }", "[ { source: wire, claim: stated } ]")));
        await s.ImportAsync("corrections:\n  - { fact: s2, set: { share: { exact: 25 } }, reason: restated, sources: [ { source: filing, claim: stated } ] }\n");

        var h = await s.Ledger.HistoryAsync("acme", "globex");
        Assert.Equal([HoldingStatus.NotHeld, HoldingStatus.Held, HoldingStatus.Held], h.Periods.Select(p => p.Finding.Status));
        Assert.Equal(Share.OfExact(25), h.Periods[2].Finding.Share);
        Assert.Single(h.Periods[2].Corrections);
        Assert.Empty(h.Periods[1].Corrections);
    }
}
