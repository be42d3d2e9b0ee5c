using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DealLedger.Access;
using DealLedger.Auditing;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>
/// Issue 5, faults: `dealledger rebuild` killed with SIGKILL at several points — in the middle of its
/// switch (held there by a lock, so the kill lands inside the switch's transaction), at a random point,
/// and while it builds its shadow. Each kill changes nothing the API serves: the live projections keep
/// their fingerprint, new writes go on, and the API answers every read as before, during and after.
/// The next rebuild drops the shadows the killed ones left and completes with the state unchanged.
/// </summary>
[Collection(ChildProcess.Collection)]
[Trait("Category", "Faults")]
public sealed class RebuildCrashTests(ITestOutputHelper output)
{
    private const int Documents = 6;
    private const string Shadows = "select coalesce(array_agg(nspname::text order by nspname), '{}') from pg_namespace where nspname ~ '^(rebuild|replay)_'";

    [Fact]
    public async Task a_rebuild_killed_while_building_or_switching_changes_nothing_and_the_next_one_completes_and_drops_the_shadows_left()
    {
        var seed = FaultSettings.Number("DEALLEDGER_FAULT_SEED", 5150, least: 0);
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        for (var d = 0; d < Documents; d++)
        {
            if (d == Documents - 1)
            {
                // A write rolled back after its projection rows were in: a gap in the row ids before the last document's,
                // as in any ledger that ever refused a write late (or lost one to a crash).
                ledger.BeforeCommit = _ => throw new InvalidOperationException("rolled back on purpose");
                await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.ImportAsync([("rolled-back.json", ImportCrashTests.Document(Documents))]));
                ledger.BeforeCommit = null;
            }
            await ledger.ImportAsync([($"document-{d}.json", ImportCrashTests.Document(d))]);
        }
        var readerKey = (await ledger.CreateKeyAsync("rebuild-reader", Role.Reader, "tests")).Key;
        var writerKey = (await ledger.CreateKeyAsync("rebuild-writer", Role.Writer, "tests")).Key;
        await using var api = new ApiProcess(db.ConnectionString);
        await api.StartAsync();
        using var reader = api.Client(readerKey, TimeSpan.FromSeconds(30));
        using var writer = api.Client(writerKey, TimeSpan.FromSeconds(30));

        // The answers the API gives now; it must give them all along.
        var questions = Enumerable.Range(0, Documents).SelectMany(d => new[] { 0, 9, 17 }.Select(j => $"api/holdings/x{d:D3}-org-{j:D2}/x{d:D3}-org-{j + 1:D2}?at=2030-01-01"))
            .Concat(Enumerable.Range(0, Documents).Select(d => $"api/organizations/x{d:D3}-org-03/relationships?at=2030-01-01")).ToList();
        var expected = new Dictionary<string, string>();
        foreach (var q in questions)
        {
            expected[q] = Answer(await reader.GetStringAsync(q));
        }
        var before = await Rebuild.FingerprintAsync(ledger);
        var events = (await ledger.EventsAsync(new EventFilter(Limit: Auditing.EventLog.MaxLimit))).Count;
        output.WriteLine($"seed {seed} (DEALLEDGER_FAULT_SEED); ledger of {events} events; API ready at {clock.Elapsed.TotalSeconds:0.0} s");

