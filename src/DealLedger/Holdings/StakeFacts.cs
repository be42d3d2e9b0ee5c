using DealLedger.Deals;

namespace DealLedger.Holdings;

/// <summary>
/// A stake fact as an answer that names it needs it: its pair, its id, the event that recorded it and the first day it may
/// start. Read alone where an answer names the facts of thousands of pairs (a look-through), whose whole states are not needed.
/// </summary>
internal readonly record struct StakeFactMark(string Holder, string Subject, string Id, long RecordedBy, DateOnly Start)
{
    public static StakeFactMark Of(FactState f) => new(f.Stake.Holder, f.Stake.Subject, f.Id, f.Basis[0].Sequence, f.Current.Valid.From.Start);
}

/// <summary>Which of a pair's stake facts a holding's state stands for, where an answer names one fact.</summary>
internal static class StakeFacts
{
    /// <summary>Of the pair's facts recorded by an event of the state's basis, the latest to start (the one in force; of two, the first by id).</summary>
    public static string? RestingOn(IEnumerable<StakeFactMark> pairFacts, IEnumerable<long> basis)
    {
        var events = basis.ToHashSet();
        return pairFacts.Where(x => events.Contains(x.RecordedBy)).OrderByDescending(x => x.Start).ThenBy(x => x.Id, StringComparer.Ordinal).Select(x => x.Id)
            .FirstOrDefault();
    }
}
