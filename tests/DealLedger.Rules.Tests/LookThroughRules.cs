using DealLedger.Holdings;
using DealLedger.Ownership;

namespace DealLedger.Rules.Tests;

/// <summary>
/// Look-through shares (DESIGN §11) against a brute force on random small ownership graphs: with exact shares
/// (cross-holdings included) the sums equal the walks' series; with ranges every exact pick lies inside the range
/// computed (sound) and the picks at the ranges' ends reach its ends (tight).
/// </summary>
public sealed class LookThroughRules
{
    private static Link L(string holder, string subject, decimal lower, decimal upper, bool lowerIn = true, bool upperIn = true) =>
        new(holder, subject, new Bounds(lower, lowerIn, upper, upperIn));

    private static Link Exact(string holder, string subject, decimal share) => L(holder, subject, share, share);

    private static Reach Of(Walked w, string org) => Assert.Single(w.Reached, r => r.Organization == org);

    [Fact]
    public void a_chain_multiplies_its_shares_and_keeps_each_end_as_the_factors_give_it()
    {
        // a holds at least 10 % and less than 20 % of b; b holds exactly half of t.
        var w = ChainSums.Owners([L("a", "b", 0.1m, 0.2m, upperIn: false), Exact("b", "t", 0.5m)], "t", 10);

        Assert.Equal(new Bounds(0.05m, true, 0.1m, false), Of(w, "a").Share);
        Assert.Equal(Bounds.Counted(HoldingStatus.Held, Share.OfExact(50m), null), Of(w, "b").Share);
        Assert.Null(Of(w, "a").Direct);
        Assert.Equal(1, Of(w, "b").Direct);
        Assert.Equal(["a", "b"], w.Reached.Select(r => r.Organization).Order());
        var chain = Assert.Single(Of(w, "a").Strongest);
        Assert.Equal([0, 1], chain.Links);
        Assert.Empty(w.Cycles);
    }

    [Fact]
    public void a_factor_that_can_be_zero_makes_the_product_reach_zero()
    {
        // An uncertain stake counts from 0 (reached); the product's lower end 0 is then reached too, its upper end is not.
        var uncertain = Bounds.Counted(HoldingStatus.Uncertain, Share.Range(0m, false, 30m, true), null);
        var w = ChainSums.Owners([new Link("a", "b", uncertain), L("b", "t", 0.1m, 0.2m, lowerIn: false, upperIn: false)], "t", 10);

        Assert.Equal(new Bounds(0m, true, 0.06m, false), Of(w, "a").Share);
        // Without the uncertain start, "more than 0 %" stays open.
        var open = ChainSums.Owners([L("a", "b", 0m, 0.3m, lowerIn: false), L("b", "t", 0.1m, 0.2m)], "t", 10);
        Assert.Equal(new Bounds(0m, false, 0.06m, true), Of(open, "a").Share);
    }

    [Fact]
    public void a_disputed_size_counts_by_the_cover_of_what_was_claimed()
    {
        var counted = Bounds.Counted(HoldingStatus.Held, null, [Share.OfExact(10m), Share.Range(20m, true, 30m, false)]);
        Assert.Equal(new Bounds(0.1m, true, 0.3m, false), counted);
        Assert.Equal(new Bounds(0m, true, 1m, true), Bounds.Counted(HoldingStatus.Held, null, null));
    }

    [Fact]
    public void cross_holdings_are_named_and_summed_to_the_limit_of_their_chains()
    {
        // a and b hold half of each other; b holds 40 % of t. a's share: 0.5·0.4 (1 + 0.25 + 0.25² …) = 0.2 / 0.75.
        var w = ChainSums.Owners([Exact("a", "b", 0.5m), Exact("b", "a", 0.5m), Exact("b", "t", 0.4m)], "t", 10);

        Assert.Equal([["a", "b"]], w.Cycles.Select(c => c.ToArray()));
        Assert.Equal(0.2m / 0.75m, Of(w, "a").Share.Lower, 20);
        Assert.Equal(0.4m / 0.75m, Of(w, "b").Share.Upper, 20);
        Assert.True(Of(w, "a").Share.LowerInclusive && Of(w, "a").Share.UpperInclusive);
        // Listed chains never go round: a's one simple chain is a → b → t.
        Assert.Equal([[0, 2]], Of(w, "a").Strongest.Select(c => c.Links.ToArray()));
    }

