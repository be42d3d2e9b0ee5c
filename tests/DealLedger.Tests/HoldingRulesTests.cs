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
        var uncertain = await s.AtAsync("2024-02-28");
        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2024-02-29")).Status); // acquired on any day of February: held on its last day
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
    public async Task the_first_and_last_days_of_the_calendar_are_answered_like_the_days_next_to_them()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", Minority, "{ from: 2024-02 }")));

        // DateOnly's ends travel to PostgreSQL as -infinity and infinity (issue 18: they were answered "unknown").
        foreach (var (end, next) in new[] { (DateOnly.MinValue, DateOnly.MinValue.AddDays(1)), (DateOnly.MaxValue, DateOnly.MaxValue.AddDays(-1)) })
        {
            var atEnd = await s.Ledger.HoldingAsync("acme", "globex", end);
            var atNext = await s.Ledger.HoldingAsync("acme", "globex", next);
            Assert.Equal(atNext.Status, atEnd.Status);
            Assert.Equal(atNext.Explanation, atEnd.Explanation);
        }
        Assert.Equal(HoldingStatus.NotHeld, (await s.Ledger.HoldingAsync("acme", "globex", DateOnly.MinValue)).Status);
        Assert.Equal(HoldingStatus.Held, (await s.Ledger.HoldingAsync("acme", "globex", DateOnly.MaxValue)).Status);
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
        // The confirming fact is the less precise one, and sorts first: neither "most precise" nor "last" would pick it.
        await s.ImportAsync(Deal("d1",
            Stake("a-confirmed", "{ max: 20 }", "{ from: 2020 }", "[ { source: filing, claim: stated } ]"),
            Stake("b-claimed", "{ exact: 10 }", "{ from: 2020-05 }", "[ { source: acme-release, claim: claimed } ]")));

        var a = await s.AtAsync("2022-01-01");
        Assert.Equal(Confidence.Confirmed, a.Confidence);
        Assert.Equal(Share.OfExact(10), a.Share);
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

    [Fact]
    public async Task a_pair_whose_only_stake_is_zero_is_not_held()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", "{ exact: 0 }", "{ from: 2020-01-01 }")));

        var before = await s.AtAsync("2019-06-01");
        var after = await s.AtAsync("2021-06-01");
        Assert.Equal(HoldingStatus.NotHeld, before.Status);
        Assert.Contains("0 %", before.Explanation);
        Assert.Equal(HoldingStatus.NotHeld, after.Status);
        Assert.Equal("2020-01-01", after.Since?.Date);
    }

    [Fact]
    public async Task an_imprecise_fact_narrows_one_state_without_merging_states_that_do_not_coincide()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("a-year", "{ max: 50, maxInclusive: false }", "{ from: 2024 }", "[ { source: wire, claim: stated } ]"),
            Stake("b-march", "{ exact: 10 }", "{ from: 2024-03-05 }"),
            Stake("c-november", "{ exact: 20 }", "{ from: 2024-11-20 }")));

        var june = await s.AtAsync("2024-06-01");
        Assert.Equal(HoldingStatus.Held, june.Status);
        Assert.Equal(Share.OfExact(10), june.Share);
        Assert.Equal(Confidence.Reported, june.Confidence);
        Assert.Equal(["press", "wire"], june.Sources.Select(x => x.Id).Order());
        Assert.Equal("2024-11-20", june.Until?.Date);
        Assert.Equal(Share.OfExact(20), (await s.AtAsync("2024-12-01")).Share);
    }

    [Fact]
    public async Task when_the_dates_do_not_tell_the_order_of_an_ending_and_a_new_stake_the_answer_is_uncertain()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }"),
            Stake("s2", "{ exact: 20 }", "{ from: 2022 }", "[ { source: wire, claim: stated } ]")) +
            "endings:\n  - { fact: s1, on: 2022-03-05, sources: [ { source: press, claim: stated } ] }\n");

        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2021-12-31")).Status);
        var later = await s.AtAsync("2023-06-01");
        Assert.Equal(HoldingStatus.Uncertain, later.Status);
        Assert.Equal(Share.OfExact(20), later.Share);
        Assert.Contains("do not tell their order", later.Explanation);
        Assert.Contains(later.Sources, x => x.Id == "wire");
    }

    [Fact]
    public async Task a_superseded_facts_own_end_does_not_end_its_successor()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01, to: 2023-01-01 }"),
            Stake("s2", "{ exact: 20 }", "{ from: 2022-01-01 }", "[ { source: wire, claim: stated } ]")));

        var a = await s.AtAsync("2023-06-01");
        Assert.Equal(HoldingStatus.Held, a.Status);
        Assert.Equal(Share.OfExact(20), a.Share);
    }

    [Fact]
    public async Task a_facts_own_end_ends_the_holding_when_nothing_follows()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01, to: 2023-01-01 }")));

        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2022-12-31")).Status);
        Assert.Equal("2023-01-01", (await s.AtAsync("2022-12-31")).Until?.Date);
        Assert.Equal(HoldingStatus.NotHeld, (await s.AtAsync("2023-01-01")).Status);
    }

    [Fact]
    public async Task a_stake_ended_and_taken_again_is_not_held_in_between()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }"),
            Stake("s2", "{ exact: 5 }", "{ from: 2022-01-01 }", "[ { source: wire, claim: stated } ]")) +
            "endings:\n  - { fact: s1, on: 2021-01-01, reason: sold, sources: [ { source: press, claim: stated } ] }\n");

        var between = await s.AtAsync("2021-06-01");
        Assert.Equal(HoldingStatus.NotHeld, between.Status);
        Assert.Equal("2021-01-01", between.Since?.Date);
        Assert.Equal("2022-01-01", between.Until?.Date);
        Assert.Contains("sold", between.Explanation);
        Assert.Equal(Share.OfExact(5), (await s.AtAsync("2022-06-01")).Share);
    }

    [Fact]
    public async Task an_ending_recorded_on_an_earlier_fact_ends_the_pairs_holding()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }"),
            Stake("s2", "{ exact: 20 }", "{ from: 2022-01-01 }", "[ { source: wire, claim: stated } ]")) +
            "endings:\n  - { fact: s1, on: 2023-01-01, sources: [ { source: press, claim: stated } ] }\n");

        var a = await s.AtAsync("2023-06-01");
        Assert.Equal(HoldingStatus.NotHeld, a.Status);
        Assert.Contains("20 %", a.Explanation);
    }

    [Fact]
    public async Task a_second_ending_with_a_new_source_adds_the_source()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }")) +
            "endings:\n  - { fact: s1, on: 2023-01-01, sources: [ { source: press, claim: stated } ] }\n");
        var again = await s.ImportAsync("endings:\n  - { fact: s1, on: 2023-01-01, sources: [ { source: filing, claim: stated } ] }\n");
        var repeat = await s.ImportAsync("endings:\n  - { fact: s1, on: 2023-01-01, sources: [ { source: filing, claim: stated } ] }\n");

        Assert.Equal(1, again.EventsAppended);
        Assert.Equal(0, repeat.EventsAppended);
        Assert.Contains((await s.AtAsync("2023-06-01")).Sources, x => x.Id == "filing");
    }

    [Fact]
    public async Task a_correction_can_be_reverted_when_it_carries_an_id()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }")));
        const string Corrections = """
            corrections:
              - { id: to-12, fact: s1, set: { share: { exact: 12 } }, reason: restated, sources: [ { source: filing, claim: stated } ] }
              - { id: back-to-10, fact: s1, set: { share: { exact: 10 } }, reason: restatement withdrawn, sources: [ { source: filing, claim: stated } ] }
              - { id: to-12-again, fact: s1, set: { share: { exact: 12 } }, reason: restated, sources: [ { source: filing, claim: stated } ] }
            """;
        await s.ImportAsync(Corrections);
        var repeat = await s.ImportAsync(Corrections);

        Assert.Equal(0, repeat.EventsAppended);
        Assert.Equal(Share.OfExact(12), (await s.AtAsync("2022-01-01")).Share);
        Assert.Equal(3, (await s.Ledger.HistoryAsync("acme", "globex")).Periods[^1].Corrections.Count);
    }

    [Fact]
    public async Task a_stake_change_within_an_imprecise_month_is_held_with_both_sizes_covered()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 10 }", "{ from: 2020-01-01 }"),
            Stake("s2", "{ exact: 20 }", "{ from: 2022-03 }", "[ { source: wire, claim: stated } ]")));

        var during = await s.AtAsync("2022-03-10");
        Assert.Equal(HoldingStatus.Held, during.Status);
        Assert.Equal(Share.Range(10, true, 20, true), during.Share);
        Assert.Contains("changed during March 2022", during.Explanation);
        Assert.Equal("2020-01-01", during.Since?.Date);
        Assert.Equal(Share.OfExact(20), (await s.AtAsync("2022-04-01")).Share);
    }

    [Fact]
    public async Task an_imprecise_start_is_narrowed_by_its_own_ending()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("s1", "{ exact: 5 }", "{ from: 2024 }"),
            Stake("s2", "{ exact: 5 }", "{ from: 2024-11-20 }", "[ { source: wire, claim: stated } ]")) +
            "endings:\n  - { fact: s1, on: 2024-03-01, sources: [ { source: press, claim: stated } ] }\n");

        Assert.Equal(HoldingStatus.Uncertain, (await s.AtAsync("2024-02-15")).Status);
        Assert.Equal(HoldingStatus.NotHeld, (await s.AtAsync("2024-06-01")).Status);
        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2024-12-01")).Status);
    }

    [Fact]
    public async Task an_imprecise_ending_cannot_come_before_its_own_start()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("a", "{ exact: 10 }", "{ from: 2018-01-01 }"),
            Stake("b", "{ exact: 20 }", "{ from: 2021-11-15 }", "[ { source: wire, claim: stated } ]"),
            Stake("c", "{ exact: 3 }", "{ from: 2010 }", "[ { source: filing, claim: stated } ]", holder: "initech")) +
            "endings:\n  - { fact: b, on: 2021, sources: [ { source: wire, claim: stated } ] }\n" +
            "  - { fact: c, on: 2010-09-05, sources: [ { source: filing, claim: stated } ] }\n");

        var june = await s.AtAsync("2021-06-01");
        Assert.Equal(HoldingStatus.Held, june.Status);
        Assert.Equal(Share.OfExact(10), june.Share);
        Assert.Equal(HoldingStatus.Held, (await s.Ledger.HoldingAsync("initech", "globex", new DateOnly(2010, 9, 4))).Status);
        Assert.Equal(HoldingStatus.NotHeld, (await s.Ledger.HoldingAsync("initech", "globex", new DateOnly(2010, 9, 5))).Status);
    }

    [Fact]
    public async Task an_own_end_within_a_month_does_not_end_a_state_begun_meanwhile()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("a", "{ exact: 10 }", "{ from: 2020-01-01, to: 2023-01 }"),
            Stake("b", "{ exact: 20 }", "{ from: 2023-01-15 }", "[ { source: wire, claim: stated } ]")));

        Assert.Equal(HoldingStatus.Uncertain, (await s.AtAsync("2023-01-10")).Status);
        var after = await s.AtAsync("2023-01-15");
        Assert.Equal(HoldingStatus.Held, after.Status);
        Assert.Equal(Share.OfExact(20), after.Share);
        Assert.Equal(HoldingStatus.Held, (await s.AtAsync("2024-03-01")).Status);
    }

    [Fact]
    public async Task an_imprecise_ending_is_certain_on_the_last_day_of_its_month()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1", Stake("a", "{ exact: 10 }", "{ from: 2020-01-01 }")) +
            "endings:\n  - { fact: a, on: 2023-06, sources: [ { source: press, claim: stated } ] }\n");

        var during = await s.AtAsync("2023-06-15");
        Assert.Equal(HoldingStatus.Uncertain, during.Status);
        Assert.Contains("ended in June 2023", during.Explanation);
        Assert.Equal(HoldingStatus.NotHeld, (await s.AtAsync("2023-06-30")).Status);
    }

    [Fact]
    public async Task zero_against_a_stake_for_the_same_start_is_uncertain_with_both_values()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("a", "{ exact: 0 }", "{ from: 2024-02 }"),
            Stake("b", "{ exact: 10 }", "{ from: 2024-02-26 }", "[ { source: wire, claim: stated } ]")));

        var a = await s.AtAsync("2024-06-01");
        Assert.Equal(HoldingStatus.Uncertain, a.Status);
        Assert.Equal(Confidence.Disputed, a.Confidence);
        Assert.Equal(2, a.Alternatives!.Count);
    }

    [Fact]
    public async Task a_disputed_state_keeps_its_values_while_the_size_changes()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("a", "{ exact: 10 }", "{ from: 2020-01-01 }"),
            Stake("b", "{ exact: 5 }", "{ from: 2022-03 }", "[ { source: wire, claim: stated } ]"),
            Stake("c", "{ exact: 9 }", "{ from: 2022-03 }", "[ { source: filing, claim: stated } ]")));

        var during = await s.AtAsync("2022-03-10");
        Assert.Equal(HoldingStatus.Held, during.Status);
        Assert.Equal(Share.Range(5, true, 10, true), during.Share);
        Assert.NotNull(during.Alternatives);
        Assert.Equal(Share.Range(5, true, 9, true), (await s.AtAsync("2022-06-01")).Share);
    }

    [Theory]
    [InlineData("a", "b")]
    [InlineData("b", "a")]
    public async Task facts_with_the_same_start_are_one_state_whatever_their_ids(string tenPercent, string twentyPercent)
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake(tenPercent, "{ exact: 10 }", "{ from: 2024 }", "[ { source: filing, claim: stated } ]"),
            Stake(twentyPercent, "{ exact: 20 }", "{ from: 2024 }", "[ { source: acme-release, claim: stated } ]"),
            Stake("c", "{ max: 50, maxInclusive: false }", "{ from: 2024-03-05 }", "[ { source: wire, claim: stated } ]"),
            Stake("d", "{ max: 50, maxInclusive: false }", "{ from: 2024-11-20 }", "[ { source: wire, claim: stated } ]")));

        var a = await s.AtAsync("2024-06-01");
        Assert.Equal(Confidence.Disputed, a.Confidence);
        Assert.Equal([Share.OfExact(10), Share.OfExact(20)], a.Alternatives!.Select(x => x.Share).Where(x => x.Exact is not null).OrderBy(x => x.Exact));
    }

    [Fact]
    public async Task not_held_since_the_end_that_ended_the_last_holding_not_a_later_one()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d1",
            Stake("a", "{ exact: 10 }", "{ from: 2020-01-01 }"),
            Stake("b", "{ exact: 20 }", "{ from: 2022-01-01, to: 2023-01-01 }", "[ { source: wire, claim: stated } ]")) +
            "endings:\n  - { fact: a, on: 2024-01-01, sources: [ { source: press, claim: stated } ] }\n");

        Assert.Equal(HoldingStatus.NotHeld, (await s.AtAsync("2023-06-01")).Status);
        var later = await s.AtAsync("2024-06-01");
        Assert.Equal(HoldingStatus.NotHeld, later.Status);
        Assert.Equal("2023-01-01", later.Since?.Date);
    }
}
