using DealLedger.Benchmarks;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// HoldingTimeline.Build sweeps a pair's marks once (issue 13); before, it rescanned every mark on every
/// boundary day. The sweep must say exactly what the rescan said — the same segments, every finding
/// the same field by field, English included — so both are built here on many pairs and compared as
/// the JSON the projection stores. The rescan lives on only as the reference (ReferenceTimeline).
/// </summary>
public sealed class TimelineSweepTests
{
    public static IEnumerable<object[]> Shapes =>
    [
        ["mixed"], ["crowded"], ["exact-days"], ["possible-worlds"],
    ];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void the_sweep_builds_the_timeline_the_rescan_built(string shape)
    {
        for (var seed = 0; seed < 300; seed++)
        {
            var r = new Random(seed);
            var facts = shape switch
            {
                "mixed" => TimelinePairs.Make(1 + r.Next(40), seed, amendments: r.NextDouble() * 2),
                "crowded" => TimelinePairs.Make(1 + r.Next(25), seed, amendments: r.NextDouble() * 2, crowded: true),
                "exact-days" => TimelinePairs.Make(1 + r.Next(60), seed, amendments: 3, exactDays: true),
                _ => PossibleWorldsTests.RandomFacts(r),
            };
            AssertSame(TimelinePairs.Holder, TimelinePairs.Subject, facts, TimelinePairs.Sources, $"{shape} seed {seed}");
        }
    }

    [Fact]
    public void the_sweep_builds_the_timelines_of_long_pairs_the_rescan_built()
    {
        AssertSame(TimelinePairs.Holder, TimelinePairs.Subject, TimelinePairs.Make(400, seed: 1, amendments: 1), TimelinePairs.Sources, "mixed, 400 facts");
        AssertSame(TimelinePairs.Holder, TimelinePairs.Subject, TimelinePairs.Make(300, seed: 2, amendments: 1, crowded: true), TimelinePairs.Sources, "crowded, 300 facts");
        AssertSame(TimelinePairs.Holder, TimelinePairs.Subject, TimelinePairs.Make(300, seed: 3, amendments: 3, exactDays: true), TimelinePairs.Sources, "exact days, 300 facts");
    }

