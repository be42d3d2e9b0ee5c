using DealLedger.Deals;
using DealLedger.Holdings;
using Npgsql;

namespace DealLedger.Ownership;

/// <summary>
/// What look-throughs of one ledger at one (knownAt, day) have read, kept to be read again: a replay asks every
/// organization's look-through at one moment and on one date, and the organizations of a group share most of their
/// chains (on the 100k bench ledger each one reads the same ~8,000 stakes). Reads at a settled knownAt never change.
/// </summary>
internal sealed class LookThroughReads(DateTimeOffset knownAt, DateOnly day)
{
    private readonly Dictionary<string, List<(string Holder, string Subject, Reading Reading)>> bySubject = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(string Holder, string Subject, Reading Reading)>> byHolder = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Holder, string Subject), List<StakeFactMark>> marks = [];
    private readonly Dictionary<string, List<FactState>> facts = new(StringComparer.Ordinal);

    /// <summary>As <see cref="HoldingQuery.HeldByAnyAsync"/>, in the same order: each organization's stakes read once.</summary>
    public async Task<List<(string Holder, string Subject, Reading Reading)>> HeldByAnyAsync(NpgsqlConnection c, HoldingQuery.Side side,
        IReadOnlyCollection<string> orgs, CancellationToken ct)
    {
        var known = side == HoldingQuery.Side.Subject ? bySubject : byHolder;
        var missing = orgs.Where(o => !known.ContainsKey(o)).Distinct().ToList();
        if (missing.Count > 0)
        {
            foreach (var o in missing)
            {
                known[o] = [];
            }
            foreach (var row in await HoldingQuery.HeldByAnyAsync(c, side, missing, knownAt, day, ct))
            {
                known[side == HoldingQuery.Side.Subject ? row.Subject : row.Holder].Add(row);
            }
        }
        return orgs.SelectMany(o => known[o]).OrderBy(r => r.Holder, StringComparer.Ordinal).ThenBy(r => r.Subject, StringComparer.Ordinal).ToList();
    }

    /// <summary>As <see cref="FactVersions.StakeMarksOfPairsAsync"/>: each pair's facts read once.</summary>
    public async Task<List<StakeFactMark>> StakeMarksOfPairsAsync(NpgsqlConnection c, IReadOnlyCollection<(string Holder, string Subject)> pairs, CancellationToken ct)
    {
        var missing = pairs.Where(p => !marks.ContainsKey(p)).Distinct().ToList();
        if (missing.Count > 0)
        {
            foreach (var p in missing)
            {
                marks[p] = [];
            }
            foreach (var mark in await FactVersions.StakeMarksOfPairsAsync(c, missing, knownAt, ct))
            {
                marks[(mark.Holder, mark.Subject)].Add(mark);
            }
        }
        return [.. pairs.SelectMany(p => marks[p])];
    }

    /// <summary>As <see cref="FactVersions.OfTypesAmongAsync"/> for many organizations: every fact of the kinds read once, then those touching these.</summary>
    public async Task<List<FactState>> OfTypesAmongAsync(NpgsqlConnection c, IReadOnlyList<FactType> types, IReadOnlyCollection<string> orgs, CancellationToken ct)
    {
        var key = string.Join(',', types);
        if (!facts.TryGetValue(key, out var all))
        {
            facts[key] = all = await FactVersions.OfTypesAsync(c, knownAt, types, ct);
        }
        var among = orgs.ToHashSet(StringComparer.Ordinal);
        return all.Where(f => f.Current.Organizations.Any(among.Contains)).ToList();
    }

    /// <summary>Refuses an answer at another (knownAt, day) than the reads were kept for.</summary>
    public void Check(DateTimeOffset k, DateOnly d)
    {
        if (k != knownAt || d != day)
        {
            throw new InvalidOperationException($"look-through reads kept for {knownAt:O} on {day} asked for {k:O} on {d}");
        }
    }
}
