using System.Globalization;
using System.Text;
using DealLedger.Auditing;
using DealLedger.Holdings;
using DealLedger.Storage;

namespace DealLedger.Tests;

/// <summary>
/// DESIGN §3 rule 1 on generated histories: for random (at, knownAt), the projection's answer
/// equals the answer of replaying the log truncated at knownAt, to the byte.
/// </summary>
public sealed class ReplayAgreementTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly (string Holder, string Subject)[] Pairs = [("acme", "globex"), ("initech", "globex"), ("acme", "initech")];
    private static readonly string[] SourceIds = ["press", "wire", "filing", "acme-release", "globex-release"];
    private static readonly string[] ClaimKinds = ["stated", "stated", "attributed", "claimed", "denied"];

    public static IEnumerable<object[]> Histories => Enumerable.Range(1, 24).Select(seed => new object[] { seed });

    [Theory]
    [MemberData(nameof(Histories))]
    public async Task projection_answers_equal_a_replay_of_the_truncated_log(int seed)
    {
        var random = new Random(seed);
        await using var s = await Scenario.StartAsync();
        var facts = new List<(string Id, string From)>();
        var instants = new List<DateTimeOffset> { DateTimeOffset.UtcNow.AddDays(-1) };
        var boundaryDays = new List<DateOnly>();
        var writes = random.Next(3, 9);
        for (var w = 0; w < writes; w++)
        {
            var doc = NextDocument(random, w, facts, boundaryDays);
            try
            {
                var result = await s.Ledger.ImportYamlAsync(doc, $"history-{seed}-{w}.yaml");
                if (result.RecordedAt is { } at)
                {
                    instants.Add(at);
                    instants.Add(at.AddTicks(-10));
                }
            }
            catch (LedgerException)
            {
                // A generated document the rules reject (e.g. a contradiction from one source) stores nothing; go on.
            }
        }
        instants.Add(DateTimeOffset.UtcNow);

        // The first and last days queries accept, where an answer once differed from its neighbours' (issue 18).
        var days = boundaryDays.Append(new DateOnly(1, 1, 1)).Append(new DateOnly(9998, 12, 31)).Concat(Enumerable.Range(0, 12).Select(_ => new DateOnly(2018, 1, 1).AddDays(random.Next(0, 9 * 365)))).Distinct().ToList();
        var compared = 0;
        var statuses = new Dictionary<HoldingStatus, int>();
        foreach (var knownAt in instants)
        {
            var replay = await LogReplay.LoadAsync(s.Ledger, knownAt);
            foreach (var (holder, subject) in Pairs)
            {
                foreach (var day in days)
                {
                    var fromProjection = await s.Ledger.HoldingAsync(holder, subject, day, knownAt);
                    var fromReplay = replay.Holding(holder, subject, day);
                    Assert.Equal(LedgerJson.Serialize(fromReplay), LedgerJson.Serialize(fromProjection));
                    compared++;
                    statuses[fromProjection.Status] = statuses.GetValueOrDefault(fromProjection.Status) + 1;
                }
            }
        }
        output.WriteLine($"{instants.Count / 2 - 1} accepted writes of {writes}; {compared} answers compared: " +
            string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")));
        Assert.True(compared > 100);
    }

    internal static string NextDocument(Random r, int write, List<(string Id, string From)> facts, List<DateOnly> boundaryDays)
    {
        var doc = new StringBuilder();
        var newFacts = r.Next(facts.Count == 0 ? 1 : 0, 4);
        if (newFacts > 0)
        {
            doc.Append($"deals:\n  - id: deal-{write}\n    parties: [acme, globex]\n    facts:\n");
            for (var i = 0; i < newFacts; i++)
            {
                var (holder, subject) = Pairs[r.Next(Pairs.Length)];
                var id = $"f{write}-{i}";
                var from = RandomDate(r, boundaryDays);
                var to = r.Next(5) == 0 ? $", to: {LaterDate(r, from)}" : "";
                doc.Append($"      - {{ id: {id}, type: stake, holder: {holder}, subject: {subject}, share: {RandomShare(r)}, valid: {{ from: {from}{to} }}, sources: {RandomClaims(r)} }}\n");
                facts.Add((id, from));
            }
        }
        if (facts.Count > 0 && r.Next(3) == 0)
        {
            var (id, _) = facts[r.Next(facts.Count)];
            var set = r.Next(2) == 0 ? $"share: {RandomShare(r)}" : $"valid: {{ from: {RandomDate(r, boundaryDays)} }}";
            doc.Append($"corrections:\n  - {{ fact: {id}, set: {{ {set} }}, reason: restated in write {write}, sources: [ {{ source: filing, claim: stated }} ] }}\n");
        }
        if (facts.Count > 0 && r.Next(5) == 0)
        {
            doc.Append($"retractions:\n  - {{ fact: {facts[r.Next(facts.Count)].Id}, reason: withdrawn in write {write}, sources: [ {{ source: wire, claim: stated }} ] }}\n");
        }
        if (facts.Count > 0 && r.Next(4) == 0)
        {
            var (id, from) = facts[r.Next(facts.Count)];
            doc.Append($"endings:\n  - {{ fact: {id}, on: {LaterDate(r, from)}, sources: [ {{ source: press, claim: stated }} ] }}\n");
        }
        if (facts.Count > 0 && r.Next(4) == 0)
        {
            doc.Append($"claims:\n  - {{ fact: {facts[r.Next(facts.Count)].Id}, source: {SourceIds[r.Next(SourceIds.Length)]}, claim: {ClaimKinds[r.Next(ClaimKinds.Length)]}{(r.Next(2) == 0 ? "" : "")} }}\n");
        }
        return doc.Length == 0 ? "organizations: []\n" : doc.ToString().Replace("claim: attributed", "claim: attributed, attributedTo: Reuters");
    }

    private static string RandomDate(Random r, List<DateOnly> boundaryDays)
    {
        var day = new DateOnly(2019, 1, 1).AddDays(r.Next(0, 6 * 365));
        boundaryDays.Add(day);
        boundaryDays.Add(new DateOnly(day.Year, day.Month, 1));
        return r.Next(3) switch
        {
            0 => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            1 => day.ToString("yyyy-MM", CultureInfo.InvariantCulture),
            _ => day.ToString("yyyy", CultureInfo.InvariantCulture),
        };
    }

    private static string LaterDate(Random r, string from)
    {
        var start = from.Length == 4 ? new DateOnly(int.Parse(from), 1, 1) : DateOnly.Parse(from.Length == 7 ? from + "-01" : from);
        return start.AddYears(1).AddDays(r.Next(0, 900)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    private static string RandomShare(Random r) => r.Next(4) switch
    {
        0 => $"{{ exact: {r.Next(0, 40)} }}",
        1 => "{ min: 0, minInclusive: false, max: 50, maxInclusive: false, wording: minority stake }",
        2 => $"{{ min: {r.Next(0, 20)}, max: {r.Next(20, 60)} }}",
        _ => $"{{ exact: {r.Next(1, 30)}.{r.Next(0, 9)} }}",
    };

    private static string RandomClaims(Random r)
    {
        var chosen = SourceIds.OrderBy(_ => r.Next()).Take(r.Next(1, 3)).ToList();
        return "[ " + string.Join(", ", chosen.Select(id => $"{{ source: {id}, claim: {ClaimKinds[r.Next(ClaimKinds.Length)]} }}")) + " ]";
    }
}
