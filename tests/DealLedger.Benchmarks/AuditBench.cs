using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using DealLedger.Auditing;
using DealLedger.Storage;

namespace DealLedger.Benchmarks;

/// <summary>
/// The auditors' tools on the generated ledger: rebuild (whole, switch included) and the build phase of
/// replay, against Marten's async-daemon rebuild of a plain projection over the same events; verify,
/// against `sha256sum` over the very bytes it hashes (an exported bundle's events.jsonl).
/// </summary>
public static class AuditBench
{
    public static async Task RunAsync(Bench bench, long size, string cs)
    {
        await using var ledger = Ledger.Connect(cs);
        var events = await Bench.EventCountAsync(cs);

        var rebuilds = new List<double>();
        var builds = new List<double>();
        for (var run = 1; run <= bench.Runs; run++)
        {
            var watch = Stopwatch.StartNew();
            var built = TimeSpan.Zero;
            var report = await ledger.RebuildAsync(progress: new Phases(p => { if (p.Done == p.Total && built == TimeSpan.Zero) { built = watch.Elapsed; } }));
            var total = watch.Elapsed;
            if (!report.Unchanged)
            {
                throw new InvalidOperationException("rebuild changed the state: " + string.Join("; ", report.Before.Zip(report.After, (b, a) => $"{b} / {a}")));
            }
            rebuilds.Add(report.Events / total.TotalSeconds);
            builds.Add(report.Events / (built == TimeSpan.Zero ? total : built).TotalSeconds);
            Bench.Log($"rebuild: run {run}: {report.Events:N0} events in {total.TotalSeconds:F1} s = {rebuilds[^1]:N0} events/s (built in {built.TotalSeconds:F1} s, then switched)");
        }

        var martenEvents = (int)Math.Min(events, bench.Quick ? 10_000 : 200_000);
        var daemon = new List<double>();
        await MartenComparisons.AppendAsync(cs, await MartenComparisons.EventsAsync(cs, martenEvents));
        for (var run = 1; run <= bench.Runs; run++)
        {
            daemon.Add(await MartenComparisons.DaemonRebuildAsync(cs, martenEvents));
            Bench.Log($"Marten async daemon rebuild: run {run}: {martenEvents:N0} events = {daemon[^1]:N0} events/s");
        }
        await MartenComparisons.ResetAsync(cs);
        var rebuild = Bench.Median(rebuilds);
        var martenRate = Bench.Median(daemon);
        bench.Add(new Measurement("rebuild (all projections, switch included)", size, "events/s", rebuild, "≥ 100,000 events/s", rebuild >= 100_000, bench.Runs,
            $"Marten async-daemon rebuild of a plain projection ({martenEvents:N0} events)", martenRate, rebuild / martenRate, "≥ 5×", rebuild / martenRate >= 5,
            $"build phase alone: {Bench.Median(builds):N0} events/s"));

        // The floor under rebuild and replay: PostgreSQL alone storing the projections' rows as the rebuild stores them.
        var floors = new List<double>();
        await using (var rows = await StoredRows.DumpAsync(cs, ProjectionTables.Projections))
        {
            for (var run = 1; run <= bench.Runs; run++)
            {
                floors.Add(events / (await rows.AsRebuiltAsync()).TotalSeconds);
                Bench.Log($"PostgreSQL alone storing the projections' rows as a rebuild does: run {run}: {floors[^1]:N0} events/s");
            }
        }
        var floor = Bench.Median(floors);
        bench.Add(new Measurement("rebuild vs PostgreSQL storing its rows", size, "events/s", rebuild, "—", null, bench.Runs,
            "PostgreSQL alone: the projections' rows loaded into tables with their keys, a connection each at once, then their other indexes two at a time",
            floor, rebuild / floor, "—", null));

        var replays = new List<double>();
        for (var run = 1; run <= bench.Runs; run++)
        {
            var watch = Stopwatch.StartNew();
            var built = TimeSpan.Zero;
            var knownAt = DateTimeOffset.UtcNow;
            // The build phase: the shadow built from the log; the answers compared after it are not timed.
            using var stop = new CancellationTokenSource();
            try
            {
                // Built when the last "rebuilding projections" report came; the queries choosing what to compare are not timed either.
                await ledger.ReplayAsync(knownAt, new Phases(p =>
                {
                    if (p.Phase == "rebuilding projections")
                    {
                        built = watch.Elapsed;
                    }
                    else if (p.Phase == "comparing answers")
                    {
                        stop.Cancel();
                    }
                }), stop.Token);
            }
            catch (OperationCanceledException) when (built != TimeSpan.Zero)
            {
            }
            replays.Add(events / built.TotalSeconds);
            Bench.Log($"replay build phase: run {run}: {events:N0} events in {built.TotalSeconds:F1} s = {replays[^1]:N0} events/s");
        }
        var replay = Bench.Median(replays);
        bench.Add(new Measurement("replay (projections rebuilt from the log)", size, "events/s", replay, "≥ 100,000 events/s", replay >= 100_000, bench.Runs,
            $"Marten async-daemon rebuild of a plain projection", martenRate, replay / martenRate, "≥ 5×", replay / martenRate >= 5,
            $"PostgreSQL alone storing the projections' rows as a rebuild does: {floor:N0} events/s ({replay / floor:0.00}× of it)"));

        await VerifyAsync(bench, size, ledger, events);
    }

