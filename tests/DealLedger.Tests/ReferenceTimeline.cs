using System.Runtime.CompilerServices;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Tests;

/// <summary>
/// The timeline as HoldingTimeline.Build computed it before it became one ordered pass (issue 13):
/// every boundary day rescans all marks and renders its finding. Kept verbatim, only here, as the
/// reference the sweep must match field by field (TimelineSweepTests); never used by the product.
/// </summary>
internal static class ReferenceTimeline
{
    /// <summary>A stretch with its finding in words, as timelines were before findings were stored as data.</summary>
    internal sealed record ReferenceSegment(DateOnly? From, DateOnly? To, HoldingFinding Finding);

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

        // Each state is made once: it is itself, never compared (or hashed) member by member.
        public bool Equals(State? other) => ReferenceEquals(this, other);

        public override int GetHashCode() => RuntimeHelpers.GetHashCode(this);
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

        // As for states: identity, not content (outcomes are deduplicated by the marks and states they name).
        public bool Equals(Mark? other) => ReferenceEquals(this, other);

        public override int GetHashCode() => RuntimeHelpers.GetHashCode(this);
    }

    /// <summary>What may be true on a day: after a mark that may be the latest to have happened (or before any), held in a state or not.</summary>
    private sealed record Outcome(Mark? After, State? Held);

    public static IReadOnlyList<ReferenceSegment> Build(
        string holder, string subject, IReadOnlyList<FactState> facts,
        IReadOnlyDictionary<string, SourceRegistered> sources, Func<string, string> nameOf)
    {
        // Order never depends on where the facts came from (a table scan or a replay).
        var ordered = facts.OrderBy(f => f.Id, StringComparer.Ordinal).ToList();
        var words = new Words(nameOf(holder), nameOf(subject), sources);
        var retracted = ordered.Where(f => f.IsRetracted).ToList();
        var live = ordered.Where(f => !f.IsRetracted).ToList();
        if (live.Count == 0)
        {
            return retracted.Count == 0 ? [] : [new ReferenceSegment(null, null, words.AllRetracted(retracted))];
        }
        var states = GroupIntoStates(live, sources);
        var marks = MarksOf(states, live);
        // Between these days nothing changes: a mark's window opens (First), closes (Last), or an open
        // mark may now have come after one that happened on its first day (First + 1).
        var points = marks.SelectMany(m => new[] { m.First, m.First.AddDays(1), m.Last })
            .Concat(retracted.SelectMany(r => new[] { r.Current.Valid.From.Start }.Concat(r.EndsOn is { } e ? [e.End] : [])))
            .Distinct().Order().ToList();
        var segments = new List<ReferenceSegment>();
        for (var i = -1; i < points.Count; i++)
        {
            DateOnly? from = i < 0 ? null : points[i];
            DateOnly? to = i + 1 < points.Count ? points[i + 1] : null;
            var relevant = retracted.Where(r => Overlaps(r, from, to)).ToList();
            var finding = FindingOn(from, marks, states, words, relevant);
            if (segments.Count > 0 && Same(segments[^1].Finding, finding))
            {
                segments[^1] = segments[^1] with { To = to };
            }
            else
            {
                segments.Add(new ReferenceSegment(from, to, finding));
            }
        }
        return segments;
    }

    /// <summary>
    /// Two findings that would be stored the same (their canonical JSON equal), compared field by field:
    /// serializing every finding of a timeline to compare neighbours was most of a rebuild's time.
    /// Numbers compare with their scale, as their JSON would ("40" is not "40.0").
    /// </summary>
    internal static bool Same(HoldingFinding a, HoldingFinding b) =>
        a.Status == b.Status && Same(a.Share, b.Share) && a.Since == b.Since && a.Until == b.Until && a.Confidence == b.Confidence
        && a.Explanation == b.Explanation && a.Sources.SequenceEqual(b.Sources) && a.Basis.SequenceEqual(b.Basis)
        && (a.Alternatives is null ? b.Alternatives is null : b.Alternatives is not null && a.Alternatives.Count == b.Alternatives.Count
            && a.Alternatives.Zip(b.Alternatives).All(x => Same(x.First.Share, x.Second.Share) && x.First.Fact == x.Second.Fact && x.First.Sources.SequenceEqual(x.Second.Sources)));

    private static bool Same(Share? a, Share? b) =>
        a is null ? b is null : b is not null && Same(a.Exact, b.Exact) && Same(a.Min, b.Min) && Same(a.Max, b.Max)
            && a.MinInclusive == b.MinInclusive && a.MaxInclusive == b.MaxInclusive && a.Wording == b.Wording;

    private static bool Same(decimal? a, decimal? b) => a == b && (a is null || a.Value.Scale == b!.Value.Scale);

    /// <summary>
    /// Facts with the very same start date form one group (rule 5, whatever their ids). Then, most
    /// precise first, each group joins a state whose start it coincides with — preferring one whose
    /// share it agrees with, and never one its own end could not follow — or starts a new state. So an
    /// imprecise fact never glues together states that do not coincide ("2024" next to 2024-03-05 and 2024-11-20).
    /// </summary>
    private static List<State> GroupIntoStates(List<FactState> live, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        var states = new List<(ValidDate Start, List<FactState> Members)>();
        var sameDate = live.GroupBy(f => f.Current.Valid.From).OrderBy(g => Width(g.Key)).ThenBy(g => g.Key.Start);
        foreach (var group in sameDate)
        {
            var facts = group.ToList();
            var coinciding = states.Where(s => s.Start.Coincides(group.Key)
                    && facts.All(f => f.EndsOn is not { } end || !end.CannotFollow(s.Start))).OrderBy(s => s.Start.Start).ToList();
            var home = coinciding.FirstOrDefault(s => Agrees([.. facts, .. s.Members]));
            if (home.Members is null && coinciding.Count > 0)
            {
                home = coinciding[0];
            }
            if (home.Members is null)
            {
                states.Add((group.Key, facts));
            }
            else
            {
                home.Members.AddRange(facts);
            }
        }
        return states.OrderBy(s => s.Start.Start).ThenBy(s => s.Start.End)
            .Select((s, i) => StateOf(i, s.Start, s.Members, sources)).ToList();
    }

    private static bool Agrees(IEnumerable<FactState> facts)
    {
        Share? share = null;
        foreach (var f in facts)
        {
            share = share is null ? f.Stake.Share : share.Intersect(f.Stake.Share);
            if (share is null)
            {
                return false;
            }
        }
        return true;
    }

    private static int Width(ValidDate d) => d.End.DayNumber - d.Start.DayNumber;

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
            new(date, date.Start, date.End.AddDays(-1), starts, of, fact, ending);
        var marks = states.Select(s => Of(s.Start, s, null, null, null)).ToList();
        foreach (var f in live.Where(f => f.Ending is not null))
        {
            marks.Add(Of(f.Ending!.On, null, states.First(s => s.Members.Contains(f)), f, f.Ending));
        }
        for (var i = 0; i < states.Count; i++)
        {
            var own = states[i].Members.Where(m => m.Ending is null && m.Current.Valid.To is not null)
                .Select(m => (Fact: m, To: m.Current.Valid.To!.Value)).OrderBy(x => x.To.Start).FirstOrDefault();
            if (own.Fact is null)
            {
                continue;
            }
            var next = i + 1 < states.Count ? states[i + 1].Start : (ValidDate?)null;
            if (next is { } n && n.CannotFollow(own.To))
            {
                continue; // superseded: the next state surely begins by this one's own end
            }
            marks.Add(Of(own.To, null, states[i], own.Fact, null));
        }
        foreach (var start in marks.Where(m => m.Starts is not null).ToList())
        {
            var ends = marks.Where(m => m.IsEnd && m.Of == start.Starts).ToList();
            if (ends.Count == 0)
            {
                continue;
            }
            // The start comes at least a day before its earliest possible end; each end at least a day after the start.
            var latestStart = ends.Min(e => e.Last).AddDays(-1);
            var narrowed = start with { Last = Max(start.First, Min(start.Last, latestStart)) };
            marks[marks.IndexOf(start)] = narrowed;
            foreach (var e in ends)
            {
                marks[marks.IndexOf(e)] = e with { First = Min(e.Last, Max(e.First, narrowed.First.AddDays(1))) };
            }
        }
        return marks.OrderBy(m => m.First).ThenBy(m => m.Last).ThenBy(m => m.IsEnd ? 0 : 1).ToList();
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

    private static HoldingFinding FindingOn(DateOnly? day, List<Mark> marks, List<State> states, Words words, List<FactState> retracted)
    {
        var passed = day is { } d ? marks.Where(m => m.PassedBy(d)).ToList() : [];
        var open = day is { } d2 ? marks.Where(m => m.OpenOn(d2)).ToList() : [];
        var outcomes = day is { } d3 ? PossibleOutcomes(passed, open, d3) : [new Outcome(null, null)];
        var held = outcomes.Select(o => o.Held).Distinct().ToList();
        if (held.All(s => s is not null))
        {
            return held.Count == 1
                ? words.Held(held[0]!, UntilOf(marks, held[0]!), retracted)
                : words.Changing(held.Select(s => s!).OrderBy(s => s.Index).ToList(), open.Select(m => m.Date).ToList(), retracted);
        }
        if (held.All(s => s is null))
        {
            if (passed.Count == 0)
            {
                return words.NotYetHeld(states[0], retracted);
            }
            // Not held since the end that followed the last state begun (or since a 0 % state began).
            var lastStart = passed.LastOrDefault(m => m.Starts is not null);
            var end = lastStart is { Starts.EndsHolding: true } ? lastStart
                : passed.FirstOrDefault(m => m.IsEnd && (lastStart is null || !SurelyBefore(m, lastStart)) && (!m.IsOwnEnd || m.Of == lastStart?.Starts))
                  ?? outcomes.LastOrDefault(o => o.After is not null)?.After ?? passed[^1];
            var previous = passed.LastOrDefault(m => m.Starts is { EndsHolding: false } && SurelyBefore(m, end))?.Starts ?? end.Of;
            var next = marks.FirstOrDefault(m => m.Starts is { EndsHolding: false } && SurelyBefore(end, m))?.Starts;
            return words.NoLongerHeld(end, previous, next, retracted);
        }
        var heldStates = held.Where(s => s is not null).Select(s => s!).OrderBy(s => s.Index).ToList();
        var notHeld = outcomes.Where(o => o.Held is null).Select(o => o.After).ToList();
        var starting = open.FirstOrDefault(m => m.Starts is { } s && heldStates.Contains(s) && !s.MaybeNone);
        var ending = notHeld.FirstOrDefault(m => m is { IsEnd: true } && open.Contains(m));
        return words.Uncertain(heldStates, starting, ending, notHeld.FirstOrDefault(m => m is not null), retracted);
    }

    /// <summary>
    /// Every condition some possible world gives on the day: marks that surely happened before the
    /// rest are taken in their order; the rest (the cluster whose order the dates leave open, and
    /// open marks that may not have happened yet) are tried in every order their windows allow.
    /// </summary>
    private static List<Outcome> PossibleOutcomes(List<Mark> passed, List<Mark> open, DateOnly day)
    {
        var all = passed.Concat(open).ToList();
        // The cluster: marks not surely before some passed mark, then every mark unordered with a member.
        var latestFirst = passed.Count == 0 ? DateOnly.MinValue : passed.Max(m => m.First);
        var cluster = all.Where(m => m.Last >= latestFirst && !passed.Any(p => p != m && SurelyBefore(m, p, day))).ToHashSet();
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var m in all.Where(m => !cluster.Contains(m) && cluster.Any(c => !SurelyBefore(m, c, day))).ToList())
            {
                grew |= cluster.Add(m);
            }
        }
        // Before the cluster, in order; only from the last start or ending on does anything still count.
        var settled = all.Where(m => !cluster.Contains(m)).ToList();
        var from = settled.FindLastIndex(m => !m.IsOwnEnd);
        var before = new List<Outcome> { new(null, null) };
        foreach (var m in settled.Skip(Math.Max(from, 0)))
        {
            before = before.SelectMany(o => After(o, m)).Distinct().ToList();
        }
        var outcomes = new HashSet<Outcome>();
        var members = cluster.OrderBy(m => m.First).ThenBy(m => m.Last).ThenBy(m => m.IsEnd ? 0 : 1).ToList();
        if (members.Count > 9)
        {
            // Too many marks of unknown order to try every order: take each as possibly the last.
            foreach (var m in members)
            {
                foreach (var o in before.SelectMany(b => After(b, m)))
                {
                    outcomes.Add(o);
                }
            }
            return [.. outcomes];
        }
        foreach (var start in before)
        {
            Explore(start, members, passed.ToHashSet(), day, outcomes);
        }
        return [.. outcomes];
    }

    private static void Explore(Outcome current, List<Mark> remaining, HashSet<Mark> passed, DateOnly day, HashSet<Outcome> outcomes)
    {
        // The world may stop here if every mark left may not have happened yet.
        if (!remaining.Any(passed.Contains))
        {
            outcomes.Add(current);
        }
        foreach (var next in remaining.Where(m => !remaining.Any(r => r != m && SurelyBefore(r, m, day))).ToList())
        {
            var rest = remaining.Where(r => r != next).ToList();
            foreach (var o in After(current, next))
            {
                Explore(o, rest, passed, day, outcomes);
            }
        }
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

    /// <summary>Where a held state stops: the first mark that can only come after its start and can end it.</summary>
    private static ValidDate? UntilOf(List<Mark> marks, State s)
    {
        var start = marks.First(m => m.Starts == s);
        return marks.FirstOrDefault(m => m != start && SurelyBefore(start, m) && !(m.IsOwnEnd && m.Of!.Index < s.Index))?.Date;
    }

    /// <summary>A retracted fact is named where it would have counted: over its own period.</summary>
    private static bool Overlaps(FactState f, DateOnly? from, DateOnly? to) =>
        (to is null || f.Current.Valid.From.Start < to) && (from is null || f.EndsOn is not { } end || from < end.End);

    /// <summary>The sentences and citations of findings.</summary>
    private sealed class Words(string holder, string subject, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        public HoldingFinding Held(State s, ValidDate? until, List<FactState> retracted)
        {
            var text = $"{holder} held {Share.Phrase(s.Share)} in {subject} from {s.Start.ToReadable()}"
                + (until is { } u ? $" until {u.ToReadable()}." : " on, with no end recorded.")
                + " " + Evidence(s);
            // Disputed: the share covers every value claimed (each shown in the alternatives), never one picked.
            return new HoldingFinding(HoldingStatus.Held, s.Cover, DateWithPrecision.Of(s.Start), DateWithPrecision.Of(until),
                s.Confidence, Cite(s.Members), Basis(s.Members, retracted), Notes(text, s.Members, retracted), s.Alternatives);
        }

        public HoldingFinding Changing(List<State> states, List<ValidDate> windows, List<FactState> retracted)
        {
            var share = Covering(states);
            var members = states.SelectMany(s => s.Members).ToList();
            var when = windows.Count > 0 ? $"during {windows[0].ToReadable()}" : "around this date";
            var text = $"{holder} held a stake in {subject} throughout, but its size changed {when} "
                + $"from {Share.Phrase(states[0].Share)} to {Share.Phrase(states[^1].Share)}; on this date the ledger cannot tell which applied. "
                + Evidence(members, states.Select(s => s.Confidence).MinBy(ConfidenceRules.Strength), Alternatives(states));
            var confidence = states.Select(s => s.Confidence).MinBy(ConfidenceRules.Strength);
            return new HoldingFinding(HoldingStatus.Held, share, DateWithPrecision.Of(states[0].Start), null,
                confidence, Cite(members), Basis(members, retracted), Notes(text, members, retracted), Alternatives(states));
        }

        public HoldingFinding Uncertain(List<State> held, Mark? starting, Mark? ending, Mark? notHeldAfter, List<FactState> retracted)
        {
            var s = starting?.Starts ?? held[^1];
            var share = Covering(held);
            string text;
            ValidDate? until = null;
            if (starting is not null)
            {
                text = $"{holder} acquired {Share.Phrase(s.Share)} in {subject} in {starting.Date.ToReadable()} ({LedgerJson.Word(starting.Date.Precision)} precision); "
                    + "on this date the ledger cannot tell whether it was already held. ";
            }
            else if (ending is not null)
            {
                until = ending.Date;
                text = $"{holder}'s stake in {subject} ended {On(ending.Date)} ({LedgerJson.Word(ending.Date.Precision)} precision); "
                    + "on this date the ledger cannot tell whether it was still held. ";
            }
            else if (s.MaybeNone && held.Count == 1)
            {
                text = $"The sources disagree whether {holder} held any stake in {subject} from {s.Start.ToReadable()}: one puts it at 0 %. ";
            }
            else
            {
                var what = notHeldAfter is null ? "whether it had been acquired yet"
                    : $"whether it ended ({notHeldAfter.Date.ToReadable()}) before or after it was taken ({s.Start.ToReadable()})";
                text = $"The dates recorded for {holder}'s stake in {subject} do not tell their order: the ledger cannot tell {what}. ";
            }
            var members = held.SelectMany(h => h.Members)
                .Concat(ending?.EndedFact is { } e ? [e] : []).Concat(notHeldAfter?.EndedFact is { } f ? [f] : [])
                .Concat(notHeldAfter?.Starts?.Members ?? []).Distinct().ToList();
            var confidence = held.Select(h => h.Confidence).MinBy(ConfidenceRules.Strength);
            return new HoldingFinding(HoldingStatus.Uncertain, share, DateWithPrecision.Of(s.Start), DateWithPrecision.Of(until),
                confidence, Cite(members), Basis(members, retracted), Notes(text + Evidence(members, confidence, Alternatives(held)), members, retracted),
                Alternatives(held));
        }

        public HoldingFinding NotYetHeld(State first, List<FactState> retracted)
        {
            var text = first.EndsHolding
                ? $"No stake of {holder} in {subject} is recorded before {first.Start.ToReadable()}, when the sources put it at 0 %. " + Evidence(first)
                : $"No stake of {holder} in {subject} is recorded before {first.Start.ToReadable()}, when the nearest recorded holding, "
                    + $"{Share.Phrase(first.Share)}, starts. " + Evidence(first);
            return new HoldingFinding(HoldingStatus.NotHeld, null, null, DateWithPrecision.Of(first.Start), null,
                Cite(first.Members), Basis(first.Members, retracted), Notes(text, first.Members, retracted));
        }

        public HoldingFinding NoLongerHeld(Mark end, State? previous, State? next, List<FactState> retracted)
        {
            var how = end.Starts is { } zero
                ? $"{holder}'s stake in {subject} was 0 % from {zero.Start.ToReadable()}"
                : $"{holder}'s stake in {subject} ended {On(end.Date)}" + (end.Ending?.Reason is { Length: > 0 } r ? $" ({r})" : "");
            var text = how + (next is null ? "; nothing recorded shows it held again." : $"; the next recorded holding starts {next.Start.ToReadable()}.")
                + (previous is null ? "" : $" The nearest recorded holding was {Share.Phrase(previous.Share)} from {previous.Start.ToReadable()}. " + Evidence(previous));
            var members = (previous?.Members ?? []).Concat(end.Starts?.Members ?? []).Concat(end.EndedFact is { } f ? [f] : []).Distinct().ToList();
            return new HoldingFinding(HoldingStatus.NotHeld, null, DateWithPrecision.Of(end.Date),
                DateWithPrecision.Of(next?.Start), null, Cite(members), Basis(members, retracted), Notes(text.TrimEnd(), members, retracted));
        }

        public HoldingFinding AllRetracted(List<FactState> retracted)
        {
            var text = $"Every stake fact recorded about {holder} in {subject} was retracted, so the ledger no longer knows of any holding.";
            return new HoldingFinding(HoldingStatus.Unknown, null, null, null, null, Cite(retracted), Basis([], retracted), Notes(text, [], retracted));
        }

        private static string On(ValidDate date) => (date.IsExactDay ? "on " : "in ") + date.ToReadable();

        /// <summary>The smallest share covering every state's (or, when disputed, every claimed) value.</summary>
        private static Share? Covering(IEnumerable<State> states) =>
            states.Select(s => s.Cover).Aggregate((a, b) => a is null || b is null ? a ?? b : a.Hull(b));

        private static IReadOnlyList<ShareClaim>? Alternatives(IEnumerable<State> states)
        {
            var all = states.SelectMany(s => s.Alternatives ?? []).ToList();
            return all.Count == 0 ? null : all;
        }

        private static string Evidence(State s) => Evidence(s.Members, s.Confidence, s.Alternatives);

        private static string Evidence(IEnumerable<FactState> members, Confidence confidence, IReadOnlyList<ShareClaim>? alternatives)
        {
            var count = members.SelectMany(m => m.Current.Sources).Select(c => c.Source).Distinct().Count();
            var basis = confidence switch
            {
                Confidence.Confirmed => "Confirmed by a party to it or an official register",
                Confidence.Reported => "Reported by third parties, not confirmed by the parties",
                Confidence.Claimed => "Claimed by one party, unverified",
                _ => "Disputed: the sources disagree" + (alternatives is { } alt
                    ? " (" + string.Join("; ", alt.Select(a => $"{a.Share.ToReadable()} per {string.Join(", ", a.Sources)}")) + ")"
                    : " (a source denies it)"),
            };
            return $"{basis}; {count} source{(count == 1 ? "" : "s")}.";
        }

        private static string Notes(string text, IReadOnlyList<FactState> members, List<FactState> retracted)
        {
            var notes = members.SelectMany(m => m.Corrections.Select(c => $" Fact {m.Id} was corrected on {Day(c.Event.RecordedAt)}: {c.Reason}."))
                .Concat(retracted.Select(r => $" Fact {r.Id} was retracted on {Day(r.Retraction!.Event.RecordedAt)}: {r.Retraction.Reason}."));
            return text + string.Concat(notes);
        }

        private static string Day(DateTimeOffset instant) => Instant.Format(instant)[..10];

        private IReadOnlyList<SourceCitation> Cite(IEnumerable<FactState> facts) =>
            facts.SelectMany(SourceCatalog.CitedBy).Distinct().Select(id => SourceCitation.Of(id, sources)).ToList();

        private static IReadOnlyList<EventRef> Basis(IEnumerable<FactState> members, IEnumerable<FactState> retracted) =>
            members.Concat(retracted).SelectMany(f => f.Basis).DistinctBy(e => e.Sequence).OrderBy(e => e.Sequence).ToList();
    }
}
