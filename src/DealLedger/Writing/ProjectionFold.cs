using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Writing;

/// <summary>
/// The one fold of the projections: events in, rows out, write by write, in memory. Every write (a
/// single entry, a document import, a BODS package), a rebuild and a replay run it, so they make the
/// same rows in the same order (surrogate ids included). What it makes is written with COPY
/// (<see cref="ProjectionCopy"/>); rows that were already stored and that a write closes are closed
/// with one UPDATE per table.
/// </summary>
/// <param name="wholeLog">
/// Folds a whole log into empty projections (a rebuild, a replay): each pair's timelines are built after the last write,
/// pair by pair, write by write (<see cref="BuildTimelines"/>) — the same builds and rows, numbered as write by write, but
/// each pair's facts and previous findings stay at hand while it is built, and the pairs can be built on every core.
/// </param>
internal sealed class ProjectionFold(LedgerState state, bool wholeLog = false)
{
    public Dictionary<string, List<RegistrationRow>> Registrations { get; } = new()
    {
        ["organizations"] = [], ["sources"] = [], ["deals"] = [],
    };

    public List<FactVersionRow> FactVersions { get; } = [];

    public List<HoldingSegmentRow> Segments { get; } = [];

    /// <summary>Stored fact versions (by fact) that a write closed: at which instant.</summary>
    public List<(string Fact, DateTimeOffset At)> ClosedStoredFacts { get; } = [];

    /// <summary>Stored holding segments (by id) that a write closed: at which instant, by which sequence.</summary>
    public List<(long Id, DateTimeOffset At, long Sequence)> ClosedStoredSegments { get; } = [];

    /// <summary>The last write applied: ledger_position.</summary>
    /// <remarks><c>NamesSequence</c>: the last write of the fold that recorded or amended a name fact (0: none).</remarks>
    public (long Sequence, DateTimeOffset RecordedAt, long NamesSequence)? Position { get; private set; }

    public int EventsApplied { get; private set; }

    private readonly Dictionary<string, FactVersionRow> openFacts = new(StringComparer.Ordinal);

    private readonly LoadedSources sources = new(state.Sources);

    /// <summary>A whole log's fold: what each write did to each pair, for <see cref="BuildTimelines"/>.</summary>
    private readonly Dictionary<(string, string), List<PairWrite>>? pairWrites = wholeLog ? [] : null;

    private int writes;

    /// <summary>A write's stake facts of one pair, as they stand after it; <see cref="Place"/>: the pair's place among the write's pairs.</summary>
    private sealed record PairWrite(int Write, int Place, DateTimeOffset RecordedAt, long Sequence, List<FactState> Facts);

    /// <summary>
    /// One write, set-based: completes the loaded state with what the fold will read (the facts the
    /// events amend, every stake of the pairs they touch, the sources those cite), folds, and stores.
    /// </summary>
    /// <param name="also">Statements that go with the rows (a small write's events, its notification): in their round trip when they are batched.</param>
    /// <param name="meanwhile">Work on the connection (a big write's events, by COPY) that runs while the fold works in memory, before the rows are stored.</param>
    public static async Task ApplyAsync(NpgsqlConnection c, LedgerState state, IReadOnlyList<LoggedEvent> write, CancellationToken ct,
        IReadOnlyList<NpgsqlBatchCommand>? also = null, Func<Task>? meanwhile = null)
    {
        await state.LoadFactsAsync(c, write.Where(e => e.Data is not FactRecorded).Select(e => FactState.FactIdOf(e.Data)).OfType<string>(), ct);
        var pairs = write.Select(e => e.Data switch
            {
                FactRecorded r => r.Fact,
                _ when FactState.FactIdOf(e.Data) is { } id => state.Facts.GetValueOrDefault(id)?.Current,
                _ => null,
            })
            .OfType<Stake>().Select(f => f.Pair).Distinct().ToList();
        await state.LoadPairsAsync(c, pairs, ct);
        await state.LoadSourcesAsync(c, state.Unsourced(pairs).SelectMany(state.StakesOf).SelectMany(SourceCatalog.CitedBy)
            .Concat(write.Select(e => e.Data).OfType<FactRecorded>().SelectMany(r => r.Fact.Sources.Select(s => s.Source))), ct);
        var fold = new ProjectionFold(state);
        if (meanwhile is null)
        {
            fold.Apply(write);
        }
        else
        {
            // The fold reads and changes only memory; the connection is the other work's until both are done.
            var folding = Task.Run(() => fold.Apply(write), ct);
            await Task.WhenAll(meanwhile(), folding);
        }
        var firstSegment = await ProjectionCopy.WriteAsync(c, fold, ct, also);
        state.Kept?.KeepWrite(state, fold, pairs, firstSegment);
    }

