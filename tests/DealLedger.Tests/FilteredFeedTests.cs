using DealLedger.Deals;
using DealLedger.Feed;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// The filtered change feed (DESIGN §12, issue 15): only the writes that changed what the filter names, still ordered and
/// resumable by the global sequence, with next saying how far it looked.
/// </summary>
public sealed class FilteredFeedTests
{
    // Writes in turn about initech's ties and about other pairs, so a filter on initech skips stretches of the log.
    private static readonly string[] Story =
    [
        "deals:\n  - id: d1\n    parties: [acme, globex]\n    facts:\n      - { id: s1, type: stake, holder: acme, subject: globex, share: { exact: 10 }, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n",
        "deals:\n  - id: d2\n    parties: [initech, globex]\n    facts:\n      - { id: s2, type: stake, holder: initech, subject: globex, share: { exact: 5 }, valid: { from: 2015 }, sources: [ { source: press, claim: stated } ] }\n" +
            "      - { id: p2, type: partnership, parties: [initech, globex], scope: R&D, valid: { from: 2021 }, sources: [ { source: press, claim: stated } ] }\n",
        "corrections:\n  - { fact: s1, set: { share: { exact: 12 } }, reason: restated, sources: [ { source: filing, claim: stated } ] }\n",
        "endings:\n  - { fact: s2, on: 2023-06-30, sources: [ { source: press, claim: stated } ] }\n",
        "deals:\n  - id: d3\n    parties: [acme, initech]\n    facts:\n      - { id: s3, type: stake, holder: acme, subject: initech, share: { exact: 1 }, valid: { from: 2010 }, sources: [ { source: wire, claim: stated } ] }\n" +
            "      - { id: s4, type: stake, holder: globex, subject: acme, share: { exact: 3 }, valid: { from: 2011 }, sources: [ { source: wire, claim: stated } ] }\n",
        "claims:\n  - { fact: s1, source: wire, claim: stated }\n",
        "organizations:\n  - { id: umbrella, name: Umbrella, kind: company }\n",
    ];

    private static async Task<Scenario> TellAsync()
    {
        var s = await Scenario.StartAsync();
        foreach (var write in Story)
        {
            await s.ImportAsync(write);
        }
        return s;
    }

    /// <summary>Every page of the filtered feed from the start, checked for order and for next; the messages in order.</summary>
    internal static async Task<List<FeedMessage>> WalkAsync(Ledger ledger, FeedFilter filter, int limit)
    {
        var messages = new List<FeedMessage>();
        long after = 0;
        for (var pages = 0; pages < 100; pages++)
        {
            var page = await ledger.FeedAsync(after, limit, filter);
            Assert.Equal(after, page.After);
            Assert.True(page.Next >= after && page.Next <= page.HighWaterMark, $"next {page.Next} after {after}, high-water mark {page.HighWaterMark}");
            Assert.All(page.Messages, m => Assert.InRange(m.Sequence, after + 1, page.Next));
            Assert.Equal(page.Messages.Select(m => m.Sequence).Order(), page.Messages.Select(m => m.Sequence));
            messages.AddRange(page.Messages);
            if (page.Next == page.HighWaterMark)
            {
                return messages;
            }
            after = page.Next;
        }
        throw new InvalidOperationException("the feed did not reach its high-water mark in 100 pages");
    }

