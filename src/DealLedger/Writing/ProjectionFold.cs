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
internal sealed class ProjectionFold(LedgerState state)
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
    public (long Sequence, DateTimeOffset RecordedAt)? Position { get; private set; }

    public int EventsApplied { get; private set; }

    private readonly Dictionary<string, FactVersionRow> openFacts = new(StringComparer.Ordinal);

    private readonly LoadedSources sources = new(state.Sources);

    /// <summary>
    /// One write, set-based: completes the loaded state with what the fold will read (the facts the
    /// events amend, every stake of the pairs they touch, the sources those cite), folds, and stores.
    /// </summary>
    /// <param name="also">Statements that go with the rows (a small write's events, its notification): in their round trip when they are batched.</param>
    public static async Task ApplyAsync(NpgsqlConnection c, LedgerState state, IReadOnlyList<LoggedEvent> write, CancellationToken ct, IReadOnlyList<NpgsqlBatchCommand>? also = null)
    {
        await state.LoadFactsAsync(c, write.Where(e => e.Data is not FactRecorded).Select(e => FactState.FactIdOf(e.Data)).OfType<string>(), ct);
        var pairs = write.Select(e => e.Data switch
            {
                FactRecorded r => r.Fact,
                _ when FactState.FactIdOf(e.Data) is { } id => state.Facts.GetValueOrDefault(id)?.Current,
                _ => null,
            })
            .Where(f => f?.Type == FactType.Stake).Select(f => (f!.Holder!, f.Subject!)).Distinct().ToList();
        await state.LoadPairsAsync(c, pairs, ct);
        await state.LoadSourcesAsync(c, state.Unsourced(pairs).SelectMany(state.StakesOf).SelectMany(SourceCatalog.CitedBy)
            .Concat(write.Select(e => e.Data).OfType<FactRecorded>().SelectMany(r => r.Fact.Sources.Select(s => s.Source))), ct);
        var fold = new ProjectionFold(state);
        fold.Apply(write);
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
        var pairs = facts.Values.Where(f => f.Current.Type == FactType.Stake).Select(f => (f.Current.Holder!, f.Current.Subject!)).Distinct().ToList();
        // Each pair's timeline is its own pure computation: built in parallel, diffed and numbered in order.
        var timelines = new List<(HoldingSegment Segment, SegmentKey Key)>[pairs.Count];
        var renderings = pairs.Select(state.RenderingsOf).ToArray();
        if (pairs.Count > 8)
        {
            Parallel.For(0, pairs.Count, i => timelines[i] = Timeline(pairs[i], renderings[i]));
        }
        else
        {
            for (var i = 0; i < pairs.Count; i++)
            {
                timelines[i] = Timeline(pairs[i], renderings[i]);
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
        Position = (sequence, recordedAt);
        EventsApplied += write.Count;
    }

    /// <summary>The pair's timeline now, with canonical findings, to diff against its open segments.</summary>
    private List<(HoldingSegment Segment, SegmentKey Key)> Timeline((string Holder, string Subject) pair, HoldingTimeline.Renderings? renderings)
    {
        return HoldingProjection.Keyed(HoldingTimeline.Build(state.StakesOf(pair), sources, renderings));
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
