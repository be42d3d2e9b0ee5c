using DealLedger.Deals;
using DealLedger.Importing;
using DealLedger.Sources;
using DealLedger.Writing;

namespace DealLedger.Amounts;

/// <summary>One source cannot give two different rates of one currency pair for the same stretch of time (as stakes: DESIGN §6).</summary>
internal static class RateContradiction
{
    /// <summary>Refuses <paramref name="fact"/> (new, or as an amendment would leave it) when another rate of its pair from a shared source contradicts it.</summary>
    public static void Refuse(LedgerTransaction t, Fact fact, DocumentNode node)
    {
        if (fact is not ExchangeRate rate)
        {
            return;
        }
        foreach (var other in t.Rates(rate.Pair))
        {
            if (other.Id == fact.Id || other.IsRetracted || other.Current is not ExchangeRate known || known.Rate == rate.Rate || !Overlap(fact, other))
            {
                continue;
            }
            if (Claim.SharedAsserting(fact.Sources, known.Sources) is { } shared)
            {
                throw node.Error($"rate '{fact.Id}' ({rate.Pair} {rate.Rate}) contradicts rate '{other.Id}' ({known.Rate}) from the same source '{shared}' over an overlapping period");
            }
        }
    }

    /// <summary>
    /// Two rates give the same stretch of time when they start on the same date and neither ends before the other starts. A
    /// rate starting later is the next of a series (open-ended daily rates): conversions take the latest to start.
    /// </summary>
    private static bool Overlap(Fact a, FactState b)
    {
        var aEnd = a.Valid.To?.Start ?? DateOnly.MaxValue;
        var bEnd = b.EndsOn?.Start ?? DateOnly.MaxValue;
        return a.Valid.From.Coincides(b.Current.Valid.From) && a.Valid.From.Start < bEnd && b.Current.Valid.From.Start < aEnd;
    }
}