    [Fact]
    public async Task a_follower_of_one_organization_gets_exactly_its_changes_in_order_however_it_pages()
    {
        await using var s = await TellAsync();
        var filter = FeedFilter.Parse("initech", null, null);
        var whole = await WalkAsync(s.Ledger, filter, 1000);
        foreach (var limit in new[] { 1, 2, 3 })
        {
            Assert.Equal(whole.Select(m => m.Sequence), (await WalkAsync(s.Ledger, filter, limit)).Select(m => m.Sequence));
        }
        // Its registration, and the events of its facts and of the deals that recorded them; nothing of acme→globex.
        var streams = whole.Select(m => m.Event.Stream).Distinct().Order().ToList();
        Assert.Equal(["deal:d2", "deal:d3", "fact:p2", "fact:s2", "fact:s3", "organization:initech"], streams);
        var changes = whole.SelectMany(m => m.Changes).ToList();
        Assert.All(changes.Where(c => c.Projection == "holdings"), c => Assert.Contains("initech", new[] { c.Holder, c.Subject }));
        Assert.DoesNotContain(changes, c => c.Projection == "facts" && c.Key is "s1" or "s4");
        Assert.Contains(changes, c => c.Projection == "facts" && c.Key == "s2" && c.Change == "amended");

        // Applied in order, its holdings changes leave exactly the segments in force of initech's pairs.
        var open = new HashSet<long>();
        foreach (var c in changes.Where(c => c.Projection == "holdings"))
        {
            Assert.All(c.Closed!, id => Assert.True(open.Remove(id), $"segment {id} closed but never opened"));
            Assert.All(c.Opened!, row => Assert.True(open.Add(row.Id), $"segment {row.Id} opened twice"));
        }
        Assert.Equal(await CurrentSegmentsAsync(s, "initech"), open.Order());
    }

    [Fact]
    public async Task next_looks_past_the_last_message_when_the_writes_after_it_name_nothing()
    {
        await using var s = await TellAsync();
        var filter = FeedFilter.Parse("initech", null, null);
        var page = await s.Ledger.FeedAsync(0, 1000, filter);
        // The last two writes (a claim on acme→globex, a registration) are not initech's: next is past them.
        Assert.True(page.Next > page.Messages[^1].Sequence);
        Assert.Equal(page.HighWaterMark, page.Next);
        Assert.Empty((await s.Ledger.FeedAsync(page.Next, 1000, filter)).Messages);

        // A later write of initech is the next message after that checkpoint.
        await s.ImportAsync("claims:\n  - { fact: s2, source: wire, claim: stated }\n");
        var later = await s.Ledger.FeedAsync(page.Next, 1000, filter);
        Assert.Equal("fact:s2", Assert.Single(later.Messages).Event.Stream);
    }

    [Fact]
    public async Task a_pair_or_a_kind_names_only_its_writes()
    {
        await using var s = await TellAsync();
        var pair = await WalkAsync(s.Ledger, FeedFilter.Parse(null, "acme:globex", null), 2);
        Assert.Equal(["deal:d1", "fact:s1", "fact:s1", "fact:s1"], pair.Select(m => m.Event.Stream));
        Assert.All(pair.SelectMany(m => m.Changes).Where(c => c.Projection == "holdings"), c => Assert.Equal(("acme", "globex"), (c.Holder, c.Subject)));

        var partnerships = await WalkAsync(s.Ledger, FeedFilter.Parse(null, null, "partnership"), 1000);
        Assert.Equal(["deal:d2", "fact:p2"], partnerships.Select(m => m.Event.Stream));
        Assert.DoesNotContain(partnerships.SelectMany(m => m.Changes), c => c.Projection == "holdings" || c.Key == "s2");

        var both = await WalkAsync(s.Ledger, FeedFilter.Parse("acme", null, "stake"), 1000);
        Assert.Equal(["deal:d1", "deal:d3", "fact:s1", "fact:s3", "fact:s4"], both.Select(m => m.Event.Stream).Distinct().Order());
        Assert.Equal(FactType.Stake, FeedFilter.Parse(null, null, "stake").Kind);
    }

