using DealLedger.Auditing;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;
using static DealLedger.Tests.Seeds;

namespace DealLedger.Tests;

/// <summary>Recorded time: the server's, in UTC whatever the session's time zone, and in commit order (rule 8).</summary>
public sealed class RecordedTimeTests
{
    [Theory]
    [InlineData("America/New_York")]
    [InlineData("Pacific/Kiritimati")]
    public async Task recorded_times_are_right_whatever_the_session_time_zone(string zone)
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect(cs => new NpgsqlConnectionStringBuilder(cs) { Options = $"-c TimeZone={zone}" }.ConnectionString);
        await ledger.ImportYamlAsync(Basics);

        var before = DateTimeOffset.UtcNow;
        var write = await ledger.ImportYamlAsync(Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020 }")));
        var after = DateTimeOffset.UtcNow;

        var recorded = write.RecordedAt!.Value;
        Assert.InRange(recorded, before.AddSeconds(-2), after.AddSeconds(2));
        var logged = (await ledger.EventsAsync(new EventFilter(Type: "fact_recorded"))).Single();
        Assert.Equal(Time.Instant.Format(recorded), logged.RecordedAt);
        Assert.Equal(HoldingStatus.Held, (await ledger.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1), recorded)).Status);
        Assert.Equal(HoldingStatus.Unknown, (await ledger.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1), recorded.AddTicks(-10))).Status);
    }

    [Fact]
    public async Task an_answer_as_of_now_while_a_write_is_committing_is_the_last_recorded_knowledge_and_is_given_again()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var writer = db.Connect();
        await using var reader = db.Connect();
        var basics = await writer.ImportYamlAsync(Basics);

        var (slowWrite, release) = await HeldBeforeCommitAsync(writer, Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020 }")));

        // The write holds its recorded time but has not committed: "now" is what the ledger had recorded (its high-water
        // mark), answered without waiting; the write, when it commits, is recorded after that instant.
        var during = await reader.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HoldingStatus.Unknown, during.Status);
        Assert.Equal(Time.Instant.Format(basics.RecordedAt!.Value), during.KnownAt);
        // Asked again with that instant meanwhile, it does not wait either: the write will be recorded after it.
        var duringAgain = await reader.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1), DateTimeOffset.Parse(during.KnownAt)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(LedgerJson.Serialize(during), LedgerJson.Serialize(duringAgain));
        // An instant asked that the write may yet land before waits for it.
        var asked = reader.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1), DateTimeOffset.UtcNow.AddMinutes(1));
        await Task.Delay(300);
        Assert.False(asked.IsCompleted);
        release.SetResult();
        var written = await slowWrite;
        var after = await asked;

        Assert.Equal(HoldingStatus.Held, after.Status);
        Assert.True(written.RecordedAt <= DateTimeOffset.Parse(after.KnownAt));
        var now = await reader.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1));
        Assert.Equal(Time.Instant.Format(written.RecordedAt!.Value), now.KnownAt);
        Assert.Equal(HoldingStatus.Held, now.Status);
        foreach (var given in new[] { during, after, now })
        {
            var again = await reader.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1), DateTimeOffset.Parse(given.KnownAt));
            Assert.Equal(LedgerJson.Serialize(given), LedgerJson.Serialize(again));
        }
    }

    [Fact]
    public async Task an_answer_as_of_now_before_anything_is_recorded_waits_for_the_first_write_in_flight()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var writer = db.Connect();
        await using var reader = db.Connect();
        var (slowWrite, release) = await HeldBeforeCommitAsync(writer, Basics);

        // No high-water mark yet: "now" is the clock, and the first write may be recorded before it, so the answer waits.
        var answer = reader.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1));
        await Task.Delay(300);
        Assert.False(answer.IsCompleted);
        release.SetResult();
        var written = await slowWrite;
        var given = await answer;

        Assert.Equal(HoldingStatus.Unknown, given.Status); // both organizations registered by then: not a 404
        Assert.True(written.RecordedAt <= DateTimeOffset.Parse(given.KnownAt));
        var again = await reader.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1), DateTimeOffset.Parse(given.KnownAt));
        Assert.Equal(LedgerJson.Serialize(given), LedgerJson.Serialize(again));
    }

    [Fact]
    public async Task an_answer_about_the_settled_past_does_not_wait_for_a_write_in_flight()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var writer = db.Connect();
        await using var reader = db.Connect();
        var basics = await writer.ImportYamlAsync(Basics);
        await writer.ImportYamlAsync(Deal("d0", Stake("s0", "{ exact: 5 }", "{ from: 2019 }")));

        var (slowWrite, release) = await HeldBeforeCommitAsync(writer, Deal("d1", Stake("s1", "{ exact: 10 }", "{ from: 2020 }", holder: "initech")));

        var past = await reader.HoldingAsync("acme", "globex", new DateOnly(2022, 1, 1), basics.RecordedAt).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HoldingStatus.Unknown, past.Status);
        release.SetResult();
        await slowWrite;
    }

    [Fact]
    public async Task concurrent_writers_get_recorded_times_in_commit_order()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await ledger.ImportYamlAsync(Basics);

        await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() =>
            ledger.ImportYamlAsync(Deal($"d{i}", Stake($"s{i}", "{ exact: 10 }", $"{{ from: {2000 + i} }}", "[ { source: press, claim: stated } ]", holder: i % 2 == 0 ? "acme" : "initech"))))));

        var log = await ledger.EventsAsync(new EventFilter(Limit: 1000));
        var times = log.Select(e => DateTimeOffset.Parse(e.RecordedAt)).ToList();
        Assert.Equal(log.Count, log.Select(e => e.Sequence).Distinct().Count());
        for (var i = 1; i < times.Count; i++)
        {
            Assert.True(times[i] >= times[i - 1], $"event #{log[i].Sequence} recorded {log[i].RecordedAt} before #{log[i - 1].Sequence} at {log[i - 1].RecordedAt}");
        }
        Assert.Equal(12, log.Select(e => e.RecordedAt).Distinct().Count() - 1);
    }

    /// <summary>A write started and held before its commit, its recorded time taken: it commits when released.</summary>
    private static async Task<(Task<ImportReport> Write, TaskCompletionSource Release)> HeldBeforeCommitAsync(Ledger writer, string yaml)
    {
        var reached = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        writer.BeforeCommit = async ct => { reached.SetResult(); await release.Task.WaitAsync(ct); };
        var write = writer.ImportYamlAsync(yaml);
        await reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return (write, release);
    }
}
