using System.Globalization;
using System.Text;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Tests;

/// <summary>
/// holding, owners, relationships and graph each answer "does HOLDER hold a stake in SUBJECT", by
/// different paths to the same segments (the btree probe, GiST lookups by holder, by subject, of
/// everything). On random histories they must agree about every pair's status and share at every
/// (at, knownAt) tried: the first and last days queries accept, the days either side of every
/// segment boundary and a few random days; the first instant, the instants of earlier writes (the
/// GiST path) and the last instant (answered as now: the probe's path).
/// </summary>
public sealed class QueriesAgreeTests
{
    private static readonly string[] Organizations = ["acme", "globex", "initech"];
    private static readonly DateOnly FirstDay = new(1, 1, 1);
    private static readonly DateOnly LastDay = new(9998, 12, 31);

    public static IEnumerable<object[]> Seeds => Enumerable.Range(1, 3).Select(seed => new object[] { seed });

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task holding_owners_relationships_and_graph_agree_about_every_pair(int seed)
    {
        await using var s = await Scenario.StartAsync();
        var r = new Random(seed);
        var story = new Story();
        List<DateTimeOffset?> knownAts = [new DateTimeOffset(FirstDay, TimeOnly.MinValue, TimeSpan.Zero)];
        for (var write = 0; write < 3; write++)
        {
            knownAts.Add((await s.ImportAsync(story.Next(r, write))).RecordedAt);
        }
        // The last write's instant takes the same path as any later one: keep the latest.
        knownAts[^1] = DateTimeOffset.MaxValue;
        var pairs = Organizations.SelectMany(h => Organizations.Where(x => x != h).Select(x => (Holder: h, Subject: x))).ToList();

        var asked = 0;
        foreach (var k in knownAts)
        {
            var boundaries = new SortedSet<DateOnly>();
            foreach (var (holder, subject) in pairs)
            {
                foreach (var p in (await s.Ledger.HistoryAsync(holder, subject, k)).Periods)
                {
                    boundaries.UnionWith(new[] { p.From, p.To }.OfType<string>().Select(d => DateOnly.Parse(d, CultureInfo.InvariantCulture)));
                }
            }
            var days = new[] { FirstDay, FirstDay.AddDays(1), LastDay.AddDays(-1), LastDay }
                .Concat(Enumerable.Range(0, 3).Select(_ => new DateOnly(2010, 1, 1).AddDays(r.Next(0, 20 * 365))))
                .Concat(boundaries.SelectMany(b => b == DateOnly.MinValue ? new[] { b } : new[] { b.AddDays(-1), b }))
                .Where(d => d >= FirstDay && d <= LastDay).Distinct().Order().ToList();
            var answers = new Dictionary<DateOnly, Dictionary<(string, string), HoldingAnswer>>();
            foreach (var day in days)
            {
                answers[day] = await AgreeAsync(s.Ledger, pairs, day, k, registered: k != knownAts[0], $"seed {seed}, at {day:yyyy-MM-dd}, knownAt {k:O}:\n{story}");
                asked++;
            }
            // The calendar's ends answer like the days next to them, unless a segment turns between them.
            foreach (var (end, next) in new[] { (FirstDay, FirstDay.AddDays(1)), (LastDay, LastDay.AddDays(-1)) })
            {
                if (!boundaries.Contains(end > next ? end : next))
                {
                    foreach (var pair in pairs)
                    {
                        Assert.Equal(Undated(answers[next][pair]), Undated(answers[end][pair]));
                    }
                }
            }
        }
        Assert.True(asked > knownAts.Count * 4, $"only {asked} (at, knownAt) tried");
    }

