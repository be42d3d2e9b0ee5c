using DealLedger.Deals;

namespace DealLedger.Holdings;

/// <summary>Which of a pair's stake facts a holding's state stands for, where an answer names one fact.</summary>
internal static class StakeFacts
{
    /// <summary>Of the pair's facts recorded by an event of the state's basis, the latest to start (the one in force).</summary>
    public static FactState? RestingOn(IEnumerable<FactState> pairFacts, IEnumerable<long> basis)
    {
        var events = basis.ToHashSet();
        return pairFacts.Where(x => events.Contains(x.Basis[0].Sequence)).OrderByDescending(x => x.Current.Valid.From.Start).FirstOrDefault();
    }
}
