using DealLedger.Deals;
using DealLedger.Holdings;

namespace DealLedger.Writing;

/// <summary>
/// The stored rows writes read again and again, kept in the process of one ledger (one database): the
/// current versions of stake facts (by fact, with the sequence of the write that made each) and the keys of
/// open holding segments (by id, with the write that opened each and its valid period). A write's load reads the
/// ids and sequences of the rows it needs, then the states and findings of only those not kept, so a write to a
/// pair with a long history no longer reads and parses that whole history.
/// Nothing kept needs invalidating: a fact version or a segment never changes once stored (later writes add
/// new ones; only a row's recorded end is set), and a sequence is never handed out twice, even by a write
/// that rolled back — what such a write made is kept under a sequence no stored row will ever carry. A
/// segment is matched on its id, its write's sequence and its valid period together, so a rebuild that numbers
/// segments differently cannot pass one segment off as another.
/// Bounded for an API's memory: a fact state is a few KB, a segment's key about 1.5 KB, a pair's renderings its open
/// segments' findings, and at most twice each capacity is held (two generations): by those sizes, an estimate (not
/// measured) of 150 MB at the very most.
/// </summary>
internal sealed class KeptRows(int factCapacity = 10_000, int segmentCapacity = 20_000, int pairCapacity = 10_000)
{
    private readonly Recent<string, (long Sequence, FactState State)> facts = new(factCapacity, StringComparer.Ordinal);
    private readonly Recent<long, KeptSegment> segments = new(segmentCapacity, EqualityComparer<long>.Default);
    // For each pair read: the ids of its stake facts and open segments when it was last read.
    private readonly Recent<(string, string), (string[] Facts, long[] Segments)> pairs = new(pairCapacity, EqualityComparer<(string, string)>.Default);

    /// <summary>How many pairs' findings are kept (each holds its pair's open segments' findings).</summary>
    public const int PairRenderings = 2_000;

    private readonly Recent<(string, string), HoldingTimeline.Renderings> renderings = new(PairRenderings, EqualityComparer<(string, string)>.Default);

    /// <summary>The findings of the pair's previous build (none yet: an empty set that its next build fills).</summary>
    public HoldingTimeline.Renderings RenderingsOf((string, string) pair) => RenderingsOf(renderings, pair);

    public static HoldingTimeline.Renderings RenderingsOf(Recent<(string, string), HoldingTimeline.Renderings> kept, (string, string) pair)
    {
        if (!kept.TryGet(pair, out var found))
        {
            found = new HoldingTimeline.Renderings();
            kept.Add(pair, found);
        }
        return found;
    }

    /// <summary>What is kept of these facts, by id.</summary>
    public Dictionary<string, (long Sequence, FactState State)> FactsById(IEnumerable<string> ids)
    {
        var have = new Dictionary<string, (long, FactState)>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (facts.TryGet(id, out var kept))
            {
                have[id] = kept;
            }
        }
        return have;
    }

    /// <summary>What is kept of these pairs' facts and open segments, as a snapshot the caller holds while it reads the rest.</summary>
    public (Dictionary<string, (long Sequence, FactState State)> Facts, Dictionary<long, KeptSegment> Segments) OfPairs(IEnumerable<(string, string)> pairList)
    {
        var factIds = new List<string>();
        var have = new Dictionary<long, KeptSegment>();
        foreach (var pair in pairList)
        {
            if (!pairs.TryGet(pair, out var seen))
            {
                continue;
            }
            factIds.AddRange(seen.Facts);
            foreach (var id in seen.Segments)
            {
                if (segments.TryGet(id, out var segment))
                {
                    have[id] = segment;
                }
            }
        }
        return (FactsById(factIds), have);
    }

    public void Keep(string fact, long sequence, FactState state) => facts.Add(fact, (sequence, state));

    public void Keep(KeptSegment segment) => segments.Add(segment.Id, segment);

    public void KeepPair((string, string) pair, IEnumerable<string> factIds, IEnumerable<long> segmentIds) =>
        pairs.Add(pair, ([.. factIds], [.. segmentIds]));

    /// <summary>
    /// Keeps what a write stored (before it commits: see the class's note on rollbacks) and where its pairs
    /// now stand; <paramref name="firstSegmentId"/> is the id its first new segment got.
    /// </summary>
    public void KeepWrite(LedgerState state, ProjectionFold fold, IEnumerable<(string, string)> written, long firstSegmentId)
    {
        foreach (var version in fold.FactVersions.Where(v => v.RecordedTo is null))
        {
            Keep(version.Fact.Id, version.Sequence, version.Fact);
        }
        foreach (var pair in written)
        {
            if (!state.Segments.TryGetValue(pair, out var open) || !state.Stakes.TryGetValue(pair, out var stakes))
            {
                continue;
            }
            foreach (var segment in open)
            {
                if (segment.Row is { } row)
                {
                    Keep(new KeptSegment(firstSegmentId + row.Id, row.Sequence, row.From, row.To, segment.Key));
                }
            }
            KeepPair(pair, stakes, open.Select(s => s.Row is { } row ? firstSegmentId + row.Id : s.Id));
        }
    }
}

/// <summary>An open holding segment as a write diffs against it: its row, the write that opened it, its valid period and its key.</summary>
internal sealed record KeptSegment(long Id, long Sequence, DateOnly? From, DateOnly? To, string Key);