    /// <summary>Every pair of a generated history (the benchmarks' own), as known after each of its writes.</summary>
    [Fact]
    public async Task the_sweep_builds_every_timeline_of_a_generated_history_the_rescan_built()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        var writes = new List<DateTimeOffset>();
        foreach (var batch in new HistoryGenerator(events: 4_000, batches: 3, seed: 11, longPairEvents: 600).Generate())
        {
            writes.Add((await ledger.ImportAsync(batch.Documents)).RecordedAt!.Value);
        }
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        var sources = (await Sql.ListAsync(c, "select data::text from dealledger.sources", r => LedgerJson.Deserialize<SourceRegistered>(r.GetString(0)), default))
            .ToDictionary(s => s.Id);
        var pairs = 0;
        foreach (var at in writes)
        {
            var facts = await Sql.ListAsync(c, "select state::text from dealledger.fact_versions where type = 'stake' and recorded @> $1",
                r => FactVersions.Read(r.GetString(0)), default, at);
            foreach (var pair in facts.GroupBy(f => f.Stake.Pair))
            {
                AssertSame(pair.Key.Item1, pair.Key.Item2, pair.ToList(), sources, $"{pair.Key.Item1} → {pair.Key.Item2} known at {at:O}");
                pairs++;
            }
        }
        Assert.True(pairs > 500, $"only {pairs} pairs compared");
    }

    /// <summary>The shapes a pair's builds are compared in step by step: those above, and pairs of a long history (150 facts).</summary>
    public static IEnumerable<object[]> Histories => [.. Shapes, ["long"]];

    /// <summary>
    /// A pair's facts as a history learns them, for 60 seeds of a shape (4 of a long one), step by step: the facts known before the step and
    /// after it (one more fact, and now and then a known one replaced by another version of itself: a correction, a
    /// retraction). Half the seeds learn the facts out of date order: a step then changes the middle of the timeline.
    /// </summary>
    private static IEnumerable<(int Seed, Random Random, List<FactState> Before, List<FactState> Known)> Steps(string shape)
    {
        for (var seed = 0; seed < (shape == "long" ? 4 : 60); seed++)
        {
            var r = new Random(seed);
            List<FactState> Make(double amendments) => shape switch
            {
                "mixed" => TimelinePairs.Make(30, seed, amendments),
                "long" => TimelinePairs.Make(150, seed, amendments),
                "crowded" => TimelinePairs.Make(20, seed, amendments, crowded: true),
                "exact-days" => TimelinePairs.Make(40, seed, amendments, exactDays: true),
                _ => PossibleWorldsTests.RandomFacts(new Random(seed)),
            };
            var facts = Make(1);
            if (seed % 2 == 1)
            {
                r.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(facts));
            }
            var others = Make(2).ToDictionary(f => f.Id);
            var known = new List<FactState>();
            foreach (var fact in facts)
            {
                var before = known.ToList();
                known.Add(fact);
                var i = r.Next(known.Count);
                if (r.Next(3) == 0 && others.TryGetValue(known[i].Id, out var other))
                {
                    known[i] = other;
                }
                yield return (seed, r, before, known);
            }
        }
    }

    /// <summary>A timeline as stored, and as serialized: two builds must agree on both.</summary>
    private static string Stored(IReadOnlyList<HoldingSegment> t) =>
        string.Join("\n", t.Select(s => $"{s.From}|{s.To}|{s.Stored}")) + LedgerJson.Serialize(t);

    /// <summary>
    /// A pair built again with its previous build kept (a write to a long pair, a rebuild folding write after write) — its
    /// findings, its states, and what it found before the first mark that differs — must come out exactly as built from
    /// nothing: facts added one by one, some replaced by other versions of themselves (a correction, a retraction: a new fact
    /// state), every build compared as stored.
    /// </summary>
    [Theory]
    [MemberData(nameof(Histories))]
    public void a_timeline_built_with_its_previous_findings_kept_is_the_one_built_from_nothing(string shape)
    {
        var renderings = new HoldingTimeline.Renderings();
        var pair = -1;
        foreach (var (seed, _, _, known) in Steps(shape))
        {
            if (seed != pair)
            {
                (renderings, pair) = (new HoldingTimeline.Renderings(), seed);
            }
            var kept = Stored(HoldingTimeline.Build(known, TimelinePairs.Sources, renderings));
            Assert.Equal(Stored(HoldingTimeline.Build(known, TimelinePairs.Sources)), kept);
        }
    }

    /// <summary>
    /// A pair no process has built yet in memory takes its stored timeline as the previous build (<see cref="HoldingTimeline.Seed"/>):
    /// the stored facts' marks and the open segments as stored JSON. Its next build must come out exactly as built from
    /// nothing, the findings it takes from the stored segments read back field by field.
    /// </summary>
    [Theory]
    [MemberData(nameof(Histories))]
    public void a_timeline_built_after_its_stored_one_is_the_one_built_from_nothing(string shape)
    {
        var (seeded, taken, builds) = (0, 0, 0);
        foreach (var (_, r, before, known) in Steps(shape))
        {
            var stored = HoldingTimeline.Build(before, TimelinePairs.Sources);
            var renderings = new HoldingTimeline.Renderings();
            // As loaded: the open segments in no particular order.
            HoldingTimeline.Seed(renderings, before, TimelinePairs.Sources, HoldingProjection.Keyed(stored).Select(k => k.Key).OrderBy(_ => r.Next()));
            var seed = renderings.Built is not null;
            Assert.Equal(Stored(HoldingTimeline.Build(known, TimelinePairs.Sources)), Stored(HoldingTimeline.Build(known, TimelinePairs.Sources, renderings)));
            (seeded, taken, builds) = (seeded + (seed ? 1 : 0), taken + (seed && renderings.Taken > 0 ? 1 : 0), builds + 1);
        }
        // Not a vacuous pass: most builds had a stored timeline (not the first of a pair, nor one with every fact retracted), and
        // many took segments from it unswept rather than sweeping everything again.
        Assert.True(seeded > builds / 2, $"a stored timeline was given in {seeded} builds of {builds}");
        Assert.True(taken > builds / 4, $"segments of the stored timeline were taken in {taken} builds of {builds}");
    }

    /// <summary>
    /// The findings after a change are taken from the previous build only where that build, too, had nothing before the cut
    /// reaching past it: here it had an ending of the pair's holding somewhere in 2020, so after a state held from 2020-06-01
    /// the holding may have ended; once the ending is known to the day (in February), that state is surely held.
    /// </summary>
    [Fact]
    public void findings_after_a_change_are_taken_again_only_where_the_previous_build_left_nothing_open_before_them()
    {
        static FactState Stake(string id, string from, decimal share, int sequence) => FactState.Recorded(new FactRecorded(new Deals.Stake
        {
            Id = id, Deal = "d", Holder = TimelinePairs.Holder, Subject = TimelinePairs.Subject,
            Share = Share.OfExact(share), Valid = new Time.ValidPeriod(Time.ValidDate.Parse(from), null), Sources = [new Claim("s2", ClaimKind.Stated)],
        }), new EventRef(Guid.Empty, sequence, "fact_recorded", DateTimeOffset.UnixEpoch.AddDays(sequence)));
        static FactState Ended(FactState fact, string on, int sequence) =>
            fact.Apply(new FactEnded(fact.Id, Time.ValidDate.Parse(on), "sold", [new Claim("s2", ClaimKind.Stated)]), new EventRef(Guid.Empty, sequence, "fact_ended", DateTimeOffset.UnixEpoch.AddDays(sequence)));
        var first = Stake("f1", "2019-01-01", 10, 1);
        var later = new[] { Stake("f2", "2020-06-01", 20, 2), Stake("f3", "2021-01-01", 30, 3) };
        var renderings = new HoldingTimeline.Renderings();
        static string Stored(IReadOnlyList<HoldingSegment> t) => string.Join("\n", t.Select(s => $"{s.From}|{s.To}|{s.Stored}"));

        HoldingTimeline.Build([Ended(first, "2020", 4), .. later], TimelinePairs.Sources, renderings);
        List<FactState> known = [Ended(first, "2020-02", 5), .. later];

        Assert.Equal(Stored(HoldingTimeline.Build(known, TimelinePairs.Sources)), Stored(HoldingTimeline.Build(known, TimelinePairs.Sources, renderings)));
    }

    private static void AssertSame(string holder, string subject, List<FactState> facts, IReadOnlyDictionary<string, SourceRegistered> sources, string what)
    {
        static string NameOf(string id) => $"Org {id}";
        var expected = LedgerJson.Serialize(ReferenceTimeline.Build(holder, subject, facts, sources, NameOf), indented: true);
        // The sweep's findings are data: in words (as an answer shows them) they must read as the rescan's.
        var actual = LedgerJson.Serialize(HoldingTimeline.Build(facts, sources)
            .Select(s => new ReferenceTimeline.ReferenceSegment(s.From, s.To, FindingWords.Render(s.Finding, NameOf(holder), NameOf(subject), sources))).ToList(), indented: true);
        if (expected != actual)
        {
            var lines = (Expected: expected.Split('\n'), Actual: actual.Split('\n'));
            var at = Enumerable.Range(0, Math.Min(lines.Expected.Length, lines.Actual.Length)).FirstOrDefault(i => lines.Expected[i] != lines.Actual[i]);
            Assert.Fail($"{what}: the sweep differs from the rescan at line {at}:\n  rescan: {lines.Expected.ElementAtOrDefault(at)}\n  sweep:  {lines.Actual.ElementAtOrDefault(at)}\n"
                + $"facts: {string.Join("; ", facts.Select(f => $"{f.Id} {f.Stake.Share.ToReadable()} from {f.Current.Valid.From} to {f.Current.Valid.To} ended {f.Ending?.On}{(f.IsRetracted ? " retracted" : "")}"))}");
        }
    }
}