    /// <summary>
    /// Asks every query at (day, knownAt) and checks they agree about every pair; returns the holding answers.
    /// Not <paramref name="registered"/> yet at k (the first instant tried), the organizations are unknown to
    /// owners and relationships, as to a replay of the log up to k: no stake is listed.
    /// </summary>
    private static async Task<Dictionary<(string, string), HoldingAnswer>> AgreeAsync(
        Ledger ledger, List<(string Holder, string Subject)> pairs, DateOnly day, DateTimeOffset? k, bool registered, string context)
    {
        var holdings = new Dictionary<(string, string), HoldingAnswer>();
        foreach (var pair in pairs)
        {
            holdings[pair] = await ledger.HoldingAsync(pair.Holder, pair.Subject, day, k);
        }
        var owners = new Dictionary<string, OwnersAnswer>();
        var relationships = new Dictionary<string, RelationshipsAnswer>();
        foreach (var org in Organizations)
        {
            if (!registered)
            {
                Assert.Equal(LedgerErrorKind.NotFound, (await Assert.ThrowsAsync<LedgerException>(() => ledger.OwnersAsync(org, day, k))).Kind);
                Assert.Equal(LedgerErrorKind.NotFound, (await Assert.ThrowsAsync<LedgerException>(() => ledger.RelationshipsAsync(org, day, k))).Kind);
                continue;
            }
            owners[org] = await ledger.OwnersAsync(org, day, k);
            relationships[org] = await ledger.RelationshipsAsync(org, day, k);
        }
        var graph = await ledger.GraphAsync(day, k);
        // An instant after now is answered, and echoed, as the now of each query.
        var knownAt = k is { } past && past < DateTimeOffset.MaxValue ? Instant.Format(past) : null;
        Assert.All(holdings.Values.Select(h => (h.At, h.KnownAt)).Concat(owners.Values.Select(o => (o.At, o.KnownAt)))
            .Concat(relationships.Values.Select(x => (x.At, x.KnownAt))).Append((graph.At, graph.KnownAt)),
            echo => Assert.Equal((ValidDate.OfDay(day).ToString(), knownAt ?? echo.KnownAt), echo));

        foreach (var ((holder, subject), h) in holdings)
        {
            var tie = h.Status switch
            {
                HoldingStatus.Held => (TieStatus?)TieStatus.InForce,
                HoldingStatus.Uncertain => TieStatus.Uncertain,
                _ => null,
            };
            var expected = tie is null ? [] : new[] { (h.Status, h.Share) };
            var expectedTie = tie is null ? [] : new[] { (tie.Value, h.Share) };
            var why = $"{holder} → {subject}: holding says {h.Status} {h.Share?.ToReadable()} ({h.Explanation})\n{context}";
            var owned = owners.TryGetValue(subject, out var o) ? o.Owners.Where(x => x.Holder == holder).Select(x => (x.Status, x.Share)) : [];
            Assert.True(expected.SequenceEqual(owned), "owners disagree: " + why);
            Assert.True(expectedTie.SequenceEqual(Stakes(relationships.GetValueOrDefault(holder), Direction.Outgoing, subject)), "the holder's relationships disagree: " + why);
            Assert.True(expectedTie.SequenceEqual(Stakes(relationships.GetValueOrDefault(subject), Direction.Incoming, holder)), "the subject's relationships disagree: " + why);
            Assert.True(expectedTie.SequenceEqual(graph.Edges.Where(e => e.Type == FactType.Stake && e.Organizations.SequenceEqual([holder, subject])).Select(e => (e.Status, e.Share))),
                "the graph disagrees: " + why);
        }
        return holdings;
    }

    private static IEnumerable<(TieStatus, Share?)> Stakes(RelationshipsAnswer? a, Direction direction, string other) =>
        (a?.Relationships ?? []).Where(x => x.Type == FactType.Stake && x.Direction == direction && x.Counterparties.SequenceEqual([other])).Select(x => (x.Status, x.Share));

    /// <summary>An answer without the day and instant it echoes, as JSON (its records hold lists).</summary>
    private static string Undated(HoldingAnswer a) =>
        LedgerJson.Serialize(a with { At = "", KnownAt = "", Explanation = a.Explanation.Replace(a.KnownAt, "…", StringComparison.Ordinal) });