    [Fact]
    public void a_cycle_whose_shares_do_not_shrink_is_capped_at_the_whole()
    {
        // At their upper ends a and b hold all of each other: that series has no limit; at their lower ends it has.
        var w = ChainSums.Owners([L("a", "b", 0.5m, 1m), L("b", "a", 0.5m, 1m), Exact("b", "t", 0.4m)], "t", 10);

        var a = Of(w, "a").Share;
        Assert.Equal(0.2m / 0.75m, a.Lower, 20);
        Assert.Equal((1m, true), (a.Upper, a.UpperInclusive));
        Assert.Equal(1m, Of(w, "b").Share.Upper);
    }

    [Fact]
    public void depth_bounds_how_far_chains_are_followed()
    {
        var links = new[] { Exact("c", "b", 1m), Exact("b", "a", 1m), Exact("a", "t", 0.5m) };

        Assert.Equal(["a", "b"], ChainSums.Owners(links, "t", 2).Reached.Select(r => r.Organization).Order());
        Assert.Equal(["a", "b", "c"], ChainSums.Owners(links, "t", 3).Reached.Select(r => r.Organization).Order());
        Assert.Equal(["b"], ChainSums.Holdings(links, "c", 1).Reached.Select(r => r.Organization));
        Assert.Equal(0.5m, Of(ChainSums.Holdings(links, "c", 3), "t").Share.Upper);
    }

    [Fact]
    public void a_threshold_splits_by_the_lower_bound_first_then_the_upper()
    {
        Assert.Equal(ThresholdSide.AtOrAbove, new Bounds(0.25m, true, 0.3m, true).Side(25m));
        Assert.Equal(ThresholdSide.AtOrAbove, new Bounds(0.25m, false, 0.3m, true).Side(25m));
        Assert.Equal(ThresholdSide.Possibly, new Bounds(0.1m, true, 0.25m, true).Side(25m));
        Assert.Equal(ThresholdSide.Below, new Bounds(0.1m, true, 0.25m, false).Side(25m));
    }

    [Fact]
    public void control_passes_through_majority_held_intermediaries_only()
    {
        // p controls h by voting rights, and h holds 60 % of t; q controls r, which holds 30 % of t: no majority, no control of t.
        var ties = new (string, string, Bounds?)[]
        {
            ("h", "t", new Bounds(0.6m, true, 0.6m, true)), ("p", "h", null), ("r", "t", new Bounds(0.3m, true, 0.3m, true)), ("q", "r", null),
        };
        var control = ChainSums.Control(ties, "t", 10, towardEnd: true);

        var p = Assert.Single(control);
        Assert.Equal("p", p.Organization);
        Assert.Equal([[1, 0]], p.Chains.Select(c => c.ToArray()));
        // From p's side, the same chain: p controls t.
        Assert.Equal(["t"], ChainSums.Control(ties, "p", 10, towardEnd: false).Select(c => c.Organization).Where(o => o == "t"));
    }

    // ---- the brute force ----

    /// <summary>Σ over walks from x to y meeting y only at the end, of the product of shares: the series, term by term.</summary>
    private static double Series(double[,] a, int x, int y)
    {
        var n = a.GetLength(0);
        var p = new double[n];
        p[x] = 1;
        var total = 0.0;
        for (var step = 0; step < 3_000; step++)
        {
            var next = new double[n];
            for (var u = 0; u < n; u++)
            {
                if (p[u] == 0 || (u == y && step > 0))
                {
                    continue;
                }
                for (var v = 0; v < n; v++)
                {
                    if (a[u, v] > 0)
                    {
                        if (v == y)
                        {
                            total += p[u] * a[u, v];
                        }
                        else
                        {
                            next[v] += p[u] * a[u, v];
                        }
                    }
                }
            }
            p = next;
        }
        return total;
    }

