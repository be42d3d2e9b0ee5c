using System.Diagnostics;
using DealLedger.Changes;
using DealLedger.Time;

namespace DealLedger.Benchmarks;

/// <summary>
/// What changed (issue 15) on a generated ledger: knowledge diffs over the windows its import wrote (the last tenth of the
/// history, and its second half), walked page by page to the end, and a first page alone; one organization's; the answers
/// on a date; and a world diff between two dates. No target is named: the figures say what a diff costs.
/// </summary>
public static class ChangesBench
{
    public static async Task RunAsync(Bench bench, long size, string cs)
    {
        // The import's writes (thousands of events each), in recorded order: the windows are between them.
        var writes = await Bench.ScalarAsync<DateTime[]>(cs,
            "select array_agg(t order by t) from (select timestamp t from dealledger.mt_events group by timestamp having count(*) >= 1000) w");
        if (writes.Length < 2)
        {
            Bench.Log($"changes {Report.Size(size)}: fewer than two import writes, nothing to compare");
            return;
        }
        var end = new DateTimeOffset(writes[^1], TimeSpan.Zero);
        var lastTenth = new DateTimeOffset(writes[^2], TimeSpan.Zero);
        var half = new DateTimeOffset(writes[writes.Length / 2 - 1], TimeSpan.Zero);
        await using var ledger = Ledger.Connect(cs);
        var hub = await Bench.ScalarAsync<string>(cs, "select holder from dealledger.holding_segments group by holder order by count(*) desc limit 1");
        ChangesRequest Knowledge(DateTimeOffset from, int limit, string? after, string? at = null, string? org = null) =>
            ChangesRequest.Parse(Instant.Format(from), Instant.Format(end), at, null, null, org, limit.ToString(), after, cli: false);
        ChangesRequest World(int limit, string? after) =>
            ChangesRequest.Parse(null, null, "2020-01-01", "2024-01-01", Instant.Format(end), null, limit.ToString(), after, cli: false);

        async Task Whole(string what, Func<string?, ChangesRequest> page)
        {
            var times = new List<double>();
            var (changes, pages, events) = (0, 0, 0);
            for (var run = 0; run <= bench.Runs; run++)
            {
                (changes, pages, events) = (0, 0, 0);
                var watch = Stopwatch.StartNew();
                string? after = null;
                do
                {
                    var a = await ledger.ChangesAsync(page(after));
                    changes += a.Holdings.Count + a.Ties.Count;
                    events += a.Holdings.Sum(h => h.Events?.Count ?? 0) + a.Ties.Sum(t => t.Events?.Count ?? 0);
                    pages++;
                    after = a.Page.Next;
                }
                while (after is not null);
                // The first walk warms the process (JIT, citations) and is not counted.
                if (run > 0)
                {
                    times.Add(watch.Elapsed.TotalMilliseconds);
                }
                Bench.Log($"{what}: {(run == 0 ? "warm-up" : $"run {run}")}: {changes:N0} changes, {events:N0} events cited, {pages} pages in {watch.Elapsed.TotalMilliseconds:F0} ms");
            }
            bench.Add(new Measurement($"{what}, every page", size, "ms", Bench.Median(times), "—", null, bench.Runs,
                Note: $"{changes:N0} pairs and ties changed, {events:N0} events cited, {pages} pages of 1,000; {Bench.Median(times) / Math.Max(1, changes) * 1000:F0} µs a change"));
        }

        await Whole("knowledge diff over the import's last write (a tenth of the history)", after => Knowledge(lastTenth, 1_000, after));
        await Whole("knowledge diff over the second half of the history", after => Knowledge(half, 1_000, after));
        await Whole("knowledge diff over the second half, on 2024-06-01", after => Knowledge(half, 1_000, after, at: "2024-06-01"));
        await Whole("world diff 2020-01-01 → 2024-01-01", after => World(1_000, after));

        var first = await Bench.TimesAsync(bench, "knowledge diff, first page of 100", 20, _ => ledger.ChangesAsync(Knowledge(half, 100, null)), warmUp: 3);
        bench.Add(new Measurement("knowledge diff over the second half, first page of 100, p50", size, "ms", first.P50, "—", null, bench.Runs, Note: $"p99 {first.P99:F1} ms"));
        var one = await Bench.TimesAsync(bench, $"knowledge diff of {hub}", 20, _ => ledger.ChangesAsync(Knowledge(half, 100, null, org: hub)), warmUp: 3);
        bench.Add(new Measurement("knowledge diff over the second half, one organization (the most segments), first page, p50", size, "ms", one.P50, "—", null, bench.Runs,
            Note: $"{hub}; p99 {one.P99:F1} ms"));
    }
}
