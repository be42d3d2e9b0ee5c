using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;
using DealLedger.Writing;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// A small write talks to PostgreSQL three times: its reads with the write lock and the clock, its events with its
/// projection rows, its commit. The events are numbered before they are sent, from the log's sequence read under the
/// lock; a write whose numbers were taken meanwhile (something appending without the lock) fails whole.
/// </summary>
public sealed class SmallWriteTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task a_stake_on_a_stored_pair_is_two_round_trips_and_its_commit_and_answers_as_written()
    {
        await using var ledger = db.Connect();
        await ledger.ImportAsync([("first.json", PairDocument.Stake("rt", "rt-1", 10, "2020-03"))]);
        using var trips = new RoundTrips(db.Name);

        var report = await ledger.ImportAsync([("second.json", PairDocument.Stake("rt", "rt-2", 20, "2021-06"))]);

        Assert.Equal(2, trips.Count); // the lock, clock and reads; the events and rows (and the commit, which Npgsql does not trace)
        Assert.Equal(2, report.EventsAppended); // the deal and its fact (the organizations and source are known)
        await using (var c = await ledger.Database.OpenConnectionAsync())
        {
            Assert.Equal(report.LastSequence, await Sql.ScalarAsync<long>(c, $"select max(seq_id) from {ProjectionTables.Name("mt_events")}", default));
        }
        var answer = await ledger.HoldingAsync("holder-rt", "subject-rt", new DateOnly(2022, 1, 1));
        Assert.Equal(HoldingStatus.Held, answer.Status);
        Assert.Equal(20m, answer.Share?.Exact);
    }

    [Fact]
    public async Task a_write_whose_event_numbers_are_taken_meanwhile_stores_nothing()
    {
        await using var ledger = db.Connect();
        await ledger.ImportAsync([("first.json", PairDocument.Stake("moved", "moved-1", 10, "2020-03"))]);

        // Its events in one statement with its rows: the statement fails.
        await StoresNothingWhenANumberIsTakenMeanwhileAsync<PostgresException>(ledger, ["stake-moved-1"], t =>
        {
            _ = t.Fact("stake-moved-1");
            t.Record(new FactEnded("stake-moved-1", ValidDate.Parse("2021-01"), null, [new Claim("register-moved", ClaimKind.Stated)]));
        });
    }

    [Fact]
    public async Task a_big_write_whose_event_numbers_are_taken_meanwhile_stores_nothing()
    {
        await using var ledger = db.Connect();
        await ledger.ImportAsync([("first.json", PairDocument.Stake("moved-big", "moved-big-1", 10, "2020-03"))]);

        // Too many events for one statement: they are copied while the fold numbers its rows from where the write read the log.
        await StoresNothingWhenANumberIsTakenMeanwhileAsync<InvalidOperationException>(ledger, [], t =>
        {
            for (var i = 0; i <= EventCopy.InsertedEvents; i++)
            {
                t.Record(new OrganizationRegistered($"moved-big-org-{i}", $"Moved {i}", [], OrganizationKind.Company, null, new Dictionary<string, string>()));
            }
        });
    }

    /// <summary>
    /// A write that loads <paramref name="facts"/> (taking the write lock), then finds a sequence number taken, as an append
    /// that bypassed the lock would take one, after it read where the log stands; then records: it fails and stores nothing.
    /// </summary>
    private async Task StoresNothingWhenANumberIsTakenMeanwhileAsync<TFailure>(Ledger ledger, string[] facts, Action<LedgerTransaction> record)
        where TFailure : Exception
    {
        var before = Tables(await db.FingerprintAsync());
        var failed = await Assert.ThrowsAsync<TFailure>(() => ledger.WriteAsync(async (t, ct) =>
        {
            await t.LoadAsync([], [], [], facts, [], ct);
            await t.LockedAsync(ct);
            await using (var other = await ledger.Database.OpenConnectionAsync(ct))
            {
                await Sql.ExecAsync(other, $"select nextval('{ProjectionTables.Name("mt_events_sequence")}')", ct);
            }
            record(t);
        }));
        Assert.Contains("the event sequence moved during the write", failed.Message);
        Assert.Equal(before, Tables(await db.FingerprintAsync()));
    }

    // Every table's fingerprint; not the sequences', which move whether or not a write commits (this one's event number was taken).
    private static string Tables(string fingerprint) => string.Join(";", fingerprint.Split(';').Where(p => !p.StartsWith("sequence ", StringComparison.Ordinal)));
}
