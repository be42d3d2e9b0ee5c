using DealLedger.Auditing;
using DealLedger.Bods;
using DealLedger.Changes;
using DealLedger.Feed;
using DealLedger.Holdings;
using DealLedger.Ownership;
using DealLedger.Relationships;
using static DealLedger.Tests.Seeds;

namespace DealLedger.Tests;

/// <summary>
/// A review of issue 19, item 3 (duplicate records merged and unmerged): each defect it found, shown by a failing test
/// first, and the cases it checked that held (chains, the COPY path, a shadow caught up write by write, another process).
/// </summary>
public sealed class Review19MergeTests
{
    // Globex registered three times: globex, globex-inc and globex-llc. Acme's stake is recorded against each: 10 % from 2020,
    // 20 % from 2022, 30 % from 2023.
    private const string Records = """
        organizations:
          - { id: globex-inc, name: Globex Inc., kind: company }
          - { id: globex-llc, name: Globex LLC, kind: company }
        """;

    private static string Stakes => Deal("d1",
        Stake("s-a", "{ exact: 10 }", "{ from: 2020-01-01 }"),
        Stake("s-b", "{ exact: 20 }", "{ from: 2022-01-01 }", "[ { source: filing, claim: stated } ]", subject: "globex-inc"),
        Stake("s-c", "{ exact: 30 }", "{ from: 2023-01-01 }", "[ { source: filing, claim: stated } ]", subject: "globex-llc"));

    private static readonly DateOnly Day = new(2024, 6, 1);

    private static async Task<decimal?> ShareAsync(Ledger l, string holder, string subject, DateTimeOffset? knownAt = null) =>
        (await l.HoldingAsync(holder, subject, Day, knownAt)).Share?.Lower;

    private static async Task AgreesAsync(Scenario s, params DateTimeOffset?[] instants)
    {
        foreach (var k in instants.Append(null))
        {
            var replay = await s.Ledger.ReplayAsync(k);
            Assert.True(replay.Agrees, $"replay at {k}: " + string.Join("\n", replay.Differences.Take(3).Select(d => $"{d.Question}: {d.Live} / {d.Replayed}")));
        }
        var rebuild = await s.Ledger.RebuildAsync();
        Assert.True(rebuild.Unchanged, "rebuild: " + string.Join(", ", rebuild.Before.Zip(rebuild.After).Where(x => x.First != x.Second).Select(x => $"{x.First} / {x.Second}")));
    }