    /// <summary>
    /// A random history written in a few imports: stakes between random pairs (exact, ranges, some
    /// 0 %), dates of every precision, now and then at the very first or last years documents accept;
    /// later imports correct shares, end and retract earlier stakes.
    /// </summary>
    private sealed class Story
    {
        private readonly List<(string Id, ValidDate From, bool Open)> facts = [];
        private readonly HashSet<string> done = [];
        private readonly StringBuilder written = new();

        public string Next(Random r, int write)
        {
            var doc = new StringBuilder($"deals:\n  - id: d{write}\n    parties: [acme, globex]\n    facts:\n");
            for (var i = 0; i < r.Next(2, 5); i++)
            {
                var holder = Organizations[r.Next(3)];
                var subject = Organizations.Where(o => o != holder).ElementAt(r.Next(2));
                var from = RandomDate(r);
                ValidDate? to = r.Next(4) == 0 ? RandomDate(r) : null;
                if (to is { } t && t.CannotFollow(from))
                {
                    to = null;
                }
                var share = r.Next(5) switch
                {
                    0 => "{ exact: 0 }",
                    1 => $"{{ min: {r.Next(0, 20)}, max: {r.Next(20, 60)} }}",
                    _ => $"{{ exact: {r.Next(1, 60)} }}",
                };
                var id = $"s{write}-{i}";
                facts.Add((id, from, to is null));
                doc.Append($"      - {{ id: {id}, type: stake, holder: {holder}, subject: {subject}, share: {share}, " +
                    $"valid: {{ from: {from}{(to is { } e ? $", to: {e}" : "")} }}, sources: [ {{ source: {(r.Next(2) == 0 ? "press" : "filing")}, claim: stated }} ] }}\n");
            }
            var earlier = facts.Where(f => !done.Contains(f.Id) && !f.Id.StartsWith($"s{write}-", StringComparison.Ordinal)).ToList();
            var amendments = new[] { new StringBuilder("corrections:\n"), new StringBuilder("endings:\n"), new StringBuilder("retractions:\n") };
            foreach (var (id, from, open) in earlier.Where(_ => r.Next(2) == 0))
            {
                var on = RandomDate(r);
                switch (r.Next(3))
                {
                    case 0:
                        amendments[0].Append($"  - {{ fact: {id}, set: {{ share: {{ exact: {r.Next(0, 60)} }} }}, reason: restated, sources: [ {{ source: wire, claim: stated }} ] }}\n");
                        break;
                    case 1 when open && !on.CannotFollow(from):
                        amendments[1].Append($"  - {{ fact: {id}, on: {on}, sources: [ {{ source: wire, claim: stated }} ] }}\n");
                        done.Add(id);
                        break;
                    case 2:
                        amendments[2].Append($"  - {{ fact: {id}, reason: withdrawn, sources: [ {{ source: wire, claim: stated }} ] }}\n");
                        done.Add(id);
                        break;
                }
            }
            foreach (var a in amendments.Where(a => a.ToString().Contains("fact:", StringComparison.Ordinal)))
            {
                doc.Append(a);
            }
            written.Append($"# import {write}\n").Append(doc);
            return doc.ToString();
        }

        public override string ToString() => written.ToString();

        /// <summary>Mostly 2015–2025; one in eight at the first, one in eight at the last year documents accept.</summary>
        private static ValidDate RandomDate(Random r)
        {
            var day = r.Next(8) switch
            {
                0 => new DateOnly(1, 1, 1).AddDays(r.Next(0, 3)),
                1 => new DateOnly(9998, 12, 31).AddDays(-r.Next(0, 3)),
                _ => new DateOnly(2015, 1, 1).AddDays(r.Next(0, 10 * 365)),
            };
            return ValidDate.Parse(day.ToString(r.Next(3) switch { 0 => "yyyy-MM-dd", 1 => "yyyy-MM", _ => "yyyy" }, CultureInfo.InvariantCulture));
        }
    }
}
