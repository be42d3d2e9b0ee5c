using System.Globalization;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Time;

namespace DealLedger.Benchmarks;

/// <summary>
/// One pair's stake facts as the ledger folds them (no database): successive states with day, month
/// or year starts, same-state facts from other sources (some disputing the size), `to`s, endings,
/// 0 % states, corrections, added claims and retractions — the shapes HistoryGenerator writes, made
/// directly as fact states so that a timeline can be built and timed on its own.
/// </summary>
public static class TimelinePairs
{
    public const string Holder = "acme";
    public const string Subject = "globex";

    public static readonly IReadOnlyDictionary<string, SourceRegistered> Sources = Enumerable.Range(0, 12).ToDictionary(
        i => $"s{i}", i => new SourceRegistered($"s{i}", $"Report {i}", null, null, null,
            i % 4 == 0 ? SourceKind.SelfDeclaration : i % 4 == 1 ? SourceKind.OfficialRegister : SourceKind.ThirdParty, null, null));

    /// <summary>
    /// <paramref name="facts"/> stake facts, each with about <paramref name="amendments"/> later events.
    /// <paramref name="exactDays"/>: every start a day, no ends (the benchmark's long pair); otherwise
    /// anything goes, and with <paramref name="crowded"/> states follow each other within days, so their dates overlap.
    /// </summary>
    public static List<FactState> Make(int facts, int seed, double amendments = 0, bool exactDays = false, bool crowded = false)
    {
        var r = new Random(seed);
        var made = new List<FactState>();
        var next = new DateOnly(1990, 1, 1).AddDays(r.Next(3650));
        var sequence = 0;
        ValidDate? lastStart = null;
        for (var i = 0; i < facts; i++)
        {
            var id = $"f{i:D5}";
            var claims = new List<Claim> { Claim(r) };
            ValidDate from;
            Share share;
            if (lastStart is { } same && !exactDays && r.Next(100) < 12)
            {
                // Another source on the latest state: a day inside its start, a compatible size or (rarely) not.
                from = ValidDate.OfDay(same.Start.AddDays(r.Next(same.End.DayNumber - same.Start.DayNumber)));
                share = r.Next(4) == 0 ? Share.OfExact(r.Next(1, 60)) : Share.Range(0, false, 100, true);
            }
            else
            {
                var precision = exactDays ? 0 : r.Next(100) switch { < 45 => 0, < 85 => 1, _ => 2 };
                from = Window(next.AddDays(r.Next(28)), precision);
                if (from.Start < next)
                {
                    from = Window(precision == 1 ? from.Start.AddMonths(1) : from.Start.AddYears(1), precision);
                }
                next = crowded ? from.End.AddDays(r.Next(-20, 10)) : from.End.AddMonths(exactDays ? 1 : 1 + r.Next(24));
                share = r.Next(100) switch
                {
                    < 3 when i > 0 => Share.OfExact(0, "sold its whole stake"),
                    < 60 => Share.OfExact(Math.Round((decimal)(r.NextDouble() * 60 + 0.1), 1)),
                    < 85 => Share.Range(0, false, 50, false, "minority stake"),
                    _ => Share.Range(r.Next(1, 40), true, 60, true),
                };
                lastStart = from;
            }
            ValidDate? to = null;
            if (!exactDays && r.Next(100) < 8)
            {
                to = Window(from.End.AddMonths(r.Next(0, 30)), 1 + r.Next(2));
                if (to.Value.CannotFollow(from))
                {
                    to = null;
                }
            }
            var fact = new Stake
            {
                Id = id, Deal = "d", Holder = Holder, Subject = Subject,
                Share = share, Valid = new ValidPeriod(from, to), Sources = claims,
            };
            var state = FactState.Recorded(new FactRecorded(fact), Ref(++sequence, "fact_recorded"));
            var count = (int)amendments + (r.NextDouble() < amendments % 1 ? 1 : 0);
            for (var a = 0; a < count; a++)
            {
                var roll = exactDays ? r.Next(2) * 50 : r.Next(100);
                var ended = Window(from.End.AddMonths(r.Next(0, 40)), r.Next(3));
                state = roll switch
                {
                    < 35 => state.Apply(new SourceAddedToFact(id, Claim(r)), Ref(++sequence, "source_added_to_fact")),
                    < 80 => state.Apply(new FactCorrected(id, new FactAmendment { Share = Share.OfExact(Math.Round((decimal)(r.NextDouble() * 49 + 0.5), 2)) },
                        "a later filing gives the exact figure", [Claim(r)]), Ref(++sequence, "fact_corrected")),
                    < 93 when state.Ending is null && to is null && !ended.CannotFollow(from) =>
                        state.Apply(new FactEnded(id, ended, "sold to a fund", [Claim(r)]), Ref(++sequence, "fact_ended")),
                    >= 93 => state.Apply(new FactRetracted(id, "the report was wrong", [Claim(r)]), Ref(++sequence, "fact_retracted")),
                    _ => state,
                };
            }
            made.Add(state);
        }
        return made;
    }

    private static Claim Claim(Random r) => new($"s{r.Next(12)}", r.Next(20) == 0 ? ClaimKind.Denied : r.Next(5) == 0 ? ClaimKind.Claimed : ClaimKind.Stated);

    private static EventRef Ref(int sequence, string type) => new(Guid.Empty, sequence, type, DateTimeOffset.UnixEpoch.AddDays(sequence));

    private static ValidDate Window(DateOnly day, int precision) => ValidDate.Parse(precision switch
    {
        0 => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        1 => day.ToString("yyyy-MM", CultureInfo.InvariantCulture),
        _ => day.ToString("yyyy", CultureInfo.InvariantCulture),
    });
}
