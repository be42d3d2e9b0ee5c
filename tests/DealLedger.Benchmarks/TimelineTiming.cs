using System.Diagnostics;
using DealLedger.Deals;
using DealLedger.Holdings;

namespace DealLedger.Benchmarks;

/// <summary>
/// `eng/bench --timeline`, no database: the CPU time of one HoldingTimeline.Build on a long pair and
/// on a short one of the same shape, and their ratio (issue 13: a pair's history length should barely matter).
/// </summary>
public static class TimelineTiming
{
    public static void Run()
    {
        Console.WriteLine($"HoldingTimeline.Build, CPU ms per build (this process), {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        // The benchmark's long pair: a state a month, each fact with three claims or corrections (2,000 events, 500 facts).
        Compare("exact days, 3 amendments a fact", 5, 500, n => TimelinePairs.Make(n, seed: 1, amendments: 3, exactDays: true));
        // Mixed precisions, same-state facts, disputes, ends, 0 %, retractions: 2,000 facts.
        Compare("mixed, 1 amendment a fact", 20, 2_000, n => TimelinePairs.Make(n, seed: 2, amendments: 1));
        // States days apart with month and year dates: their orders are left open (clusters), the hard case.
        Compare("crowded, 1 amendment a fact", 20, 2_000, n => TimelinePairs.Make(n, seed: 3, amendments: 1, crowded: true));
    }

    private static void Compare(string shape, int shortFacts, int longFacts, Func<int, List<FactState>> make)
    {
        var shortPair = make(shortFacts);
        var longPair = make(longFacts);
        var (shortMs, shortSegments) = Time(shortPair);
        var (longMs, longSegments) = Time(longPair);
        Console.WriteLine($"  {shape}: {shortFacts} facts ({shortPair.Sum(f => f.Version)} events, {shortSegments} segments) {shortMs:F3} ms; "
            + $"{longFacts} facts ({longPair.Sum(f => f.Version)} events, {longSegments} segments) {longMs:F3} ms; ratio {longMs / shortMs:F1}×");
    }

    /// <summary>CPU time per build, over at least two seconds of builds after a warm-up.</summary>
    private static (double Ms, int Segments) Time(List<FactState> facts)
    {
        var segments = Build(facts);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var runs = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(2) || runs < 3)
        {
            Build(facts);
            runs++;
        }
        return ((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / runs, segments);
    }

    private static int Build(List<FactState> facts) =>
        HoldingTimeline.Build(facts, TimelinePairs.Sources).Count;
}
