using DealLedger.Access;
using DealLedger.Amounts;
using DealLedger.Auditing;
using DealLedger.Changes;
using DealLedger.Holdings;
using DealLedger.Ownership;
using DealLedger.Relationships;
using static DealLedger.Tests.Seeds;

namespace DealLedger.Tests;

/// <summary>Issue 19, item 3: duplicate records merged and unmerged — answers follow the merge from its recorded time on, on both time axes.</summary>
public sealed class MergeTests
{
    // Globex was registered twice: globex and globex-inc. Acme's stake is recorded against both records (10 % from 2020 by the
    // press, 20 % from 2022 by a filing); Initech's 5 % and Globex's 30 % in Initech only against the duplicate; and the
    // duplicate is recorded as wholly owned by Globex (a stake of the organization in itself, once merged).
    private const string Duplicate = """
        organizations:
          - { id: globex-inc, name: Globex Inc., kind: company }
        """;

    private static string Stakes => Deal("d1",
        Stake("acme-globex", "{ exact: 10 }", "{ from: 2020-01-01 }"),
        Stake("acme-inc", "{ exact: 20 }", "{ from: 2022-01-01 }", "[ { source: filing, claim: stated } ]", subject: "globex-inc"),
        Stake("initech-inc", "{ exact: 5 }", "{ from: 2021-01-01 }", holder: "initech", subject: "globex-inc"),
        Stake("inc-initech", "{ exact: 30 }", "{ from: 2019-01-01 }", holder: "globex-inc", subject: "initech"),
        Stake("globex-inc", "{ exact: 100 }", "{ from: 2018-01-01 }", holder: "globex", subject: "globex-inc"));

    private static readonly string Merge = MergeOf("globex-inc", "globex", "the same company registered twice");

    private static readonly string Unmerge = UnmergeOf("globex-inc", "two companies after all (different registry numbers)");

    private static readonly DateOnly Day2023 = new(2023, 6, 1);
    private static readonly DateOnly Day2020 = new(2020, 6, 1);

