using System.Diagnostics;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>Where the time goes: the timeline of every pair of a ledger, built from its current facts, timed (CPU time of this process).</summary>
public static class Probe
{
    public static async Task RunAsync(string cs)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        var facts = await Sql.ListAsync(c, "select state::text from dealledger.fact_versions where type = 'stake' and upper_inf(recorded)", r => FactVersions.Read(r.GetString(0)), default);
        var sources = (await Sql.ListAsync(c, "select data::text from dealledger.sources", r => LedgerJson.Deserialize<SourceRegistered>(r.GetString(0)), default)).ToDictionary(s => s.Id);
        var pairs = facts.GroupBy(f => f.Stake.Pair).Select(g => (g.Key, Facts: g.ToList())).ToList();
        var small = pairs.Where(p => p.Facts.Count < 50).ToList();
        var large = pairs.Where(p => p.Facts.Count >= 50).ToList();
        for (var round = 0; round < 3; round++)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var built = new List<IReadOnlyList<HoldingSegment>>();
            foreach (var (key, list) in small)
            {
                built.Add(HoldingTimeline.Build(list, sources));
            }
            var buildCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            cpu = Process.GetCurrentProcess().TotalProcessorTime;
            foreach (var t in built)
            {
                HoldingProjection.Keyed(t);
            }
            var keyCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            cpu = Process.GetCurrentProcess().TotalProcessorTime;
            foreach (var f in facts)
            {
                LedgerJson.Canonical(f);
            }
            var stateCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            Console.WriteLine($"round {round}: {small.Count} small pairs ({small.Average(p => p.Facts.Count):F1} facts, {built.Average(b => b.Count):F1} segments): " +
                $"build {buildCpu.TotalMilliseconds * 1000 / small.Count:F0} µs/pair, keys {keyCpu.TotalMilliseconds * 1000 / small.Count:F0} µs/pair (CPU); " +
                $"fact state JSON {stateCpu.TotalMilliseconds * 1000 / facts.Count:F1} µs/fact");
        }
        foreach (var (key, list) in large)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var t = HoldingTimeline.Build(list, sources);
            Console.WriteLine($"{key.Item1}->{key.Item2}: {list.Count} facts, {t.Count} segments: build {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds:F0} ms CPU");
        }
    }
}
