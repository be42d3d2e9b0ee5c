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
            r => (Id: r.GetInt64(0), Key: Key(new HoldingSegment(
                r.IsDBNull(1) ? null : r.GetFieldValue<DateOnly>(1),
                r.IsDBNull(2) ? null : r.GetFieldValue<DateOnly>(2),
                LedgerJson.Deserialize<HoldingFinding>(r.GetString(3))))),
            ct, holder, subject);
        var wanted = timeline.Select(s => (Segment: s, Key: Key(s))).ToList();
        var kept = current.Where(r => wanted.Any(w => w.Key == r.Key)).Select(r => r.Key).ToHashSet();
        var closed = current.Where(r => !kept.Contains(r.Key)).Select(r => r.Id).ToArray();
        if (closed.Length > 0)
        {
            await Sql.ExecAsync(c, $"update {Table} set recorded = tstzrange(lower(recorded), $2::timestamptz, '[)'), closed_sequence = $3 where id = any($1)", ct, closed, recordedAt, sequence);
        }
        foreach (var (segment, _) in wanted.Where(w => !kept.Contains(w.Key)))
        {
            await Sql.ExecAsync(c,
                $"insert into {Table} (holder, subject, valid, recorded, status, sequence, finding) values ($1, $2, daterange($3::date, $4::date, '[)'), tstzrange($5::timestamptz, null, '[)'), $6, $7, $8::jsonb)",
                ct, holder, subject, segment.From, segment.To, recordedAt, LedgerJson.Word(segment.Finding.Status), sequence, LedgerJson.Canonical(segment.Finding));
        }
    }

    private static string Key(HoldingSegment s) => $"{s.From}|{s.To}|{LedgerJson.Canonical(s.Finding)}";
}
