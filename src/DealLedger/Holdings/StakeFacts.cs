using DealLedger.Time;

namespace DealLedger.Holdings;

/// <summary>
/// A stake fact as an answer that names it needs it: its pair, its id, the event that recorded it, and when it starts and
/// ends. Read alone where an answer names the facts of thousands of pairs (a look-through, a hub's ties), whose whole states
/// are not needed.
/// </summary>
internal readonly record struct StakeFactMark(string Holder, string Subject, string Id, long RecordedBy, ValidDate From, ValidDate? EndsOn)
{
    /// <summary>The first day it may start.</summary>
    public DateOnly Start => From.Start;
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
