using System.Text.Json;
using DealLedger.Changes;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// DESIGN §12, issue 15: what the ledger learned between two instants (with the events that taught it), and what changed in
/// the world between two dates — exactly the pairs and ties whose answer changed, nothing else.
/// </summary>
public sealed class ChangesTests
{
    // Before T1: five pairs and two ties. Between T1 and T2: an addition, a correction, a retraction, an ending, a dispute
    // over a stake and a denial of a partnership. acme→initech and the investment are never touched.
    private const string Known = """
        deals:
          - id: d1
            parties: [acme, globex, initech]
            facts:
              - { id: s1, type: stake, holder: acme, subject: globex, share: { exact: 10 }, valid: { from: 2020-03 }, sources: [ { source: press, claim: stated } ] }
              - { id: s2, type: stake, holder: initech, subject: globex, share: { exact: 5 }, valid: { from: 2015 }, sources: [ { source: press, claim: stated } ] }
              - { id: s3, type: stake, holder: globex, subject: initech, share: { exact: 2 }, valid: { from: 2017 }, sources: [ { source: wire, claim: stated } ] }
              - { id: s6, type: stake, holder: globex, subject: acme, share: { exact: 20 }, valid: { from: 2018 }, sources: [ { source: press, claim: stated } ] }
              - { id: s8, type: stake, holder: acme, subject: initech, share: { exact: 1 }, valid: { from: 2010 }, sources: [ { source: press, claim: stated } ] }
              - { id: p1, type: partnership, parties: [acme, globex], scope: R&D, valid: { from: 2021 }, sources: [ { source: press, claim: stated } ] }
              - { id: i1, type: investment, investor: acme, investee: globex, amount: { value: 5000000, currency: EUR }, valid: { from: 2010 }, sources: [ { source: press, claim: stated } ] }
        """;

    private const string Learned = """
        deals:
          - id: d2
            parties: [acme, globex, initech]
            facts:
              - { id: s4, type: stake, holder: initech, subject: acme, share: { exact: 7 }, valid: { from: 2022 }, sources: [ { source: wire, claim: stated } ] }
              - { id: s7, type: stake, holder: globex, subject: acme, share: { exact: 35 }, valid: { from: 2018 }, sources: [ { source: wire, claim: stated } ] }
        corrections:
          - { fact: s1, set: { share: { exact: 12 } }, reason: "the filing gives 12 %", sources: [ { source: filing, claim: stated } ] }
        retractions:
          - { fact: s3, reason: "the wire withdrew it", sources: [ { source: wire, claim: stated } ] }
        endings:
          - { fact: s2, on: 2023-06-30, sources: [ { source: press, claim: stated } ] }
        claims:
          - { fact: p1, source: globex-release, claim: denied }
        """;

    private static readonly string[] ChangedPairs = ["acme→globex", "globex→acme", "globex→initech", "initech→acme", "initech→globex"];