    [Fact]
    public async Task a_chain_of_merges_reads_every_record_as_the_last_survivor_and_a_rebuild_makes_the_same_rows()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        var first = await s.ImportAsync(MergeOf("globex-llc", "globex-inc"));
        Assert.Equal(30m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        var second = await s.ImportAsync(MergeOf("globex-inc", "globex"));
        Assert.Equal(30m, await ShareAsync(s.Ledger, "acme", "globex"));
        Assert.Equal(30m, await ShareAsync(s.Ledger, "acme", "globex-llc"));
        Assert.Equal(30m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        Assert.Equal(20m, (await s.Ledger.HoldingAsync("acme", "globex", new DateOnly(2022, 6, 1))).Share!.Lower);
        await AgreesAsync(s, first.RecordedAt, second.RecordedAt);
    }

    [Fact]
    public async Task undoing_the_middle_of_a_chain_keeps_the_first_merge_and_a_rebuild_makes_the_same_rows()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        await s.ImportAsync(MergeOf("globex-llc", "globex-inc"));
        var merged = await s.ImportAsync(MergeOf("globex-inc", "globex"));
        var undone = await s.ImportAsync(UnmergeOf("globex-inc"));
        Assert.Equal(10m, await ShareAsync(s.Ledger, "acme", "globex"));
        Assert.Equal(30m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        Assert.Equal(30m, await ShareAsync(s.Ledger, "acme", "globex-llc"));
        Assert.Equal(20m, (await s.Ledger.HoldingAsync("acme", "globex-llc", new DateOnly(2022, 6, 1))).Share!.Lower);
        // A correction of the duplicate's fact afterwards, by this process (its kept rows) and by a fresh one.
        await s.ImportAsync("corrections:\n  - { fact: s-c, set: { share: { exact: 31 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n");
        Assert.Equal(31m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        await using (var fresh = s.Database.Connect())
        {
            await fresh.ImportYamlAsync("corrections:\n  - { fact: s-b, set: { share: { exact: 21 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n");
        }
        Assert.Equal(21m, (await s.Ledger.HoldingAsync("acme", "globex-llc", new DateOnly(2022, 6, 1))).Share!.Lower);
        await AgreesAsync(s, merged.RecordedAt, undone.RecordedAt);
    }

    [Fact]
    public async Task a_merge_in_the_document_that_records_the_duplicates_facts_counts_them_for_the_survivor()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Deal("d0", Stake("s-a", "{ exact: 10 }", "{ from: 2020-01-01 }")));
        var both = await s.ImportAsync(Records + "\n" + Deal("d1",
            Stake("s-b", "{ exact: 20 }", "{ from: 2022-01-01 }", "[ { source: filing, claim: stated } ]", subject: "globex-inc")) + MergeOf("globex-inc", "globex"));
        Assert.Equal(20m, await ShareAsync(s.Ledger, "acme", "globex"));
        Assert.Equal(20m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        await AgreesAsync(s, both.RecordedAt);
    }

    [Fact]
    public async Task a_merge_of_records_with_no_stakes_and_facts_recorded_of_the_survivor_afterwards()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        var merged = await s.ImportAsync(MergeOf("globex-inc", "globex"));
        await s.ImportAsync(Deal("d1", Stake("s-a", "{ exact: 10 }", "{ from: 2020-01-01 }")));
        Assert.Equal(10m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        var undone = await s.ImportAsync(UnmergeOf("globex-inc"));
        Assert.Equal(HoldingStatus.Unknown, (await s.Ledger.HoldingAsync("acme", "globex-inc", Day)).Status);
        Assert.Equal(10m, await ShareAsync(s.Ledger, "acme", "globex"));
        await AgreesAsync(s, merged.RecordedAt, undone.RecordedAt);
    }

    private static string ManySources(string prefix, int count) =>
        "sources:\n" + string.Concat(Enumerable.Range(0, count).Select(i => $"  - {{ id: {prefix}-{i:D3}, title: {prefix} {i}, kind: third-party }}\n"));

    private static string ManyOrganizations(string prefix, int count) =>
        "organizations:\n" + string.Concat(Enumerable.Range(0, count).Select(i => $"  - {{ id: {prefix}-{i:D3}, name: {prefix} {i}, kind: company }}\n"));

    [Fact]
    public async Task a_big_import_with_a_merge_and_a_big_import_with_an_undo_store_what_small_writes_store()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        // More than ProjectionCopy.BatchedRows rows: the COPY path (sources, which add nothing for replay to ask about).
        var merged = await s.ImportAsync(ManySources("big", 600) + MergeOf("globex-inc", "globex"));
        Assert.Equal(30m, await ShareAsync(s.Ledger, "acme", "globex-llc"));
        Assert.Equal(20m, (await s.Ledger.HoldingAsync("acme", "globex", new DateOnly(2022, 6, 1))).Share!.Lower);
        var undone = await s.ImportAsync(ManySources("more", 600) + UnmergeOf("globex-inc"));
        Assert.Equal(10m, (await s.Ledger.HoldingAsync("acme", "globex", new DateOnly(2022, 6, 1))).Share!.Lower);
        Assert.Equal(20m, (await s.Ledger.HoldingAsync("acme", "globex-inc", new DateOnly(2022, 6, 1))).Share!.Lower);
        await AgreesAsync(s, merged.RecordedAt, undone.RecordedAt);
    }

