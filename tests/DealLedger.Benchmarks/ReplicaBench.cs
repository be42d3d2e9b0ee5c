using System.Diagnostics;
using System.Globalization;
using DealLedger.Access;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>
/// Issue 16, replicas (opt-in: --only replicas; it copies the whole private cluster into a standby, eng/pg standby, and
/// deletes it at the end): the headline GET through an API node reading from the primary alone and through one reading
/// from a hot standby, alternately in the same run; how far the standby stays behind while writers write as fast as
/// they can; and what a write costs when the primary waits for the standby to apply it (synchronous, remote_apply).
/// </summary>
public static class ReplicaBench
{
    public static async Task RunAsync(Bench bench, long size, string cs, int seconds)
    {
        var database = new NpgsqlConnectionStringBuilder(cs).Database!;
        if (new NpgsqlConnectionStringBuilder(await PgAsync(bench.Repo, "start")).Port != new NpgsqlConnectionStringBuilder(cs).Port)
        {
            throw new InvalidOperationException("--only replicas makes a standby of eng/pg's private cluster: run the benchmark on it (ConnectionStrings__DealLedger unset)");
        }
        var started = Stopwatch.StartNew();
        var standby = new NpgsqlConnectionStringBuilder(await PgAsync(bench.Repo, "standby start")) { Database = database }.ConnectionString;
        Bench.Log($"standby of the private cluster started in {started.Elapsed.TotalSeconds:F0} s");
        try
        {
            await ReadsAsync(bench, size, cs, standby, seconds);
            await LagAsync(bench, size, cs, standby, seconds);
            await SynchronousWritesAsync(bench, size, cs);
        }
        finally
        {
            await PgAsync(bench.Repo, "standby destroy");
        }
    }

    private static async Task ReadsAsync(Bench bench, long size, string cs, string standby, int seconds)
    {
        await using var ledger = Ledger.Connect(cs);
        var key = (await ledger.CreateKeyAsync($"bench-{Guid.NewGuid():N}"[..20], Role.Reader, "bench")).Key;
        var now = await ApiBench.HoldingPathsAsync(cs);
        // An auditor's question: as known at an instant the standby holds (the last write's, less a second), so no hop to the primary.
        var past = await Bench.ScalarAsync<DateTime>(cs, "select last_recorded_at - interval '1 second' from dealledger.ledger_position where id = 1");
        await ReadsAsync(bench, size, cs, standby, seconds, key, now, "GET /api/holdings reading from a hot standby", "as known now: every read first asks the primary its high-water mark");
        await ReadsAsync(bench, size, cs, standby, seconds, key, [.. now.Select(p => $"{p}&knownAt={Uri.EscapeDataString(new DateTimeOffset(past, TimeSpan.Zero).ToString("O", CultureInfo.InvariantCulture))}")],
            "GET /api/holdings?knownAt=(past) reading from a hot standby", "as known at an instant the standby holds: no hop to the primary");
    }

    private static async Task ReadsAsync(Bench bench, long size, string cs, string standby, int seconds, string key, List<string> paths, string workload, string how)
    {
        var (alone, aloneAddress) = await ApiBench.StartedApiAsync(bench.Repo, cs);
        var (beside, besideAddress) = await ApiBench.StartedApiAsync(bench.Repo, cs, settings: new Dictionary<string, string> { ["DealLedger__Replicas__0"] = standby });
        const int connections = 16;
        var rates = (Alone: new List<double>(), Beside: new List<double>());
        var p99s = (Alone: new List<double>(), Beside: new List<double>());
        try
        {
            // Run 0 warms both nodes up; then they take the load in turn, so the machine's state is the same for both.
            for (var run = 0; run <= bench.Runs; run++)
            {
                var duration = run == 0 ? Math.Max(bench.Quick ? 5 : 20, seconds) : seconds;
                var a = await ApiBench.LoadAsync(aloneAddress, paths, key, connections, duration);
                var b = await ApiBench.LoadAsync(besideAddress, paths, key, connections, duration);
                if (a.Errors + b.Errors > 0)
                {
                    throw new InvalidOperationException($"{a.Errors + b.Errors} requests failed in the replica read load");
                }
                if (run == 0)
                {
                    continue;
                }
                rates.Alone.Add(a.Rate);
                rates.Beside.Add(b.Rate);
                p99s.Alone.Add(a.P99);
                p99s.Beside.Add(b.P99);
                Bench.Log($"{workload}, {connections} connections, {duration} s: run {run}: primary alone {a.Rate:N0} req/s (p99 {a.P99:F2} ms); with a standby {b.Rate:N0} req/s (p99 {b.P99:F2} ms)");
            }
        }
        finally
        {
            await ApiBench.StopApiAsync(alone);
            await ApiBench.StopApiAsync(beside);
        }
        var (medianAlone, medianBeside) = (Bench.Median(rates.Alone), Bench.Median(rates.Beside));
        bench.Add(new Measurement(workload, size, "req/s", medianBeside, "—", null, bench.Runs,
            "the primary alone", medianAlone, medianBeside / medianAlone, "—", null,
            string.Create(CultureInfo.InvariantCulture,
                $"two API nodes on the same ledger, one reading from the primary, one from a standby of it on the same machine, loaded in turn; {how}; p99 {Bench.Median(p99s.Alone):F2} ms alone, {Bench.Median(p99s.Beside):F2} ms with the standby")));
    }

