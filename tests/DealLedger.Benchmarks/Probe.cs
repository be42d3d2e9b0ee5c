using System.Diagnostics;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>Where the time goes: the timeline of every pair of a ledger, built from its current facts, timed.</summary>
public static class Probe
{
    public static async Task RunAsync(string cs)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        var facts = await Sql.ListAsync(c, "select state::text from dealledger.fact_versions where type = 'stake' and upper_inf(recorded)", r => LedgerJson.Deserialize<FactState>(r.GetString(0)), default);
        var sources = (await Sql.ListAsync(c, "select data::text from dealledger.sources", r => LedgerJson.Deserialize<SourceRegistered>(r.GetString(0)), default)).ToDictionary(s => s.Id);
        for (var round = 0; round < 2; round++) {
        var times = new List<(string Pair, int Facts, double Ms, int Segments)>();
        foreach (var pair in facts.GroupBy(f => (f.Current.Holder!, f.Current.Subject!)))
        {
            var list = pair.ToList();
            var watch = Stopwatch.StartNew();
            var timeline = HoldingTimeline.Build(pair.Key.Item1, pair.Key.Item2, list, sources, id => id);
            times.Add(($"{pair.Key.Item1}->{pair.Key.Item2}", list.Count, watch.Elapsed.TotalMilliseconds, timeline.Count));
        }
        Console.WriteLine($"{times.Count} pairs, {facts.Count} stake facts, total {times.Sum(t => t.Ms):F0} ms");
        foreach (var t in times.OrderByDescending(t => t.Ms).Take(8))
        {
            Console.WriteLine($"  {t.Pair}: {t.Facts} facts, {t.Segments} segments, {t.Ms:F1} ms");
        }
        var small = times.Where(t => t.Facts < 50).ToList();
        Console.WriteLine($"pairs under 50 facts: {small.Count}, mean {small.Average(t => t.Ms) * 1000:F0} µs, mean facts {small.Average(t => t.Facts):F1}");
        }
    }
}
