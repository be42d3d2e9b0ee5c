using DealLedger.Deals;
using DealLedger.Importing;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Holdings;

/// <summary>DESIGN §6: the same source cannot tell two incompatible sizes of one stake for overlapping periods.</summary>
internal static class StakeContradiction
{
    /// <summary>Refuses <paramref name="fact"/> (new, or as an amendment would leave it) when it contradicts another stake of its pair (with merged records, of the pair it counts for) from a shared source.</summary>
    public static void Refuse(LedgerTransaction t, Fact fact, DocumentNode node)
    {
        if (fact is not Stake stake)
        {
            return;
        }
        // Every stake that counts for the pair: of records merged into its sides too (they are one holding).
        foreach (var other in t.StakesCounting(stake.Holder, stake.Subject))
        {
            if (other.Id == fact.Id || other.IsRetracted || !Overlap(fact, other.Current) || stake.Share.Intersect(other.Stake.Share) is not null)
            {
                continue;
            }
            if (Claim.SharedAsserting(fact.Sources, other.Current.Sources) is { } shared)
            {
                throw node.Error($"stake '{fact.Id}' ({stake.Share.ToReadable()}) contradicts stake '{other.Id}' ({other.Stake.Share.ToReadable()}) " +
                    $"from the same source '{shared}' over an overlapping period");
            }
        }
    }

    /// <summary>Two stake facts describe the same stretch of time when neither ends before the other starts.</summary>
    private static bool Overlap(Fact a, Fact b)
    {
        var aEnd = a.Valid.To?.End ?? DateOnly.MaxValue;
        var bEnd = b.Valid.To?.End ?? DateOnly.MaxValue;
        // Successive states (different starts) do not contradict: a later one is a change (rule 4).
        return a.Valid.From.Coincides(b.Valid.From) && a.Valid.From.Start < bEnd && b.Valid.From.Start < aEnd;
    }
}