    [Fact]
    public async Task a_pair_names_a_directed_tie_of_any_kind_and_never_an_undirected_one()
    {
        await using var s = await Scenario.StartAsync();
        var before = (await s.Ledger.FeedAsync(0, 1)).HighWaterMark;
        await s.ImportAsync("deals:\n  - id: db\n    parties: [acme, globex]\n    facts:\n" +
            "      - { id: b1, type: board-seat, holder: acme, subject: globex, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n" +
            "      - { id: c1, type: control, holder: globex, subject: acme, means: voting rights, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n" +
            "      - { id: p1, type: partnership, parties: [acme, globex], scope: R&D, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n");
        var pair = await s.Ledger.FeedAsync(before, 1000, FeedFilter.Parse(null, "acme:globex", null));
        Assert.Equal(["deal:db", "fact:b1"], pair.Messages.Select(m => m.Event.Stream));
        var seats = await s.Ledger.FeedAsync(before, 1000, FeedFilter.Parse(null, "acme:globex", "board-seat"));
        Assert.Contains(seats.Messages, m => m.Event.Stream == "fact:b1");
        Assert.Empty((await s.Ledger.FeedAsync(before, 1000, FeedFilter.Parse(null, "acme:globex", "control"))).Messages);
    }

    [Fact]
    public async Task a_write_that_registers_an_organization_and_records_its_deal_is_one_delivery_and_paging_never_shows_another_writes_events()
    {
        await using var s = await Scenario.StartAsync();
        var before = (await s.Ledger.FeedAsync(0, 1)).HighWaterMark;
        var write = await s.ImportAsync("organizations:\n  - { id: hooli, name: Hooli, kind: company }\n" +
            "deals:\n  - id: dh\n    parties: [acme, hooli]\n    facts:\n" +
            "      - { id: sh, type: stake, holder: acme, subject: hooli, share: { exact: 10 }, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n");
        var first = await s.Ledger.NextWriteAsync(before, FeedFilter.Parse("hooli", null, null));
        Assert.Equal(write.LastSequence, first.Next);
        Assert.Contains(first.Messages, m => m.Event.Stream == "fact:sh");

        // Deal dx recorded by a write about globex→initech only; a later write adds an acme fact to it.
        const string deal = "deals:\n  - id: dx\n    parties: [acme, globex, initech]\n    facts:\n";
        var w1 = await s.ImportAsync(deal + "      - { id: gx, type: stake, holder: globex, subject: initech, share: { exact: 5 }, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n");
        await s.ImportAsync(deal + "      - { id: ax, type: stake, holder: acme, subject: globex, share: { exact: 7 }, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n");
        var filter = FeedFilter.Parse("acme", null, null);
        var fromWrite = await s.Ledger.FeedAsync(write.LastSequence!.Value, 1000, filter);
        var fromW1 = await s.Ledger.FeedAsync(w1.LastSequence!.Value, 1000, filter);
        Assert.Equal(fromW1.Messages.Select(m => m.Sequence), fromWrite.Messages.Select(m => m.Sequence));

        // Asked from beyond the head, next stays where it was asked from.
        var beyond = await s.Ledger.FeedAsync(fromW1.HighWaterMark + 1000, 10, filter);
        Assert.Equal(beyond.After, beyond.Next);
    }

    [Fact]
    public async Task a_filter_that_is_not_one_is_refused_naming_its_field()
    {
        Assert.Equal("pair", Assert.Throws<LedgerException>(() => FeedFilter.Parse(null, "acme", null)).Field);
        Assert.Equal("kind", Assert.Throws<LedgerException>(() => FeedFilter.Parse(null, null, "Stake")).Field);
        Assert.Equal("org", Assert.Throws<LedgerException>(() => FeedFilter.Parse("ACME", null, null)).Field);
        await Task.CompletedTask;
    }

    internal static async Task<List<long>> CurrentSegmentsAsync(Scenario s, string org)
    {
        await using var c = new NpgsqlConnection(s.Database.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("select id from dealledger.holding_segments where upper_inf(recorded) and (holder = $1 or subject = $1) order by id", c)
            { Parameters = { new() { Value = org } } };
        var ids = new List<long>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            ids.Add(r.GetInt64(0));
        }
        return ids;
    }
}
