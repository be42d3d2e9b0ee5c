using System.Globalization;
using System.Text;
using DealLedger.Holdings;

namespace DealLedger.Tests;

/// <summary>
/// An oracle independent of the ledger's timeline code: for histories whose dates are all exact
/// days (so their order is never in doubt), the test keeps its own model of each stake fact and
/// works out, day by day, what DESIGN §3 says — the latest state begun, unless an ending or the
/// state's own end came after it; a share of 0 ends the holding; coinciding starts narrow —
/// then compares status and share with the ledger's answers.
/// </summary>
public sealed class DayByDayOracleTests
{
    private sealed class ModelFact
    {
        public required string Id { get; init; }
        public required DateOnly From { get; set; }
        public DateOnly? To { get; init; }
        public required decimal Share { get; set; }
        public DateOnly? Ended { get; set; }
        public bool Retracted { get; set; }
    }

    public static IEnumerable<object[]> Histories => Enumerable.Range(100, 16).Select(seed => new object[] { seed });

    [Theory]
    [MemberData(nameof(Histories))]
    public async Task answers_on_exact_day_histories_match_a_day_by_day_reading_of_the_rules(int seed)
    {
        var random = new Random(seed);
        await using var s = await Scenario.StartAsync();
        var facts = new List<ModelFact>();
        for (var write = 0; write < random.Next(2, 6); write++)
        {
            var yaml = NextWrite(random, write, facts);
            await s.Ledger.ImportYamlAsync(yaml);
        }

        var days = facts.SelectMany(f => new[] { f.From, f.From.AddDays(-1), f.To ?? f.From, f.Ended ?? f.From, (f.Ended ?? f.From).AddDays(-1) })
            .Concat(Enumerable.Range(0, 20).Select(_ => new DateOnly(2015, 1, 1).AddDays(random.Next(0, 12 * 365)))).Distinct().Order();
        foreach (var day in days)
        {
            var (status, share) = Expected(facts, day);
            var answer = await s.AtAsync(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            Assert.True(status == answer.Status, $"seed {seed}, {day:yyyy-MM-dd}: expected {status}, ledger says {answer.Status}: {answer.Explanation}");
            Assert.True(share == answer.Share?.Exact, $"seed {seed}, {day:yyyy-MM-dd}: expected share {share}, ledger says {answer.Share?.ToReadable()}: {answer.Explanation}");
        }
    }

    private static (HoldingStatus, decimal?) Expected(List<ModelFact> facts, DateOnly day)
    {
        var live = facts.Where(f => !f.Retracted).ToList();
        if (live.Count == 0)
        {
            return (HoldingStatus.Unknown, null);
        }
        // States: one per start date (exact days coincide only when equal); disagreeing shares are disputed.
        var states = live.GroupBy(f => f.From).OrderBy(g => g.Key)
            .Select(g => (g.Key, g.Select(f => f.Share).Distinct().Count() == 1 ? g.First().Share : (decimal?)null,
                g.Where(f => f.Ended is null && f.To is not null).Select(f => f.To).Min()))
            .ToList();
        var (held, share) = RulesByDay.Read(states, live.Where(f => f.Ended is not null).Select(f => f.Ended!.Value), day);
        return held ? (HoldingStatus.Held, share) : (HoldingStatus.NotHeld, null);
    }

    private static string NextWrite(Random r, int write, List<ModelFact> facts)
    {
        var doc = new StringBuilder();
        var count = r.Next(facts.Count == 0 ? 1 : 0, 4);
        if (count > 0)
        {
            // A source of its own for every fact: no two facts share one, so no same-source contradiction is ever refused.
            doc.Append("sources:\n");
            for (var i = 0; i < count; i++)
            {
                doc.Append($"  - {{ id: src-{write}-{i}, title: report {write}-{i}, kind: third-party }}\n");
            }
            doc.Append($"deals:\n  - id: deal-{write}\n    parties: [acme, globex]\n    facts:\n");
        }
        for (var i = 0; i < count; i++)
        {
            var from = new DateOnly(2016, 1, 1).AddDays(r.Next(0, 8 * 365));
            // Now and then taken again on the very day a stake ended: on that day it is held again.
            var endedDays = facts.Where(f => f.Ended is not null).Select(f => f.Ended!.Value).ToList();
            if (endedDays.Count > 0 && r.Next(3) == 0)
            {
                from = endedDays[r.Next(endedDays.Count)];
            }
            // Now and then a second fact on an existing start date, agreeing with it (a narrowing that changes nothing).
            var twin = facts.Count > 0 && r.Next(5) == 0 ? facts[r.Next(facts.Count)] : null;
            var fact = new ModelFact
            {
                Id = $"f{write}-{i}",
                From = twin?.From ?? from,
                Share = twin?.Share ?? (r.Next(6) == 0 ? 0 : r.Next(1, 60)),
                To = twin is null && r.Next(4) == 0 ? from.AddDays(r.Next(30, 1500)) : null,
            };
            facts.Add(fact);
            var to = fact.To is { } t ? $", to: {t:yyyy-MM-dd}" : "";
            doc.Append($"      - {{ id: {fact.Id}, type: stake, holder: acme, subject: globex, share: {{ exact: {fact.Share} }}, valid: {{ from: {fact.From:yyyy-MM-dd}{to} }}, sources: [ {{ source: src-{write}-{i}, claim: stated }} ] }}\n");
        }
        var open = facts.Where(f => !f.Retracted && f.Ended is null).ToList();
        if (open.Count > 0 && r.Next(3) == 0)
        {
            var f = open[r.Next(open.Count)];
            f.Ended = f.From.AddDays(r.Next(1, 2000));
            doc.Append($"endings:\n  - {{ fact: {f.Id}, on: {f.Ended:yyyy-MM-dd}, sources: [ {{ source: filing, claim: stated }} ] }}\n");
        }
        if (open.Count > 1 && r.Next(4) == 0)
        {
            var f = open[r.Next(open.Count)];
            f.Retracted = true;
            doc.Append($"retractions:\n  - {{ fact: {f.Id}, reason: withdrawn, sources: [ {{ source: filing, claim: stated }} ] }}\n");
        }
        return doc.Length == 0 ? "organizations: []\n" : doc.ToString();
    }
}
