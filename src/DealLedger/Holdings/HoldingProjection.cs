using DealLedger.Deals;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Holdings;

/// <summary>
/// Keeps table holding_segments: each pair's timeline over valid time, versioned over recorded
/// time. A write closes the segments it changes at its recorded time and opens their successors;
/// unchanged segments stay as they are.
/// </summary>
internal static class HoldingProjection
{
    private static readonly string Table = ProjectionTables.Of("holding_segments");

    public static async Task RefreshAsync(NpgsqlConnection c, string holder, string subject, DateTimeOffset recordedAt, long sequence, CancellationToken ct)
    {
        var facts = await FactVersions.StakesAsync(c, holder, subject, ct);
        var sources = await SourceCatalog.LoadAsync(c, facts.SelectMany(SourceCatalog.CitedBy), ct);
        var names = await OrganizationDirectory.NamesAsync(c, [holder, subject], ct);
        var timeline = HoldingTimeline.Build(holder, subject, facts, sources, id => names.GetValueOrDefault(id, id));

        var current = await Sql.ListAsync(c,
            $"select id, lower(valid), upper(valid), finding::text from {Table} where holder = $1 and subject = $2 and upper_inf(recorded)",
            r => (Id: r.GetInt64(0), Key: StoredKey(r, 1)),
            ct, holder, subject);
        var (closed, opened) = Changes(current, r => r.Key, timeline);
        if (closed.Count > 0)
        {
            await Sql.ExecAsync(c, $"update {Table} set recorded = tstzrange(lower(recorded), $2::timestamptz, '[)'), closed_sequence = $3 where id = any($1)",
                ct, closed.Select(r => r.Id).ToArray(), recordedAt, sequence);
        }
        foreach (var (segment, finding, _) in opened)
        {
            await Sql.ExecAsync(c,
                $"insert into {Table} (holder, subject, valid, recorded, status, sequence, finding) values ($1, $2, daterange($3::date, $4::date, '[)'), tstzrange($5::timestamptz, null, '[)'), $6, $7, $8::jsonb)",
                ct, holder, subject, segment.From, segment.To, recordedAt, LedgerJson.Word(segment.Finding.Status), sequence, finding);
        }
    }

    /// <summary>What identifies a segment's content: its valid period and its finding (canonical JSON).</summary>
    internal static string Key(DateOnly? from, DateOnly? to, string finding) => $"{from}|{to}|{finding}";

    /// <summary>
    /// The pair's open segments that the new timeline no longer has (to close), and the timeline's
    /// segments not open yet (to open, in timeline order, with their canonical finding and key);
    /// unchanged segments stay as they are.
    /// </summary>
    internal static (List<T> Closed, List<(HoldingSegment Segment, string Finding, string Key)> Opened) Changes<T>(
        IReadOnlyList<T> current, Func<T, string> keyOf, IReadOnlyList<HoldingSegment> timeline) =>
        Changes(current, keyOf, Keyed(timeline));

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

    internal static (List<T> Closed, List<(HoldingSegment Segment, string Finding, string Key)> Opened) Changes<T>(
        IReadOnlyList<T> current, Func<T, string> keyOf, List<(HoldingSegment Segment, string Finding, string Key)> wanted)
    {
        var wantedKeys = wanted.Select(w => w.Key).ToHashSet(StringComparer.Ordinal);
        var kept = current.Select(keyOf).Where(wantedKeys.Contains).ToHashSet(StringComparer.Ordinal);
        return (current.Where(r => !kept.Contains(keyOf(r))).ToList(), wanted.Where(w => !kept.Contains(w.Key)).ToList());
    }
}