    private sealed record Story(Scenario S, DateTimeOffset T1, DateTimeOffset T2) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => S.DisposeAsync();
    }

    private static async Task<Story> TellAsync()
    {
        var s = await Scenario.StartAsync();
        var t1 = (await s.ImportAsync(Known)).RecordedAt!.Value;
        await s.ImportAsync(Learned);
        var t2 = (await s.ImportAsync("corrections:\n  - { fact: s8, set: { share: { exact: 1.5 } }, reason: restated, sources: [ { source: filing, claim: stated } ] }\n")).RecordedAt!.Value;
        // After T2: must not be listed for (T1, T2].
        t2 = t2.AddTicks(-10);
        return new Story(s, t1, t2);
    }

    private static ChangesRequest Knowledge(DateTimeOffset from, DateTimeOffset? to = null, string? at = null, string? org = null, int limit = 100, string? after = null) =>
        ChangesRequest.Parse(Time.Instant.Format(from), to is { } t ? Time.Instant.Format(t) : null, at, null, null, org, limit.ToString(), after, cli: false);

    private static ChangesRequest World(string at, string toAt, DateTimeOffset? knownAt = null, int limit = 100, string? after = null) =>
        ChangesRequest.Parse(null, null, at, toAt, knownAt is { } k ? Time.Instant.Format(k) : null, null, limit.ToString(), after, cli: false);

    private static List<string> Pairs(ChangesAnswer a) => a.Holdings.Select(h => $"{h.Holder}→{h.Subject}").ToList();

    // acme holds 10 % of globex from March 2020, as a press report says.
    private const string Stake = """
        deals:
          - id: d1
            parties: [acme, globex]
            facts:
              - { id: s1, type: stake, holder: acme, subject: globex, share: { exact: 10 }, valid: { from: 2020-03 }, sources: [ { source: press, claim: stated } ] }
        """;

    [Fact]
    public async Task a_knowledge_diff_lists_exactly_the_pairs_and_ties_whose_answer_changed_with_their_kinds_and_events()
    {
        await using var story = await TellAsync();
        var ledger = story.S.Ledger;
        // The correction of s8 came after T2: up to T2 it is not there.
        var a = await ledger.ChangesAsync(Knowledge(story.T1, story.T2));
        Assert.Equal(ChangedPairs, Pairs(a));
        Assert.Equal(["p1"], a.Ties.Select(t => t.Fact));
        Assert.Null(a.Page.Next);

        ChangeKind[] KindsOf(string pair) => [.. a.Holdings.Single(h => $"{h.Holder}→{h.Subject}" == pair).Kinds];
        Assert.Equal([ChangeKind.New], KindsOf("initech→acme"));
        Assert.Equal([ChangeKind.Share, ChangeKind.Confidence, ChangeKind.Sources], KindsOf("acme→globex"));
        Assert.Equal([ChangeKind.Retracted], KindsOf("globex→initech"));
        // The held stretch now stops on the ending's day (its period), and a stretch no longer held follows it.
        Assert.Equal([ChangeKind.Ended, ChangeKind.Period], KindsOf("initech→globex"));
        Assert.Equal([ChangeKind.Disputed, ChangeKind.Share, ChangeKind.Confidence, ChangeKind.Sources], KindsOf("globex→acme"));
        Assert.Equal([ChangeKind.Disputed, ChangeKind.Sources], a.Ties.Single().Kinds);

        // Before and after in the answers' shapes; the events recorded in between that caused it, with their sources.
        var corrected = a.Holdings.Single(h => h.Holder == "acme" && h.Subject == "globex");
        Assert.Equal(10m, corrected.Before.Single(p => p.Finding.Status == HoldingStatus.Held).Finding.Share!.Exact);
        Assert.Equal(12m, corrected.After.Single(p => p.Finding.Status == HoldingStatus.Held).Finding.Share!.Exact);
        var cause = Assert.Single(corrected.Events!);
        Assert.Equal("fact_corrected", cause.Event.Type);
        Assert.Equal("filing", Assert.Single(cause.Sources).Id);
        Assert.True(cause.Event.Sequence > 0 && DateTimeOffset.Parse(cause.Event.RecordedAt) > story.T1);
        var added = a.Holdings.Single(h => h.Holder == "initech" && h.Subject == "acme");
        Assert.Empty(added.Before);
        Assert.Equal("fact_recorded", Assert.Single(added.Events!).Event.Type);
        var denied = a.Ties.Single();
        Assert.NotNull(denied.Before);
        Assert.Null(denied.Before.Status);
        Assert.Equal("source_added_to_fact", Assert.Single(denied.Events!).Event.Type);
        Assert.Equal("globex-release", Assert.Single(denied.Events!.Single().Sources).Id);
        // The events speak the documents' words.
        Assert.Equal("denied", denied.Events!.Single().Event.Data.GetProperty("claim").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task the_same_instant_twice_lists_nothing_and_a_later_knownTo_lists_what_came_after()
    {
        await using var story = await TellAsync();
        var ledger = story.S.Ledger;
        Assert.Empty((await ledger.ChangesAsync(Knowledge(story.T1, story.T1))).Holdings);
        Assert.Empty((await ledger.ChangesAsync(Knowledge(story.T2, story.T2))).Ties);
        var last = await ledger.ChangesAsync(Knowledge(story.T2));
        Assert.Equal(["acme→initech"], Pairs(last));
        Assert.Empty(last.Ties);
        var all = await ledger.ChangesAsync(Knowledge(story.T1));
        Assert.Equal(ChangedPairs.Append("acme→initech").Order(StringComparer.Ordinal), Pairs(all));
    }

    [Fact]
    public async Task a_date_narrows_the_diff_to_the_answers_on_that_date()
    {
        await using var story = await TellAsync();
        var a = await story.S.Ledger.ChangesAsync(Knowledge(story.T1, story.T2, at: "2024-06-01"));
        Assert.Equal(ChangedPairs, Pairs(a));
        var corrected = a.Holdings.Single(h => h.Holder == "acme" && h.Subject == "globex");
        Assert.Equal(10m, Assert.Single(corrected.Before).Finding.Share!.Exact);
        Assert.Equal(12m, Assert.Single(corrected.After).Finding.Share!.Exact);
        var ended = a.Holdings.Single(h => h.Holder == "initech" && h.Subject == "globex");
        Assert.Equal(HoldingStatus.Held, Assert.Single(ended.Before).Finding.Status);
        Assert.Equal(HoldingStatus.NotHeld, Assert.Single(ended.After).Finding.Status);
        Assert.Equal(TieStatus.InForce, a.Ties.Single().After!.Status);

        // Before the partnership and every stake but two began, only those two could change.
        var early = await story.S.Ledger.ChangesAsync(Knowledge(story.T1, story.T2, at: "2012-01-01"));
        Assert.DoesNotContain("acme→initech", Pairs(early));
        Assert.Empty(early.Ties);
    }

    [Fact]
    public async Task an_organization_narrows_the_diff_and_pages_walk_it_without_loss_or_repeat()
    {
        await using var story = await TellAsync();
        var ledger = story.S.Ledger;
        var initech = await ledger.ChangesAsync(Knowledge(story.T1, story.T2, org: "initech"));
        Assert.Equal(["globex→initech", "initech→acme", "initech→globex"], Pairs(initech));
        Assert.Empty(initech.Ties);

        var whole = await ledger.ChangesAsync(Knowledge(story.T1));
        var seen = new List<string>();
        string? after = null;
        var pages = 0;
        do
        {
            var page = await ledger.ChangesAsync(Knowledge(story.T1, DateTimeOffset.Parse(whole.KnownTo!), limit: 2, after: after));
            Assert.True(page.Holdings.Count + page.Ties.Count <= 2);
            seen.AddRange(Pairs(page).Concat(page.Ties.Select(t => t.Fact)));
            after = page.Page.Next;
            pages++;
        }
        while (after is not null && pages < 20);
        Assert.Equal(Pairs(whole).Concat(whole.Ties.Select(t => t.Fact)), seen);
    }

    [Fact]
    public async Task a_world_diff_lists_ties_that_started_ended_or_changed_between_two_dates()
    {
        await using var story = await TellAsync();
        var ledger = story.S.Ledger;
        var now = await ledger.ChangesAsync(ChangesRequest.Parse(null, null, "2019-01-01", "2024-01-01", null, null, null, null, cli: false));
        Assert.Equal(ChangeQuestion.World, now.Question);
        Assert.Equal(["acme→globex", "initech→acme", "initech→globex"], Pairs(now));
        Assert.Equal([ChangeKind.Started], now.Holdings[0].Kinds);
        Assert.Equal([ChangeKind.Ended], now.Holdings[2].Kinds);
        Assert.Equal(HoldingStatus.Held, now.Holdings[2].Before.Single().Finding.Status);
        var started = Assert.Single(now.Ties);
        Assert.Equal("p1", started.Fact);
        Assert.Equal([ChangeKind.Started], started.Kinds);
        Assert.Null(started.Before);

        // As known at T1 the ending, the new stake and the retraction were not recorded yet.
        var then = await ledger.ChangesAsync(ChangesRequest.Parse(null, null, "2019-01-01", "2024-01-01", Time.Instant.Format(story.T1), null, null, null, cli: false));
        Assert.Equal(["acme→globex"], Pairs(then));
        Assert.Equal(10m, then.Holdings[0].After.Single().Finding.Share!.Exact);
        Assert.Equal(12m, now.Holdings[0].After.Single().Finding.Share!.Exact);
        Assert.Empty((await ledger.ChangesAsync(ChangesRequest.Parse(null, null, "2024-01-01", "2024-01-01", null, null, null, null, cli: false))).Holdings);
    }

    [Fact]
    public async Task the_cli_prints_the_changes_and_its_json_is_the_core_answer()
    {
        await using var story = await TellAsync();
        var connection = story.S.Database.ConnectionString;
        string[] args = ["changes", "--known-from", Time.Instant.Format(story.T1), "--known-to", Time.Instant.Format(story.T2), "--connection", connection];
        var (code, text, _) = await HeadlineTests.RunCliAsync(args);
        Assert.Equal(0, code);
        Assert.Contains("acme → globex (Acme Holdings in Globex): share, confidence, sources", text);
        Assert.Contains("fact_corrected recorded", text);
        Assert.Contains("p1 (Partnership of Acme Holdings and Globex: R&D): disputed, sources", text);
        var (jsonCode, json, _) = await HeadlineTests.RunCliAsync([.. args, "--json"]);
        Assert.Equal(0, jsonCode);
        var core = await story.S.Ledger.ChangesAsync(Knowledge(story.T1, story.T2));
        Assert.Equal(LedgerJson.Serialize(core, indented: true), json.TrimEnd());
        Assert.Equal("knowledge", JsonDocument.Parse(json).RootElement.GetProperty("question").GetString());

        // A page that is not the last says how to ask for the next: after what, and up to the same instant.
        var (pageCode, page, _) = await HeadlineTests.RunCliAsync(["changes", "--known-from", Time.Instant.Format(story.T1), "--limit", "1", "--connection", connection]);
        Assert.Equal(0, pageCode);
        var first = await story.S.Ledger.ChangesAsync(Knowledge(story.T1, limit: 1));
        Assert.Contains($"more: ask again with --after acme:globex --known-to {first.KnownTo}", page);
        var (worldCode, world, _) = await HeadlineTests.RunCliAsync(["changes", "--at", "2019-01-01", "--to-at", "2024-01-01", "--limit", "1", "--connection", connection]);
        Assert.Equal(0, worldCode);
        Assert.Matches(@"more: ask again with --after acme:globex --known-at \d{4}-\d\d-\d\dT[\d:.]+Z", world);
    }

    [Fact]
    public async Task a_later_stake_of_the_pair_is_no_ending()
    {
        await using var s = await Scenario.StartAsync();
        var t1 = (await s.ImportAsync(Stake)).RecordedAt!.Value;
        // A new stake from 2022 resizes the holding: the stretch held at 10 % now stops where it starts, and nothing ended.
        await s.ImportAsync("""
            deals:
              - id: d2
                parties: [acme, globex]
                facts:
                  - { id: s2, type: stake, holder: acme, subject: globex, share: { exact: 20 }, valid: { from: 2022 }, sources: [ { source: wire, claim: stated } ] }
            """);
        var a = await s.Ledger.ChangesAsync(Knowledge(t1));
        Assert.Equal([ChangeKind.Share, ChangeKind.Period, ChangeKind.Sources], a.Holdings.Single().Kinds);
        // On a date after it, the stretch covering it now starts with the new stake.
        Assert.Equal([ChangeKind.Share, ChangeKind.Period, ChangeKind.Sources], (await s.Ledger.ChangesAsync(Knowledge(t1, at: "2024-01-01"))).Holdings.Single().Kinds);
    }

    [Fact]
    public async Task a_start_moved_past_the_date_is_a_change_of_period_and_status_not_an_ending()
    {
        await using var s = await Scenario.StartAsync();
        var t1 = (await s.ImportAsync(Stake)).RecordedAt!.Value;
        await s.ImportAsync("corrections:\n  - { fact: s1, set: { valid: { from: 2022-01 } }, reason: later, sources: [ { source: filing, claim: stated } ] }\n");
        var on = (await s.Ledger.ChangesAsync(Knowledge(t1, at: "2021-01-01"))).Holdings.Single();
        Assert.Equal([ChangeKind.Status, ChangeKind.Period], on.Kinds);
        Assert.Equal(HoldingStatus.Held, Assert.Single(on.Before).Finding.Status);
        Assert.Equal(HoldingStatus.NotHeld, Assert.Single(on.After).Finding.Status);
        // Over the whole history the stretch before the start also rests on the filing now.
        var all = (await s.Ledger.ChangesAsync(Knowledge(t1))).Holdings.Single();
        Assert.Equal([ChangeKind.Status, ChangeKind.Period, ChangeKind.Confidence, ChangeKind.Sources], all.Kinds);
    }

    [Fact]
    public async Task a_new_dispute_is_disputed_beside_an_old_one()
    {
        await using var s = await Scenario.StartAsync();
        var t1 = (await s.ImportAsync("""
            deals:
              - id: d1
                parties: [acme, globex]
                facts:
                  - { id: a1, type: stake, holder: acme, subject: globex, share: { exact: 10 }, valid: { from: 2015-01-01, to: 2016-01-01 }, sources: [ { source: press, claim: stated } ] }
                  - { id: a2, type: stake, holder: acme, subject: globex, share: { exact: 15 }, valid: { from: 2015-01-01, to: 2016-01-01 }, sources: [ { source: wire, claim: stated } ] }
                  - { id: b1, type: stake, holder: acme, subject: globex, share: { exact: 30 }, valid: { from: 2023-01-01 }, sources: [ { source: press, claim: stated } ] }
            """)).RecordedAt!.Value;
        await s.ImportAsync("""
            deals:
              - id: d2
                parties: [acme, globex]
                facts:
                  - { id: b2, type: stake, holder: acme, subject: globex, share: { exact: 40 }, valid: { from: 2023-01-01 }, sources: [ { source: wire, claim: stated } ] }
            """);
        // 2015 was disputed before and after; 2023 is newly so.
        var a = await s.Ledger.ChangesAsync(Knowledge(t1));
        Assert.Equal([ChangeKind.Disputed, ChangeKind.Share, ChangeKind.Confidence, ChangeKind.Sources], a.Holdings.Single().Kinds);
    }

    [Fact]
    public async Task the_events_listed_are_those_of_the_writes_that_changed_the_answer()
    {
        await using var s = await Scenario.StartAsync();
        var t1 = (await s.ImportAsync("""
            deals:
              - id: d1
                parties: [acme, globex]
                facts:
                  - { id: old, type: stake, holder: acme, subject: globex, share: { exact: 3 }, valid: { from: 2005, to: 2008 }, sources: [ { source: press, claim: stated } ] }
                  - { id: s1, type: stake, holder: acme, subject: globex, share: { exact: 10 }, valid: { from: 2020-03 }, sources: [ { source: press, claim: stated } ] }
            """)).RecordedAt!.Value;
        await s.ImportAsync("corrections:\n  - { fact: s1, set: { share: { exact: 12 } }, reason: r, sources: [ { source: filing, claim: stated } ] }\n");
        await s.ImportAsync("corrections:\n  - { fact: old, set: { share: { exact: 4 } }, reason: r, sources: [ { source: filing, claim: stated } ] }\n");
        // On 2024-01-01 only the correction of s1 changed the answer; over the whole history both did.
        var on = await s.Ledger.ChangesAsync(Knowledge(t1, at: "2024-01-01"));
        Assert.Equal(["fact:s1"], on.Holdings.Single().Events!.Select(e => e.Event.Stream));
        var all = await s.Ledger.ChangesAsync(Knowledge(t1));
        Assert.Equal(["fact:s1", "fact:old"], all.Holdings.Single().Events!.Select(e => e.Event.Stream));
        // Only an earlier period changed: nothing to list on a later date.
        var third = await s.Ledger.ChangesAsync(Knowledge(DateTimeOffset.Parse(on.Holdings.Single().Events!.Single().Event.RecordedAt), at: "2024-01-01"));
        Assert.Empty(third.Holdings);
    }

    [Fact]
    public async Task a_world_diff_lists_a_stake_and_a_tie_that_started_and_ended_between_the_dates()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync("""
            deals:
              - id: d1
                parties: [acme, globex]
                facts:
                  - { id: s1, type: stake, holder: acme, subject: globex, share: { exact: 10 }, valid: { from: 2020-03, to: 2021-05 }, sources: [ { source: press, claim: stated } ] }
                  - { id: b1, type: board-seat, holder: acme, subject: globex, valid: { from: 2020-03, to: 2021-05 }, sources: [ { source: press, claim: stated } ] }
            """);
        var a = await s.Ledger.ChangesAsync(World("2019-01-01", "2024-01-01"));
        var pair = a.Holdings.Single();
        Assert.Equal([ChangeKind.Started, ChangeKind.Ended], pair.Kinds);
        // Before and after are the answers on the two dates: held on neither.
        Assert.Equal(HoldingStatus.NotHeld, Assert.Single(pair.Before).Finding.Status);
        Assert.Equal(HoldingStatus.NotHeld, Assert.Single(pair.After).Finding.Status);
        var tie = a.Ties.Single();
        Assert.Equal("b1", tie.Fact);
        Assert.Equal([ChangeKind.Started, ChangeKind.Ended], tie.Kinds);
        Assert.Null(tie.Before);
        Assert.Null(tie.After);
        // Both dates before it, or both after it: nothing happened between them.
        Assert.Empty((await s.Ledger.ChangesAsync(World("2018-01-01", "2019-01-01"))).Holdings);
        var later = await s.Ledger.ChangesAsync(World("2022-01-01", "2024-01-01"));
        Assert.Empty(later.Holdings);
        Assert.Empty(later.Ties);
    }

    [Fact]
    public async Task pages_of_a_world_diff_walk_it_as_known_now_and_as_known_before()
    {
        await using var story = await TellAsync();
        var ledger = story.S.Ledger;
        foreach (var knownAt in new DateTimeOffset?[] { null, story.T1, story.T2 })
        {
            var whole = await ledger.ChangesAsync(World("2019-01-01", "2024-01-01", knownAt));
            Assert.Null(whole.Page.Next);
            var seen = new List<string>();
            string? after = null;
            var pages = 0;
            do
            {
                var page = await ledger.ChangesAsync(World("2019-01-01", "2024-01-01", DateTimeOffset.Parse(whole.KnownAt!), limit: 1, after: after));
                Assert.True(page.Holdings.Count + page.Ties.Count <= 1);
                seen.AddRange(Pairs(page).Concat(page.Ties.Select(t => t.Fact)));
                after = page.Page.Next;
                pages++;
            }
            while (after is not null && pages < 20);
            Assert.Equal(Pairs(whole).Concat(whole.Ties.Select(t => t.Fact)), seen);
        }
    }

    [Fact]
    public async Task a_knownFrom_after_the_knownTo_answered_is_refused_in_the_future_and_else_an_empty_window()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Stake);
        // Both in the future: knownTo is answered as now, before knownFrom.
        var future = await Assert.ThrowsAsync<LedgerException>(() =>
            s.Ledger.ChangesAsync(Knowledge(DateTimeOffset.Parse("2998-01-01T00:00:00Z"), DateTimeOffset.Parse("2999-01-01T00:00:00Z"))));
        Assert.Equal(LedgerErrorKind.InvalidInput, future.Kind);
        Assert.Equal("knownFrom", future.Field);
        Assert.Contains("knownFrom 2998-01-01T00:00:00Z is in the future", future.Message);
        // After the last instant recorded but not in the future: nothing learned since, and the window never runs backwards.
        var since = await s.Ledger.ChangesAsync(Knowledge(DateTimeOffset.UtcNow.AddMilliseconds(-1)));
        Assert.Empty(since.Holdings);
        Assert.Equal(since.KnownTo, since.KnownFrom);
    }

    [Fact]
    public void a_date_alone_names_the_second_date_missing()
    {
        var e = Assert.Throws<LedgerException>(() => ChangesRequest.Parse(null, null, "2024-01-01", null, null, null, null, null, cli: false));
        Assert.Equal("toAt", e.Field);
        Assert.Contains("give toAt too", e.Message);
        var cli = Assert.Throws<LedgerException>(() => ChangesRequest.Parse(null, null, "2024-01-01", null, null, null, null, null, cli: true));
        Assert.Equal("--to-at", cli.Field);
        // Neither moment: the question is named by knownFrom, as before.
        Assert.Equal("knownFrom", Assert.Throws<LedgerException>(() => ChangesRequest.Parse(null, null, null, null, null, null, null, null, cli: false)).Field);
    }

    [Fact]
    public async Task the_window_is_found_across_gaps_in_the_sequence()
    {
        await using var s = await Scenario.StartAsync();
        var w1 = await s.ImportAsync(Stake);
        // Sequence numbers taken and never used (a write rolled back): the binary search must step over them.
        await using (var c = new NpgsqlConnection(s.Database.ConnectionString))
        {
            await c.OpenAsync();
            var sequence = ProjectionTables.Name("mt_events_sequence");
            await using var burn = new NpgsqlCommand($"select setval('{sequence}', (select last_value from {sequence}) + 1000)", c);
            await burn.ExecuteNonQueryAsync();
        }
        var w2 = await s.ImportAsync("corrections:\n  - { fact: s1, set: { share: { exact: 12 } }, reason: r, sources: [ { source: filing, claim: stated } ] }\n");
        var w3 = await s.ImportAsync("corrections:\n  - { fact: s1, set: { share: { exact: 13 } }, reason: r, sources: [ { source: filing, claim: stated } ] }\n");
        await using (var c = new NpgsqlConnection(s.Database.ConnectionString))
        {
            await c.OpenAsync();
            foreach (var t in new[] { DateTimeOffset.Parse("2000-01-01T00:00:00Z"), w1.RecordedAt!.Value, w1.RecordedAt!.Value.AddTicks(10), w2.RecordedAt!.Value,
                w3.RecordedAt!.Value, DateTimeOffset.Parse("2999-01-01T00:00:00Z") })
            {
                await using var cmd = new NpgsqlCommand($"select {Auditing.EventLog.LastSequenceBy("$1::timestamptz")}, " +
                    $"(select coalesce(max(seq_id), 0) from {ProjectionTables.Name("mt_events")} where timestamp <= $1)", c) { Parameters = { new() { Value = t } } };
                await using var r = await cmd.ExecuteReaderAsync();
                await r.ReadAsync();
                Assert.Equal(r.GetInt64(1), r.GetInt64(0));
            }
        }
        var a = await s.Ledger.ChangesAsync(Knowledge(w1.RecordedAt!.Value, w2.RecordedAt!.Value));
        Assert.Equal(12m, Assert.Single(a.Holdings).After.Single(p => p.Finding.Status == HoldingStatus.Held).Finding.Share!.Exact);
        Assert.Single(a.Holdings.Single().Events!);
    }
}
