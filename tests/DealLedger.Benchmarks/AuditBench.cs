using System.Diagnostics;
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
            $"Marten async-daemon rebuild of a plain projection", martenRate, replay / martenRate, "≥ 5×", replay / martenRate >= 5));

        await VerifyAsync(bench, size, ledger, events);
    }

    private static async Task VerifyAsync(Bench bench, long size, Ledger ledger, long events)
    {
        var sealing = Stopwatch.StartNew();
        var sealedNow = await ledger.SealAsync();
        Bench.Log($"sealed {sealedNow.Sealed:N0} events in {sealing.Elapsed.TotalSeconds:F1} s");
        var rates = new List<double>();
        for (var run = 1; run <= bench.Runs; run++)
        {
            var watch = Stopwatch.StartNew();
            var report = await ledger.VerifyAsync();
            if (!report.Ok)
            {
                throw new InvalidOperationException($"verify found a break: {report.Break?.Summary}");
            }
            rates.Add(report.EventsChecked / watch.Elapsed.TotalSeconds);
            Bench.Log($"verify: run {run}: {report.EventsChecked:N0} events in {watch.Elapsed.TotalSeconds:F2} s = {rates[^1]:N0} events/s");
        }
        var verify = Bench.Median(rates);

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
        for (var run = 1; run <= bench.Runs; run++)
        {
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(new ProcessStartInfo("sha256sum", [file]) { RedirectStandardOutput = true })!;
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            sums.Add(events / watch.Elapsed.TotalSeconds);
            Bench.Log($"sha256sum {bytes / 1e6:F0} MB: run {run}: {watch.Elapsed.TotalSeconds:F2} s = {sums[^1]:N0} events/s");
        }
        Directory.Delete(dir, true);
        var sum = Bench.Median(sums);
        bench.Add(new Measurement("verify seals", size, "events/s", verify, "≥ 300,000 events/s", verify >= 300_000, bench.Runs,
            $"sha256sum over the same bytes ({bytes / 1e6:F0} MB, one file, page cache)", sum, verify / sum, "≥ 0.8×", verify / sum >= 0.8));
    }

    /// <summary>Calls back synchronously (unlike Progress&lt;T&gt;), so phase times are exact.</summary>
    private sealed class Phases(Action<AuditProgress> seen) : IProgress<AuditProgress>
    {
        public void Report(AuditProgress value) => seen(value);
    }
}
