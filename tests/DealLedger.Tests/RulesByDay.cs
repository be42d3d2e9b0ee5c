namespace DealLedger.Tests;

/// <summary>
/// DESIGN §3 read plainly, for a history whose every date is one known day: the last change by
/// the day asked decides — a state's start, a pair-level ending, or a state's own end (which
/// counts unless the next state has begun by then); on one day an end comes before a start.
/// The oracle of the tests that check the ledger's timeline; it shares no code with it.
/// </summary>
internal static class RulesByDay
{
    /// <param name="states">Each state's start, share (null: its sources disagree) and own end, in start order.</param>
    /// <returns>Whether the stake is held on the day, and its share (null when disputed).</returns>
    public static (bool Held, decimal? Share) Read(IReadOnlyList<(DateOnly Start, decimal? Share, DateOnly? To)> states, IEnumerable<DateOnly> endings, DateOnly day)
    {
        var changes = new List<(DateOnly Day, int Order, decimal? Share)>();
        for (var i = 0; i < states.Count; i++)
        {
            var (start, share, to) = states[i];
            changes.Add((start, 1, share));
            if (to is { } t && !(i + 1 < states.Count && states[i + 1].Start <= t))
            {
                changes.Add((t, 0, 0m));
            }
        }
        changes.AddRange(endings.Select(e => (e, 0, (decimal?)0m)));
        var last = changes.Where(c => c.Day <= day).OrderBy(c => c.Day).ThenBy(c => c.Order).Select(c => ((DateOnly, int, decimal?)?)c).LastOrDefault();
        return last is { } l && l.Item3 != 0m ? (true, l.Item3) : (false, null);
    }
}
