using System.Text.Json;
using DealLedger.Auditing;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// A ledger's writes keep the fact versions and open segments they read (they never change once stored) and
/// ask the database only for those they lack. What a write that rolled back made, or what a rebuild numbered
/// anew, is never taken for what is stored: the projections stay those a rebuild from the log makes.
/// Each test has a database of its own (a replay or a rebuild looks at every pair).
/// </summary>
public sealed class KeptRowsTests
{
    private static string Deal(string pair, string id, decimal share, string from, string? source = null, string kind = "official-register") =>
        PairDocument.Stake(pair, id, share, from, source, kind: kind);

    private static async Task SqlAsync(TestDatabase db, string sql)
    {
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        Assert.True(await cmd.ExecuteNonQueryAsync() > 0, $"changed nothing: {sql}");
    }

    private static async Task<List<long>> OpenSegmentIdsAsync(TestDatabase db, string pair)
    {
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        return await Sql.ListAsync(c, "select id from dealledger.holding_segments where holder = $1 and upper_inf(recorded) order by id",
            r => r.GetInt64(0), default, $"holder-{pair}");
    }

    private static async Task<decimal?> ShareAsync(Ledger ledger, string pair, DateOnly at) =>
        (await ledger.HoldingAsync($"holder-{pair}", $"subject-{pair}", at)).Share?.Exact;

    [Fact]
    public async Task a_write_takes_the_versions_it_keeps_from_memory_not_from_the_database()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await ledger.ImportAsync([("a1.json", Deal("a", "a1", 30, "2020-03-01"))]);
        await ledger.ImportAsync([("a2.json", Deal("a", "a2", 40, "2022-03-01"))]); // reads (and keeps) the pair's first stake
        // Behind the ledger's back, the first stake's stored version now says 77 %.
        await SqlAsync(db, "update dealledger.fact_versions set state = jsonb_set(state::jsonb, '{current,share,exact}', '77')::json " +
            "where fact_id = 'stake-a1' and upper_inf(recorded)");

        await ledger.ImportAsync([("a3.json", Deal("a", "a3", 50, "2024-03-01"))]);