    // The duplicate's ties of other kinds: a partnership with Initech, and a statement that its owners are not disclosed.
    private static string OtherTies => Deal("d2",
        "- { id: rnd, type: partnership, parties: [initech, globex-inc], scope: joint research, valid: { from: 2019 }, sources: [ { source: press, claim: stated } ] }\n",
        "- { id: hidden, type: owners-undisclosed, subject: globex-inc, reason: register-not-public, valid: { from: 2019 }, sources: [ { source: filing, claim: stated } ] }\n");

    [Fact]
    public async Task the_relationships_of_a_merged_organization_keep_the_duplicate_records_ties_of_every_kind()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        await s.ImportAsync(OtherTies);
        Assert.Contains((await s.Ledger.RelationshipsAsync("globex-inc", Day)).Relationships, r => r.Fact == "rnd");
        await s.ImportAsync(MergeOf("globex-inc", "globex"));
        // "its ties are read as Globex's": asked by either id, the partnership is one of the organization's ties.
        Assert.Contains((await s.Ledger.RelationshipsAsync("globex-inc", Day)).Relationships, r => r.Fact == "rnd");
        Assert.Contains((await s.Ledger.RelationshipsAsync("globex", Day)).Relationships, r => r.Fact == "rnd");
        // And the stake tie names the fact it rests on (the duplicate's s-b), not "acme→globex".
        Assert.Contains((await s.Ledger.RelationshipsAsync("globex", Day)).Relationships, r => r.Fact == "s-b");
    }

    [Fact]
    public async Task the_owners_page_the_api_and_the_cli_give_names_the_merge_and_the_duplicates_undisclosed_owners()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        await s.ImportAsync(OtherTies);
        await s.ImportAsync(MergeOf("globex-inc", "globex"));
        var whole = await s.Ledger.OwnersAsync("globex-inc", Day);
        Assert.NotNull(whole.Merges);
        var page = await s.Ledger.OwnersAsync("globex-inc", Day, null, new PageRequest(50));
        Assert.Equal(["acme"], page.Owners.Select(o => o.Holder));
        // The page (GET /api/organizations/{organization}/owners, `dealledger owners`) drops the merge note the answer rests on.
        Assert.Contains("\"merges\"", Storage.LedgerJson.Serialize(page), StringComparison.Ordinal);
        // Asked by the survivor, the duplicate record's statement that its owners are not disclosed is one of the organization's.
        Assert.Contains((await s.Ledger.OwnersAsync("globex", Day, null, new PageRequest(50))).Undisclosed, u => u.Fact == "hidden");
    }

    [Fact]
    public async Task a_feed_filtered_by_the_pair_or_the_organization_shows_the_holding_changes_a_merge_made()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        var stakes = await s.ImportAsync(Stakes);
        var merged = await s.ImportAsync(MergeOf("globex-inc", "globex"));
        // Unfiltered, the merge write closes and opens acme→globex's segments.
        var all = await s.Ledger.FeedAsync(stakes.LastSequence!.Value, 100);
        Assert.Contains(all.Messages.SelectMany(m => m.Changes), c => c.Projection == "holdings" && c.Holder == "acme" && c.Subject == "globex");
        // A follower of the pair (or of Globex, or a webhook subscribed so) never hears of it.
        var pair = await s.Ledger.FeedAsync(stakes.LastSequence!.Value, 100, new FeedFilter(null, "acme", "globex", null));
        Assert.Contains(pair.Messages.SelectMany(m => m.Changes), c => c.Projection == "holdings" && c.Holder == "acme" && c.Subject == "globex");
        var org = await s.Ledger.FeedAsync(stakes.LastSequence!.Value, 100, new FeedFilter("globex", null, null, null));
        Assert.Contains(org.Messages, m => m.Sequence == merged.LastSequence);
    }

    [Fact]
    public async Task what_the_ledger_learned_from_a_merge_names_the_merge_as_its_event()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        var stakes = await s.ImportAsync(Stakes);
        await s.ImportAsync(MergeOf("globex-inc", "globex"));
        var learned = await s.Ledger.ChangesAsync(ChangesRequest.Parse(Time.Instant.Format(stakes.RecordedAt!.Value), null, "2024-06-01", null, null, null, "100", null, cli: false));
        var change = Assert.Single(learned.Holdings, h => (h.Holder, h.Subject) == ("acme", "globex"));
        // The change is explained by the event that made it: the merge (none is given).
        Assert.Contains(change.Events ?? [], e => e.Event.Type == "organizations_merged");
    }

    [Fact]
    public async Task importing_a_document_with_an_undo_twice_changes_nothing_the_second_time()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(MergeOf("globex-inc", "globex"));
        const string both = "merges:\n  - { duplicate: globex-llc, into: globex, reason: registered twice }\n" +
            "unmerges:\n  - { duplicate: globex-inc, reason: two companies after all }\n";
        Assert.True((await s.ImportAsync(both)).EventsAppended > 0);
        // README: importing twice changes nothing. The undo of a merge no longer in force fails the whole import instead.
        Assert.Equal(0, (await s.ImportAsync(both)).EventsAppended);
    }

    [Fact]
    public async Task merges_of_both_sides_a_stake_between_two_records_and_a_merge_again_after_its_undo_fold_as_a_rebuild_folds_them()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records + "\n  - { id: initech-dup, name: Initech Dup, kind: company }\n");
        await s.ImportAsync(Deal("d1",
            Stake("h-a", "{ exact: 10 }", "{ from: 2020-01-01 }", holder: "globex", subject: "initech"),
            Stake("h-b", "{ exact: 15 }", "{ from: 2021-01-01 }", "[ { source: filing, claim: stated } ]", holder: "globex-inc", subject: "initech"),
            Stake("h-c", "{ exact: 25 }", "{ from: 2022-01-01 }", "[ { source: filing, claim: stated } ]", holder: "globex-inc", subject: "initech-dup"),
            Stake("self", "{ exact: 100 }", "{ from: 2018-01-01 }", holder: "globex", subject: "globex-inc"),
            Stake("a-b", "{ exact: 5 }", "{ from: 2019-01-01 }", holder: "acme", subject: "globex-inc")));
        var instants = new List<DateTimeOffset?>();
        // This process keeps the pairs it writes: write to them, merge, write again, undo, write again, merge again.
        await s.ImportAsync("corrections:\n  - { fact: h-a, set: { share: { exact: 11 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n");
        instants.Add((await s.ImportAsync(MergeOf("globex-inc", "globex"))).RecordedAt);
        instants.Add((await s.ImportAsync(MergeOf("initech-dup", "initech"))).RecordedAt);
        Assert.Equal(25m, (await s.Ledger.HoldingAsync("globex", "initech", Day)).Share!.Lower);
        Assert.Equal(25m, (await s.Ledger.HoldingAsync("globex-inc", "initech-dup", Day)).Share!.Lower);
        instants.Add((await s.ImportAsync("corrections:\n  - { fact: h-b, set: { share: { exact: 16 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n")).RecordedAt);
        instants.Add((await s.ImportAsync(Deal("d2", Stake("a-a", "{ exact: 7 }", "{ from: 2023-01-01 }")))).RecordedAt);
        Assert.Equal(7m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        instants.Add((await s.ImportAsync(UnmergeOf("globex-inc"))).RecordedAt);
        Assert.Equal(5m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        Assert.Equal(100m, await ShareAsync(s.Ledger, "globex", "globex-inc"));
        Assert.Equal(25m, (await s.Ledger.HoldingAsync("globex-inc", "initech", Day)).Share!.Lower);
        Assert.Equal(11m, (await s.Ledger.HoldingAsync("globex", "initech", Day)).Share!.Lower);
        instants.Add((await s.ImportAsync("corrections:\n  - { fact: h-c, set: { share: { exact: 26 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n")).RecordedAt);
        // Another process (nothing kept) writes too.
        await using (var other = s.Database.Connect())
        {
            await other.ImportYamlAsync("corrections:\n  - { fact: a-b, set: { share: { exact: 6 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n");
        }
        // Merged again: with its reason given anew (the same merge twice is recorded once).
        instants.Add((await s.ImportAsync(MergeOf("globex-inc", "globex").Replace("registered twice", "registered twice again", StringComparison.Ordinal))).RecordedAt);
        Assert.Equal(7m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        Assert.Equal(6m, (await s.Ledger.HoldingAsync("acme", "globex", new DateOnly(2022, 6, 1))).Share!.Lower);
        instants.Add((await s.ImportAsync("corrections:\n  - { fact: a-a, set: { share: { exact: 8 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n")).RecordedAt);
        Assert.Equal(8m, await ShareAsync(s.Ledger, "acme", "globex-inc"));
        await AgreesAsync(s, [.. instants]);
    }

    [Fact]
    public async Task a_merge_and_its_undo_in_one_import_change_nothing_and_leave_no_empty_merge()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        var w = await s.ImportAsync(MergeOf("globex-inc", "globex") + "unmerges:\n  - { duplicate: globex-inc, reason: no after all }\n");
        Assert.Equal(20m, (await s.Ledger.HoldingAsync("acme", "globex-inc", new DateOnly(2022, 6, 1))).Share!.Lower);
        await AgreesAsync(s, w.RecordedAt);
    }

    [Fact]
    public async Task a_shadow_caught_up_write_by_write_over_merges_and_undos_answers_as_the_live_projections()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        var stakes = await s.ImportAsync(Stakes);
        await s.ImportAsync(MergeOf("globex-llc", "globex-inc"));
        await s.ImportAsync(MergeOf("globex-inc", "globex"));
        await s.ImportAsync("corrections:\n  - { fact: s-b, set: { share: { exact: 21 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n");
        await s.ImportAsync(UnmergeOf("globex-inc"));
        await s.ImportAsync(MergeOf("globex-inc", "globex").Replace("registered twice", "registered twice again", StringComparison.Ordinal));
        await s.ImportAsync(UnmergeOf("globex-llc"));
        await using var shadow = await ShadowProjections.CreateAsync(s.Ledger, "replay", CancellationToken.None);
        // Built from the log up to the stakes, then caught up write by write (as a rebuild catches up under the write lock).
        await shadow.CatchUpAsync(stakes.RecordedAt!.Value, null, CancellationToken.None);
        await shadow.CatchUpAsync(DateTimeOffset.MaxValue, null, CancellationToken.None);
        foreach (var (h, subject) in new[] { ("acme", "globex"), ("acme", "globex-inc"), ("acme", "globex-llc") })
        {
            foreach (var day in new[] { new DateOnly(2020, 6, 1), new DateOnly(2022, 6, 1), Day })
            {
                Assert.Equal(Storage.LedgerJson.Serialize(await s.Ledger.HoldingAsync(h, subject, day)), Storage.LedgerJson.Serialize(await shadow.Ledger.HoldingAsync(h, subject, day)));
            }
            Assert.Equal(Storage.LedgerJson.Serialize(await s.Ledger.HistoryAsync(h, subject)), Storage.LedgerJson.Serialize(await shadow.Ledger.HistoryAsync(h, subject)));
        }
    }

    [Fact]
    public async Task the_auditors_in_memory_replay_of_the_log_answers_as_the_projections_after_a_merge()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        var merged = await s.ImportAsync(MergeOf("globex-inc", "globex"));
        var k = merged.RecordedAt!.Value;
        var replay = await LogReplay.LoadAsync(s.Ledger, k);
        var fromProjection = await s.Ledger.HoldingAsync("acme", "globex", new DateOnly(2022, 6, 1), k);
        var fromReplay = replay.Holding("acme", "globex", new DateOnly(2022, 6, 1));
        // DESIGN §3 rule 1: the log alone gives the answer. The projections say 20 % (the duplicate's filing), the replay 10 %.
        Assert.Equal(fromProjection.Share!.Lower, fromReplay.Share!.Lower);
    }

    private static string BodsEntity(string record, string name) =>
        $$"""{ "statementId": "{{record.PadRight(32, '0')}}", "statementDate": "2021-07-15", "recordId": "{{record}}", "recordType": "entity", "recordStatus": "new", "declarationSubject": "{{record}}", "recordDetails": { "isComponent": false, "entityType": { "type": "registeredEntity" }, "name": "{{name}}" } }""";

    private static string BodsStake(string statement, string date, string status, decimal share, string start) =>
        $$"""{ "statementId": "{{statement.PadRight(32, '0')}}", "statementDate": "{{date}}", "recordId": "nordvind-aurora", "recordType": "relationship", "recordStatus": "{{status}}", "declarationSubject": "aurora", "source": { "type": [ "officialRegister" ] }, """
        + $$""" "recordDetails": { "isComponent": false, "subject": "aurora", "interestedParty": "nordvind", "interests": [ { "type": "shareholding", "directOrIndirect": "direct", "share": { "exact": {{share}} }, "startDate": "{{start}}" } ] } }""";

    [Fact]
    public async Task a_bods_update_about_a_record_merged_into_another_is_read_as_the_survivors()
    {
        await using var s = await Scenario.StartAsync();
        await s.Ledger.ImportBodsAsync([("aurora.json", "[" + BodsEntity("nordvind", "Nordvind AS") + "," + BodsEntity("aurora", "Aurora Ltd") + "," +
            BodsStake("aurora-s1", "2021-07-15", "new", 50, "2021-07-15") + "]")]);
        await s.ImportAsync("organizations:\n  - { id: aurora-ltd, name: Aurora Limited, kind: company }\n");
        await s.ImportAsync(MergeOf("bods-aurora", "aurora-ltd"));
        // The register's next statement about the same record: the translation records it of the merged record, which is refused.
        var later = await s.Ledger.ImportBodsAsync([("aurora-later.json", "[" + BodsStake("aurora-s2", "2023-01-12", "updated", 45, "2023-01-10") + "]")]);
        Assert.Equal(45m, (await s.Ledger.HoldingAsync("bods-nordvind", "aurora-ltd", new DateOnly(2023, 6, 1))).Share!.Lower);
    }

    [Fact]
    public async Task a_stake_of_the_survivor_contradicting_a_stake_of_its_merged_duplicate_from_the_same_source_is_refused()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        // Before the merge, one source giving two shares of one pair from the same day is refused (StakeContradiction) ...
        await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(Deal("d2",
            Stake("s-b2", "{ exact: 25 }", "{ from: 2022-01-01 }", "[ { source: filing, claim: stated } ]", subject: "globex-inc"))));
        await s.ImportAsync(MergeOf("globex-inc", "globex"));
        // ... after it, the filing's 20 % of globex-inc counts for acme → globex, and the filing's 25 % of globex from that day is taken.
        await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(Deal("d3",
            Stake("s-a2", "{ exact: 25 }", "{ from: 2022-01-01 }", "[ { source: filing, claim: stated } ]"))));
    }

    [Fact]
    public async Task the_api_connected_as_a_member_of_the_api_role_merges_and_unmerges_over_http()
    {
        await using var api = await ApiHostFixture.EmptyAsync();
        await api.Ledger.ImportYamlAsync(Basics);
        await api.Ledger.ImportYamlAsync(Records);
        await api.Ledger.ImportYamlAsync(Stakes);
        var login = $"dl_api_merge_{Guid.NewGuid():N}"[..30];
        var password = Guid.NewGuid().ToString("N");
        await using (var c = new Npgsql.NpgsqlConnection(api.ConnectionString))
        {
            await c.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand($"create role {login} login password '{password}' in role {DatabaseRoleTests.ApiRole}", c);
            await cmd.ExecuteNonQueryAsync();
        }
        try
        {
            var connection = new Npgsql.NpgsqlConnectionStringBuilder(api.ConnectionString) { Username = login, Password = password, Pooling = false }.ConnectionString;
            await using var host = api.Host(anonymousReads: false, new Dictionary<string, string> { ["ConnectionStrings:DealLedger"] = connection });
            var writer = host.CreateClient();
            writer.DefaultRequestHeaders.Add("X-Api-Key", api.Keys[Access.Role.Writer]);
            static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
            var merged = await writer.PostAsync("/api/organizations/globex-inc/merge", Json("""{ "into": "globex", "reason": "registered twice" }"""));
            Assert.True(merged.StatusCode == System.Net.HttpStatusCode.Created, await merged.Content.ReadAsStringAsync());
            Assert.Equal("key:test-writer", Assert.Single((await api.Ledger.HoldingAsync("acme", "globex", Day)).Merges!).Writer);
            var undone = await writer.PostAsync("/api/organizations/globex-inc/unmerge", Json("""{ "reason": "two after all" }"""));
            Assert.True(undone.StatusCode == System.Net.HttpStatusCode.OK, await undone.Content.ReadAsStringAsync());
            Assert.Null((await api.Ledger.HoldingAsync("acme", "globex", Day)).Merges);
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await using var c = new Npgsql.NpgsqlConnection(api.ConnectionString);
            await c.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand($"drop role if exists {login}", c);
            await cmd.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task retractions_endings_and_a_write_of_many_pairs_while_merged_fold_as_a_rebuild_folds_them()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        var instants = new List<DateTimeOffset?> { (await s.ImportAsync(MergeOf("globex-inc", "globex"))).RecordedAt };
        instants.Add((await s.ImportAsync("retractions:\n  - { fact: s-b, reason: wrong company, sources: [ { source: filing, claim: stated } ] }\n")).RecordedAt);
        instants.Add((await s.ImportAsync("endings:\n  - { fact: s-a, on: 2023-06, reason: sold, sources: [ { source: press, claim: stated } ] }\n")).RecordedAt);
        // Many pairs in one write (built in parallel), some of them counting for merged records.
        var orgs = ManyOrganizations("o", 12);
        var deal = Deal("d9", [.. Enumerable.Range(0, 12).Select(i => Stake($"m{i}", "{ exact: 1 }", "{ from: 2021-01-01 }", holder: $"o-{i:D3}", subject: i % 2 == 0 ? "globex" : "globex-llc"))]);
        instants.Add((await s.ImportAsync(orgs + "\n" + deal)).RecordedAt);
        instants.Add((await s.ImportAsync(MergeOf("globex-llc", "globex"))).RecordedAt);
        Assert.Equal(1m, (await s.Ledger.HoldingAsync("o-001", "globex", Day)).Share!.Lower);
        instants.Add((await s.ImportAsync(UnmergeOf("globex-inc"))).RecordedAt);
        await AgreesAsync(s, [.. instants]);
    }

    [Fact]
    public async Task what_happened_to_a_merged_record_is_answered_as_its_survivors()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Records);
        await s.ImportAsync(Stakes);
        var before = await s.Ledger.ChangesAsync(ChangesRequest.Parse(null, null, "2021-06-01", "2022-06-01", null, "globex-inc", "100", null, cli: false));
        Assert.Contains(before.Holdings, h => h.Holder == "acme");
        await s.ImportAsync(MergeOf("globex-inc", "globex"));
        // What changed between two dates, asked of the duplicate, answers as of its survivor, as every other read does.
        var after = await s.Ledger.ChangesAsync(ChangesRequest.Parse(null, null, "2021-06-01", "2022-06-01", null, "globex-inc", "100", null, cli: false));
        Assert.Contains(after.Holdings, h => h.Holder == "acme");
    }
}