        using var stop = new CancellationTokenSource();
        var reads = new ConcurrentQueue<string>();
        var reading = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var q = questions[i % questions.Count];
                using var response = await reader.GetAsync(q);
                var body = await response.Content.ReadAsStringAsync();
                reads.Enqueue(!response.IsSuccessStatusCode ? $"{q}: {(int)response.StatusCode} {body}" : Answer(body) == expected[q] ? "" : $"{q}: a different answer {body}");
            }
        });

        var kills = new List<string>();
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();

        // 1. In the switch: a lock the test holds on the last table stops the switch there, inside its transaction,
        //    holding the write lock, while it waits to lock the live tables it replaces (it tries again and again).
        TimeSpan reachedSwitch;
        await using (var hold = await c.BeginTransactionAsync())
        {
            await ExecAsync(c, $"lock table {ProjectionTables.Name("holding_segments")} in share mode");
            var run = Stopwatch.StartNew();
            await using var rebuild = StartRebuild(db, "rebuild killed in its switch");
            await rebuild.WaitUntilAsync(async () => await SwitchWaitingAsync(db.ConnectionString) > 0, TimeSpan.FromSeconds(120), "the switch to wait for the test's lock");
            reachedSwitch = run.Elapsed;
            await rebuild.KillAsync();
            // Its backend notices the dead client within seconds, though it waits for a lock, and rolls the switch back.
            var gone = Stopwatch.StartNew();
            await WaitAsync(async () => await SwitchWaitingAsync(db.ConnectionString) == 0, "the killed switch's backend to end");
            kills.Add($"in the switch, {reachedSwitch.TotalSeconds:0.0} s into the run (its backend rolled back {gone.Elapsed.TotalSeconds:0.0} s after the kill); shadows left: {await ShadowsLeftAsync(c)}");
            Assert.Equal(before, await Rebuild.FingerprintAsync(ledger));
            await hold.RollbackAsync();
        }
        foreach (var table in new[] { "fact_versions", "holding_segments" })
        {
            var (next, max) = await SequenceAsync(c, table);
            Assert.True(next > max, $"after the killed switch, {table}'s next id {next} is not above its highest {max}: the next write would collide");
        }
        // Writes go on: a new stake on a pair the questions do not ask about.
        using (var write = await writer.PostAsync("api/deals", new StringContent(NewDeal, Encoding.UTF8, "application/json")))
        {
            Assert.True(write.IsSuccessStatusCode, $"a write after the killed switch: {(int)write.StatusCode} {await write.Content.ReadAsStringAsync()}");
        }
        before = await Rebuild.FingerprintAsync(ledger);

        // 2. At a random point of a run (it reached its switch after the time measured above), and 3. while it builds its shadow.
        foreach (var whileBuilding in new[] { false, true })
        {
            var shadowsBefore = await ScalarAsync<string[]>(c, Shadows);
            await using var rebuild = StartRebuild(db, whileBuilding ? "rebuild killed while building" : "rebuild killed at random");
            var run = Stopwatch.StartNew();
            await using var held = whileBuilding ? await HoldShadowCopyAsync(db.ConnectionString, shadowsBefore, rebuild) : null;
            if (whileBuilding)
            {
                await rebuild.WaitUntilAsync(async () => await ShadowBeingWrittenAsync(db.ConnectionString), TimeSpan.FromSeconds(120), "the shadow's build", TimeSpan.FromMilliseconds(10));
            }
            await Task.Delay(whileBuilding ? TimeSpan.FromMilliseconds(random.Next(0, 500)) : reachedSwitch * random.NextDouble());
            var shadow = (await ScalarAsync<string[]>(c, Shadows)).Except(shadowsBefore).Any();
            var phase = await ImportCrashTests.WriteLockHeldAsync(db.ConnectionString) ? "in the switch" : await ShadowBeingWrittenAsync(db.ConnectionString) ? "building the shadow"
                : shadow ? "with its shadow made" : rebuild.HasExited ? "after it ended" : "before making its shadow";
            await rebuild.KillAsync();
            if (held is not null)
            {
                Assert.True(phase == "building the shadow", $"the kill meant for the shadow's build came {phase}");
                await held.DisposeAsync();
            }
            kills.Add($"{(whileBuilding ? "while building" : "at random")}, {run.Elapsed.TotalSeconds:0.0} s into the run: {phase}; shadows left: {await ShadowsLeftAsync(c)}");
            await WaitAsync(async () => !await ImportCrashTests.WriteLockHeldAsync(db.ConnectionString), "the killed rebuild to let go of the write lock");
            Assert.Equal(before, await Rebuild.FingerprintAsync(ledger));
        }

        // The rebuild after them completes, drops what they left, and leaves the state as it was.
        var left = await ScalarAsync<string[]>(c, Shadows);
        Assert.True(left.Length == 1, $"the rebuild killed while building should have left its shadow (and only it): {string.Join(", ", left)}");
        var final = Stopwatch.StartNew();
        var (code, stdout, stderr) = await HeadlineTests.RunCliAsync(["rebuild", "--json", "--connection", db.ConnectionString]);
        Assert.True(code == 0, $"rebuild exit {code}: {stderr}");
        var report = LedgerJson.Deserialize<RebuildReport>(stdout);
        Assert.Equal(left.Order(), report.AbandonedShadowsDropped.Order());
        Assert.Empty(await ScalarAsync<string[]>(c, Shadows));
        Assert.True(report.Unchanged, string.Join("\n", report.Before.Zip(report.After, (b, a) => $"{b} / {a}")));
        Assert.Equal(before, report.After);
        Assert.Equal(before, await Rebuild.FingerprintAsync(ledger));
        var finalTime = final.Elapsed;
        using (var write = await writer.PostAsync("api/deals", new StringContent(NewDeal.Replace("x000-late", "x000-later"), Encoding.UTF8, "application/json")))
        {
            Assert.True(write.IsSuccessStatusCode, $"a write after the rebuild: {(int)write.StatusCode} {await write.Content.ReadAsStringAsync()}");
        }

        await stop.CancelAsync();
        await reading;
        var failed = reads.Where(r => r.Length > 0).ToList();
        foreach (var q in questions)
        {
            Assert.Equal(expected[q], Answer(await reader.GetStringAsync(q)));
        }
        output.WriteLine($"{kills.Count} kills of `dealledger rebuild`:\n  {string.Join("\n  ", kills)}");
        output.WriteLine($"then a rebuild dropped {report.AbandonedShadowsDropped.Count} shadows left behind ({string.Join(", ", report.AbandonedShadowsDropped)}) and rebuilt {report.Events} events " +
            $"in {finalTime.TotalSeconds:0.0} s, state unchanged; the API answered {reads.Count} reads meanwhile, {failed.Count} wrong or failed. Whole test {clock.Elapsed.TotalSeconds:0} s");
        Assert.True(failed.Count == 0, string.Join("\n", failed.Take(5)));
        Assert.True(reads.Count >= questions.Count, $"only {reads.Count} reads");
    }

    /// <summary>
    /// The shadows there now, once the killed runs' sessions (which owned them) have ended. Each run drops
    /// those of runs killed before it when it makes its own: there is never more than one.
    /// </summary>
    private static async Task<string> ShadowsLeftAsync(NpgsqlConnection c)
    {
        await WaitAsync(async () => await ScalarAsync<long>(c, $"select count(*) from pg_locks where locktype = 'advisory' and classid = {ShadowProjections.OwnerLock} and objsubid = 2") == 0,
            "the killed rebuild's session to end");
        var shadows = await ScalarAsync<string[]>(c, Shadows);
        Assert.True(shadows.Length <= 1, $"shadows piled up: {string.Join(", ", shadows)}");
        return shadows.Length == 0 ? "none" : shadows[0];
    }

    /// <summary>A stake on a pair of document 0 that no question asks about.</summary>
    private const string NewDeal = """
        { "id": "x000-late", "parties": ["x000-org-00", "x000-org-05"], "facts": [ { "id": "x000-late-stake", "type": "stake", "holder": "x000-org-00", "subject": "x000-org-05",
          "share": { "exact": 3 }, "valid": { "from": "2031-01" }, "sources": [ { "source": "x000-register", "claim": "stated" } ] } ] }
        """;

    private static ChildProcess StartRebuild(TestDatabase db, string name) =>
        ChildProcess.StartDll("dealledger.dll", ["rebuild", "--connection", db.ConnectionString], name: name);

    /// <summary>An answer without the moment it was given (knownAt defaults to now).</summary>
    private static string Answer(string json)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        node.Remove("knownAt");
        return node.ToJsonString();
    }

    /// <summary>Backends of a rebuild's switch waiting for the test's lock on the last table.</summary>
    private static async Task<long> SwitchWaitingAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        return await ScalarAsync<long>(c, $"select count(*) from pg_stat_activity where datname = current_database() and query like '%lock table {ProjectionTables.Name("organizations")}%' and wait_event_type = 'Lock'");
    }

    /// <summary>A shadow's tables are being filled (a transaction writes to them).</summary>
    /// <summary>
    /// Holds the rebuild's build at its copy into the shadow, however fast the build is: as soon as the
    /// new shadow's organizations table exists (the second of its tables; the rest are made after it),
    /// a transaction of the test's locks it, so the copy into it waits until the transaction ends.
    /// </summary>
    private static async Task<NpgsqlConnection> HoldShadowCopyAsync(string connectionString, string[] shadowsBefore, ChildProcess rebuild)
    {
        var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var find = new NpgsqlCommand("select n.nspname::text from pg_namespace n where n.nspname ~ '^rebuild_' and not (n.nspname::text = any($1)) " +
            "and exists (select 1 from pg_class t where t.relnamespace = n.oid and t.relname = 'organizations')", c) { Parameters = { new() { Value = shadowsBefore } } };
        // A tight loop: the rebuild makes its other tables in the meantime, a few round trips each.
        for (var waited = Stopwatch.StartNew(); ; )
        {
            if (await find.ExecuteScalarAsync() is string schema)
            {
                var tx = await c.BeginTransactionAsync();
                await using (var cmd = new NpgsqlCommand($"lock table {schema}.organizations in access exclusive mode", c, tx))
                {
                    await cmd.ExecuteNonQueryAsync();
                }
                // Kept open: disposing the connection (after the kill) ends the transaction and its lock.
                return c;
            }
            Assert.False(rebuild.HasExited || waited.Elapsed > TimeSpan.FromSeconds(120), $"no new shadow appeared ({rebuild.Name} {(rebuild.HasExited ? "exited" : "still runs")})");
        }
    }

    private static async Task<bool> ShadowBeingWrittenAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        return await ScalarAsync<bool>(c, "select exists (select 1 from pg_locks l join pg_class t on t.oid = l.relation join pg_namespace n on n.oid = t.relnamespace " +
            "where n.nspname ~ '^rebuild_' and l.mode = 'RowExclusiveLock')");
    }

    /// <summary>The id a table's next row would get, and its highest id now.</summary>
    private static async Task<(long Next, long Max)> SequenceAsync(NpgsqlConnection c, string table)
    {
        var name = ProjectionTables.Name(table);
        return (await ScalarAsync<long>(c, $"select coalesce(pg_sequence_last_value(pg_get_serial_sequence('{name}', 'id')::regclass), 0) + 1"),
            await ScalarAsync<long>(c, $"select coalesce(max(id), 0) from {name}"));
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        for (var waited = Stopwatch.StartNew(); !await condition(); await Task.Delay(50))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"no {what} within 30 s");
        }
    }

    private static async Task ExecAsync(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
