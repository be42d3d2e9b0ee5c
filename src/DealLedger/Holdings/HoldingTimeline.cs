using System.Runtime.CompilerServices;
using DealLedger.Deals;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Holdings;

/// <summary>A stretch of valid time [From, To) with one finding; null ends are open.</summary>
public sealed record HoldingSegment(DateOnly? From, DateOnly? To)
{
    private Finding? finding;
    private string? stored;

    public HoldingSegment(DateOnly? from, DateOnly? to, Finding finding) : this(from, to) => this.finding = finding;

    /// <summary>A segment as stored: its finding is read from its JSON only if asked for (a write takes most of them unchanged).</summary>
    internal static HoldingSegment Read(DateOnly? from, DateOnly? to, string stored) => new(from, to) { stored = stored };

    public Finding Finding
    {
        get => finding ??= Finding.Parse(stored!);
        init => finding = value;
    }

    /// <summary>The finding as stored (its canonical JSON), made once (or given, by a rendering kept from a previous build).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Stored
    {
        get => stored ??= Finding.Canonical();
        init => stored = value;
    }

    // Two segments are the same when they cover the same stretch with the same finding as stored, whichever form they hold it in.
    public bool Equals(HoldingSegment? other) => other is not null && From == other.From && To == other.To && Stored == other.Stored;

    public override int GetHashCode() => HashCode.Combine(From, To);
}

/// <summary>
/// Turns the stake facts of one pair, as known at one moment, into the pair's timeline over valid
/// time (DESIGN §3 rules 2–7). Pure: the projection and a replay of the log both call it.
///
/// The pair's story is a set of marks on the valid axis — a state starts, the holding ends — each
/// known only to a window of days (its date's precision). On a given day some marks have surely
/// happened, some may have, some surely not; every mark that may be the latest to have happened
/// gives one possible condition. One possible condition is an answer; several are `uncertain`
/// (or a `held` whose size is changing). Nothing is decided that the dates do not decide.
/// </summary>
public static class HoldingTimeline
{
    /// <summary>Facts whose starts coincide describe one state, starting at the most precise of their dates (rule 5).</summary>
    private sealed record State(int Index, ValidDate Start, IReadOnlyList<FactState> Members, Share? Share,
        IReadOnlyList<ShareClaim>? Alternatives, Confidence Confidence)
    {
        /// <summary>A stake of exactly 0 ends the holding (rule 4).</summary>
        public bool EndsHolding => Share?.IsZero == true;

        /// <summary>Disputed between 0 % and a stake: whether it is held at all is in doubt.</summary>
        public bool MaybeNone => Share is null && Alternatives!.Any(a => a.Share.IsZero);

        /// <summary>The share, or when disputed the smallest range covering every value claimed.</summary>
        public Share? Cover => Share ?? Alternatives?.Select(a => a.Share).Aggregate((a, b) => a.Hull(b));

        /// <summary>What the state is made of, as a reading's key takes it (made once, when a kept rendering is looked up).</summary>
        public ReadingKey Signature => signature ??= ReadingKey.Of(this);

        /// <summary>Its first member's id (by id order), as the next build looks it up to take it again (made once: a state lives on through builds).</summary>
        public string FirstId => firstId ??= HoldingTimeline.FirstId(Members);

        private string? firstId;

        private ReadingKey? signature;

        // Each state is made once: it is itself, never compared (or hashed) member by member. Its index is unique
        // within a build (the only place states meet), and cheaper than an identity hash (the runtime's first one is slow).
        public bool Equals(State? other) => ReferenceEquals(this, other);

        public override int GetHashCode() => Index;
    }

    /// <summary>
    /// A state starts (<see cref="Starts"/>) or the holding ends: an ending recorded on <see cref="EndedFact"/>
    /// (it ends the pair's holding, rule 4), or the own end (`to`) of state <see cref="Of"/>, which ends
    /// only that state. It happened on one day of [First, Last], its date's window narrowed by what
    /// must come first (a state starts before anything ends it).
    /// </summary>
    private sealed record Mark(ValidDate Date, DateOnly First, DateOnly Last, State? Starts, State? Of, FactState? EndedFact, EndingNote? Ending)
    {
        public bool IsEnd => Starts is null;

        public bool IsOwnEnd => IsEnd && Ending is null;

        /// <summary>Happened by <paramref name="day"/> whichever day of its window it was (a mark takes effect on its day).</summary>
        public bool PassedBy(DateOnly day) => Last <= day;

        public bool OpenOn(DateOnly day) => First <= day && day < Last;

        // As for states: identity, not content (outcomes are deduplicated by the marks and states they name); hashed
        // on what tells marks apart (equal marks are the same object, so equal hashes).
        public bool Equals(Mark? other) => ReferenceEquals(this, other);

        public override int GetHashCode() => HashCode.Combine(First.DayNumber, Last.DayNumber, Starts?.Index ?? -1, Of?.Index ?? -1);
    }

    /// <summary>
    /// A mark as a stretch reads it, comparable from one build to the next: its window and date, the states it starts or
    /// ends (by what they are made of) and the fact whose ending it is (that very version).
    /// </summary>
    private readonly record struct MarkValue(DateOnly First, DateOnly Last, ValidDate Date, ReadingKey? Starts, ReadingKey? Of, FactState? EndedFact)
    {
        public static MarkValue From(Mark m) => new(m.First, m.Last, m.Date, m.Starts?.Signature, m.Of?.Signature, m.EndedFact);

        public bool Equals(MarkValue other) =>
            First == other.First && Last == other.Last && Date.Equals(other.Date) && Equals(Starts, other.Starts) && Equals(Of, other.Of)
            && ReferenceEquals(EndedFact, other.EndedFact);

        public override int GetHashCode() => HashCode.Combine(First, Last);
    }

    /// <summary>What may be true on a day: after a mark that may be the latest to have happened (or before any), held in a state or not.</summary>
    private sealed record Outcome(Mark? After, State? Held);

    /// <param name="renderings">The findings of this pair's previous build, when kept: a stretch whose reading is made of
    /// the very same fact states, dates and sources as one of them takes that finding instead of being rendered again.</param>
    public static IReadOnlyList<HoldingSegment> Build(IReadOnlyList<FactState> facts, IReadOnlyDictionary<string, SourceRegistered> sources,
        Renderings? renderings = null)
    {
        renderings?.Begin();
        var words = new Findings();
        var (live, retracted, ordered) = LiveAndRetracted(facts, (renderings?.Built as LastBuild)?.Ordered);
        if (live.Count == 0)
        {
            renderings?.Built = null;
            return retracted.Count == 0 ? [] : [new HoldingSegment(null, null, words.AllRetracted(retracted))];
        }
        var states = GroupIntoStates(live, sources, (renderings?.Built as LastBuild)?.States);
        var marks = MarksOf(states, live);
        // Between these days nothing changes: a mark's window opens (First), closes (Last), or an open
        // mark may now have come after one that happened on its first day (First + 1).
        var points = PointsOf(marks, retracted);
        var sweep = new Sweep(marks);
        var retractions = new Retractions(retracted, points);
        var segments = new List<HoldingSegment>();
        // What the previous build found before the first change it can see is found again: swept from there on.
        var first = -1;
        var values = renderings is null ? [] : marks.Select(MarkValue.From).ToArray();
        if (renderings is not null && Resume(renderings, marks, values, retracted, points) is { } resumed)
        {
            segments.AddRange(resumed.Before);
            first = resumed.Point;
            retractions.StartAt(first);
        }
        // ... and what it found after the last change, from a held start on that nothing before it can reach: not swept again.
        var after = renderings is null ? null : Converge(renderings, marks, values, retracted, first < 0 ? null : points[first]);
        renderings?.Taken = (first < 0 ? 0 : segments.Count) + (after?.Segments.Count ?? 0);
        Reading? previous = null;
        for (var i = first; i < points.Count; i++)
        {
            DateOnly? from = i < 0 ? null : points[i];
            if (after is not null && from >= after.Value.Day)
            {
                break;
            }
            DateOnly? to = i + 1 < points.Count ? points[i + 1] : null;
            var relevant = retractions.At(i);
            var reading = from is { } day ? sweep.On(day, states, relevant) : new Reading(Reading.Kinds.NotYetHeld, relevant) { State = states[0] };
            if (segments.Count > 0 && reading.SameAs(previous))
            {
                segments[^1] = segments[^1] with { To = to };
            }
            else
            {
                // Neighbours stored the same are one segment (a share's 5 and 5.0 are not the same).
                var segment = renderings is null
                    ? new HoldingSegment(from, to, reading.Render(words, sweep))
                    : renderings.Segment(reading.Key(sweep), from, to, () => reading.Render(words, sweep));
                if (segments.Count > 0 && segments[^1].Stored == segment.Stored)
                {
                    segments[^1] = segments[^1] with { To = to };
                }
                else
                {
                    segments.Add(segment);
                }
            }
            previous = reading;
        }
        foreach (var segment in after?.Segments ?? [])
        {
            if (segments.Count > 0 && segments[^1].Stored == segment.Stored)
            {
                segments[^1] = segments[^1] with { To = segment.To };
            }
            else
            {
                segments.Add(segment);
            }
        }
        renderings?.Built = LastBuild.Of(values, retracted, segments, states, ordered);
        return segments;
    }

