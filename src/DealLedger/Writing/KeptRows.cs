using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;

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
/// Bounded for a process's memory: at most twice each capacity is held (two generations). Measured under a feed of 25 stakes
/// a write over 400 organizations' pairs of about 140 facts (docs/benchmarks.md, twenty-seventh session): about 6 KB a kept
/// fact with its segments, so at most some 600 MB at these bounds. Bounds a fifth of these kept too few of such pairs
/// whole: every write read and parsed its pairs again, at a quarter of the rate, and the copies read again (held by the
/// pairs' renderings) took twice the memory. The bounds count entries, not bytes: a process writing to many pairs of
/// thousands of facts holds more (their renderings above all).
/// </summary>
internal sealed class KeptRows(int factCapacity = 50_000, int segmentCapacity = 100_000, int pairCapacity = 20_000)
{
    private readonly Recent<string, (long Sequence, FactState State)> facts = new(factCapacity, StringComparer.Ordinal);
    private readonly Recent<long, KeptSegment> segments = new(segmentCapacity, EqualityComparer<long>.Default);
    // For each pair read or written: its stake facts (ids and the sequences of their versions) and open segments then.
    private readonly Recent<(string, string), KeptPair> pairs = new(pairCapacity, EqualityComparer<(string, string)>.Default);

    /// <summary>How many pairs' renderings are kept (each holds its pair's open segments' findings and its last build).</summary>
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
            factIds.AddRange(seen.FactIds);
            foreach (var id in seen.SegmentIds)
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

    /// <summary>
    /// Keeps where a pair stands: its facts (with the sequences of the versions kept for them), open segments and, when
    /// known, every source its facts cite (or more: a source never changes, and one no longer cited is only not asked for).
    /// </summary>
    public void KeepPair((string, string) pair, IEnumerable<string> factIds, IEnumerable<long> segmentIds, SourceRegistered[]? sources = null)
    {
        string[] ids = [.. factIds];
        var sequences = new long[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            sequences[i] = facts.TryGet(ids[i], out var kept) ? kept.Sequence : -1;
        }
        pairs.Add(pair, new KeptPair(ids, sequences, [.. segmentIds], sources));
    }

    /// <summary>
    /// Keeps nothing of these pairs (a merge moved them, or their stakes count for merged records): the next write reads them,
    /// and builds them without an earlier build at hand.
    /// </summary>
    public void Forget(IEnumerable<(string, string)> forgotten)
    {
        foreach (var pair in forgotten)
        {
            pairs.Add(pair, new KeptPair([], [], [], null));
            renderings.Add(pair, new HoldingTimeline.Renderings());
        }
    }

    /// <summary>
    /// The pair as last kept, whole — every fact at the version kept for it and every open segment still kept — with
    /// its heads (<see cref="PairSnapshot"/>); null when something of it is no longer kept, or it has no facts.
    /// </summary>
    public PairSnapshot? SnapshotOf((string, string) pair)
    {
        if (!pairs.TryGet(pair, out var seen) || seen.FactIds.Length == 0 || seen.SegmentIds.Length == 0 || seen.Sources is null)
        {
            return null;
        }
        var states = new FactState[seen.FactIds.Length];
        for (var i = 0; i < states.Length; i++)
        {
            if (!facts.TryGet(seen.FactIds[i], out var kept) || kept.Sequence != seen.Sequences[i])
            {
                return null;
            }
            states[i] = kept.State;
        }
        var open = new KeptSegment[seen.SegmentIds.Length];
        for (var i = 0; i < open.Length; i++)
        {
            if (!segments.TryGet(seen.SegmentIds[i], out var kept))
            {
                return null;
            }
            open[i] = kept;
        }
        return new PairSnapshot(states, open, seen.Sources, seen.Sequences.Max(), seen.SegmentIds.Max());
    }

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
        // The write's facts by pair, once: a document import writes thousands of pairs.
        var changed = fold.FactVersions.Select(v => v.Fact).Where(f => f.Current is Stake)
            .ToLookup(f => f.Stake.Pair);
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
            KeepPair(pair, stakes, open.Select(s => s.Row is { } row ? firstSegmentId + row.Id : s.Id), state.CitedSources(pair, changed[pair]));
        }
    }
}

/// <summary>A pair as kept: its stake facts' ids with the sequences of their versions, and its open segments' ids.</summary>
internal sealed record KeptPair(string[] FactIds, long[] Sequences, long[] SegmentIds, SourceRegistered[]? Sources);

/// <summary>
/// A pair as it stood when kept, and its heads: the newest sequence among its facts' versions and the newest id among
/// its open segments. The database still holds exactly this while its newest current fact version of the pair has that
/// sequence and that segment is still open: every change to a pair's facts stores a version under a new, higher
/// sequence (sequences are handed out under the write lock, never twice, and a holder or subject is never corrected),
/// its segments change only in such a write, and a rebuild numbers every segment above the ids it replaces.
/// </summary>
internal sealed record PairSnapshot(FactState[] Facts, KeptSegment[] Segments, SourceRegistered[] Sources, long FactHead, long SegmentHead);

/// <summary>An open holding segment as a write diffs against it: its row, the write that opened it, its valid period and its key.</summary>
internal sealed record KeptSegment(long Id, long Sequence, DateOnly? From, DateOnly? To, SegmentKey Key)
{
    /// <summary>The segment as stored, as a write's state holds it: made once, shared by every write that takes it (it is never changed).</summary>
    public OpenSegment Open { get; } = new(Id, Key, null);
}
