using System.Globalization;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Time;

namespace DealLedger.Tests;

/// <summary>
/// DESIGN §3 on imprecise dates, checked against a second reading of the rules: pick a concrete
/// day inside every imprecise date (a "world"), read the rules day by day in that world, and
/// collect what all worlds say. All agree → that answer; some held, some not → uncertain. The
/// ledger's timeline must say the same on every day tried. Pure: no database.
/// </summary>
public sealed class PossibleWorldsTests
{
    private sealed record World(List<(DateOnly Start, decimal? Share, DateOnly? To)> States, List<DateOnly> Endings);

    public static IEnumerable<object[]> Batches => Enumerable.Range(0, 6).Select(b => new object[] { b });

    [Theory]
    [MemberData(nameof(Batches))]
    public void the_timeline_agrees_with_every_possible_world(int batch)
    {
        var sources = new Dictionary<string, SourceRegistered> { ["press"] = new("press", "A report", null, null, null, SourceKind.ThirdParty, null, null) };
        for (var seed = batch * 120; seed < (batch + 1) * 120; seed++)
        {
            var r = new Random(seed);
            var facts = RandomFacts(r);
            var segments = HoldingTimeline.Build(facts, sources);
            var days = facts.SelectMany(f => new ValidDate?[] { f.Current.Valid.From, f.Current.Valid.To, f.Ending?.On })
                .Where(v => v is not null).SelectMany(v => new[] { v!.Value.Start, v.Value.Start.AddDays(-1), v.Value.End, v.Value.End.AddDays(-1), v.Value.Start.AddDays(1) })
                .Distinct().Order().ToList();
            // Worlds favour the days where answers turn: every other date's first and last days, and their neighbours.
            var turns = days.SelectMany(d => new[] { d, d.AddDays(1), d.AddDays(-1) }).Distinct().ToList();
            var worlds = Enumerable.Range(0, 1200).Select(_ => Pick(r, facts, turns)).Where(w => w is not null).Select(w => w!).ToList();
            foreach (var day in days)
            {
                var outcomes = worlds.Select(w => RulesByDay.Read(w.States, w.Endings, day).Share).Distinct().ToList();
                var expected = outcomes.All(o => o is not null) ? HoldingStatus.Held : outcomes.All(o => o is null) ? HoldingStatus.NotHeld : HoldingStatus.Uncertain;
                var finding = segments.First(s => (s.From is null || s.From <= day) && (s.To is null || day < s.To)).Finding;
                Assert.True(expected == finding.Status,
                    $"seed {seed}, {day:yyyy-MM-dd}: worlds say {expected}, the ledger {finding.Status} ({finding.Explanation}); facts: " +
                    string.Join("; ", facts.Select(f => $"{f.Stake.Share.ToReadable()} from {f.Current.Valid.From} to {f.Current.Valid.To} ended {f.Ending?.On}")));
                if (expected == HoldingStatus.Held)
                {
                    Assert.Equal(outcomes.Min(o => o!.Value), finding.Share!.Lower);
                    Assert.Equal(outcomes.Max(o => o!.Value), finding.Share!.Upper);
                }
            }
        }
    }

    /// <summary>Up to four stakes whose starts do not coincide, with day, month or year precision, some `to`s and endings, some 0 %.</summary>
    internal static List<FactState> RandomFacts(Random r)
    {
        var facts = new List<FactState>();
        for (var i = 0; i < r.Next(1, 5); i++)
        {
            var from = RandomDate(r, 2015, 2025);
            if (facts.Any(f => f.Current.Valid.From.Coincides(from)))
            {
                continue;
            }
            ValidDate? to = r.Next(4) == 0 ? RandomDate(r, from.Start.Year, from.Start.Year + 4) : null;
            if (to is { } t && t.CannotFollow(from))
            {
                to = null;
            }
            var fact = new Stake
            {
                Id = $"f{i}", Deal = "d", Holder = "acme", Subject = "globex",
                Share = Share.OfExact(r.Next(6) == 0 ? 0 : r.Next(1, 60)), Valid = new ValidPeriod(from, to),
                Sources = [new Claim("press", ClaimKind.Stated)],
            };
            var state = FactState.Recorded(new FactRecorded(fact), Ref(i));
            var ended = r.Next(3) == 0 ? RandomDate(r, from.Start.Year, from.Start.Year + 4) : (ValidDate?)null;
            if (ended is { } e && !e.CannotFollow(from))
            {
                state = state.Apply(new FactEnded(fact.Id, e, null, [new Claim("press", ClaimKind.Stated)]), Ref(100 + i));
            }
            facts.Add(state);
        }
        return facts;
    }

    private static EventRef Ref(int i) => new(Guid.Empty, i + 1, "fact_recorded", DateTimeOffset.UnixEpoch);

    private static ValidDate RandomDate(Random r, int minYear, int maxYear)
    {
        var d = new DateOnly(minYear, 1, 1).AddDays(r.Next(0, (maxYear - minYear) * 365));
        return ValidDate.Parse(r.Next(3) switch
        {
            0 => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            1 => d.ToString("yyyy-MM", CultureInfo.InvariantCulture),
            _ => d.ToString("yyyy", CultureInfo.InvariantCulture),
        });
    }

    /// <summary>A world: a day for every date, each end after its own start; null when the draw cannot satisfy that.</summary>
    private static World? Pick(Random r, List<FactState> facts, List<DateOnly> turns)
    {
        var states = new List<(DateOnly, decimal?, DateOnly?)>();
        var endings = new List<DateOnly>();
        foreach (var f in facts)
        {
            var start = Day(r, f.Current.Valid.From, null, turns);
            DateOnly? to = null;
            if (f.Ending is null && f.Current.Valid.To is { } t)
            {
                to = Day(r, t, start, turns);
            }
            if (start is null || (f.Current.Valid.To is not null && f.Ending is null && to is null))
            {
                return null;
            }
            if (f.Ending is { } e)
            {
                if (Day(r, e.On, start, turns) is not { } end)
                {
                    return null;
                }
                endings.Add(end);
            }
            states.Add((start.Value, f.Stake.Share.Exact!.Value, to));
        }
        return new World(states.OrderBy(s => s.Item1).ToList(), endings);
    }

    private static DateOnly? Day(Random r, ValidDate date, DateOnly? after, List<DateOnly> turns)
    {
        var first = after is { } a && a >= date.Start ? a.AddDays(1) : date.Start;
        var last = date.End.AddDays(-1);
        if (first > last)
        {
            return null;
        }
        var inside = turns.Where(d => d >= first && d <= last).ToList();
        if (inside.Count > 0 && r.Next(2) == 0)
        {
            return inside[r.Next(inside.Count)];
        }
        // Often the ends of the window, where the answers change; otherwise anywhere in it.
        return r.Next(4) switch
        {
            0 => first,
            1 => last,
            _ => first.AddDays(r.Next(0, last.DayNumber - first.DayNumber + 1)),
        };
    }
}