    /// <summary>A random ownership graph of n organizations, each held by at most 90 % in all (so every series converges).</summary>
    private static List<(int Holder, int Subject, decimal Lower, decimal Upper, bool LowerIn, bool UpperIn)> Graph(Random r, int n, bool acyclic, bool ranges)
    {
        var result = new List<(int, int, decimal, decimal, bool, bool)>();
        for (var s = 0; s < n; s++)
        {
            var room = 90;
            for (var h = 0; h < n; h++)
            {
                if (h == s || (acyclic && h <= s) || r.Next(3) > 0 || room < 2)
                {
                    continue;
                }
                var upper = r.Next(1, Math.Min(room, 60) + 1);
                var lower = ranges ? r.Next(0, upper + 1) : upper;
                room -= upper;
                result.Add((h, s, lower / 100m, upper / 100m, !ranges || r.Next(2) == 0, !ranges || r.Next(2) == 0));
            }
        }
        return result;
    }

    private static string Id(int i) => $"o{i}";

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 60)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void exact_shares_equal_the_series_of_walks_cycles_included(int seed)
    {
        var r = new Random(seed);
        var n = r.Next(2, 8);
        var g = Graph(r, n, acyclic: seed % 3 == 0, ranges: false);
        var a = new double[n, n];
        foreach (var e in g)
        {
            a[e.Holder, e.Subject] = (double)e.Upper;
        }
        var links = g.Select(e => Exact(Id(e.Holder), Id(e.Subject), e.Upper)).ToList();
        var end = r.Next(n);

        var owners = ChainSums.Owners(links, Id(end), LookThroughRequest.MaxDepth);
        var holdings = ChainSums.Holdings(links, Id(end), LookThroughRequest.MaxDepth);

        for (var x = 0; x < n; x++)
        {
            if (x == end)
            {
                continue;
            }
            AssertShare(Series(a, x, end), owners, Id(x));
            AssertShare(Series(a, end, x), holdings, Id(x));
        }
    }

    private static void AssertShare(double expected, Walked w, string org)
    {
        var reach = w.Reached.SingleOrDefault(x => x.Organization == org);
        if (expected < 1e-12)
        {
            Assert.Null(reach);
            return;
        }
        Assert.NotNull(reach);
        Assert.Equal(expected, (double)reach.Share.Lower, 9);
        Assert.Equal(expected, (double)reach.Share.Upper, 9);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void with_ranges_every_pick_lies_inside_and_the_ends_are_reached_by_the_ends_picks(int seed)
    {
        var r = new Random(seed);
        var n = r.Next(2, 8);
        var g = Graph(r, n, acyclic: seed % 2 == 0, ranges: true);
        var links = g.Select(e => L(Id(e.Holder), Id(e.Subject), e.Lower, e.Upper, e.LowerIn, e.UpperIn)).ToList();
        var end = r.Next(n);
        var owners = ChainSums.Owners(links, Id(end), LookThroughRequest.MaxDepth);

        double[,] Pick(Func<(int Holder, int Subject, decimal Lower, decimal Upper, bool LowerIn, bool UpperIn), double> value)
        {
            var a = new double[n, n];
            foreach (var e in g)
            {
                a[e.Holder, e.Subject] = value(e);
            }
            return a;
        }

        var lowest = Pick(e => (double)e.Lower);
        var highest = Pick(e => (double)e.Upper);
        for (var trial = 0; trial < 20; trial++)
        {
            // Strictly inside where an end is open; at an end where it is reached, now and then.
            var a = Pick(e => e.Lower == e.Upper ? (double)e.Lower
                : e.LowerIn && r.Next(4) == 0 ? (double)e.Lower
                : e.UpperIn && r.Next(4) == 0 ? (double)e.Upper
                : (double)e.Lower + ((double)(e.Upper - e.Lower) * (0.01 + 0.98 * r.NextDouble())));
            for (var x = 0; x < n; x++)
            {
                if (x == end)
                {
                    continue;
                }
                var f = Series(a, x, end);
                var reach = owners.Reached.SingleOrDefault(o => o.Organization == Id(x));
                if (reach is null)
                {
                    Assert.True(f < 1e-12, $"{Id(x)} holds {f} of {Id(end)} in a pick, but is not reached");
                    continue;
                }
                Assert.InRange(f, (double)reach.Share.Lower - 1e-12, (double)reach.Share.Upper + 1e-12);
                if (!reach.Share.LowerInclusive)
                {
                    Assert.True(f > (double)reach.Share.Lower - 1e-12);
                }
            }
        }
        // Tight: the picks at the ends give the ends (the sums only add and multiply).
        for (var x = 0; x < n; x++)
        {
            if (x != end && owners.Reached.SingleOrDefault(o => o.Organization == Id(x)) is { } reach)
            {
                Assert.Equal(Series(lowest, x, end), (double)reach.Share.Lower, 9);
                Assert.Equal(Series(highest, x, end), (double)reach.Share.Upper, 9);
            }
        }
    }

    /// <summary>A look-through answer whose owners reach t through b: each chain's stakes as given (shared or made apart).</summary>
    private static LookThroughAnswer Answer(ChainLink aToB, ChainLink bToT, ChainLink cToB, ChainLink bToT2) =>
        new("t", "2024-06-01", "2026-01-01T00:00:00Z", 10, null,
            [
                new ChainedStake("a", null, "A", Share.OfExact(25m), null, true, null, false, 1,
                    [new OwnershipPath(["b"], Share.OfExact(25m), [aToB, bToT])]),
                new ChainedStake("c", null, "C", Share.OfExact(5m), null, true, null, false, 1,
                    [new OwnershipPath(["b"], Share.OfExact(5m), [cToB, bToT2])]),
            ], null, [], [], [], [], true);

    private static ChainLink Stake(string holder, string subject, decimal share, string fact) =>
        new(holder, subject, HoldingStatus.Held, Share.OfExact(share), fact, [new SourceCitation("s1", "Filing", null, "2024-01-01", Sources.SourceKind.OfficialRegister)]);

    [Fact]
    public void a_look_through_digest_is_equal_exactly_when_the_answers_json_is()
    {
        var bToT = Stake("b", "t", 50m, "f-bt");
        var shared = Answer(Stake("a", "b", 50m, "f-ab"), bToT, Stake("c", "b", 10m, "f-cb"), bToT);
        // The same values, the stake b → t made twice: the same JSON, so the same digest.
        var apart = Answer(Stake("a", "b", 50m, "f-ab"), Stake("b", "t", 50m, "f-bt"), Stake("c", "b", 10m, "f-cb"), Stake("b", "t", 50m, "f-bt"));
        // One chain's stake resting on another fact: its JSON differs only inside that stake.
        var other = Answer(Stake("a", "b", 50m, "f-ab"), bToT, Stake("c", "b", 10m, "f-cb"), Stake("b", "t", 50m, "f-bt-2"));

        Assert.Equal(Storage.LedgerJson.Serialize(shared), Storage.LedgerJson.Serialize(apart));
        Assert.Equal(LookThroughDigest.Of(shared), LookThroughDigest.Of(apart));
        Assert.NotEqual(Storage.LedgerJson.Serialize(shared), Storage.LedgerJson.Serialize(other));
        Assert.NotEqual(LookThroughDigest.Of(shared), LookThroughDigest.Of(other));
        // Each stake is written once, after the chains that number them: three stakes, four in the JSON.
        Assert.Equal(3, LookThroughDigest.Of(shared).Split('\n').Length - 1);
    }
}