        // The third write folded the pair from the version it kept: the 2021 stretch is unchanged.
        Assert.Equal(30m, await ShareAsync(ledger, "a", new DateOnly(2021, 1, 1)));
        Assert.Equal(50m, await ShareAsync(ledger, "a", new DateOnly(2025, 1, 1)));
        // A process that keeps nothing reads the edited version (which is how the edit is known to be read at all): its write
        // of a stake in 2021 sweeps from the held start before it, 2020-03-01, with the first stake as stored.
        await using var fresh = db.Connect();
        await fresh.ImportAsync([("a4.json", Deal("a", "a4", 60, "2021"))]);
        Assert.Equal(77m, await ShareAsync(fresh, "a", new DateOnly(2020, 6, 1)));
    }

    [Fact]
    public async Task what_a_write_that_rolled_back_made_is_never_taken_for_what_is_stored()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await ledger.ImportAsync([("b1.json", Deal("b", "b1", 30, "2020-03-01"))]);
        ledger.BeforeCommit = _ => throw new InvalidOperationException("rolled back on purpose");
        // Folded (its versions and segments kept) and then rolled back: a 45 % stake from 2021 that never was.
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.ImportAsync([("b2.json", Deal("b", "b2", 45, "2021-03-01"))]));
        ledger.BeforeCommit = null;

        await ledger.ImportAsync([("b3.json", Deal("b", "b3", 50, "2024-03-01"))]);

        Assert.Equal(30m, await ShareAsync(ledger, "b", new DateOnly(2022, 1, 1)));
        Assert.Equal(50m, await ShareAsync(ledger, "b", new DateOnly(2025, 1, 1)));
        var replay = await ledger.ReplayAsync(null);
        Assert.True(replay.Agrees, string.Join("\n", replay.Differences.Select(d => $"{d.Question}\n  live {d.Live}\n  replay {d.Replayed}")));
    }

    [Fact]
    public async Task after_a_rebuild_numbers_the_segments_anew_writes_still_match_what_is_stored()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await ledger.ImportAsync([("c1.json", Deal("c", "c1", 30, "2020-03-01"))]);
        await ledger.ImportAsync([("c2.json", Deal("c", "c2", 40, "2022-03-01"))]);
        // A write that rolled back took segment ids the rebuild's own numbering does not skip.
        ledger.BeforeCommit = _ => throw new InvalidOperationException("rolled back on purpose");
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.ImportAsync([("c0.json", Deal("c", "c0", 45, "2019-03-01"))]));
        ledger.BeforeCommit = null;
        await ledger.ImportAsync([("c2b.json", Deal("c", "c2b", 42, "2023-03-01"))]);
        var idsBefore = await OpenSegmentIdsAsync(db, "c");
        var before = await ledger.RebuildAsync("holdings");
        Assert.True(before.Unchanged, "a ledger built write by write rebuilds to the same rows");
        Assert.NotEqual(idsBefore, await OpenSegmentIdsAsync(db, "c"));

        await ledger.ImportAsync([("c3.json", Deal("c", "c3", 50, "2021-03-01"))]);
        await ledger.ImportAsync([("c4.json", Deal("c", "c4", 60, "2024-03-01"))]);

        Assert.Equal(50m, await ShareAsync(ledger, "c", new DateOnly(2021, 6, 1)));
        Assert.Equal(40m, await ShareAsync(ledger, "c", new DateOnly(2023, 1, 1)));
        Assert.True((await ledger.RebuildAsync("holdings")).Unchanged, "the writes after the rebuild made the rows a rebuild makes");
    }

    [Fact]
    public async Task a_pair_kept_whole_is_read_again_once_another_process_wrote_to_it()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await ledger.ImportAsync([("d1.json", Deal("d", "d1", 30, "2020-03-01"))]);
        await ledger.ImportAsync([("d2.json", Deal("d", "d2", 40, "2022-03-01"))]); // the pair is now kept whole, with its heads
        await using (var other = db.Connect())
        {
            // Another process (its own kept rows) adds a stake between the two and corrects the first.
            await other.ImportAsync([("d3.json", Deal("d", "d3", 35, "2021-03-01"))]);
            await other.ImportAsync([("d1c.json", JsonSerializer.Serialize(new
            {
                corrections = new[]
                {
                    new
                    {
                        fact = "stake-d1", set = new { share = new { exact = 31 } }, reason = "register read again",
                        sources = new[] { new { source = "register-d", claim = "stated" } },
                    },
                },
            }))]);
        }

        // Amid what the other process changed: folded from the pair as it was kept, this write would close segments
        // already closed and open one over those the other opened.
        await ledger.ImportAsync([("d4.json", Deal("d", "d4", 50, "2021-09-01"))]);

        Assert.Equal(31m, await ShareAsync(ledger, "d", new DateOnly(2020, 6, 1)));
        Assert.Equal(35m, await ShareAsync(ledger, "d", new DateOnly(2021, 6, 1)));
        Assert.Equal(50m, await ShareAsync(ledger, "d", new DateOnly(2021, 12, 1)));
        Assert.Equal(40m, await ShareAsync(ledger, "d", new DateOnly(2023, 1, 1)));
        Assert.True((await ledger.RebuildAsync("holdings")).Unchanged, "the write after the other process's made the rows a rebuild makes");
    }

    [Fact]
    public async Task a_pair_kept_whole_keeps_the_sources_its_new_facts_cite()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await ledger.ImportAsync([("e1.json", Deal("e", "e1", 30, "2020-03-01"))]);
        await ledger.ImportAsync([("e2.json", Deal("e", "e2", 40, "2022-03-01"))]); // the pair is now kept whole
        // A stake citing a source the pair's facts did not cite yet (a register: a timeline missing it would take it for a third party).
        await ledger.ImportAsync([("e3.json", Deal("e", "e3", 45, "2024-03-01", source: "register-e-2"))]);

        // Taken as kept whole again, and the 2024 state made anew: a third party reports the same stake from the same day
        // (the state's confidence is its strongest member's, so it rests on the register the pair kept).
        await ledger.ImportAsync([("e4.json", Deal("e", "e4", 45, "2024-03-01", source: "press-e", kind: "third-party"))]);

        var stated = (await ledger.HoldingAsync("holder-e", "subject-e", new DateOnly(2021, 1, 1))).Confidence;
        Assert.Equal(stated, (await ledger.HoldingAsync("holder-e", "subject-e", new DateOnly(2024, 6, 1))).Confidence);
        Assert.True((await ledger.RebuildAsync("holdings")).Unchanged, "the writes to the pair kept whole made the rows a rebuild makes");
    }
}
