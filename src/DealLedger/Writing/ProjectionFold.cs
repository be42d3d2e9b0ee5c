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

    /// <summary>The merges recorded (organization_merges): open until undone.</summary>
    public List<MergeRow> Merges { get; } = [];

    /// <summary>Stored merges (by duplicate) that a write undid: at which instant, by which sequence, how.</summary>
    public List<(string Duplicate, DateTimeOffset At, long Sequence, OrganizationMergeUndone Undo)> ClosedStoredMerges { get; } = [];

    /// <summary>The pairs whose rows the process must not keep after this fold (their stakes count for merged records, or moved with a merge).</summary>
    public HashSet<(string, string)> Unkept { get; } = [];

    /// <summary>Stored fact versions (by fact) that a write closed: at which instant.</summary>
    public List<(string Fact, DateTimeOffset At)> ClosedStoredFacts { get; } = [];

    /// <summary>Stored holding segments (by id) that a write closed: at which instant, by which sequence.</summary>
    public List<(long Id, DateTimeOffset At, long Sequence)> ClosedStoredSegments { get; } = [];

    /// <summary>The last write applied: ledger_position.</summary>
    /// <remarks><c>NamesSequence</c>: the last write of the fold that recorded or amended a name fact (0: none).</remarks>
    public (long Sequence, DateTimeOffset RecordedAt, long NamesSequence)? Position { get; private set; }

    public int EventsApplied { get; private set; }

    private readonly Dictionary<string, FactVersionRow> openFacts = new(StringComparer.Ordinal);

    private readonly Dictionary<string, MergeRow> openMerges = new(StringComparer.Ordinal);

    private readonly LoadedSources sources = new(state.Sources);

    /// <summary>A whole log's fold: what each write did to each pair, for <see cref="BuildTimelines"/>.</summary>
    private readonly Dictionary<(string, string), List<PairWrite>>? pairWrites = wholeLog ? [] : null;

    private int writes;

    /// <summary>
    /// A write's stake facts of one pair, as they stand after it; <see cref="Place"/>: the pair's place among the write's pairs.
    /// <see cref="Whole"/>: they are every stake that counts for the pair now (a pair of merged records, or one a merge moved).
    /// </summary>
    private sealed record PairWrite(int Write, int Place, DateTimeOffset RecordedAt, long Sequence, IReadOnlyList<FactState> Facts, bool Whole = false);

    /// <summary>
    /// One write, set-based: completes the loaded state with what the fold will read (the facts the
    /// events amend, every stake of the pairs they touch, the sources those cite), folds, and stores.
    /// </summary>
    /// <param name="also">Statements that go with the rows (a small write's events, its notification): in their round trip when they are batched.</param>
    /// <param name="meanwhile">Work on the connection (a big write's events, by COPY) that runs while the fold works in memory, before the rows are stored.</param>
    public static async Task ApplyAsync(NpgsqlConnection c, LedgerState state, IReadOnlyList<LoggedEvent> write, CancellationToken ct,
        IReadOnlyList<NpgsqlBatchCommand>? also = null, Func<Task>? meanwhile = null)
    {
        await state.LoadMergesAsync(c, ct);
        await state.LoadFactsAsync(c, write.Where(e => e.Data is not FactRecorded).Select(e => FactState.FactIdOf(e.Data)).OfType<string>(), ct);
        var pairs = write.Select(e => e.Data switch
            {
                FactRecorded r => r.Fact,
                _ when FactState.FactIdOf(e.Data) is { } id => state.Facts.GetValueOrDefault(id)?.Current,
                _ => null,
            })
            .OfType<Stake>().Select(f => f.Pair).Distinct().ToList();
        pairs = await WithMergedPairsAsync(c, state, write, pairs, ct);
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
        state.Kept?.KeepWrite(state, fold, pairs.Where(p => !fold.Unkept.Contains(p)), firstSegment);
        state.Kept?.Forget(fold.Unkept);
    }

    /// <summary>
    /// The pairs a write's fold reads, with merges in force or recorded: each pair's stakes count for its sides' survivors, so
    /// the pairs of every record merged into them are read too; a merge or an undo moves every pair of the records it moves
    /// (found by one statement), and refreshes the pairs they counted for before and count for after.
    /// </summary>
    private static async Task<List<(string, string)>> WithMergedPairsAsync(NpgsqlConnection c, LedgerState state, IReadOnlyList<LoggedEvent> write,
        List<(string, string)> pairs, CancellationToken ct)
    {
        var moves = write.Select(e => e.Data).Where(d => d is OrganizationsMerged or OrganizationMergeUndone).ToList();
        if (moves.Count == 0 && state.Merges.Count == 0)
        {
            return pairs;
        }
        var after = new Dictionary<string, string>(state.Merges, StringComparer.Ordinal);
        foreach (var m in moves)
        {
            OrganizationMerges.Apply(after, m);
        }
        var stored = new List<(string, string)>(pairs);
        var moved = OrganizationMerges.Moved(state.Merges, after);
        if (moved.Count > 0)
        {
            stored.AddRange(await Sql.ListAsync(c,
                $"select distinct holder, subject from {ProjectionTables.Of("fact_versions")} where type = 'stake' and upper_inf(recorded) and (holder = any($1) or subject = any($1))",
                r => (r.GetString(0), r.GetString(1)), ct, (object)moved.ToArray()));
        }
        return stored.Concat(stored.SelectMany(p => OrganizationMerges.PairsCounting(state.Merges, p).Concat(OrganizationMerges.PairsCounting(after, p))))
            .Distinct().ToList();
    }

    /// <summary>Applies one write: its events, all recorded at one instant, in sequence order.</summary>
    public void Apply(IReadOnlyList<LoggedEvent> write)
    {
        var facts = new Dictionary<string, FactState>(StringComparer.Ordinal);
        var moves = new List<LoggedEvent>();
        foreach (var e in write)
        {
            if (e.Data is OrganizationsMerged or OrganizationMergeUndone)
            {
                moves.Add(e);
                continue;
            }
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
        var pairs = Refreshed(facts.Values, moves, recordedAt, sequence);
        // A pair of merged records (or one a merge moved) is built whole from its stakes: no earlier build of one record's pair is its.
        var renderings = pairWrites is null
            ? pairs.Select(p => Unkept.Contains(p) ? new HoldingTimeline.Renderings() : state.RenderingsOf(p) ?? new HoldingTimeline.Renderings()).ToArray()
            : [];
        // A pair with no previous build at hand takes its stored one (HoldingTimeline.Seed, with its timeline below): the
        // stored facts, taken before the write's facts are put, whose timeline its open segments hold.
        var stored = new (IReadOnlyList<FactState> Facts, List<OpenSegment> Open)?[renderings.Length];
        for (var i = 0; i < renderings.Length; i++)
        {
            if (renderings[i].Built is null && !Unkept.Contains(pairs[i]) && state.Segments.TryGetValue(pairs[i], out var open))
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
        // Names and merges both change what an organization is called in answers (NamedOrganizations).
        Position = (sequence, recordedAt, moves.Count > 0 || facts.Values.Any(f => f.Current is OrganizationName) ? sequence : Position?.NamesSequence ?? 0);
        EventsApplied += write.Count;
        if (pairWrites is not null)
        {
            NoteForTimelines(pairs, facts.Values);
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
            timelines[i] = Timeline(Counting(pairs[i]), renderings[i]);
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

    /// <summary>
    /// The pairs a write refreshes, in the order their rows are numbered: the pairs its stakes count for (their sides'
    /// survivors), then, for its merges and undos (applied here: their rows, the merges in force), the pairs the records they
    /// move counted for before and count for after. A pair of one organization with itself (a stake between two records of
    /// it) counts for none.
    /// </summary>
    private List<(string, string)> Refreshed(IEnumerable<FactState> facts, List<LoggedEvent> moves, DateTimeOffset recordedAt, long sequence)
    {
        // The merges applied first: the write's stakes count for the survivors as its merges leave them.
        var before = moves.Count == 0 ? state.Merges : new Dictionary<string, string>(state.Merges, StringComparer.Ordinal);
        foreach (var e in moves)
        {
            Move(e);
        }
        var moved = moves.Count == 0 ? [] : OrganizationMerges.Moved(before, state.Merges);
        var touched = moved.Count == 0 ? [] : state.Stakes.Where(x => x.Value.Count > 0 && (moved.Contains(x.Key.Item1) || moved.Contains(x.Key.Item2)))
            .Select(x => x.Key).OrderBy(p => p.Item1, StringComparer.Ordinal).ThenBy(p => p.Item2, StringComparer.Ordinal).ToList();
        (string, string) Then((string H, string S) p) => (OrganizationMerges.Survivor(before, p.H), OrganizationMerges.Survivor(before, p.S));
        var refreshed = touched.SelectMany(p => new[] { Then(p), state.Effective(p) }).Where(p => p.Item1 != p.Item2).ToList();
        var all = facts.Select(f => f.Current).OfType<Stake>().Select(f => state.Effective(f.Pair)).Where(p => p.Item1 != p.Item2)
            .Concat(refreshed).Distinct().ToList();
        if (state.Merges.Count > 0 || refreshed.Count > 0)
        {
            var moving = refreshed.ToHashSet();
            foreach (var pair in all.Where(p => state.Combines(p) || moving.Contains(p)))
            {
                Unkept.Add(pair);
                Unkept.UnionWith(state.MemberPairs(pair));
            }
        }
        // The stored pairs a merge or an undo moved: kept no longer under the pair they counted for.
        Unkept.UnionWith(touched);
        return all;

        void Move(LoggedEvent e)
        {
            OrganizationMerges.Apply(state.Merges, e.Data);
            switch (e.Data)
            {
                case OrganizationsMerged m:
                    var row = new MergeRow(Merges.Count, m, recordedAt, sequence);
                    Merges.Add(row);
                    openMerges[m.Duplicate] = row;
                    break;
                case OrganizationMergeUndone u when openMerges.Remove(u.Duplicate, out var open):
                    (open.RecordedTo, open.ClosedSequence, open.Undo) = (recordedAt, sequence, u);
                    break;
                case OrganizationMergeUndone u:
                    ClosedStoredMerges.Add((u.Duplicate, recordedAt, sequence, u));
                    break;
            }
        }
    }

    /// <summary>
    /// The stakes that count for a pair now: those of its sides' records and of the records merged into them — none when a
    /// side is itself merged away (its rows close: the pair's stakes count for the survivors').
    /// </summary>
    private IReadOnlyList<FactState> Counting((string, string) pair) =>
        state.Effective(pair) == pair ? state.StakesCounting(pair) : [];

    /// <summary>The timeline of a pair's stake facts, with canonical findings, to diff against its open segments.</summary>
    private List<(HoldingSegment Segment, SegmentKey Key)> Timeline(IReadOnlyList<FactState> stakes, HoldingTimeline.Renderings? renderings) =>
        HoldingProjection.Keyed(HoldingTimeline.Build(stakes, sources, renderings));

    /// <summary>A whole log's fold: notes the write's stake facts by pair, for <see cref="BuildTimelines"/>.</summary>
    private void NoteForTimelines(List<(string, string)> pairs, IEnumerable<FactState> facts)
    {
        var (recordedAt, sequence) = (Position!.Value.RecordedAt, Position.Value.Sequence);
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
            kept.Add(Unkept.Contains(pairs[i])
                ? new PairWrite(writes, i, recordedAt, sequence, Counting(pairs[i]), Whole: true)
                : new PairWrite(writes, i, recordedAt, sequence, byPair[pairs[i]]));
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
            if (w.Whole)
            {
                stakes.Clear();
                places.Clear();
                renderings = new HoldingTimeline.Renderings();
            }
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
