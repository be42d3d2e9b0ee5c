using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Holdings;

/// <summary>
/// Keeps table holding_segments: each pair's timeline over valid time, versioned over recorded
/// time. A write closes the segments it changes at its recorded time and opens their successors;
/// unchanged segments stay as they are (<see cref="ProjectionFold"/> applies what this decides).
/// </summary>
internal static class HoldingProjection
{
    /// <summary>What identifies a segment's content: its valid period and its finding (canonical JSON).</summary>
    internal static string Key(DateOnly? from, DateOnly? to, string finding) => $"{from}|{to}|{finding}";

    /// <summary>
    /// The key of a stored segment from its columns lower(valid), upper(valid), finding::text starting at
    /// <paramref name="at"/>. The finding is canonicalized again: jsonb does not keep the key order it was written in.
    /// </summary>
    internal static string StoredKey(NpgsqlDataReader r, int at) =>
        Key(r.IsDBNull(at) ? null : r.GetFieldValue<DateOnly>(at), r.IsDBNull(at + 1) ? null : r.GetFieldValue<DateOnly>(at + 1),
            LedgerJson.Canonical(LedgerJson.Deserialize<HoldingFinding>(r.GetString(at + 2))));

    /// <summary>A timeline's segments with their canonical findings and keys.</summary>
    internal static List<(HoldingSegment Segment, string Finding, string Key)> Keyed(IReadOnlyList<HoldingSegment> timeline) =>
        timeline.Select(s =>
        {
            var finding = LedgerJson.Canonical(s.Finding);
            return (Segment: s, Finding: finding, Key: Key(s.From, s.To, finding));
        }).ToList();

    /// <summary>
    /// The pair's open segments that the new timeline no longer has (to close), and the timeline's
    /// segments not open yet (to open, in timeline order); unchanged segments stay as they are.
    /// </summary>
    internal static (List<T> Closed, List<(HoldingSegment Segment, string Finding, string Key)> Opened) Changes<T>(
        IReadOnlyList<T> current, Func<T, string> keyOf, List<(HoldingSegment Segment, string Finding, string Key)> wanted)
    {
        var wantedKeys = wanted.Select(w => w.Key).ToHashSet(StringComparer.Ordinal);
        var kept = current.Select(keyOf).Where(wantedKeys.Contains).ToHashSet(StringComparer.Ordinal);
        return (current.Where(r => !kept.Contains(keyOf(r))).ToList(), wanted.Where(w => !kept.Contains(w.Key)).ToList());
    }
}