    [Fact]
    public async Task answers_follow_a_merge_from_its_recorded_time_on_and_an_undo_restores_both_records_on_both_time_axes()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Duplicate);
        await s.ImportAsync(Stakes);
        var merged = await s.ImportAsync(Merge);
        var beforeMerge = merged.RecordedAt!.Value.AddTicks(-10);

        // As known before the merge: two records, each with its own holdings.
        Assert.Equal(20m, (await s.Ledger.HoldingAsync("acme", "globex-inc", Day2023, beforeMerge)).Share!.Lower);
        Assert.Equal(10m, (await s.Ledger.HoldingAsync("acme", "globex", Day2023, beforeMerge)).Share!.Lower);
        Assert.Equal(HoldingStatus.Unknown, (await s.Ledger.HoldingAsync("initech", "globex", Day2023, beforeMerge)).Status);
        Assert.Null((await s.Ledger.HoldingAsync("acme", "globex", Day2023, beforeMerge)).Merges);

        // From the merge on: one organization, whose holdings combine both records' facts (the filing's 20 % from 2022
        // follows the press's 10 % from 2020), asked by either id.
        var byDuplicate = await s.Ledger.HoldingAsync("acme", "globex-inc", Day2023);
        var bySurvivor = await s.Ledger.HoldingAsync("acme", "globex", Day2023);
        Assert.Equal(("acme", "globex-inc"), (byDuplicate.Holder, byDuplicate.Subject));
        Assert.Equal(bySurvivor with { Subject = "globex-inc" }, byDuplicate, new JsonEquality<HoldingAnswer>());
        Assert.Equal((HoldingStatus.Held, 20m), (bySurvivor.Status, bySurvivor.Share!.Lower));
        Assert.Equal(["filing"], bySurvivor.Sources.Select(x => x.Id));
        Assert.Equal(10m, (await s.Ledger.HoldingAsync("acme", "globex", Day2020)).Share!.Lower);
        var note = Assert.Single(bySurvivor.Merges!);
        Assert.Equal(("globex-inc", "globex", Environment.UserName, "the same company registered twice"), (note.Duplicate, note.Into, note.Writer, note.Reason));
        Assert.StartsWith("Globex Inc. (globex-inc) is recorded as the same organization as Globex (globex) since ", note.Explanation, StringComparison.Ordinal);
        Assert.Equal(5m, (await s.Ledger.HoldingAsync("initech", "globex", Day2023)).Share!.Lower);
        // The valid axis still holds: Initech's stake starts in 2021.
        Assert.Equal(HoldingStatus.NotHeld, (await s.Ledger.HoldingAsync("initech", "globex", Day2020)).Status);
        Assert.Equal(30m, (await s.Ledger.HoldingAsync("globex", "initech", Day2023)).Share!.Lower);
        // The duplicate's stake in itself is no holding: asked for, the answer says why.
        var self = await Assert.ThrowsAsync<LedgerException>(() => s.Ledger.HoldingAsync("globex", "globex-inc", Day2023));
        Assert.Contains("are records of one organization", self.Message, StringComparison.Ordinal);

        // What the ledger learned by the merge: the pairs it moved, because of it.
        var learned = await s.Ledger.ChangesAsync(new ChangesRequest(ChangeQuestion.Knowledge, beforeMerge, merged.RecordedAt, null, Day2023, null, null, 100, null));
        Assert.Equal([("acme", "globex"), ("acme", "globex-inc"), ("globex", "globex-inc"), ("globex", "initech"), ("globex-inc", "initech"), ("initech", "globex"), ("initech", "globex-inc")],
            learned.Holdings.Select(h => (h.Holder, h.Subject)));
        Assert.All(learned.Holdings, h => Assert.Equal(["organizations_merged"], h.Events!.Select(e => e.Event.Type)));

        // Search finds the duplicate record as itself, saying which organization answers for it.
        var found = (await s.Ledger.SearchOrganizationsAsync("globex", null, new PageRequest(20))).Organizations;
        Assert.Equal([("globex", null), ("globex-inc", "globex")], found.Select(o => (o.Id, o.MergedInto)));
        Assert.All((await s.Ledger.SearchOrganizationsAsync("globex", beforeMerge, new PageRequest(20))).Organizations, o => Assert.Null(o.MergedInto));

        // Owners, look-through and history read the survivor's holdings, by either id.
        var owners = await s.Ledger.OwnersAsync("globex-inc", Day2023);
        Assert.Equal(["acme", "initech"], owners.Owners.Select(o => o.Holder));
        Assert.Equal("globex-inc", owners.Subject);
        Assert.Single(owners.Merges!);
        Assert.Equal(["acme", "initech"], (await s.Ledger.OwnersAsync("globex", Day2023)).Owners.Select(o => o.Holder));
        Assert.Equal(["initech"], (await s.Ledger.RelationshipsAsync("globex-inc", Day2023)).Relationships
            .Where(r => r.Direction == Direction.Outgoing).SelectMany(r => r.Counterparties));
        var through = await s.Ledger.OwnersThroughAsync("globex-inc", Day2023, null, new LookThroughRequest());
        Assert.Equal(["acme", "initech"], through.Owners!.Select(o => o.Owner!).Order(StringComparer.Ordinal));
        var history = await s.Ledger.HistoryAsync("initech", "globex-inc");
        Assert.Equal(("initech", "globex-inc"), (history.Holder, history.Subject));
        Assert.Equal(5m, history.Periods.Single(p => p.Finding.Status == HoldingStatus.Held).Finding.Share!.Lower);

        // Facts are recorded of the survivor from now on; amending a fact of the duplicate's record is still possible, and counts for the survivor.
        var refused = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(Deal("d2",
            Stake("late", "{ exact: 1 }", "{ from: 2024-01-01 }", holder: "initech", subject: "globex-inc"))));
        Assert.Contains("'globex-inc' is merged into 'globex' (the same organization): record the fact of 'globex'", refused.Message, StringComparison.Ordinal);
        var corrected = await s.ImportAsync(
            "corrections:\n  - { fact: initech-inc, set: { share: { exact: 6 } }, reason: misread, sources: [ { source: filing, claim: stated } ] }\n");
        Assert.Equal(6m, (await s.Ledger.HoldingAsync("initech", "globex", Day2023)).Share!.Lower);

        // Undone: two records again from the undo on; as known between the merge and the undo, one.
        var undone = await s.ImportAsync(Unmerge);
        Assert.Equal(HoldingStatus.Unknown, (await s.Ledger.HoldingAsync("initech", "globex", Day2023)).Status);
        Assert.Equal(6m, (await s.Ledger.HoldingAsync("initech", "globex-inc", Day2023)).Share!.Lower);
        Assert.Equal(10m, (await s.Ledger.HoldingAsync("acme", "globex", Day2023)).Share!.Lower);
        Assert.Equal(20m, (await s.Ledger.HoldingAsync("acme", "globex-inc", Day2023)).Share!.Lower);
        Assert.Equal(100m, (await s.Ledger.HoldingAsync("globex", "globex-inc", Day2023)).Share!.Lower);
        Assert.Null((await s.Ledger.HoldingAsync("acme", "globex", Day2023)).Merges);
        var between = undone.RecordedAt!.Value.AddTicks(-10);
        Assert.Equal(6m, (await s.Ledger.HoldingAsync("initech", "globex", Day2023, between)).Share!.Lower);
        Assert.Equal(20m, (await s.Ledger.HoldingAsync("acme", "globex-inc", Day2023, between)).Share!.Lower);
        Assert.Equal(["acme", "initech"], (await s.Ledger.OwnersAsync("globex", Day2023, between)).Owners.Select(o => o.Holder));
        Assert.Equal(["acme"], (await s.Ledger.OwnersAsync("globex", Day2023)).Owners.Select(o => o.Holder));
        // New facts of the duplicate are recorded again.
        await s.ImportAsync(Deal("d2", Stake("late", "{ exact: 1 }", "{ from: 2024-01-01 }", holder: "initech", subject: "globex-inc")));

        // Replay agrees at every moment: before the merge, after it, after the correction, between and after the undo.
        foreach (var k in new DateTimeOffset?[] { beforeMerge, merged.RecordedAt, corrected.RecordedAt, between, undone.RecordedAt, null })
        {
            var replay = await s.Ledger.ReplayAsync(k);
            Assert.True(replay.Agrees, string.Join("\n", replay.Differences.Take(3).Select(d => $"{d.Question}: {d.Live} / {d.Replayed}")));
        }
        // And a rebuild from the log makes the very rows the writes made.
        Assert.True((await s.Ledger.RebuildAsync()).Unchanged);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public async Task a_random_history_of_merges_chains_undos_and_amendments_rebuilds_to_the_same_rows_and_replays_alike(int seed)
    {
        // Eight organizations, stakes among them written over many writes (one of them big enough to be copied, not batched),
        // merges along chains (c into b, then b into a), undos of the middle of a chain, merges in the same document as facts,
        // corrections and retractions of facts of merged records.
        var random = new Random(seed);
        await using var s = await Scenario.StartAsync(basics: false);
        var orgs = Enumerable.Range(0, 8).Select(i => $"o{i}").ToArray();
        await s.ImportAsync("organizations:\n" + string.Concat(orgs.Select(o => $"  - {{ id: {o}, name: Org {o}, kind: company }}\n")) +
            "sources:\n  - { id: press, title: Press, kind: third-party }\n  - { id: filing, title: Filing, kind: official-register }\n");
        var merged = new Dictionary<string, string>();
        string Survivor(string o) => merged.TryGetValue(o, out var into) ? Survivor(into) : o;
        var facts = new List<string>();
        var instants = new List<DateTimeOffset>();
        var n = 0;
        var (merges, undos, chains) = (0, 0, 0);
        string Stakes(int count)
        {
            var text = new System.Text.StringBuilder("deals:\n");
            for (var i = 0; i < count; i++)
            {
                var (h, sub) = (Survivor(orgs[random.Next(orgs.Length)]), Survivor(orgs[random.Next(orgs.Length)]));
                if (h == sub)
                {
                    continue;
                }
                // Each its own start day: one source never gives two sizes from one day (refused, not the point here).
                var id = $"f{n++}";
                facts.Add(id);
                text.Append($"  - id: d-{id}\n    parties: [{h}, {sub}]\n    facts:\n      - {{ id: {id}, type: stake, holder: {h}, subject: {sub}, " +
                    $"share: {{ exact: {random.Next(1, 60)} }}, valid: {{ from: {new DateOnly(2010, 1, 1).AddDays(n * 7 + random.Next(7)):yyyy-MM-dd} }}, " +
                    $"sources: [ {{ source: {(random.Next(2) == 0 ? "press" : "filing")}, claim: stated }} ] }}\n");
            }
            return text.ToString();
        }
        await s.ImportAsync(Stakes(300));
        for (var step = 0; step < 14; step++)
        {
            var doc = new System.Text.StringBuilder();
            var roll = random.Next(4);
            if (roll == 0 && facts.Count > 0)
            {
                var f = facts[random.Next(facts.Count)];
                var retract = random.Next(3) == 0;
                facts.Remove(f);
                if (!retract)
                {
                    facts.Add(f);
                }
                doc.Append(retract
                    ? $"retractions:\n  - {{ fact: {f}, reason: withdrawn, sources: [ {{ source: press, claim: stated }} ] }}\n"
                    : $"corrections:\n  - {{ id: c{step}, fact: {f}, set: {{ share: {{ exact: {random.Next(1, 60)} }} }}, reason: restated, sources: [ {{ source: filing, claim: stated }} ] }}\n");
            }
            else if (roll == 1)
            {
                doc.Append(Stakes(5));
            }
            var active = merged.Keys.ToList();
            if (active.Count > 0 && random.Next(3) == 0)
            {
                var undo = active[random.Next(active.Count)];
                doc.Append(UnmergeOf(undo, $"apart after all ({step})"));
                merged.Remove(undo);
                undos++;
            }
            else
            {
                var candidates = orgs.Where(o => !merged.ContainsKey(o)).ToArray();
                var (dup, into) = (candidates[random.Next(candidates.Length)], candidates[random.Next(candidates.Length)]);
                if (dup != into && Survivor(into) == into && Survivor(dup) == dup)
                {
                    // Each its own reason: the same merge twice is recorded once (even after an undo).
                    doc.Append(MergeOf(dup, into, $"registered twice ({step})"));
                    merged[dup] = into;
                    chains += merged.ContainsValue(dup) || merged.ContainsKey(into) ? 1 : 0;
                    merges++;
                }
            }
            // A step may draw nothing to write (its stakes all of an organization with itself).
            if (doc.Length > 0 && (await s.ImportAsync(doc.ToString())).RecordedAt is { } recorded)
            {
                instants.Add(recorded);
            }
        }
        // The history holds what it is meant to: merges, undos, and a chain (a record merged into one merged into another).
        Assert.True(merges >= 3 && undos >= 1 && chains >= 1, $"{merges} merges, {undos} undos, {chains} chains");
        Assert.True((await s.Ledger.RebuildAsync()).Unchanged);
        foreach (var k in instants.Where((_, i) => i % 4 == 1).Append(instants[^1]))
        {
            var replay = await s.Ledger.ReplayAsync(k);
            Assert.True(replay.Agrees, string.Join("\n", replay.Differences.Take(3).Select(d => $"{d.Question}: {d.Live} / {d.Replayed}")));
        }
    }

    [Fact]
    public async Task investments_look_through_and_the_graph_read_a_merged_record_as_its_survivor_with_its_records_facts()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Duplicate);
        await s.ImportAsync(Stakes);
        await s.ImportAsync(Deal("d2",
            "- { id: inv-inc, type: investment, investor: globex-inc, investee: initech, amount: { value: 5000000, currency: EUR }, valid: { from: 2023-03-01 }, sources: [ { source: press, claim: stated } ] }\n",
            "- { id: inv-globex, type: investment, investor: globex, investee: acme, amount: { value: 1000000, currency: EUR }, valid: { from: 2023-05-01 }, sources: [ { source: press, claim: stated } ] }\n",
            "- { id: hidden, type: owners-undisclosed, subject: globex-inc, reason: register-not-public, valid: { from: 2019 }, sources: [ { source: filing, claim: stated } ] }\n"));
        Assert.Equal(["inv-inc"], (await s.Ledger.InvestmentsAsync("globex-inc", null, null, null)).Investments.Select(i => i.Fact));
        await s.ImportAsync(Merge);

        var invested = await s.Ledger.InvestmentsAsync("globex-inc", null, null, null);
        Assert.Equal("globex", invested.Investor.Id);
        Assert.Equal(["inv-inc", "inv-globex"], invested.Investments.Select(i => i.Fact));
        Assert.Single(invested.Merges!);
        var through = await s.Ledger.OwnersThroughAsync("globex", Day2023, null, new LookThroughRequest());
        Assert.Equal(["hidden"], through.Undisclosed.SelectMany(u => u.Statements).Select(x => x.Fact));
        var graph = await s.Ledger.GraphAsync(Day2023, null, GraphRequest.Parse("globex-inc", null, null, null));
        Assert.Equal("globex", graph.Around);
        Assert.Contains(graph.Edges, e => e.Fact == "inv-inc");
        // The whole graph draws no node for the merged record: its ties are the organization's, each on one page.
        var whole = await s.Ledger.GraphAsync(Day2023, null, GraphRequest.Parse(null, null, "1", null));
        var pages = new List<GraphAnswer> { whole };
        while (pages[^1].Page.Next is { } next)
        {
            pages.Add(await s.Ledger.GraphAsync(Day2023, null, GraphRequest.Parse(null, null, "1", next.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }
        Assert.Equal((3, 3), (pages.Count, pages[0].Page.Total));
        Assert.DoesNotContain(pages.SelectMany(p => p.Organizations), o => o.Id == "globex-inc");
        var drawn = pages.SelectMany(p => p.Edges).ToList();
        Assert.Equal(drawn.Select(e => e.Fact).Distinct().Count(), drawn.Count);
        Assert.Contains(drawn, e => e.Fact == "inv-inc" && e.Organizations.SequenceEqual(["globex", "initech"]));
        Assert.DoesNotContain(drawn.SelectMany(e => e.Organizations), o => o == "globex-inc");
    }

    [Fact]
    public async Task followers_of_the_feed_get_the_holdings_a_merge_and_its_undo_moved_and_keep_an_exact_copy()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Duplicate);
        await s.ImportAsync(Stakes);
        await s.ImportAsync(Merge);
        var whole = await FilteredFeedTests.WalkAsync(s.Ledger, Feed.FeedFilter.Parse("initech", null, null), 1000);
        var merge = Assert.Single(whole, m => m.Event.Stream == "organization:globex-inc" && m.Event.Type == "organizations_merged");
        Assert.Contains(merge.Changes, c => c.Projection == "organizations" && c.Key == "globex-inc" && c.Change == "merged");
        Assert.Contains(merge.Changes, c => c.Projection == "holdings" && (c.Holder, c.Subject) == ("initech", "globex") && c.Opened!.Count > 0);
        Assert.Contains(merge.Changes, c => c.Projection == "holdings" && (c.Holder, c.Subject) == ("initech", "globex-inc") && c.Closed!.Count > 0);
        await s.ImportAsync(Unmerge);

        // Whatever the filter and the page size, the changes applied in order leave exactly the segments in force.
        foreach (var (filter, org) in new[] { (Feed.FeedFilter.Parse("initech", null, null), "initech"), (Feed.FeedFilter.Parse(null, null, null), (string?)null) })
        {
            foreach (var limit in new[] { 1, 1000 })
            {
                var open = new HashSet<long>();
                foreach (var c in (await FilteredFeedTests.WalkAsync(s.Ledger, filter, limit)).SelectMany(m => m.Changes).Where(c => c.Projection == "holdings"))
                {
                    Assert.All(c.Closed!, id => Assert.True(open.Remove(id), $"segment {id} closed but never opened"));
                    Assert.All(c.Opened!, row => Assert.True(open.Add(row.Id), $"segment {row.Id} opened twice"));
                }
                var current = org is null
                    ? [.. (await Task.WhenAll(new[] { "acme", "globex", "globex-inc", "initech" }.Select(o => FilteredFeedTests.CurrentSegmentsAsync(s, o)))).SelectMany(x => x).Distinct().Order()]
                    : await FilteredFeedTests.CurrentSegmentsAsync(s, org);
                Assert.Equal(current, open.Order());
            }
        }
    }

    [Fact]
    public async Task a_merge_made_with_the_cli_is_followed_over_http_and_undone_over_http_with_each_writer_recorded()
    {
        var api = new ApiHostFixture();
        await api.InitializeAsync();
        try
        {
            await api.Ledger.ImportYamlAsync("organizations:\n  - { id: mistral-sas, name: Mistral AI SAS, kind: company, country: FR }\n");
            var (code, stdout, stderr) = await HeadlineTests.RunCliAsync(["merge", "mistral-sas", "--into", "mistral-ai", "--reason", "one company, registered twice",
                "--connection", api.ConnectionString]);
            Assert.True(code == 0, stderr);
            Assert.Contains("merges", stdout, StringComparison.Ordinal);

            var reader = api.Client(Role.Reader);
            var held = System.Text.Json.Nodes.JsonNode.Parse(await reader.GetStringAsync("/api/holdings/microsoft/mistral-sas?at=2024-06-01"))!;
            Assert.Equal(("held", "mistral-sas"), (held["status"]!.GetValue<string>(), held["subject"]!.GetValue<string>()));
            var note = held["merges"]![0]!;
            Assert.Equal((Environment.UserName, "one company, registered twice"), (note["writer"]!.GetValue<string>(), note["reason"]!.GetValue<string>()));
            var (_, text, _) = await HeadlineTests.RunCliAsync(["holding", "microsoft", "mistral-sas", "--at", "2024-06-01", "--connection", api.ConnectionString]);
            Assert.Contains("merged:     Mistral AI SAS (mistral-sas) is recorded as the same organization as Mistral AI (mistral-ai) since", text, StringComparison.Ordinal);

            var undo = await api.Client(Role.Writer).PostAsync("/api/organizations/mistral-sas/unmerge",
                new StringContent("""{ "reason": "two companies after all" }""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.OK, undo.StatusCode);
            var apart = System.Text.Json.Nodes.JsonNode.Parse(await reader.GetStringAsync("/api/holdings/microsoft/mistral-sas?at=2024-06-01"))!;
            Assert.Equal("unknown", apart["status"]!.GetValue<string>());
            Assert.Null(apart["merges"]);
            // The undo is recorded with the key that asked for it, beside the merge's own writer.
            Assert.Equal($"{Environment.UserName}|one company, registered twice|key:test-writer|two companies after all", await RecordedMergeAsync(api.ConnectionString));
        }
        finally
        {
            await api.DisposeAsync();
        }
    }

    private static async Task<string> RecordedMergeAsync(string connectionString)
    {
        await using var c = new Npgsql.NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand("select writer || '|' || reason || '|' || undo_writer || '|' || undo_reason from dealledger.organization_merges", c);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }
}

/// <summary>Answers compared as the API and replay compare them: by their JSON.</summary>
internal sealed class JsonEquality<T> : IEqualityComparer<T>
{
    public bool Equals(T? x, T? y) => Storage.LedgerJson.Serialize(x) == Storage.LedgerJson.Serialize(y);

    public int GetHashCode(T obj) => Storage.LedgerJson.Serialize(obj).GetHashCode(StringComparison.Ordinal);
}
