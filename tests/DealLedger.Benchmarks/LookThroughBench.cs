using System.Globalization;
using System.Text;
using DealLedger.Importing;
using DealLedger.Ownership;

namespace DealLedger.Benchmarks;

/// <summary>
/// Look-through owners (issue 14) on a group structure of a ledger of its own: 10,000 organizations in ten levels
/// under ten ultimate parents. Each organization has a parent one level up holding a majority of it (51–100 %),
/// three in ten a second holder with a minority given as a range, and one in twenty a cross-holding with a
/// sibling (each a few percent of the other). The leaves are ten stakes from the top.
/// </summary>
public static class LookThroughBench
{
    public const int Organizations = 10_000;

    public const int Levels = 10;

    public static async Task RunAsync(Bench bench)
    {
        var cs = await bench.FreshDatabaseAsync("dealledger_bench_group");
        var perLevel = Organizations / Levels;
        string Id(int level, int i) => level == 0 ? $"parent-{i:D2}" : $"org-{level:D2}-{i:D4}";
        var r = new Random(14);
        var doc = new StringBuilder("""{ "organizations": [""");
        var first = true;
        for (var level = 0; level <= Levels; level++)
        {
            for (var i = 0; i < (level == 0 ? 10 : perLevel); i++)
            {
                doc.Append(CultureInfo.InvariantCulture, $$"""{{(first ? "" : ",")}} { "id": "{{Id(level, i)}}", "name": "Group company {{level}}-{{i}}", "kind": "{{(level == 0 ? "fund" : "company")}}" }""");
                first = false;
            }
        }
        doc.Append("""], "sources": [ { "id": "group-register", "title": "Register of group holdings", "kind": "official-register" } ], "deals": [ { "id": "group-structure", "parties": ["parent-00"], "facts": [""");
        var facts = 0;
        void Stake(string holder, string subject, string share)
        {
            doc.Append(CultureInfo.InvariantCulture, $$"""{{(facts++ > 0 ? "," : "")}} { "id": "stake-{{facts:D6}}", "type": "stake", "holder": "{{holder}}", "subject": "{{subject}}", "share": {{share}}, "valid": { "from": "2015-{{1 + facts % 12:D2}}" }, "sources": [ { "source": "group-register", "claim": "stated" } ] }""");
        }
        for (var level = 1; level <= Levels; level++)
        {
            var above = level == 1 ? 10 : perLevel;
            for (var i = 0; i < perLevel; i++)
            {
                var majority = r.Next(51, 101);
                Stake(Id(level - 1, r.Next(above)), Id(level, i), $$"""{ "exact": {{majority}} }""");
                if (majority < 95 && r.Next(10) < 3)
                {
                    Stake(Id(level - 1, r.Next(above)), Id(level, i), $$"""{ "min": 0, "max": {{100 - majority}}, "minInclusive": false, "maxInclusive": true }""");
                }
                if (i + 1 < perLevel && r.Next(20) == 0)
                {
                    Stake(Id(level, i), Id(level, i + 1), $$"""{ "exact": {{r.Next(1, 5)}} }""");
                    Stake(Id(level, i + 1), Id(level, i), $$"""{ "exact": {{r.Next(1, 5)}} }""");
                }
            }
        }
        doc.Append("] } ] }");
        long events;
        await using (var ledger = Ledger.Connect(cs))
        {
            var written = await ledger.ImportAsync([("group.json", doc.ToString())]);
            events = written.EventsAppended;
            Bench.Log($"group ledger: {written.EventsAppended:N0} events, {Organizations:N0} organizations in {Levels} levels, {facts:N0} stakes");
        }
        await using (var ledger = Ledger.Connect(cs))
        {
            var day = new DateOnly(2024, 6, 1);
            var knownAt = DateTimeOffset.UtcNow;
            var leaves = Enumerable.Range(0, perLevel).Select(i => Id(Levels, i)).ToArray();
            var sample = await ledger.OwnersThroughAsync(leaves[0], day, knownAt, new LookThroughRequest());
            var owners = new List<int>();
            var times = await Bench.TimesAsync(bench, "look-through owners of a leaf", bench.Quick ? 100 : 300, async i =>
            {
                var a = await ledger.OwnersThroughAsync(leaves[i * 7 % leaves.Length], day, knownAt, new LookThroughRequest(Threshold: 25m));
                owners.Add(a.Owners!.Count);
            }, warmUp: 30);
            bench.Add(new Measurement("look-through owners of a leaf, 10,000-organization group, p50", events, "ms", times.P50, "≤ 20 ms", times.P50 <= 20, bench.Runs,
                Note: $"p99 {times.P99:F1} ms (target ≤ 100 ms); depth 10, in process; owners per leaf median {Bench.Median(owners.Select(o => (double)o)):F0}, " +
                      $"most {owners.Max()}; cycles met by the first leaf {sample.Cycles.Count}"));
            bench.Add(new Measurement("look-through owners of a leaf, 10,000-organization group, p99", events, "ms", times.P99, "≤ 100 ms", times.P99 <= 100, bench.Runs));

            var portfolio = 0;
            var roots = await Bench.TimesAsync(bench, "look-through holdings of an ultimate parent", bench.Quick ? 5 : 10, async i =>
            {
                portfolio = (await ledger.HoldingsThroughAsync(Id(0, i % 10), day, knownAt, new LookThroughRequest())).Holdings!.Count;
            }, warmUp: 2);
            bench.Add(new Measurement("look-through holdings of an ultimate parent (its whole portfolio), p50", events, "ms", roots.P50, "—", null, bench.Runs,
                Note: $"p99 {roots.P99:F1} ms; the last parent asked holds {portfolio:N0} organizations through chains of up to 10 stakes"));
        }
    }
}
