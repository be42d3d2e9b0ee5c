using System.Text.Json;
using DealLedger.Feed;
using DealLedger.Holdings;
using DealLedger.Importing;

namespace DealLedger.Tests;

/// <summary>
/// Reads keep the sources findings cite (they never change once recorded) and ask the database only for
/// those they have not seen; a finding holds the events it rests on itself. The answers stay those of the
/// database, and nothing seen only inside a write that then rolled back is ever cited.
/// </summary>
public sealed class CitationsTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    private static string Document(string suffix, string sourceTitle) => PairDocument.Stake(suffix, suffix, 30, "2020-03", sourceTitle: sourceTitle);

    [Fact]
    public async Task a_source_read_inside_a_write_that_rolled_back_is_never_cited_later()
    {
        await using var ledger = db.Connect();
        // As the outbox does (Feed/HoldingChanged.cs): the write's holding changes rendered inside its transaction.
        ledger.Committing = async (commit, ct) =>
            await ChangeFeed.WriteChangesAsync(commit.Connection, ledger.Citations, [commit.Events[^1].Ref.Sequence], ct, keep: false);
        ledger.BeforeCommit = _ => throw new InvalidOperationException("rolled back on purpose");
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.ImportAsync([("first.json", Document("a", "Words of a write that never was"))]));
        ledger.BeforeCommit = null;

        // The same source id, registered for real with other words.
        await ledger.ImportAsync([("second.json", Document("a", "Register extract as recorded"))]);

        var answer = await ledger.HoldingAsync("holder-a", "subject-a", new DateOnly(2021, 1, 1));
        Assert.Equal(HoldingStatus.Held, answer.Status);
        Assert.Equal("Register extract as recorded", Assert.Single(answer.Sources).Title);
        var owners = await ledger.OwnersAsync("subject-a", new DateOnly(2021, 1, 1));
        Assert.Equal("Register extract as recorded", Assert.Single(Assert.Single(owners.Owners).Sources).Title);
    }

    [Fact]
    public async Task the_headline_reads_its_citations_once_then_answers_in_one_round_trip_with_the_same_answer()
    {
        await using (var writer = db.Connect())
        {
            await writer.ImportAsync([("b.json", Document("b", "Register extract b"))]);
        }
        var knownAt = DateTimeOffset.UtcNow; // the same question twice
        await using var ledger = db.Connect(); // a reader that has seen nothing yet
        await (await ledger.Database.OpenConnectionAsync()).DisposeAsync(); // its first connection reads the server's types
        using var trips = new RoundTrips(db.Name);

        var first = await ledger.HoldingAsync("holder-b", "subject-b", new DateOnly(2021, 1, 1), knownAt);
        Assert.Equal(2, trips.Count); // the finding, then the source it cites
        trips.Reset();
        var again = await ledger.HoldingAsync("holder-b", "subject-b", new DateOnly(2021, 1, 1), knownAt);
        Assert.Equal(1, trips.Count);
        Assert.Equal(JsonSerializer.Serialize(first), JsonSerializer.Serialize(again));
        Assert.Equal("Register extract b", Assert.Single(again.Sources).Title);
        Assert.Equal("fact_recorded", Assert.Single(again.Basis).Type);
    }

    [Fact]
    public async Task another_stretch_of_a_pair_resting_on_events_not_read_before_answers_in_one_round_trip()
    {
        await using (var writer = db.Connect())
        {
            await writer.ImportAsync([("c1.json", PairDocument.Stake("c", "c1", 30, "2020-03"))]);
            await writer.ImportAsync([("c2.json", PairDocument.Stake("c", "c2", 40, "2022-01"))]);
        }
        await using var ledger = db.Connect();
        await (await ledger.Database.OpenConnectionAsync()).DisposeAsync();
        var before = await ledger.HoldingAsync("holder-c", "subject-c", new DateOnly(2021, 1, 1)); // the names and the source are kept now
        using var trips = new RoundTrips(db.Name);

        var later = await ledger.HoldingAsync("holder-c", "subject-c", new DateOnly(2023, 1, 1));
        Assert.Equal(1, trips.Count); // the stored finding holds the events it rests on: the log is not read for them
        Assert.Equal(HoldingStatus.Held, later.Status);
        Assert.Equal(40, later.Share?.Exact);
        var rests = Assert.Single(later.Basis);
        Assert.DoesNotContain(before.Basis, b => b.Sequence == rests.Sequence);
        Assert.Equal("fact_recorded", rests.Type);
    }

    [Fact]
    public void what_is_kept_is_bounded_and_what_is_used_often_stays()
    {
        var kept = new Recent<int, string>(capacity: 100, EqualityComparer<int>.Default);
        kept.Add(0, "value 0");
        for (var i = 1; i < 10_000; i++)
        {
            kept.Add(i, $"value {i}");
            Assert.True(kept.TryGet(0, out _));
        }
        Assert.InRange(kept.Count, 100, 200);
        Assert.True(kept.TryGet(9_999, out var last));
        Assert.Equal("value 9999", last);
        Assert.False(kept.TryGet(5_000, out _));
    }
}