    /// <summary>Applies one write: its events, all recorded at one instant, in sequence order.</summary>
    public void Apply(IReadOnlyList<LoggedEvent> write)
    {
        var facts = new Dictionary<string, FactState>(StringComparer.Ordinal);
        foreach (var e in write)
        {
            if (RegistrationRow.TableOf(e.Data) is { } table)
            {
                Registrations[table].Add(RegistrationRow.Of(e.Data, e.Ref));
                switch (e.Data)
                {
                    case OrganizationRegistered o: state.Organizations[o.Id] = o; break;
                    case SourceRegistered s: state.Sources[s.Id] = s; break;
                    case DealRecorded d: state.Deals[d.Id] = d; break;
                }
                continue;
            }
            var id = FactState.FactIdOf(e.Data)!;
            var current = facts.GetValueOrDefault(id) ?? (e.Data is FactRecorded ? null : state.Facts.GetValueOrDefault(id));
            facts[id] = FactState.Next(current, e.Data, e.Ref);
        }
        var recordedAt = write[^1].Ref.RecordedAt;
        var sequence = write[^1].Ref.Sequence;
        var pairs = facts.Values.Select(f => f.Current).OfType<Stake>().Select(f => f.Pair).Distinct().ToList();
        var renderings = pairWrites is null ? pairs.Select(p => state.RenderingsOf(p) ?? new HoldingTimeline.Renderings()).ToArray() : [];
        // A pair with no previous build at hand takes its stored one (HoldingTimeline.Seed, with its timeline below): the
        // stored facts, taken before the write's facts are put, whose timeline its open segments hold.
        var stored = new (IReadOnlyList<FactState> Facts, List<OpenSegment> Open)?[renderings.Length];
        for (var i = 0; i < renderings.Length; i++)
        {
            if (renderings[i].Built is null && state.Segments.TryGetValue(pairs[i], out var open))
            {
                stored[i] = (state.StakesOf(pairs[i]), open);
            }
        }
        foreach (var f in facts.Values)
        {
            if (openFacts.Remove(f.Id, out var open))
            {
                open.RecordedTo = recordedAt;
            }
            else if (state.Facts.GetValueOrDefault(f.Id) is not null)
            {
                ClosedStoredFacts.Add((f.Id, recordedAt));
            }
            state.Put(f);
            var row = new FactVersionRow(FactVersions.Count, f, recordedAt, sequence);
            FactVersions.Add(row);
            openFacts[f.Id] = row;
        }
        Position = (sequence, recordedAt, facts.Values.Any(f => f.Current is OrganizationName) ? sequence : Position?.NamesSequence ?? 0);
        EventsApplied += write.Count;
        if (pairWrites is not null)
        {
            NoteForTimelines(pairs, facts.Values, recordedAt, sequence);
            return;
        }
        // Each pair's timeline is its own pure computation: built in parallel, diffed and numbered in order.
        var timelines = new List<(HoldingSegment Segment, SegmentKey Key)>[pairs.Count];
        void Build(int i)
        {
            if (stored[i] is { } before)
            {
                HoldingTimeline.Seed(renderings[i], before.Facts, sources, before.Open.Select(o => o.Key));
            }
            timelines[i] = Timeline(state.StakesOf(pairs[i]), renderings[i]);
        }
        if (pairs.Count > 8)
        {
            Parallel.For(0, pairs.Count, Build);
        }
        else
        {
            for (var i = 0; i < pairs.Count; i++)
            {
                Build(i);
            }
        }
        for (var i = 0; i < pairs.Count; i++)
        {
            if (!state.Segments.TryGetValue(pairs[i], out var open))
            {
                state.Segments[pairs[i]] = open = [];
            }
            HoldingProjection.Refresh(pairs[i].Item1, pairs[i].Item2, open, timelines[i], recordedAt, sequence, Segments, ClosedStoredSegments);
        }
    }

    /// <summary>The timeline of a pair's stake facts, with canonical findings, to diff against its open segments.</summary>
    private List<(HoldingSegment Segment, SegmentKey Key)> Timeline(IReadOnlyList<FactState> stakes, HoldingTimeline.Renderings? renderings) =>
        HoldingProjection.Keyed(HoldingTimeline.Build(stakes, sources, renderings));