    /// <summary>
    /// The positions 0..count-1 in the order of their keys, equal keys in position order (a stable sort). A key is a
    /// non-negative number below 2^43 (put together with <see cref="Then"/>), so the position fits beside it and one sort
    /// of plain numbers does it.
    /// </summary>
    private static int[] SortedOrder(int count, Func<int, long> key)
    {
        if (count > 1 << 20)
        {
            var positions = Enumerable.Range(0, count).ToArray();
            var keys = positions.Select(key).ToArray();
            return [.. positions.OrderBy(i => keys[i])];
        }
        var keyed = new long[count];
        for (var i = 0; i < count; i++)
        {
            var k = key(i);
            if ((ulong)k >= 1UL << 43)
            {
                throw new ArgumentOutOfRangeException(nameof(key), k, "a sort key of the timeline out of range");
            }
            keyed[i] = (k << 20) | (uint)i;
        }
        Array.Sort(keyed);
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = (int)(keyed[i] & ((1 << 20) - 1));
        }
        return order;
    }

    /// <summary>
    /// A sort key ordered by <paramref name="key"/>, then by <paramref name="then"/>, which must fit in
    /// <paramref name="bits"/> bits (a day number fits in 22, a window of at most a year in 9).
    /// </summary>
    private static long Then(long key, int then, int bits) =>
        then >= 0 && then < 1 << bits ? (key << bits) | (uint)then
            : throw new ArgumentOutOfRangeException(nameof(then), then, $"a timeline's sort key part beyond {bits} bits");

    private static readonly Comparison<FactState> ById = (a, b) => string.CompareOrdinal(a.Id, b.Id);

    /// <summary>The days a stretch may begin on, in order, each once.</summary>
    private static List<DateOnly> PointsOf(List<Mark> marks, List<FactState> retracted)
    {
        var points = new List<DateOnly>(3 * marks.Count + 2 * retracted.Count);
        foreach (var m in marks)
        {
            points.Add(m.First);
            points.Add(m.First.AddDays(1));
            points.Add(m.Last);
        }
        foreach (var r in retracted)
        {
            points.Add(r.Current.Valid.From.Start);
            if (r.EndsOn is { } e)
            {
                points.Add(e.End);
            }
        }
        SortDistinct(points);
        return points;
    }

    /// <summary>Sorts the list and keeps each value once (what Distinct().Order() makes, in place).</summary>
    private static void SortDistinct<T>(List<T> list) where T : IComparable<T>, IEquatable<T>
    {
        list.Sort();
        var kept = 0;
        for (var i = 0; i < list.Count; i++)
        {
            if (kept == 0 || !list[i].Equals(list[kept - 1]))
            {
                list[kept++] = list[i];
            }
        }
        list.RemoveRange(kept, list.Count - kept);
    }

    /// <summary>
    /// Gives a pair with no previous build at hand (a pair this process has not built) its stored timeline as one: the marks
    /// of its stored facts, found without a sweep, and its open segments as stored, which are what a build of those facts
    /// finds (the projection holds each pair's last build). Its next build then sweeps and renders only the stretch its
    /// change reaches (<see cref="Resume"/>, <see cref="Converge"/>), as for a pair kept in memory. Nothing is taken when the
    /// segments do not cover valid time end to end in order, or no fact is live (a build then has nothing to resume).
    /// </summary>
    /// <param name="segments">The pair's open segments, in any order.</param>
    internal static void Seed(Renderings renderings, IReadOnlyList<FactState> facts, IReadOnlyDictionary<string, SourceRegistered> sources,
        IEnumerable<SegmentKey> segments)
    {
        if (renderings.Built is not null)
        {
            return;
        }
        var (live, retracted, ordered) = LiveAndRetracted(facts, null);
        var stored = segments.OrderBy(s => s.From ?? DateOnly.MinValue).ToList();
        if (live.Count == 0 || stored.Count == 0 || stored[0].From is not null || stored[^1].To is not null
            || Enumerable.Range(1, stored.Count - 1).Any(i => stored[i - 1].To is not { } to || stored[i].From != to))
        {
            return;
        }
        var states = GroupIntoStates(live, sources, null);
        renderings.Built = LastBuild.Of([.. MarksOf(states, live).Select(MarkValue.From)], retracted,
            [.. stored.Select(s => HoldingSegment.Read(s.From, s.To, s.Finding))], states, ordered);
    }

    /// <summary>
    /// A pair's facts in id order (so the order never depends on where they came from: a table scan or a replay), live apart
    /// from retracted, and all of them in that order.
    /// </summary>
    /// <param name="before">All the facts of the pair's previous build, in id order, when at hand.</param>
    private static (List<FactState> Live, List<FactState> Retracted, FactState[] Ordered) LiveAndRetracted(IReadOnlyList<FactState> facts, FactState[]? before)
    {
        var ordered = InIdOrder(facts, before);
        var retracted = new List<FactState>();
        var live = new List<FactState>(ordered.Length);
        foreach (var f in ordered)
        {
            (f.IsRetracted ? retracted : live).Add(f);
        }
        return (live, retracted, ordered);
    }

    /// <summary>
    /// The facts in id order. With the previous build's order at hand, the facts it had are taken in that order (each as it is
    /// now) and only those new since are sorted and merged in: a write to a pair of thousands of facts sorts its own few, not
    /// the pair's whole history (ids are unique, so the order is the one a sort gives). A pair of a few facts is sorted: a
    /// rebuild builds hundreds of thousands of them, where a map of the facts costs more than the sort.
    /// </summary>
    private static FactState[] InIdOrder(IReadOnlyList<FactState> facts, FactState[]? before)
    {
        if (before is null || facts.Count < 32)
        {
            var sorted = facts.ToArray();
            Array.Sort(sorted, ById);
            return sorted;
        }
        var now = new Dictionary<string, FactState>(facts.Count, StringComparer.Ordinal);
        for (var i = 0; i < facts.Count; i++)
        {
            if (!now.TryAdd(facts[i].Id, facts[i]))
            {
                return InIdOrder(facts, null);
            }
        }
        var kept = new List<FactState>(facts.Count);
        foreach (var f in before)
        {
            if (now.Remove(f.Id, out var current))
            {
                kept.Add(current);
            }
        }
        var added = now.Values.ToArray();
        Array.Sort(added, ById);
        var ordered = new FactState[facts.Count];
        int k = 0, a = 0;
        for (var i = 0; i < ordered.Length; i++)
        {
            ordered[i] = a == added.Length || (k < kept.Count && ById(kept[k], added[a]) < 0) ? kept[k++] : added[a++];
        }
        return ordered;
    }

    /// <summary>A build as the next build of its pair compares itself with: its marks (as values), retracted facts and findings.</summary>
    private sealed record LastBuild(MarkValue[] Marks, List<FactState> Retracted, IReadOnlyList<HoldingSegment> Segments,
        IReadOnlyDictionary<(ValidDate, string), State> States, FactState[] Ordered)
    {
        /// <summary>Its states by start and first member, as <see cref="GroupIntoStates"/> looks them up to take one again.</summary>
        public static LastBuild Of(MarkValue[] marks, List<FactState> retracted, IReadOnlyList<HoldingSegment> segments, List<State> states, FactState[] ordered) =>
            new(marks, retracted, segments, states.ToDictionary(x => (x.Start, x.FirstId)), ordered);
    }

    /// <summary>
    /// Where a build may take the previous build's findings and sweep only the rest: the start of a held state that every
    /// mark before it surely precedes (its first day after every earlier mark's last), before the first mark that differs
    /// from the previous build's and before any retracted fact that differs. Before that day a stretch reads only marks
    /// begun by then, all as they were; and whatever it looks for ahead — where its held state ends, the next held start
    /// after an ending — it finds at that start at the latest. So the findings before that day are the previous build's,
    /// cut there; the sweep starts at its point. Null: sweep everything.
    /// </summary>
    private static (int Point, List<HoldingSegment> Before)? Resume(Renderings renderings, List<Mark> marks, MarkValue[] values, List<FactState> retracted,
        List<DateOnly> points)
    {
        if (renderings.Built is not LastBuild last)
        {
            return null;
        }
        var same = 0;
        while (same < values.Length && same < last.Marks.Length && last.Marks[same].Equals(values[same]))
        {
            same++;
        }
        var limit = DateOnly.MaxValue;
        var now = retracted.ToHashSet(ReferenceEqualityComparer.Instance);
        var then = last.Retracted.ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var r in retracted.Where(r => !then.Contains(r)).Concat(last.Retracted.Where(r => !now.Contains(r))))
        {
            limit = Min(limit, r.Current.Valid.From.Start);
        }
        var cut = -1;
        var lastSoFar = DateOnly.MinValue;
        for (var i = 0; i < same && marks[i].First <= limit; i++)
        {
            var m = marks[i];
            if (m.Starts is { EndsHolding: false } && (i == 0 || lastSoFar < m.First))
            {
                cut = i;
            }
            lastSoFar = Max(lastSoFar, m.Last);
        }
        if (cut < 0)
        {
            return null;
        }
        var day = marks[cut].First;
        var before = new List<HoldingSegment>();
        foreach (var s in last.Segments)
        {
            if (s.From is { } from && from >= day)
            {
                break;
            }
            before.Add(s.To is { } to && to <= day ? s : s with { To = day });
        }
        renderings.CarryOver(null, day);
        return (points.BinarySearch(day), before);
    }

    /// <summary>
    /// Where a build may take the previous build's findings from a day on, unswept: the day of a held start that happened on
    /// one day (not a window), that every mark before it surely precedes, in this build and in the previous one, where the
    /// marks from it on are the previous build's and the retracted facts are the same. From that day every mark before it has
    /// surely happened and it has surely happened after them: a stretch reads the marks from it on only — the same marks in
    /// both builds — so it finds what the previous build found there. Null: sweep to the end.
    /// </summary>
    /// <param name="resumedOn">The day the sweep resumes from (null: from the start); the day returned is after it.</param>
    private static (DateOnly Day, List<HoldingSegment> Segments)? Converge(Renderings renderings, List<Mark> marks, MarkValue[] values, List<FactState> retracted,
        DateOnly? resumedOn)
    {
        if (renderings.Built is not LastBuild last || !last.Retracted.ToHashSet(ReferenceEqualityComparer.Instance).SetEquals(retracted))
        {
            return null;
        }
        int n = values.Length, m = last.Marks.Length;
        var same = 0;
        while (same < n && same < m && values[n - 1 - same].Equals(last.Marks[m - 1 - same]))
        {
            same++;
        }
        // The latest last day of the marks before each of the common tail's, in each build.
        DateOnly LatestBefore(int end, Func<int, DateOnly> lastOf)
        {
            var latest = DateOnly.MinValue;
            for (var i = 0; i < end; i++)
            {
                latest = Max(latest, lastOf(i));
            }
            return latest;
        }
        var now = LatestBefore(n - same, i => marks[i].Last);
        var then = LatestBefore(m - same, i => last.Marks[i].Last);
        for (var j = n - same; j < n; j++)
        {
            var mark = marks[j];
            if (mark.Starts is { EndsHolding: false } && mark.First == mark.Last && now < mark.First && then < mark.First
                && (resumedOn is not { } resumed || resumed < mark.First))
            {
                var day = mark.First;
                var kept = new List<HoldingSegment>();
                foreach (var s in last.Segments)
                {
                    if (s.To is { } to && to <= day)
                    {
                        continue;
                    }
                    kept.Add(s.From is { } from && from >= day ? s : s with { From = day });
                }
                renderings.CarryOver(day, null);
                return (day, kept);
            }
            now = Max(now, mark.Last);
            then = Max(then, last.Marks[j - n + m].Last);
        }
        return null;
    }

    /// <summary>
    /// Facts with the very same start date form one group (rule 5, whatever their ids). Then, most
    /// precise first, each group joins a state whose start it coincides with — preferring one whose
    /// share it agrees with, and never one its own end could not follow — or starts a new state. So an
    /// imprecise fact never glues together states that do not coincide ("2024" next to 2024-03-05 and 2024-11-20).
    /// </summary>
    /// <param name="made">The previous build's states (by start and first member): one made of the very same facts is taken again.</param>
    private static List<State> GroupIntoStates(List<FactState> live, IReadOnlyDictionary<string, SourceRegistered> sources,
        IReadOnlyDictionary<(ValidDate, string), State>? made)
    {
        // Facts by start date, each date where it first appears (GroupBy's order), its first and end day taken once.
        var index = new Dictionary<ValidDate, int>(live.Count);
        var groups = new List<(ValidDate Key, int Start, int End, List<FactState> Facts)>(live.Count);
        foreach (var f in live)
        {
            var key = f.Current.Valid.From;
            if (index.TryGetValue(key, out var g))
            {
                groups[g].Facts.Add(f);
            }
            else
            {
                index[key] = groups.Count;
                groups.Add((key, key.Start.DayNumber, key.End.DayNumber, [f]));
            }
        }
        // Most precise first, then by first day; equal ones in that order (a stable sort).
        var order = SortedOrder(groups.Count, i => Then(groups[i].End - groups[i].Start, groups[i].Start, 22));
        var states = new List<(ValidDate Start, int First, int End, List<FactState> Members)>(groups.Count);
        // The states by first day (then by when they were made): a state coinciding with a date starts
        // before the date ends, and less than the widest window yet before the date starts.
        var byStart = new List<(int Day, int State)>();
        var widest = 0;
        foreach (var g in order)
        {
            var (key, first, end, facts) = groups[g];
            // The first coinciding state whose share the facts agree with, else the first coinciding one.
            int home = -1, coinciding = -1;
            for (var k = FirstAfter(byStart, first - widest); k < byStart.Count && byStart[k].Day < end; k++)
            {
                var s = states[byStart[k].State];
                if (s.First < end && first < s.End && MayFollow(facts, s.Start))
                {
                    coinciding = coinciding < 0 ? byStart[k].State : coinciding;
                    if (Agrees(facts, s.Members))
                    {
                        home = byStart[k].State;
                        break;
                    }
                }
            }
            home = home < 0 ? coinciding : home;
            if (home < 0)
            {
                byStart.Insert(FirstAfter(byStart, first), (first, states.Count));
                states.Add((key, first, end, facts));
                widest = Math.Max(widest, end - first);
            }
            else
            {
                states[home].Members.AddRange(facts);
            }
        }
        // By start, then end; equal ones in the order they were made.
        var byDate = SortedOrder(states.Count, i => Then(states[i].First, states[i].End - states[i].First, 9));
        var result = new List<State>(states.Count);
        foreach (var i in byDate)
        {
            var (start, _, _, members) = states[i];
            result.Add(Again(made, result.Count, start, members) ?? StateOf(result.Count, start, members, sources));
        }
        return result;
    }

    /// <summary>None of the facts' own ends comes before the state's start could (an end that cannot follow it rules it out).</summary>
    private static bool MayFollow(List<FactState> facts, ValidDate start)
    {
        foreach (var f in facts)
        {
            if (f.EndsOn is { } end && end.CannotFollow(start))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Whether the facts and the state's members all agree on a share (in that order, as one list).</summary>
    private static bool Agrees(List<FactState> facts, List<FactState> members)
    {
        Share? share = null;
        bool Joins(FactState f) => (share = share is null ? f.Stake.Share : share.Intersect(f.Stake.Share)) is not null;
        foreach (var f in facts)
        {
            if (!Joins(f))
            {
                return false;
            }
        }
        foreach (var m in members)
        {
            if (!Joins(m))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The first position of <paramref name="byStart"/> (sorted by day) whose day is after <paramref name="day"/>.</summary>
    private static int FirstAfter(List<(int Day, int State)> byStart, int day)
    {
        int lo = 0, hi = byStart.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (byStart[mid].Day <= day)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <summary>The previous build's state of this start and these very facts, numbered anew (states are data: same facts, same sources, same state).</summary>
    private static State? Again(IReadOnlyDictionary<(ValidDate, string), State>? made, int index, ValidDate start, List<FactState> members)
    {
        if (made is null || !made.TryGetValue((start, FirstId(members)), out var state) || state.Members.Count != members.Count)
        {
            return null;
        }
        foreach (var m in members)
        {
            if (!Contains(state.Members, m))
            {
                return null;
            }
        }
        return state.Index == index ? state : state with { Index = index };
    }

    // Indexed loops: a foreach over an IReadOnlyList allocates its enumerator, once a state in every build.
    private static bool Contains(IReadOnlyList<FactState> facts, FactState fact)
    {
        for (var i = 0; i < facts.Count; i++)
        {
            if (ReferenceEquals(facts[i], fact))
            {
                return true;
            }
        }
        return false;
    }

    private static string FirstId(IReadOnlyList<FactState> members)
    {
        var first = members[0].Id;
        for (var i = 1; i < members.Count; i++)
        {
            first = string.CompareOrdinal(members[i].Id, first) < 0 ? members[i].Id : first;
        }
        return first;
    }

    private static State StateOf(int index, ValidDate start, List<FactState> members, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        members = members.OrderBy(m => m.Id, StringComparer.Ordinal).ToList();
        Share? share = members[0].Stake.Share;
        foreach (var m in members.Skip(1))
        {
            share = share?.Intersect(m.Stake.Share);
        }
        var confidences = members.Select(m => ConfidenceRules.Of(m.Current.Sources, id => sources.TryGetValue(id, out var s) ? s.Kind : SourceKind.ThirdParty)).ToList();
        if (share is not null && !confidences.Contains(Confidence.Disputed))
        {
            return new State(index, start, members, share, null, confidences.MaxBy(ConfidenceRules.Strength));
        }
        var alternatives = share is null
            ? members.Select(m => new ShareClaim(m.Stake.Share, m.Id, m.Current.Sources.Select(c => c.Source).Distinct().ToList())).ToList()
            : null;
        return new State(index, start, members, share, alternatives, Confidence.Disputed);
    }

    /// <summary>
    /// Starts of states; endings recorded against any fact (rule 4: they end the pair's holding);
    /// a state's own end (`to`), unless the next state surely starts by then. Then each window is
    /// narrowed: a state starts before whatever ends it.
    /// </summary>
    private static List<Mark> MarksOf(List<State> states, List<FactState> live)
    {
        static Mark Of(ValidDate date, State? starts, State? of, FactState? fact, EndingNote? ending) =>
            new(date, date.Start, date.LastDay, starts, of, fact, ending);
        var marks = new List<Mark>(states.Count + 4);
        foreach (var s in states)
        {
            marks.Add(Of(s.Start, s, null, null, null));
        }
        // The state each fact belongs to: the first that has it among its members (asked only of facts with an ending).
        Dictionary<FactState, State>? stateOf = null;
        foreach (var f in live)
        {
            if (f.Ending is null)
            {
                continue;
            }
            if (stateOf is null)
            {
                stateOf = new Dictionary<FactState, State>(ReferenceEqualityComparer.Instance);
                foreach (var s in states)
                {
                    foreach (var m in s.Members)
                    {
                        stateOf.TryAdd(m, s);
                    }
                }
            }
            marks.Add(Of(f.Ending.On, null, stateOf[f], f, f.Ending));
        }
        for (var i = 0; i < states.Count; i++)
        {
            // The members' own end that comes first (of ends on one first day, the first member's).
            FactState? own = null;
            foreach (var m in states[i].Members)
            {
                if (m.Ending is null && m.Current.Valid.To is { } to && (own is null || to.Start < own.Current.Valid.To!.Value.Start))
                {
                    own = m;
                }
            }
            if (own is null)
            {
                continue;
            }
            var ownTo = own.Current.Valid.To!.Value;
            var next = i + 1 < states.Count ? states[i + 1].Start : (ValidDate?)null;
            if (next is { } n && n.CannotFollow(ownTo))
            {
                continue; // superseded: the next state surely begins by this one's own end
            }
            marks.Add(Of(ownTo, null, states[i], own, null));
        }
        // The ends of each state, by mark.
        Dictionary<State, List<int>>? endsOf = null;
        for (var i = 0; i < marks.Count; i++)
        {
            if (marks[i].IsEnd)
            {
                endsOf ??= [];
                (endsOf.TryGetValue(marks[i].Of!, out var list) ? list : endsOf[marks[i].Of!] = []).Add(i);
            }
        }
        for (var i = 0; endsOf is not null && i < marks.Count; i++)
        {
            var start = marks[i];
            if (start.Starts is null || !endsOf.TryGetValue(start.Starts, out var ends))
            {
                continue;
            }
            // The start comes at least a day before its earliest possible end; each end at least a day after the start.
            var earliestEnd = DateOnly.MaxValue;
            foreach (var e in ends)
            {
                earliestEnd = Min(earliestEnd, marks[e].Last);
            }
            var narrowed = start with { Last = Max(start.First, Min(start.Last, earliestEnd.AddDays(-1))) };
            marks[i] = narrowed;
            foreach (var e in ends)
            {
                marks[e] = marks[e] with { First = Min(marks[e].Last, Max(marks[e].First, narrowed.First.AddDays(1))) };
            }
        }
        // By first day, then last, an end before a start; equal ones in the order made (a stable sort).
        var order = SortedOrder(marks.Count, i => Then(Then(marks[i].First.DayNumber, marks[i].Last.DayNumber - marks[i].First.DayNumber, 9), marks[i].IsEnd ? 0 : 1, 1));
        var sorted = new List<Mark>(marks.Count);
        foreach (var i in order)
        {
            sorted.Add(marks[i]);
        }
        return sorted;
    }

    private static DateOnly Min(DateOnly a, DateOnly b) => a < b ? a : b;

    private static DateOnly Max(DateOnly a, DateOnly b) => a > b ? a : b;

    /// <summary>
    /// <paramref name="a"/> happens before <paramref name="b"/> in every possible world: its last
    /// possible day is before b's first; on a day both may share, an end comes before a start
    /// (ended and taken again that day: held); and a state starts before anything ends it.
    /// </summary>
    private static bool SurelyBefore(Mark a, Mark b) => SurelyBefore(a, b, DateOnly.MaxValue);

    /// <summary>The same, among marks that happened by <paramref name="day"/>: a's window is cut off there.</summary>
    private static bool SurelyBefore(Mark a, Mark b, DateOnly day)
    {
        var last = a.Last < day ? a.Last : day;
        return last < b.First
            || (last == b.First && a.IsEnd && !b.IsEnd)
            || (a.Starts is not null && b.IsEnd && b.Of == a.Starts);
    }

    /// <summary>
    /// What the timeline says over one stretch, before it is put into words: findings are rendered only
    /// where a stretch differs from the one before it, and a held state, a not-yet-held or a no-longer-held
    /// reading made of the very same marks, states and retractions as its predecessor is that same finding.
    /// </summary>
    private sealed record Reading(Reading.Kinds Kind, List<FactState> Retracted)
    {
        public enum Kinds { Held, Changing, Uncertain, NotYetHeld, NoLongerHeld }

        public State? State { get; init; }
        public List<State>? States { get; init; }
        public List<ValidDate>? Windows { get; init; }
        public Mark? Starting { get; init; }
        public Mark? Ending { get; init; }
        public Mark? NotHeldAfter { get; init; }
        public State? Previous { get; init; }
        public State? Next { get; init; }

        /// <summary>Surely the same finding as <paramref name="other"/>'s (false only means: render and compare).</summary>
        public bool SameAs(Reading? other) =>
            other is not null && other.Kind == Kind && ReferenceEquals(other.Retracted, Retracted)
            && Kind is Kinds.Held or Kinds.NotYetHeld or Kinds.NoLongerHeld
            && other.State == State && other.Ending == Ending && other.Previous == Previous && other.Next == Next;

        /// <summary>
        /// Everything <see cref="Render"/> reads, as a key: the kind, each state (its start, its confidence — the one thing
        /// it takes from sources — and its members), each mark (its date, the fact it ends, the state it starts), the
        /// held state's end, the windows and the retracted facts. Fact states are compared as objects: a fact that
        /// changed is a new object, so a kept rendering is reused only for the very facts it was made of.
        /// </summary>
        public ReadingKey Key(Sweep sweep)
        {
            var key = new ReadingKey.Builder(Kind);
            key.Add(State);
            key.Add(States);
            key.Add(Starting);
            key.Add(Ending);
            key.Add(NotHeldAfter);
            key.Add(Previous);
            key.Add(Next);
            key.Add(Kind == Kinds.Held ? sweep.UntilOf(State!) : null);
            key.Add(Windows?.Count);
            foreach (var w in Windows ?? [])
            {
                key.Add(w);
            }
            key.Add(Retracted);
            return key.Done();
        }

        public Finding Render(Findings words, Sweep sweep) => Kind switch
        {
            Kinds.Held => words.Held(State!, sweep.UntilOf(State!), Retracted),
            Kinds.Changing => words.Changing(States!, Windows!, Retracted),
            Kinds.Uncertain => words.Uncertain(States!, Starting, Ending, NotHeldAfter, Retracted),
            Kinds.NotYetHeld => words.NotYetHeld(State!, Retracted),
            _ => words.NoLongerHeld(Ending!, Previous, Next, Retracted),
        };
    }

    /// <summary>
    /// The marks swept once in day order. On a day the marks whose window has begun are a prefix of the
    /// marks (sorted by First), those surely passed a prefix of them sorted by Last; the rest of that
    /// prefix is open (few: only marks whose windows cover the day). Every question a day asks — which
    /// marks may still be reordered, what the settled ones before them leave, where a state ends — is
    /// answered from those prefixes and per-state lookups made once, so a day costs about what its
    /// open and unordered marks cost, not the pair's whole history.
    /// </summary>
    private sealed class Sweep
    {
        private readonly List<Mark> marks;
        private readonly DateOnly[] firsts;
        private readonly int[] byLast;
        private readonly DateOnly[] lasts;
        // The nearest start at or before / held start at or before / held start at or after each index (-1: none).
        private readonly int[] startAtOrBefore;
        private readonly int[] heldStartAtOrBefore;
        private readonly int[] heldStartAtOrAfter;
        private readonly Dictionary<State, int> startOf = [];
        private readonly Dictionary<State, List<int>> endsOf = [];
        private readonly Dictionary<State, ValidDate?> until = [];
        // Recorded endings (not own ends) in mark order, and a max-tree of their Last to find the first ending after a day.
        private readonly int[] endings;
        private readonly DateOnly[] endingTree;
        private readonly List<int> open = [];
        private int begun;
        private int passed;
        private DateOnly day;

        public Sweep(List<Mark> marks)
        {
            this.marks = marks;
            var n = marks.Count;
            firsts = marks.Select(m => m.First).ToArray();
            byLast = SortedOrder(n, i => marks[i].Last.DayNumber);
            lasts = byLast.Select(i => marks[i].Last).ToArray();
            startAtOrBefore = new int[n];
            heldStartAtOrBefore = new int[n];
            heldStartAtOrAfter = new int[n + 1];
            for (var i = 0; i < n; i++)
            {
                var m = marks[i];
                startAtOrBefore[i] = m.Starts is not null ? i : i > 0 ? startAtOrBefore[i - 1] : -1;
                heldStartAtOrBefore[i] = m.Starts is { EndsHolding: false } ? i : i > 0 ? heldStartAtOrBefore[i - 1] : -1;
                if (m.Starts is { } s)
                {
                    startOf[s] = i;
                }
                else
                {
                    (endsOf.TryGetValue(m.Of!, out var list) ? list : endsOf[m.Of!] = []).Add(i);
                }
            }
            heldStartAtOrAfter[n] = -1;
            for (var i = n - 1; i >= 0; i--)
            {
                heldStartAtOrAfter[i] = marks[i].Starts is { EndsHolding: false } ? i : heldStartAtOrAfter[i + 1];
            }
            endings = Enumerable.Range(0, n).Where(i => marks[i] is { IsEnd: true, IsOwnEnd: false }).ToArray();
            endingTree = new DateOnly[Math.Max(1, 4 * endings.Length)];
            if (endings.Length > 0)
            {
                BuildTree(1, 0, endings.Length);
            }
        }

        /// <summary>The reading of the stretch from <paramref name="on"/> (days only grow from call to call).</summary>
        public Reading On(DateOnly on, List<State> states, List<FactState> retracted)
        {
            Advance(on);
            var outcomes = PossibleOutcomes();
            // What may be held, each once (as first found); how many of those are "nothing".
            var held = new List<State?>(outcomes.Count);
            var nothing = 0;
            foreach (var o in outcomes)
            {
                if (!held.Contains(o.Held))
                {
                    held.Add(o.Held);
                    nothing += o.Held is null ? 1 : 0;
                }
            }
            if (nothing == 0)
            {
                return held.Count == 1
                    ? new Reading(Reading.Kinds.Held, retracted) { State = held[0] }
                    : new Reading(Reading.Kinds.Changing, retracted)
                    {
                        States = held.Select(s => s!).OrderBy(s => s.Index).ToList(), Windows = open.Select(i => marks[i].Date).ToList(),
                    };
            }
            if (nothing == held.Count)
            {
                if (passed == 0)
                {
                    return new Reading(Reading.Kinds.NotYetHeld, retracted) { State = states[0] };
                }
                // Not held since the end that followed the last state begun (or since a 0 % state began).
                var lastStart = LastPassedStart();
                var end = lastStart is { Starts.EndsHolding: true } ? lastStart
                    : FirstEndAfter(lastStart) ?? outcomes.LastOrDefault(o => o.After is not null)?.After ?? marks[LastPassed()];
                return new Reading(Reading.Kinds.NoLongerHeld, retracted)
                {
                    Ending = end, Previous = HeldStartBefore(end)?.Starts ?? end.Of, Next = HeldStartAfter(end)?.Starts,
                };
            }
            var heldStates = held.Where(s => s is not null).Select(s => s!).OrderBy(s => s.Index).ToList();
            var notHeld = outcomes.Where(o => o.Held is null).Select(o => o.After).ToList();
            var openMarks = open.Select(i => marks[i]).ToList();
            return new Reading(Reading.Kinds.Uncertain, retracted)
            {
                States = heldStates,
                Starting = openMarks.FirstOrDefault(m => m.Starts is { } s && heldStates.Contains(s) && !s.MaybeNone),
                Ending = notHeld.FirstOrDefault(m => m is { IsEnd: true } && openMarks.Contains(m)),
                NotHeldAfter = notHeld.FirstOrDefault(m => m is not null),
            };
        }

        private void Advance(DateOnly on)
        {
            day = on;
            while (begun < marks.Count && marks[begun].First <= day)
            {
                open.Add(begun++);
            }
            while (passed < lasts.Length && lasts[passed] <= day)
            {
                passed++;
            }
            // Kept in order, without a closure a day.
            var kept = 0;
            for (var j = 0; j < open.Count; j++)
            {
                if (marks[open[j]].Last > day)
                {
                    open[kept++] = open[j];
                }
            }
            open.RemoveRange(kept, open.Count - kept);
        }

        private bool Passed(Mark m) => m.Last <= day;

        /// <summary>The passed mark latest in mark order (-1: none).</summary>
        private int LastPassed()
        {
            var j = begun - 1;
            while (j >= 0 && !Passed(marks[j]))
            {
                j--;
            }
            return j;
        }

        // What PossibleOutcomes and Explore work with, made once per sweep and cleared per day (a sweep runs a day
        // at a time, on one thread): a day's questions then allocate almost nothing.
        private readonly Dictionary<Mark, long> cluster = [];
        private readonly List<Mark> sameDay = [];
        private readonly List<Mark> members = [];
        private readonly List<Mark> settled = [];
        private readonly List<int> candidates = [];
        private readonly List<int> joining = [];
        private readonly List<KeyValuePair<Mark, long>> ordering = [];
        private readonly List<Mark> ordered = [];
        private readonly HashSet<(Outcome, int)> explored = [];
        private readonly HashSet<Outcome> found = [];

        private static readonly Comparison<KeyValuePair<Mark, long>> ClusterOrder = (a, b) =>
        {
            var c = a.Key.First.CompareTo(b.Key.First);
            if (c == 0) c = a.Key.Last.CompareTo(b.Key.Last);
            if (c == 0) c = (a.Key.IsEnd ? 0 : 1).CompareTo(b.Key.IsEnd ? 0 : 1);
            return c != 0 ? c : a.Value.CompareTo(b.Value);
        };

        /// <summary>
        /// Every condition some possible world gives on the day: marks that surely happened before the
        /// rest are taken in their order; the rest (the cluster whose order the dates leave open, and
        /// open marks that may not have happened yet) are tried in every order their windows allow.
        /// </summary>
        private List<Outcome> PossibleOutcomes()
        {
            // The cluster: marks not surely before some passed mark, then every mark unordered with a member.
            // Each member keeps the place it joined in (round, then passed before open, then mark order): it
            // breaks ties when members are sorted.
            var n = marks.Count;
            cluster.Clear();
            long Place(int round, int i) => round * (2L * n + 1) + (Passed(marks[i]) ? i : n + i);
            var last = LastPassed();
            if (last < 0)
            {
                foreach (var i in open)
                {
                    cluster[marks[i]] = Place(0, i);
                }
            }
            else
            {
                // Only a passed mark starting on the latest passed First (an end comes before a start that day),
                // or an end of its own state, can be surely after a mark whose window reaches that far.
                var latestFirst = marks[last].First;
                sameDay.Clear();
                for (var j = LowerBound(firsts, latestFirst, 0, begun); j < begun; j++)
                {
                    if (Passed(marks[j]))
                    {
                        sameDay.Add(marks[j]);
                    }
                }
                candidates.Clear();
                for (var q = LowerBound(lasts, latestFirst, 0, passed); q < passed; q++)
                {
                    candidates.Add(byLast[q]);
                }
                candidates.Sort();
                candidates.AddRange(open);
                foreach (var i in candidates)
                {
                    var m = marks[i];
                    var after = false;
                    foreach (var p in sameDay)
                    {
                        if (p != m && SurelyBefore(m, p, day))
                        {
                            after = true;
                            break;
                        }
                    }
                    if (!after && m.Starts is { } s && endsOf.TryGetValue(s, out var ends))
                    {
                        foreach (var e in ends)
                        {
                            if (Passed(marks[e]) && SurelyBefore(m, marks[e], day))
                            {
                                after = true;
                                break;
                            }
                        }
                    }
                    if (!after)
                    {
                        cluster[m] = Place(0, i);
                    }
                }
                // A mark that ends before every member begins is surely before them all: only later ones may join.
                for (var round = 1; cluster.Count > 0; round++)
                {
                    members.Clear();
                    members.AddRange(cluster.Keys);
                    var minFirst = members[0].First;
                    foreach (var c in members)
                    {
                        minFirst = c.First < minFirst ? c.First : minFirst;
                    }
                    joining.Clear();
                    for (var q = LowerBound(lasts, minFirst, 0, passed); q < passed; q++)
                    {
                        joining.Add(byLast[q]);
                    }
                    joining.AddRange(open);
                    joining.RemoveAll(i => cluster.ContainsKey(marks[i]) || members.TrueForAll(c => SurelyBefore(marks[i], c, day)));
                    if (joining.Count == 0)
                    {
                        break;
                    }
                    foreach (var i in joining)
                    {
                        cluster[marks[i]] = Place(round, i);
                    }
                }
            }
            // Before the cluster, in order; only from the last start or ending on does anything still count
            // (own ends alone change nothing before any state is held).
            settled.Clear();
            for (var o = open.Count - 1; o >= 0 && (settled.Count == 0 || settled[^1].IsOwnEnd); o--)
            {
                if (!cluster.ContainsKey(marks[open[o]]))
                {
                    settled.Add(marks[open[o]]);
                }
            }
            for (var j = begun - 1; j >= 0 && (settled.Count == 0 || settled[^1].IsOwnEnd); j--)
            {
                if (Passed(marks[j]) && !cluster.ContainsKey(marks[j]))
                {
                    settled.Add(marks[j]);
                }
            }
            settled.Reverse();
            var before = new List<Outcome> { new(null, null) };
            foreach (var m in settled)
            {
                var next = new List<Outcome>(before.Count + 1);
                foreach (var o in before)
                {
                    foreach (var after in After(o, m))
                    {
                        if (!next.Contains(after))
                        {
                            next.Add(after);
                        }
                    }
                }
                before = next;
            }
            found.Clear();
            ordering.Clear();
            ordering.AddRange(cluster);
            ordering.Sort(ClusterOrder); // places are unique: a total order
            ordered.Clear();
            foreach (var c in ordering)
            {
                ordered.Add(c.Key);
            }
            if (ordered.Count > 9)
            {
                // Too many marks of unknown order to try every order: take each as possibly the last.
                foreach (var m in ordered)
                {
                    foreach (var o in before.SelectMany(b => After(b, m)))
                    {
                        found.Add(o);
                    }
                }
                return [.. found];
            }
            explored.Clear();
            foreach (var start in before)
            {
                Explore(start, (1 << ordered.Count) - 1);
            }
            return [.. found];
        }

        /// <summary>
        /// Every order of the cluster's members left (a bit each) after <paramref name="current"/>. A condition with
        /// the same members left was explored to the end already and added all it can, in order: once is enough.
        /// </summary>
        private void Explore(Outcome current, int remaining)
        {
            if (!explored.Add((current, remaining)))
            {
                return;
            }
            // The world may stop here if every mark left may not have happened yet.
            var anyPassed = false;
            for (var b = 0; b < ordered.Count; b++)
            {
                if ((remaining & (1 << b)) != 0 && Passed(ordered[b]))
                {
                    anyPassed = true;
                    break;
                }
            }
            if (!anyPassed)
            {
                found.Add(current);
            }
            // Which members may come next is decided before any is explored (exploring changes nothing it reads).
            var next = 0;
            for (var b = 0; b < ordered.Count; b++)
            {
                if ((remaining & (1 << b)) == 0)
                {
                    continue;
                }
                var first = true;
                for (var r = 0; r < ordered.Count && first; r++)
                {
                    first = r == b || (remaining & (1 << r)) == 0 || !SurelyBefore(ordered[r], ordered[b], day);
                }
                if (first)
                {
                    next |= 1 << b;
                }
            }
            for (var b = 0; b < ordered.Count; b++)
            {
                if ((next & (1 << b)) != 0)
                {
                    foreach (var o in After(current, ordered[b]))
                    {
                        Explore(o, remaining & ~(1 << b));
                    }
                }
            }
        }

        /// <summary>The last passed start in mark order.</summary>
        private Mark? LastPassedStart()
        {
            var j = begun > 0 ? startAtOrBefore[begun - 1] : -1;
            while (j >= 0 && !Passed(marks[j]))
            {
                j = j > 0 ? startAtOrBefore[j - 1] : -1;
            }
            return j >= 0 ? marks[j] : null;
        }

        /// <summary>
        /// The first passed end (in mark order) that may follow <paramref name="lastStart"/>: a recorded ending,
        /// or the own end of that state. An ending may follow a start only if its window reaches past the start's first day.
        /// </summary>
        private Mark? FirstEndAfter(Mark? lastStart)
        {
            bool Ends(Mark m) => m.IsEnd && (lastStart is null || !SurelyBefore(m, lastStart)) && (!m.IsOwnEnd || m.Of == lastStart?.Starts);
            var best = -1;
            if (lastStart is not null && endsOf.TryGetValue(lastStart.Starts!, out var own))
            {
                best = own.FirstOrDefault(e => marks[e].IsOwnEnd && Passed(marks[e]) && Ends(marks[e]), -1);
            }
            for (var k = FirstEndingAbove(0, lastStart?.First); k >= 0; k = FirstEndingAbove(k + 1, lastStart?.First))
            {
                var m = marks[endings[k]];
                if (m.First > day || (best >= 0 && endings[k] > best))
                {
                    break;
                }
                if (Passed(m) && Ends(m))
                {
                    best = endings[k];
                    break;
                }
            }
            return best >= 0 ? marks[best] : null;
        }

        /// <summary>The last passed held start surely before <paramref name="end"/>.</summary>
        private Mark? HeldStartBefore(Mark end)
        {
            var j = begun > 0 ? heldStartAtOrBefore[begun - 1] : -1;
            while (j >= 0 && !(Passed(marks[j]) && SurelyBefore(marks[j], end)))
            {
                j = j > 0 ? heldStartAtOrBefore[j - 1] : -1;
            }
            return j >= 0 ? marks[j] : null;
        }

        /// <summary>The first held start surely after <paramref name="end"/>: none begins before the end's last day.</summary>
        private Mark? HeldStartAfter(Mark end)
        {
            var j = heldStartAtOrAfter[LowerBound(firsts, end.Last, 0, firsts.Length)];
            while (j >= 0 && !SurelyBefore(end, marks[j]))
            {
                j = heldStartAtOrAfter[j + 1];
            }
            return j >= 0 ? marks[j] : null;
        }

        /// <summary>
        /// Where a held state stops: the first mark that can only come after its start and can end it —
        /// one of its own ends, or anything beginning after its start's last day (an earlier state's own end aside).
        /// </summary>
        public ValidDate? UntilOf(State s)
        {
            if (until.TryGetValue(s, out var known))
            {
                return known;
            }
            var start = marks[startOf[s]];
            bool Ends(Mark m) => m != start && SurelyBefore(start, m) && !(m.IsOwnEnd && m.Of!.Index < s.Index);
            var best = -1;
            for (var j = UpperBound(firsts, start.Last); j < marks.Count; j++)
            {
                if (Ends(marks[j]))
                {
                    best = j;
                    break;
                }
            }
            var end = endsOf.TryGetValue(s, out var ends) ? ends.FirstOrDefault(e => Ends(marks[e]), -1) : -1;
            if (end >= 0 && (best < 0 || end < best))
            {
                best = end;
            }
            return until[s] = best >= 0 ? marks[best].Date : null;
        }

        private void BuildTree(int node, int lo, int hi)
        {
            if (hi - lo == 1)
            {
                endingTree[node] = marks[endings[lo]].Last;
                return;
            }
            var mid = (lo + hi) / 2;
            BuildTree(2 * node, lo, mid);
            BuildTree(2 * node + 1, mid, hi);
            endingTree[node] = Max(endingTree[2 * node], endingTree[2 * node + 1]);
        }

        /// <summary>The first recorded ending at or after position <paramref name="from"/> whose Last is after <paramref name="day"/> (any, when null); -1 if none.</summary>
        private int FirstEndingAbove(int from, DateOnly? after) =>
            endings.Length == 0 || from >= endings.Length ? -1 : FirstAbove(1, 0, endings.Length, from, after);

        private int FirstAbove(int node, int lo, int hi, int from, DateOnly? after)
        {
            if (hi <= from || (after is { } a && endingTree[node] <= a))
            {
                return -1;
            }
            if (hi - lo == 1)
            {
                return lo;
            }
            var mid = (lo + hi) / 2;
            var left = FirstAbove(2 * node, lo, mid, from, after);
            return left >= 0 ? left : FirstAbove(2 * node + 1, mid, hi, from, after);
        }

        /// <summary>The first position in [lo, hi) of a sorted array holding a value at or after <paramref name="value"/>.</summary>
        private static int LowerBound(DateOnly[] sorted, DateOnly value, int lo, int hi)
        {
            while (lo < hi)
            {
                var mid = (lo + hi) / 2;
                if (sorted[mid] < value)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }
            return lo;
        }

        private static int UpperBound(DateOnly[] sorted, DateOnly value) =>
            value == DateOnly.MaxValue ? sorted.Length : LowerBound(sorted, value.AddDays(1), 0, sorted.Length);
    }

    /// <summary>The condition after <paramref name="m"/> happens in <paramref name="current"/>.</summary>
    private static IEnumerable<Outcome> After(Outcome current, Mark m)
    {
        if (m.Starts is { } s)
        {
            if (!s.EndsHolding)
            {
                yield return new Outcome(m, s);
            }
            if (s.EndsHolding || s.MaybeNone)
            {
                yield return new Outcome(m, null);
            }
        }
        else if (!m.IsOwnEnd || current.Held == m.Of)
        {
            yield return new Outcome(m, null);
        }
        else
        {
            // A state's own end ends nothing once another state has begun.
            yield return current;
        }
    }

    /// <summary>
    /// Which retracted facts each stretch names (those whose own period it overlaps). A retracted fact's
    /// start and end are points, so it is named over one run of stretches; the list is remade only where
    /// a run begins or ends, and stays the same object while its content does, so unchanged readings are seen to be unchanged.
    /// </summary>
    private sealed class Retractions
    {
        private readonly List<FactState> retracted;
        private readonly (int From, int To)[] runs;
        private readonly HashSet<int> changes;
        private List<FactState> current = [];

        public Retractions(List<FactState> retracted, List<DateOnly> points)
        {
            this.retracted = retracted;
            // Stretch i runs from points[i] (none before the first) to points[i + 1] (none after the last).
            runs = retracted.Select(r => (After(points, r.Current.Valid.From.Start) - 1, r.EndsOn is { } e ? AtOrAfter(points, e.End) - 1 : points.Count - 1)).ToArray();
            changes = runs.SelectMany(r => new[] { r.From, r.To + 1 }).ToHashSet();
        }

        /// <summary>Starts at stretch <paramref name="i"/> (a build resumed there): its list is made whatever came before.</summary>
        public void StartAt(int i) => current = Named(i);

        public List<FactState> At(int i)
        {
            if (i < 0 || changes.Contains(i))
            {
                var now = Named(i);
                if (!now.SequenceEqual(current))
                {
                    current = now;
                }
            }
            return current;
        }

        /// <summary>The retracted facts stretch <paramref name="i"/> names.</summary>
        private List<FactState> Named(int i) => retracted.Where((_, k) => runs[k].From <= i && i <= runs[k].To).ToList();

        private static int AtOrAfter(List<DateOnly> points, DateOnly day)
        {
            var k = points.BinarySearch(day);
            return k >= 0 ? k : ~k;
        }

        private static int After(List<DateOnly> points, DateOnly day)
        {
            var k = points.BinarySearch(day);
            return k >= 0 ? k + 1 : ~k;
        }
    }

    /// <summary>The findings of readings, as data: what they cite, rest on and say (rendered by <see cref="FindingWords"/>).</summary>
    private sealed class Findings
    {
        public Finding Held(State s, ValidDate? until, List<FactState> retracted) =>
            // Disputed: the share covers every value claimed (each shown in the alternatives), never one picked.
            Make(HoldingStatus.Held, s.Cover, DateWithPrecision.Of(s.Start), DateWithPrecision.Of(until), s.Confidence, s.Members, retracted,
                new HeldFrom(s.Share, s.Start, until, Evidence(s)), s.Alternatives);

        public Finding Changing(List<State> states, List<ValidDate> windows, List<FactState> retracted)
        {
            var members = states.SelectMany(s => s.Members).ToList();
            var confidence = states.Select(s => s.Confidence).MinBy(ConfidenceRules.Strength);
            var alternatives = Alternatives(states);
            return Make(HoldingStatus.Held, Covering(states), DateWithPrecision.Of(states[0].Start), null, confidence, members, retracted,
                new SizeChanging(states[0].Share, states[^1].Share, windows.Count > 0 ? windows[0] : null, Evidence(members, confidence, alternatives)), alternatives);
        }

        public Finding Uncertain(List<State> held, Mark? starting, Mark? ending, Mark? notHeldAfter, List<FactState> retracted)
        {
            var s = starting?.Starts ?? held[^1];
            var members = held.SelectMany(h => h.Members)
                .Concat(ending?.EndedFact is { } e ? [e] : []).Concat(notHeldAfter?.EndedFact is { } f ? [f] : [])
                .Concat(notHeldAfter?.Starts?.Members ?? []).Distinct().ToList();
            var confidence = held.Select(h => h.Confidence).MinBy(ConfidenceRules.Strength);
            var alternatives = Alternatives(held);
            var evidence = Evidence(members, confidence, alternatives);
            Explanation explanation = starting is not null ? new AcquiredIn(s.Share, starting.Date, evidence)
                : ending is not null ? new EndedIn(ending.Date, evidence)
                : s.MaybeNone && held.Count == 1 ? new ZeroDisputed(s.Start, evidence)
                : new OrderUnknown(notHeldAfter?.Date, notHeldAfter is null ? null : s.Start, evidence);
            return Make(HoldingStatus.Uncertain, Covering(held), DateWithPrecision.Of(s.Start), DateWithPrecision.Of(starting is null ? ending?.Date : null),
                confidence, members, retracted, explanation, alternatives);
        }

        public Finding NotYetHeld(State first, List<FactState> retracted) =>
            Make(HoldingStatus.NotHeld, null, null, DateWithPrecision.Of(first.Start), null, first.Members, retracted,
                new NotYetHeld(first.Start, first.Share, Evidence(first)));

        public Finding NoLongerHeld(Mark end, State? previous, State? next, List<FactState> retracted)
        {
            var members = (previous?.Members ?? []).Concat(end.Starts?.Members ?? []).Concat(end.EndedFact is { } f ? [f] : []).Distinct().ToList();
            var explanation = new NoLongerHeld(end.Starts?.Start ?? end.Date, end.Starts is not null, end.Starts is null ? end.Ending?.Reason : null, next?.Start,
                previous is null ? null : new EarlierHolding(previous.Share, previous.Start, Evidence(previous)));
            return Make(HoldingStatus.NotHeld, null, DateWithPrecision.Of(end.Date), DateWithPrecision.Of(next?.Start), null, members, retracted, explanation);
        }

        public Finding AllRetracted(List<FactState> retracted) =>
            Make(HoldingStatus.Unknown, null, null, null, null, [], retracted, new AllRetracted(), cite: retracted);

        private Finding Make(HoldingStatus status, Share? share, DateWithPrecision? since, DateWithPrecision? until, Confidence? confidence,
            IReadOnlyList<FactState> members, List<FactState> retracted, Explanation explanation, IReadOnlyList<ShareClaim>? alternatives = null,
            IReadOnlyList<FactState>? cite = null)
        {
            Prepare(retracted);
            List<FactNote>? corrections = null;
            // By index: a foreach over the interface would box an enumerator a finding.
            for (var i = 0; i < members.Count; i++)
            {
                foreach (var c in members[i].Corrections)
                {
                    (corrections ??= []).Add(new FactNote(members[i].Id, Day(c.Event.RecordedAt), c.Reason));
                }
            }
            // Each source once, where it is first cited.
            var cited = new List<string>();
            var seen = Sources();
            var citing = cite ?? members;
            for (var i = 0; i < citing.Count; i++)
            {
                foreach (var source in SourceCatalog.CitedBy(citing[i]))
                {
                    if (seen.Add(source))
                    {
                        cited.Add(source);
                    }
                }
            }
            return new Finding(status, share, since, until, confidence, cited, Basis(members), explanation, corrections, retractedNotes, alternatives);
        }

        /// <summary>The smallest share covering every state's (or, when disputed, every claimed) value.</summary>
        private static Share? Covering(IEnumerable<State> states) =>
            states.Select(s => s.Cover).Aggregate((a, b) => a is null || b is null ? a ?? b : a.Hull(b));

        private static IReadOnlyList<ShareClaim>? Alternatives(IEnumerable<State> states)
        {
            var all = states.SelectMany(s => s.Alternatives ?? []).ToList();
            return all.Count == 0 ? null : all;
        }

        private Evidence Evidence(State s) => Evidence(s.Members, s.Confidence, s.Alternatives);

        // The alternatives are kept only where the words name them (a dispute).
        private Evidence Evidence(IReadOnlyList<FactState> members, Confidence confidence, IReadOnlyList<ShareClaim>? alternatives)
        {
            var sources = Sources();
            for (var i = 0; i < members.Count; i++)
            {
                foreach (var claim in members[i].Current.Sources)
                {
                    sources.Add(claim.Source);
                }
            }
            return new(confidence, sources.Count, confidence is Confidence.Confirmed or Confidence.Reported or Confidence.Claimed ? null : alternatives);
        }

        // Source ids seen, for counting or citing each once: one set for the build (a build runs on one thread), emptied for each use.
        private HashSet<string>? sources;

        private HashSet<string> Sources()
        {
            sources ??= new HashSet<string>(StringComparer.Ordinal);
            sources.Clear();
            return sources;
        }

        // What the retracted facts add to every finding of a stretch, made once per list of them (a list
        // stays the same object while it does not change): their notes, and their basis events by sequence.
        private List<FactState>? retractedFor;
        private List<FactNote>? retractedNotes;
        private List<EventRef> retractedBasis = [];

        private void Prepare(List<FactState> retracted)
        {
            if (ReferenceEquals(retracted, retractedFor))
            {
                return;
            }
            retractedFor = retracted;
            retractedNotes = retracted.Count == 0 ? null
                : retracted.Select(r => new FactNote(r.Id, Day(r.Retraction!.Event.RecordedAt), r.Retraction.Reason)).ToList();
            retractedBasis = retracted.SelectMany(f => f.Basis).DistinctBy(e => e.Sequence).OrderBy(e => e.Sequence).ToList();
        }

        private static string Day(DateTimeOffset instant) => Instant.Format(instant)[..10];

        /// <summary>The events the members and the retracted facts rest on, each once, in sequence order.</summary>
        private List<EventRef> Basis(IReadOnlyList<FactState> members)
        {
            var own = new List<EventRef>();
            for (var m = 0; m < members.Count; m++)
            {
                own.AddRange(members[m].Basis);
            }
            own.Sort(BySequence);
            // One event rests under one sequence: the same object wherever a fact's versions share it, else equal.
            var kept = 0;
            for (var i = 0; i < own.Count; i++)
            {
                if (kept == 0 || own[kept - 1].Sequence != own[i].Sequence)
                {
                    own[kept++] = own[i];
                }
            }
            own.RemoveRange(kept, own.Count - kept);
            if (retractedBasis.Count == 0)
            {
                return own;
            }
            var basis = new List<EventRef>(own.Count + retractedBasis.Count);
            var j = 0;
            foreach (var r in retractedBasis)
            {
                while (j < own.Count && own[j].Sequence < r.Sequence)
                {
                    basis.Add(own[j++]);
                }
                if (j == own.Count || own[j].Sequence != r.Sequence)
                {
                    basis.Add(r);
                }
            }
            basis.AddRange(own.Skip(j));
            return basis;
        }

        private static readonly Comparison<EventRef> BySequence = (a, b) => a.Sequence.CompareTo(b.Sequence);
    }

    /// <summary>What a reading is made of (<see cref="Reading.Key"/>): fact states by identity, everything else by value.</summary>
    private sealed class ReadingKey : IEquatable<ReadingKey>
    {
        private readonly object?[] parts;
        private readonly int hash;

        private ReadingKey(object?[] parts)
        {
            this.parts = parts;
            var h = new HashCode();
            foreach (var p in parts)
            {
                h.Add(p is FactState f ? RuntimeHelpers.GetHashCode(f) : p?.GetHashCode() ?? 0);
            }
            hash = h.ToHashCode();
        }

        public bool Equals(ReadingKey? other)
        {
            if (other is null || other.hash != hash || other.parts.Length != parts.Length)
            {
                return false;
            }
            for (var i = 0; i < parts.Length; i++)
            {
                var (a, b) = (parts[i], other.parts[i]);
                if (a is FactState ? !ReferenceEquals(a, b) : !Equals(a, b))
                {
                    return false;
                }
            }
            return true;
        }

        public override bool Equals(object? obj) => Equals(obj as ReadingKey);

        public override int GetHashCode() => hash;

        /// <summary>A state's part of a key: its start, its confidence (the one thing it takes from sources) and its members.</summary>
        public static ReadingKey Of(State s)
        {
            var parts = new object?[3 + s.Members.Count];
            (parts[0], parts[1], parts[2]) = (s.Start, s.Confidence, s.Members.Count);
            for (var i = 0; i < s.Members.Count; i++)
            {
                parts[3 + i] = s.Members[i];
            }
            return new ReadingKey(parts);
        }

        public sealed class Builder(Reading.Kinds kind)
        {
            private readonly List<object?> parts = new(24) { kind };

            public void Add(object? value) => parts.Add(value);

            public void Add(State? s) => parts.Add(s?.Signature);

            public void Add(List<State>? states)
            {
                parts.Add(states?.Count);
                foreach (var s in states ?? [])
                {
                    Add(s);
                }
            }

            public void Add(Mark? m)
            {
                if (m is null)
                {
                    parts.Add(null);
                    return;
                }
                parts.Add(m.Date);
                parts.Add(m.EndedFact);
                Add(m.Starts);
            }

            public void Add(IReadOnlyList<FactState> facts)
            {
                parts.Add(facts.Count);
                foreach (var f in facts)
                {
                    parts.Add(f);
                }
            }

            public ReadingKey Done() => new([.. parts]);
        }
    }

    /// <summary>
    /// A pair's findings from its previous build, by what each reading was made of, so its next build renders (and
    /// serializes) only the stretches made of something new: a write to a pair with a long history, or a rebuild
    /// folding a pair write after write, mostly meets readings it has seen. Holds only the latest build's (one pair's
    /// segments); used by one build at a time.
    /// </summary>
    public sealed class Renderings
    {
        // Keyed by ReadingKey (private to the timeline).
        private Dictionary<object, HoldingSegment> previous = [];
        private Dictionary<object, HoldingSegment> current = [];

        // The previous build (a LastBuild, private to the timeline): its marks, retracted facts and findings.
        internal object? Built;

        /// <summary>How many of the last build's segments it took from the previous build unswept (before its first change, after it converged).</summary>
        internal int Taken { get; set; }

        internal void Begin()
        {
            previous = current;
            current = new Dictionary<object, HoldingSegment>(previous.Count);
        }

        /// <summary>Keeps the findings taken from the previous build (those over [<paramref name="from"/>, <paramref name="to"/>), null: unbounded) at hand for the next.</summary>
        internal void CarryOver(DateOnly? from, DateOnly? to)
        {
            foreach (var (key, segment) in previous)
            {
                if ((to is not { } end || segment.From is not { } start || start < end) && (from is not { } begin || segment.To is not { } stop || stop > begin))
                {
                    current.TryAdd(key, segment);
                }
            }
        }

        internal HoldingSegment Segment(object key, DateOnly? from, DateOnly? to, Func<Finding> render)
        {
            if (!current.TryGetValue(key, out var made) && !previous.TryGetValue(key, out made))
            {
                made = new HoldingSegment(from, to, render());
            }
            current[key] = made;
            return made.From == from && made.To == to ? made : made with { From = from, To = to };
        }
    }
}
