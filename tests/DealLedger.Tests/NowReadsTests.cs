using System.Text.Json;
using DealLedger.Holdings;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>"Now" reads in flight together share round trips (NowReads), and each answers as it would alone.</summary>
public sealed class NowReadsTests(TestDatabase db) : IClassFixture<TestDatabase>, IAsyncLifetime
{
    private Ledger ledger = null!;

    public async Task InitializeAsync()
    {
        ledger = db.Connect();
        await Seeds.LoadAsync(ledger);
    }

    public async Task DisposeAsync() => await ledger.DisposeAsync();

    [Fact]
    public async Task headline_reads_asked_at_once_share_round_trips_and_each_answers_as_asked_alone()
    {
        await using var c = await ledger.Database.OpenConnectionAsync();
        var organizations = await Sql.ListAsync(c, $"select id from {ProjectionTables.Of("organizations")} order by id", r => r.GetString(0), default);
        Assert.True(organizations.Count >= 5, $"the seeds register {organizations.Count} organizations");
        // The seeds' stake, pairs with none, an organization never registered and an id refused, each on several days,
        // all asked at once.
        var pairs = organizations.Take(5).SelectMany(h => organizations.Take(5).Where(s => s != h).Select(s => (h, s)))
            .Concat([("microsoft", "mistral-ai"), ("microsoft", "never-registered"), ("Not An Id", "microsoft")]);
        var asks = pairs.SelectMany(p => new[] { new DateOnly(2019, 1, 1), new DateOnly(2024, 6, 1), new DateOnly(2026, 1, 1) }.Select(day => (p.Item1, p.Item2, Day: day)))
            .ToList();

        await Task.WhenAll(asks.Select(a => AnswerAsync(a.Item1, a.Item2, a.Day, null))); // names kept by the ledger, alike for both counts
        using var trips = new RoundTrips(db.Name);
        foreach (var (holder, subject, day) in asks)
        {
            await AnswerAsync(holder, subject, day, null);
        }
        var oneByOne = trips.Count;

        // The ledger's round trips are held out (each waits for a lock this test holds) until every read asked is waiting:
        // what is counted is how reads in flight together gather, not how the scheduler happened to interleave them.
        var reads = ledger.NowReads;
        await using var locker = await ledger.Database.OpenConnectionAsync();
        await Sql.ExecAsync(locker, $"select pg_advisory_lock({HeldLock})", default);
        trips.Reset();
        var held = Enumerable.Range(0, reads.MostInFlight).Select(_ => AskAsync(reads, HeldSql)).ToList();
        var asked = asks.Select(a => AnswerAsync(a.Item1, a.Item2, a.Day, null)).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (reads.Waiting < asked.Count(t => !t.IsCompleted))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{reads.Waiting} reads wait, {asked.Count(t => !t.IsCompleted)} not answered");
            await Task.Delay(10);
        }
        await Sql.ExecAsync(locker, $"select pg_advisory_unlock({HeldLock})", default);
        var together = await Task.WhenAll(asked);
        Assert.All(await Task.WhenAll(held), h => Assert.Equal("held", h?.Row));
        var atOnce = trips.Count - held.Count - 1; // not the held reads' nor the unlock's

        for (var i = 0; i < asks.Count; i++)
        {
            var (holder, subject, day) = asks[i];
            var alone = await AnswerAsync(holder, subject, day, together[i].KnownAt);
            Assert.Equal(alone.Text, together[i].Text);
        }
        Assert.Contains(together, t => t.Text.Contains("\"status\":\"held\""));
        Assert.Contains(together, t => t.Text.StartsWith("NotFound"));
        Assert.Contains(together, t => t.Text.StartsWith("InvalidInput"));
        Assert.True(atOnce <= oneByOne - asks.Count / 2, $"{asks.Count} reads took {oneByOne} round trips one by one, {atOnce} asked at once");
    }

    [Fact]
    public async Task reads_that_wait_for_a_round_trip_go_together_in_the_next_one()
    {
        var reads = new NowReads(ledger.Database, mostInFlight: 1);
        using var trips = new RoundTrips(db.Name);

        var first = HeldOutAsync(reads);
        var waiting = new[] { "select now(), 'second'", "select now(), 'none' where false", "select now(), null::text" }
            .Select(sql => AskAsync(reads, sql)).ToList();

        Assert.Equal("first", (await first)?.Row);
        Assert.Equal("second", (await waiting[0])?.Row);
        Assert.Null(await waiting[1]);
        Assert.True((await waiting[2]) is { Row: null });
        Assert.Equal(2, trips.Count);
    }

    [Fact]
    public async Task a_read_that_fails_in_a_shared_round_trip_fails_alone()
    {
        var reads = new NowReads(ledger.Database, mostInFlight: 1);

        var first = HeldOutAsync(reads);
        var before = AskAsync(reads, "select now(), 'before'");
        var failing = AskAsync(reads, "select now(), (1 / $1)::text", default, 0);
        var after = AskAsync(reads, "select now(), 'after'");

        Assert.Equal("first", (await first)?.Row);
        Assert.Equal("before", (await before)?.Row);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => failing);
        Assert.Equal(PostgresErrorCodes.DivisionByZero, refused.SqlState);
        Assert.Equal("after", (await after)?.Row);
    }

    [Fact]
    public async Task a_read_given_up_while_it_waits_leaves_the_others_answered()
    {
        var reads = new NowReads(ledger.Database, mostInFlight: 1);
        using var giveUp = new CancellationTokenSource();

        var first = HeldOutAsync(reads);
        var given = AskAsync(reads, "select now(), 'given up'", giveUp.Token);
        var kept = AskAsync(reads, "select now(), 'kept'");
        giveUp.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => given);
        Assert.Equal("first", (await first)?.Row);
        Assert.Equal("kept", (await kept)?.Row);
        // The round trip is free again: a read asked now goes at once.
        Assert.Equal("next", (await AskAsync(reads, "select now(), 'next'"))?.Row);
    }

    private const int HeldLock = 7_350_113;

    /// <summary>A read that holds its round trip until the test lets go of <see cref="HeldLock"/>.</summary>
    private static readonly string HeldSql = $"select now(), (select 'held' from pg_advisory_xact_lock_shared({HeldLock}))";

    /// <summary>A read that holds the one round trip for 0.3 s, so those asked next wait for it.</summary>
    private static Task<(DateTimeOffset At, string? Row)?> HeldOutAsync(NowReads reads) =>
        AskAsync(reads, "select clock_timestamp(), (select 'first' from pg_sleep(0.3))");

    private static Task<(DateTimeOffset At, string? Row)?> AskAsync(NowReads reads, string sql, CancellationToken ct = default, params object[] args)
    {
        var statement = new NpgsqlBatchCommand(sql);
        foreach (var arg in args)
        {
            statement.Parameters.Add(new NpgsqlParameter { Value = arg });
        }
        return reads.ReadAsync(statement, (r, at) => r.IsDBNull(at) ? null : r.GetString(at), ct);
    }

    /// <summary>The answer as JSON with the knownAt it echoes, or the refusal's kind and words.</summary>
    private async Task<(string Text, DateTimeOffset? KnownAt)> AnswerAsync(string holder, string subject, DateOnly day, DateTimeOffset? knownAt)
    {
        try
        {
            var answer = await ledger.HoldingAsync(holder, subject, day, knownAt);
            return (LedgerJson.Serialize(answer), DateTimeOffset.Parse(answer.KnownAt, System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (LedgerException e)
        {
            return ($"{e.Kind}: {e.Message}", null);
        }
    }
}