    /// <summary>A whole log's fold: notes the write's stake facts by pair, for <see cref="BuildTimelines"/>.</summary>
    private void NoteForTimelines(List<(string, string)> pairs, IEnumerable<FactState> facts, DateTimeOffset recordedAt, long sequence)
    {
        var byPair = new Dictionary<(string, string), List<FactState>>(pairs.Count);
        foreach (var f in facts)
        {
            if (f.Current is Stake stake)
            {
                var pair = stake.Pair;
                if (!byPair.TryGetValue(pair, out var list))
                {
                    byPair[pair] = list = [];
                }
                list.Add(f);
            }
        }
        for (var i = 0; i < pairs.Count; i++)
        {
            if (!pairWrites!.TryGetValue(pairs[i], out var kept))
            {
                pairWrites[pairs[i]] = kept = [];
            }
            kept.Add(new PairWrite(writes, i, recordedAt, sequence, byPair[pairs[i]]));
        }
        writes++;
    }

    /// <summary>
    /// A whole log's fold, after its last write: builds every pair's timeline after each write that touched it, as each
    /// write would have (its stake facts in the order they were first recorded, its previous findings at hand), and adds
    /// the rows in the order and with the numbers the write-by-write fold gives them: by write, then the pair's place in
    /// the write, then the row's place in the pair's refresh.
    /// </summary>
    public void BuildTimelines(CancellationToken ct)
    {
        if (pairWrites is null)
        {
            return;
        }
        var pairs = pairWrites.ToArray();
        pairWrites.Clear();
        var workers = Math.Max(1, Math.Min(Environment.ProcessorCount, pairs.Length));
        var made = new List<(PairWrite By, int Place, HoldingSegmentRow Row)>[workers];
        // Each pair is its own pure computation: the pairs are dealt out to the workers in turn.
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = ct }, w =>
        {
            made[w] = [];
            for (var i = w; i < pairs.Length; i += workers)
            {
                ct.ThrowIfCancellationRequested();
                BuildPair(pairs[i].Key, pairs[i].Value, made[w]);
                pairs[i] = default;
            }
        });
        var rows = made.SelectMany(m => m).ToArray();
        Array.Sort(rows, static (a, b) =>
            a.By.Write != b.By.Write ? a.By.Write.CompareTo(b.By.Write) : a.By.Place != b.By.Place ? a.By.Place.CompareTo(b.By.Place) : a.Place.CompareTo(b.Place));
        Segments.Capacity = Segments.Count + rows.Length;
        foreach (var (_, _, row) in rows)
        {
            row.Id = Segments.Count;
            Segments.Add(row);
        }
    }

    private void BuildPair((string Holder, string Subject) pair, List<PairWrite> writesOfPair, List<(PairWrite By, int Place, HoldingSegmentRow Row)> made)
    {
        var stakes = new List<FactState>();
        var places = new Dictionary<string, int>(StringComparer.Ordinal);
        var renderings = new HoldingTimeline.Renderings();
        var open = new List<OpenSegment>();
        var rows = new List<HoldingSegmentRow>();
        List<(long, DateTimeOffset, long)> closedStored = [];
        foreach (var w in writesOfPair)
        {
            foreach (var f in w.Facts)
            {
                if (places.TryGetValue(f.Id, out var place))
                {
                    stakes[place] = f;
                }
                else
                {
                    places[f.Id] = stakes.Count;
                    stakes.Add(f);
                }
            }
            var first = rows.Count;
            HoldingProjection.Refresh(pair.Holder, pair.Subject, open, Timeline(stakes, renderings), w.RecordedAt, w.Sequence, rows, closedStored);
            for (var i = first; i < rows.Count; i++)
            {
                made.Add((w, i - first, rows[i]));
            }
        }
    }

    /// <summary>
    /// The sources loaded, as a timeline reads them (by id): the pairs folded cite only loaded ones (a write loads them
    /// first; a rebuild holds them all), and one looked up and absent is not there.
    /// </summary>
    private sealed class LoadedSources(Dictionary<string, SourceRegistered?> loaded) : IReadOnlyDictionary<string, SourceRegistered>
    {
        public SourceRegistered this[string key] => TryGetValue(key, out var s) ? s : throw new KeyNotFoundException(key);

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SourceRegistered value)
        {
            value = loaded.GetValueOrDefault(key);
            return value is not null;
        }

        public bool ContainsKey(string key) => TryGetValue(key, out _);

        private IEnumerable<KeyValuePair<string, SourceRegistered>> Present =>
            loaded.Where(x => x.Value is not null).Select(x => KeyValuePair.Create(x.Key, x.Value!));

        public IEnumerable<string> Keys => Present.Select(x => x.Key);

        public IEnumerable<SourceRegistered> Values => Present.Select(x => x.Value);

        public int Count => Present.Count();

        public IEnumerator<KeyValuePair<string, SourceRegistered>> GetEnumerator() => Present.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