    /// <summary>Four writers write 10-fact deals as fast as the write lock lets them; the standby's lag is sampled meanwhile.</summary>
    private static async Task LagAsync(Bench bench, long size, string cs, string standby, int seconds)
    {
        await using var ledger = Ledger.Connect(cs);
        var tag = Guid.NewGuid().ToString("N")[..8];
        var random = new Random(16);
        var pairs = await QueryBench.PairsAsync(cs);
        var deal = await WriteBench.DealsAsync(ledger, tag, $"bench-replica-{tag}", random);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(Math.Max(seconds, 10) * bench.Runs));
        var writes = 0;
        var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                List<(string, string)> facts;
                lock (random)
                {
                    facts = [.. Enumerable.Range(0, 10).Select(_ => pairs[random.Next(pairs.Count)])];
                }
                await deal(facts);
                Interlocked.Increment(ref writes);
            }
        })).ToList();
        var behind = new List<double>();
        var replay = new List<double>();
        await using (var primary = new NpgsqlConnection(cs))
        await using (var replica = new NpgsqlConnection(standby))
        {
            await primary.OpenAsync();
            await replica.OpenAsync();
            const string position = "select last_sequence from dealledger.ledger_position where id = 1";
            while (!stop.IsCancellationRequested)
            {
                // The standby read first: a later primary read can only make the gap look larger, never hide it.
                var replayed = (long)(await new NpgsqlCommand(position, replica).ExecuteScalarAsync())!;
                var head = (long)(await new NpgsqlCommand(position, primary).ExecuteScalarAsync())!;
                behind.Add(head - replayed);
                if (await new NpgsqlCommand("select (extract(epoch from replay_lag) * 1000)::float8 from pg_stat_replication where application_name = 'dealledger_standby'", primary)
                    .ExecuteScalarAsync() is double lag)
                {
                    replay.Add(lag);
                }
                await Task.Delay(20);
            }
        }
        await Task.WhenAll(writers);
        var events = behind.Order().ToArray();
        var replayMs = replay.Order().ToArray();
        var span = Math.Max(seconds, 10) * bench.Runs;
        Bench.Log($"standby lag under {writes} writes in {span} s ({writes / (double)span:F0} writes/s): events behind p50 {Bench.Percentile(events, 0.5)}, p99 {Bench.Percentile(events, 0.99)}, max {events[^1]}; replay lag p50 {Bench.Percentile(replayMs, 0.5):F2} ms, p99 {Bench.Percentile(replayMs, 0.99):F2} ms");
        bench.Add(new Measurement("standby replay lag under write load, p99", size, "ms", Bench.Percentile(replayMs, 0.99), "—", null, 1,
            Note: string.Create(CultureInfo.InvariantCulture,
                $"4 writers of 10-fact deals for {span} s ({writes / (double)span:F0} writes/s, about {writes * 20 / (double)span:F0} events/s); PostgreSQL's replay_lag p50 {Bench.Percentile(replayMs, 0.5):F2} ms, max {(replayMs.Length == 0 ? double.NaN : replayMs[^1]):F2} ms; " +
                $"events the standby had not replayed, sampled every 20 ms ({events.Length} samples): p50 {Bench.Percentile(events, 0.5)}, p99 {Bench.Percentile(events, 0.99)}, max {events[^1]}")));
    }

    /// <summary>A 10-fact deal's p50 with asynchronous replication and with synchronous (remote_apply), in turn.</summary>
    private static async Task SynchronousWritesAsync(Bench bench, long size, string cs)
    {
        var writes = bench.Quick ? 40 : 200;
        await using var ledger = Ledger.Connect(cs);
        var tag = Guid.NewGuid().ToString("N")[..8];
        var random = new Random(17);
        var pairs = await QueryBench.PairsAsync(cs);
        var deal = await WriteBench.DealsAsync(ledger, tag, $"bench-sync-{tag}", random);
        Task Ten() => deal([.. Enumerable.Range(0, 10).Select(_ => pairs[random.Next(pairs.Count)])]);
        var asynchronous = await Bench.TimesAsync(bench, "10-fact deal, asynchronous standby", writes, _ => Ten(), warmUp: 5);
        await PgAsync(bench.Repo, "standby start --sync");
        Bench.Times synchronous;
        try
        {
            synchronous = await Bench.TimesAsync(bench, "10-fact deal, synchronous standby (remote_apply)", writes, _ => Ten(), warmUp: 5);
        }
        finally
        {
            await PgAsync(bench.Repo, "standby start");
        }
        bench.Add(new Measurement("single write with a synchronous standby (remote_apply), p50", size, "ms", synchronous.P50, "—", null, bench.Runs,
            "asynchronous standby, p50", asynchronous.P50, synchronous.P50 / asynchronous.P50, "—", null,
            string.Create(CultureInfo.InvariantCulture, $"10-fact deals one after another; p99 {synchronous.P99:F2} ms synchronous, {asynchronous.P99:F2} ms asynchronous; the standby on the same machine")));
    }

    /// <summary>Runs eng/pg (the private cluster's); its stdout.</summary>
    private static async Task<string> PgAsync(string repo, string arguments)
    {
        var info = new ProcessStartInfo(Path.Combine(repo, "eng", "pg"), arguments.Split(' ')) { RedirectStandardOutput = true, UseShellExecute = false };
        // eng/bench hands the server down in this variable; eng/pg would then only print it.
        info.Environment.Remove("ConnectionStrings__DealLedger");
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output.Trim() : throw new InvalidOperationException($"eng/pg {arguments} failed ({process.ExitCode})");
    }
}
