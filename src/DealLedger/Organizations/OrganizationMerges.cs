using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Organizations;

/// <summary>One merge as known at an instant: two records read as one organization, who said so and why.</summary>
/// <param name="RecordedAt">When the ledger recorded the merge: answers as known from then on read the two records as one.</param>
public sealed record MergeNote(string Duplicate, string Into, string RecordedAt, string Writer, string Reason, string Explanation);

/// <summary>
/// Duplicate records merged and unmerged (<see cref="OrganizationsMerged"/>, <see cref="OrganizationMergeUndone"/>): which
/// record an organization's is read as, as the fold keeps the holdings (under the survivor) and as every answer asks it.
/// </summary>
public static class OrganizationMerges
{
    /// <summary>The record <paramref name="org"/>'s is read as: itself unless merged, else (along a chain) the one never merged.</summary>
    public static string Survivor(IReadOnlyDictionary<string, string> merges, string org)
    {
        // A merge into an organization itself merged is refused, so a chain has no cycle; the bound only guards a defect.
        for (var steps = 0; merges.TryGetValue(org, out var into); steps++)
        {
            org = steps <= merges.Count ? into : throw new InvalidOperationException($"merges in a cycle at '{org}'");
        }
        return org;
    }

    /// <summary>The records read as <paramref name="survivor"/>: itself first, then those merged into it (along chains) in id order.</summary>
    public static IReadOnlyList<string> Members(IReadOnlyDictionary<string, string> merges, string survivor) =>
        merges.Count == 0 ? [survivor] : [survivor, .. merges.Keys.Where(d => d != survivor && Survivor(merges, d) == survivor).Order(StringComparer.Ordinal)];

    /// <summary>The record pairs whose stakes count for the pair (its sides read as their survivors): the survivors' pair first.</summary>
    public static IEnumerable<(string, string)> PairsCounting(IReadOnlyDictionary<string, string> merges, (string Holder, string Subject) pair) =>
        from h in Members(merges, Survivor(merges, pair.Holder)) from s in Members(merges, Survivor(merges, pair.Subject)) select (h, s);

    /// <summary>The organizations whose survivor a write's merges and undos change (the records that move from one organization to another).</summary>
    internal static HashSet<string> Moved(IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after) =>
        before.Keys.Concat(after.Keys).Where(o => Survivor(before, o) != Survivor(after, o)).ToHashSet(StringComparer.Ordinal);

    /// <summary>Applies merges and undos to the merges in force.</summary>
    internal static void Apply(Dictionary<string, string> merges, object e)
    {
        switch (e)
        {
            case OrganizationsMerged m: merges[m.Duplicate] = m.Into; break;
            case OrganizationMergeUndone u: merges.Remove(u.Duplicate); break;
        }
    }

    /// <summary>The merges in force at <paramref name="knownAt"/>: all of them, in one statement (a ledger has a handful).</summary>
    public static async Task<KnownMerges> AsKnownAsync(NpgsqlConnection c, DateTimeOffset knownAt, CancellationToken ct) =>
        new(await Sql.ListAsync(c,
            $"select m.duplicate, m.merged_into, lower(m.recorded), m.writer, m.reason, d.name, i.name from {ProjectionTables.Of("organization_merges")} m " +
            $"join {ProjectionTables.Of("organizations")} d on d.id = m.duplicate join {ProjectionTables.Of("organizations")} i on i.id = m.merged_into " +
            "where m.recorded @> $1::timestamptz order by m.duplicate",
            r => new MergeNote(r.GetString(0), r.GetString(1), Instant.Format(r.GetFieldValue<DateTimeOffset>(2)), r.GetString(3), r.GetString(4),
                $"{r.GetString(5)} ({r.GetString(0)}) is recorded as the same organization as {r.GetString(6)} ({r.GetString(1)}) since " +
                $"{Instant.Format(r.GetFieldValue<DateTimeOffset>(2))} ({r.GetString(3)}: {r.GetString(4)}); its ties are read as {r.GetString(6)}'s."),
            ct, knownAt));
}

/// <summary>The merges in force at one instant, for a read: each id read as its survivor, and the merges an answer rests on.</summary>
public sealed class KnownMerges(IReadOnlyList<MergeNote> notes)
{
    private readonly Dictionary<string, string> into = notes.ToDictionary(n => n.Duplicate, n => n.Into, StringComparer.Ordinal);

    public static readonly KnownMerges None = new([]);

    public bool Any => into.Count > 0;

    public string Survivor(string org) => OrganizationMerges.Survivor(into, org);

    /// <summary>The records read as <paramref name="survivor"/>: itself first, then those merged into it.</summary>
    public IReadOnlyList<string> Members(string survivor) => OrganizationMerges.Members(into, survivor);

    /// <summary>The merges that make these ids read as their survivors, or merge other records into them (empty: none).</summary>
    public IReadOnlyList<MergeNote> Behind(params string[] ids)
    {
        if (into.Count == 0)
        {
            return [];
        }
        var survivors = ids.Select(Survivor).ToHashSet(StringComparer.Ordinal);
        return notes.Where(n => survivors.Contains(Survivor(n.Duplicate))).ToList();
    }
}

/// <summary>
/// Records ever merged with one another (whether the merge is in force or undone): the records whose facts and merges may
/// have changed a pair's answer (what changed, and why).
/// </summary>
internal sealed class MergedRecords(IReadOnlyList<(string Duplicate, string Into)> merges)
{
    public static async Task<MergedRecords> EverAsync(NpgsqlConnection c, CancellationToken ct) =>
        new(await Sql.ListAsync(c, $"select distinct duplicate, merged_into from {ProjectionTables.Of("organization_merges")}", r => (r.GetString(0), r.GetString(1)), ct));

    /// <summary>The records ever merged with <paramref name="org"/>, along chains either way: itself first.</summary>
    public IReadOnlyList<string> Of(string org)
    {
        var found = new List<string> { org };
        for (var i = 0; i < found.Count; i++)
        {
            foreach (var (d, into) in merges)
            {
                var other = d == found[i] ? into : into == found[i] ? d : null;
                if (other is not null && !found.Contains(other))
                {
                    found.Add(other);
                }
            }
        }
        return found;
    }

    /// <summary>The pairs of records whose stakes may count for a pair: the pair itself first.</summary>
    public IEnumerable<(string, string)> Pairs(string holder, string subject) =>
        from h in Of(holder) from s in Of(subject) where h != s select (h, s);

    /// <summary>The streams of the merges of the pair's records (a merge is on its duplicate's stream).</summary>
    public IEnumerable<string> Streams(string holder, string subject) =>
        Of(holder).Concat(Of(subject)).Where(o => merges.Any(m => m.Duplicate == o)).Distinct().Select(o => $"organization:{o}");
}
