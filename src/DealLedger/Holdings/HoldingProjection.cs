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
    /// <summary>A timeline's segments with their keys.</summary>
    internal static List<(HoldingSegment Segment, SegmentKey Key)> Keyed(IReadOnlyList<HoldingSegment> timeline) =>
        timeline.Select(s => (Segment: s, Key: new SegmentKey(s.From, s.To, s.Stored))).ToList();

    /// <summary>
    /// Moves a pair's open segments to its new timeline: closes (at <paramref name="recordedAt"/>, by
    /// <paramref name="sequence"/>) those the timeline no longer has and opens, in timeline order, those
    /// not open yet; unchanged segments stay as they are. Rows this fold made are closed in place; stored
    /// ones are listed in <paramref name="closedStored"/>; new rows go to <paramref name="made"/>, numbered in order.
    /// </summary>
    internal static void Refresh(string holder, string subject, List<OpenSegment> open, List<(HoldingSegment Segment, SegmentKey Key)> timeline,
        DateTimeOffset recordedAt, long sequence, List<HoldingSegmentRow> made, List<(long Id, DateTimeOffset At, long Sequence)> closedStored)
    {
        var wanted = new HashSet<SegmentKey>(timeline.Count);
        foreach (var (_, key) in timeline)
        {
            wanted.Add(key);
        }
        var kept = new HashSet<SegmentKey>(Math.Min(open.Count, timeline.Count));
        foreach (var segment in open)
        {
            if (wanted.Contains(segment.Key))
            {
                kept.Add(segment.Key);
            }
        }
        foreach (var segment in open.Where(s => !kept.Contains(s.Key)))
        {
            if (segment.Row is { } row)
            {
                row.RecordedTo = recordedAt;
                row.ClosedSequence = sequence;
            }
            else
            {
                closedStored.Add((segment.Id, recordedAt, sequence));
            }
        }
        open.RemoveAll(s => !kept.Contains(s.Key));
        foreach (var (segment, key) in timeline.Where(w => !kept.Contains(w.Key)))
        {
            var row = new HoldingSegmentRow(made.Count, holder, subject, segment.From, segment.To, recordedAt, LedgerJson.Word(segment.Finding.Status), sequence, segment.Stored);
            made.Add(row);
            open.Add(new OpenSegment(row.Id, key, row));
        }
    }
}

/// <summary>A holding segment a pair has open (upper_inf(recorded)), as the projection diffs against it.</summary>
internal sealed record OpenSegment(long Id, SegmentKey Key, HoldingSegmentRow? Row);

/// <summary>
/// What identifies a segment's content: its valid period and its finding (canonical JSON). Hashed on the period alone: the
/// segments of one timeline, or open for one pair, each cover their own stretch, so the period tells them apart and only a
/// segment of the same stretch has its finding compared (the very same string, for a finding kept from a previous build).
/// </summary>
internal readonly record struct SegmentKey(DateOnly? From, DateOnly? To, string Finding)
{
    public override int GetHashCode() => HashCode.Combine(From, To);
}

/// <summary>A holding segment (table holding_segments) made in memory; open while <see cref="RecordedTo"/> is null. <see cref="Id"/> counts from 0 within a fold.</summary>
internal sealed class HoldingSegmentRow(long id, string holder, string subject, DateOnly? from, DateOnly? to, DateTimeOffset recordedFrom, string status, long sequence, string finding)
{
    /// <summary>Set again when a whole log's fold numbers the rows it built pair by pair (<see cref="ProjectionFold.BuildTimelines"/>).</summary>
    public long Id { get; set; } = id;
    public string Holder { get; } = holder;
    public string Subject { get; } = subject;
    public DateOnly? From { get; } = from;
    public DateOnly? To { get; } = to;
    public DateTimeOffset RecordedFrom { get; } = recordedFrom;
    public DateTimeOffset? RecordedTo { get; set; }
    public string Status { get; } = status;
    public long Sequence { get; } = sequence;
    public long? ClosedSequence { get; set; }
    public string Finding { get; } = finding;
}