    /// <summary>Verify alone (`--only verify`), without rebuild and replay.</summary>
    public static async Task VerifyOnlyAsync(Bench bench, long size, string cs)
    {
        await using var ledger = Ledger.Connect(cs);
        await VerifyAsync(bench, size, ledger, await Bench.EventCountAsync(cs));
    }

    private static async Task VerifyAsync(Bench bench, long size, Ledger ledger, long events)
    {
        var sealing = Stopwatch.StartNew();
        var sealedNow = await ledger.SealAsync();
        Bench.Log($"sealed {sealedNow.Sealed:N0} events in {sealing.Elapsed.TotalSeconds:F1} s");
        var rates = new List<double>();
        var single = new List<double>();
        var alone = new List<double>();
        var aloneOne = new List<double>();
        var streaming = new List<double>();
        var own = new List<double>();
        for (var run = 1; run <= bench.Runs; run++)
        {
            var watch = Stopwatch.StartNew();
            var cpu = CpuTime.Now();
            var report = await ledger.VerifyAsync();
            // This process's CPU an event: verify's own work (reading the rows, the canonical bytes, the chain), beside PostgreSQL's.
            own.Add((CpuTime.Now() - cpu).Ours.TotalSeconds / report.EventsChecked);
            if (!report.Ok)
            {
                throw new InvalidOperationException($"verify found a break: {report.Break?.Summary}");
            }
            rates.Add(report.EventsChecked / watch.Elapsed.TotalSeconds);
            // The same walk in one range (one connection, one stream), as verify read the log before it read ranges at once.
            watch.Restart();
            var one = await ledger.VerifyAsync(1);
            if (one != report)
            {
                throw new InvalidOperationException("verify in one range answered otherwise than in ranges at once");
            }
            single.Add(one.EventsChecked / watch.Elapsed.TotalSeconds);
            Bench.Log($"verify: run {run}: {report.EventsChecked:N0} events = {rates[^1]:N0} events/s in {Seals.Partitions} ranges at once, {single[^1]:N0} events/s in one");
            // The limit outside our code, beside it: PostgreSQL streaming the very rows verify reads, to a client that drops them.
            alone.Add(report.EventsChecked / (await PostgresAloneAsync(ledger, Seals.Partitions)).TotalSeconds);
            var (busy, ours) = (CpuTime.MachineBusySeconds(), CpuTime.Now());
            aloneOne.Add(report.EventsChecked / (await PostgresAloneAsync(ledger, 1)).TotalSeconds);
            // PostgreSQL's CPU for the rows (its backend and any parallel workers): the machine's busy time less this process's.
            streaming.Add((CpuTime.MachineBusySeconds() - busy - (CpuTime.Now() - ours).Ours.TotalSeconds) / report.EventsChecked);
            Bench.Log($"PostgreSQL alone, the same COPY read and dropped: run {run}: {alone[^1]:N0} events/s in {Seals.Partitions} streams, {aloneOne[^1]:N0} events/s in one");
        }
        var verify = Bench.Median(rates);
        var postgres = Bench.Median(alone);

        // The same bytes: the bundle's events.jsonl is each sealed event's canonical bytes and a newline.
        var dir = Path.Combine(Path.GetTempPath(), $"dealledger-bench-bundle-{Environment.ProcessId}");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, true);
        }
        await ledger.ExportAsync(dir);
        var file = Path.Combine(dir, Bundle.EventsFile);
        var bytes = new FileInfo(file).Length;
        var sums = new List<double>();
        var hashing = new List<double>();
        var lines = await File.ReadAllBytesAsync(file);
        for (var run = 1; run <= bench.Runs; run++)
        {
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(new ProcessStartInfo("sha256sum", [file]) { RedirectStandardOutput = true })!;
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            sums.Add(events / watch.Elapsed.TotalSeconds);
            hashing.Add(ChainCpu(lines) / events);
            Bench.Log($"sha256sum {bytes / 1e6:F0} MB: run {run}: {watch.Elapsed.TotalSeconds:F2} s = {sums[^1]:N0} events/s");
        }
        Directory.Delete(dir, true);
        var sum = Bench.Median(sums);
        bench.Add(new Measurement("verify seals", size, "events/s", verify, "≥ 300,000 events/s", verify >= 300_000, bench.Runs,
            $"sha256sum over the same bytes ({bytes / 1e6:F0} MB, one file, page cache)", sum, verify / sum, "≥ 0.8×", verify / sum >= 0.8,
            string.Create(CultureInfo.InvariantCulture, $"{Seals.Partitions} ranges of sequences at once, one connection each, one snapshot; in one range: {Bench.Median(single):N0} events/s; this process's CPU {Bench.Median(own) * 1e6:F2} µs an event")));
        bench.Add(new Measurement("verify: PostgreSQL alone streaming the same rows", size, "events/s", postgres, "—", null, bench.Runs,
            "sha256sum over the same bytes", sum, postgres / sum, "the ceiling of verify's ratio", null,
            $"verify's statements in {Seals.Partitions} streams in one snapshot, read and dropped (no parsing, no hashing); in one stream: {Bench.Median(aloneOne):N0} events/s; verify ÷ this: {verify / postgres:0.00}×"));
        // Whatever verify's own code costs, each event takes PostgreSQL's CPU to send it and SHA-256's CPU to chain its bytes:
        // the cores cannot verify faster than they can do both. (sha256sum hashes about five times slower than the SHA-256
        // this process calls, which uses the CPU's SHA instructions: its CPU would understate the limit.)
        var (sendCpu, hashCpu) = (Bench.Median(streaming), Bench.Median(hashing));
        if (sendCpu > 0 && hashCpu > 0)
        {
            var cores = Environment.ProcessorCount / (sendCpu + hashCpu);
            bench.Add(new Measurement("verify limit: the cores", size, "events/s", cores, "—", null, bench.Runs,
                "sha256sum over the same bytes", sum, cores / sum, "the most verify's ratio can be on these cores", null,
                string.Create(CultureInfo.InvariantCulture,
                    $"{Environment.ProcessorCount} cores ÷ (PostgreSQL's CPU to send an event {sendCpu * 1e6:F2} µs, the machine's busy time over its run less this process's, " +
                    $"+ SHA-256's CPU to chain its canonical bytes {hashCpu * 1e6:F2} µs, in this process); verify ÷ this: {verify / cores:0.00}×")));
        }
    }

    /// <summary>The CPU seconds (this process's) the seal chain's hashing alone takes over a bundle's events.jsonl: link = SHA-256(link ‖ line), line by line.</summary>
    private static double ChainCpu(byte[] lines)
    {
        var buffer = new byte[64 * 1024];
        Span<byte> link = stackalloc byte[32];
        var before = CpuTime.Now().Ours;
        for (var start = 0; start < lines.Length;)
        {
            var end = Array.IndexOf(lines, (byte)'\n', start);
            end = end < 0 ? lines.Length : end;
            var length = end - start;
            if (buffer.Length < 32 + length)
            {
                buffer = new byte[32 + length];
            }
            link.CopyTo(buffer);
            lines.AsSpan(start, length).CopyTo(buffer.AsSpan(32));
            SHA256.HashData(buffer.AsSpan(0, 32 + length), link);
            start = end + 1;
        }
        return (CpuTime.Now().Ours - before).TotalSeconds;
    }

    /// <summary>
    /// What PostgreSQL alone takes to send verify's rows: the same statements (the seals whose event is
    /// gone, then the COPY of the events with their seals) over the same ranges,
    /// one connection each in one exported snapshot, read into a buffer and dropped.
    /// </summary>
    private static async Task<TimeSpan> PostgresAloneAsync(Ledger ledger, int partitions)
    {
        var watch = Stopwatch.StartNew();
        await using var c = await ledger.Database.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
        var head = (await Sql.ListAsync(c, $"select coalesce(max(sequence), 0) from {Seals.Table}", r => r.GetInt64(0), default))[0];
        var top = (await Sql.ListAsync(c, $"select greatest(coalesce(max(seq_id), 0), $1) from {ProjectionTables.Name("mt_events")}", r => r.GetInt64(0), default, head))[0];
        var snapshot = (await Sql.ListAsync(c, "select pg_export_snapshot()", r => r.GetString(0), default))[0];
        var ranges = Seals.Ranges(top, partitions);
        await Task.WhenAll(ranges.Select((range, i) => Task.Run(async () =>
        {
            var other = i == 0 ? null : await ledger.Database.OpenConnectionAsync();
            try
            {
                if (other is not null)
                {
                    await using var otherTx = await other.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
                    await Sql.ExecAsync(other, $"set transaction snapshot '{snapshot}'", default);
                    await DropAsync(other, range.After, range.UpTo);
                }
                else
                {
                    await DropAsync(c, range.After, range.UpTo);
                }
            }
            finally
            {
                if (other is not null)
                {
                    await other.DisposeAsync();
                }
            }
        })));
        return watch.Elapsed;
    }

    private static async Task DropAsync(Npgsql.NpgsqlConnection c, long after, long upTo)
    {
        await Sql.ListAsync(c, Seals.MissingSql(after, upTo), r => r.GetInt64(0), default);
        await using var raw = await c.BeginRawBinaryCopyAsync($"copy ({Seals.WalkSql(after, upTo)}) to stdout (format binary)");
        var buffer = new byte[1 << 20];
        while (await raw.ReadAsync(buffer, 0, buffer.Length) > 0)
        {
        }
    }

    /// <summary>Calls back synchronously (unlike Progress&lt;T&gt;), so phase times are exact.</summary>
    private sealed class Phases(Action<AuditProgress> seen) : IProgress<AuditProgress>
    {
        public void Report(AuditProgress value) => seen(value);
    }
}
