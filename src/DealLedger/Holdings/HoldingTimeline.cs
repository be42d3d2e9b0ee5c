using DealLedger.Deals;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Holdings;

/// <summary>A stretch of valid time [From, To) with one finding; null ends are open.</summary>
public sealed record HoldingSegment(DateOnly? From, DateOnly? To, HoldingFinding Finding);

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
    private sealed record State(ValidDate Start, IReadOnlyList<FactState> Members, Share? Share,
        IReadOnlyList<ShareClaim>? Alternatives, Confidence Confidence)
    {
        /// <summary>A stake of exactly 0 ends the holding (rule 4).</summary>
        public bool EndsHolding => Share?.IsZero == true;
    }

    /// <summary>A state starts (<see cref="Starts"/>) or the holding ends (an ending of <see cref="EndedFact"/>, or the own end of <see cref="Of"/>).</summary>
    private sealed record Mark(ValidDate Date, State? Starts, State? Of, FactState? EndedFact, EndingNote? Ending)
    {
        public bool IsEnd => Starts is null;

        /// <summary>Surely happened by <paramref name="day"/> (periods are half-open: a day-precise mark takes effect on its day).</summary>
        public bool PassedBy(DateOnly day) => Date.End <= day || (Date.IsExactDay && Date.Start <= day);

        public bool OpenOn(DateOnly day) => Date.Start <= day && !PassedBy(day);
    }

    /// <summary>What may be true on a day: after the latest mark to have happened, or before any.</summary>
    private sealed record Outcome(Mark? After)
    {
        public State? Held => After?.Starts is { EndsHolding: false } s ? s : null;
    }

    public static IReadOnlyList<HoldingSegment> Build(
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
            return retracted.Count == 0 ? [] : [new HoldingSegment(null, null, words.AllRetracted(retracted))];
        }
        var states = GroupIntoStates(live, sources);
        var marks = MarksOf(states, live);
        var points = marks.SelectMany(m => new[] { m.Date.Start, m.Date.End }).Distinct().Order().ToList();
        var segments = new List<HoldingSegment>();
        for (var i = -1; i < points.Count; i++)
        {
            DateOnly? from = i < 0 ? null : points[i];
            DateOnly? to = i + 1 < points.Count ? points[i + 1] : null;
            var relevant = retracted.Where(r => Overlaps(r, from, to)).ToList();
            var finding = FindingOn(from, marks, states, words, relevant);
            if (segments.Count > 0 && LedgerJson.Canonical(segments[^1].Finding) == LedgerJson.Canonical(finding))
            {
                segments[^1] = segments[^1] with { To = to };
            }
            else
            {
                segments.Add(new HoldingSegment(from, to, finding));
            }
        }
        return segments;
    }

    /// <summary>
    /// Most precise facts first: each fact joins a state whose start it coincides with (preferring one
    /// whose share it agrees with), or starts a new one. So no two states' starts coincide, and an
    /// imprecise fact never glues together states that do not ("2024" next to 2024-03-05 and 2024-11-20).
    /// </summary>
    private static List<State> GroupIntoStates(List<FactState> live, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        var groups = new List<(ValidDate Start, List<FactState> Members)>();
        foreach (var fact in live.OrderBy(f => Width(f.Current.Valid.From)).ThenBy(f => f.Current.Valid.From.Start).ThenBy(f => f.Id, StringComparer.Ordinal))
        {
            var from = fact.Current.Valid.From;
            var coinciding = groups.Where(g => g.Start.Coincides(from)).OrderBy(g => g.Start.Start).ToList();
            var home = coinciding.FirstOrDefault(g => Agrees(fact, g.Members));
            if (home.Members is null && coinciding.Count > 0)
            {
                home = coinciding[0];
            }
            if (home.Members is null)
            {
                groups.Add((from, [fact]));
            }
            else
            {
                home.Members.Add(fact);
            }
        }
        return groups.OrderBy(g => g.Start.Start).Select(g => StateOf(g.Start, g.Members, sources)).ToList();
    }

    private static bool Agrees(FactState fact, List<FactState> members)
    {
        Share? share = fact.Current.Share!;
        foreach (var m in members)
        {
            share = share?.Intersect(m.Current.Share!);
        }
        return share is not null;
    }

    private static int Width(ValidDate d) => d.End.DayNumber - d.Start.DayNumber;

    private static State StateOf(ValidDate start, List<FactState> members, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        members = members.OrderBy(m => m.Id, StringComparer.Ordinal).ToList();
        Share? share = members[0].Current.Share!;
        foreach (var m in members.Skip(1))
        {
            share = share?.Intersect(m.Current.Share!);
        }
        var confidences = members.Select(m => ConfidenceRules.Of(m.Current.Sources, id => sources.TryGetValue(id, out var s) ? s.Kind : SourceKind.ThirdParty)).ToList();
        if (share is not null && !confidences.Contains(Confidence.Disputed))
        {
            return new State(start, members, share, null, confidences.MaxBy(ConfidenceRules.Strength));
        }
        var alternatives = share is null
            ? members.Select(m => new ShareClaim(m.Current.Share!, m.Id, m.Current.Sources.Select(c => c.Source).Distinct().ToList())).ToList()
            : null;
        return new State(start, members, share, alternatives, Confidence.Disputed);
    }

    /// <summary>
    /// Starts of states; endings recorded against any fact (rule 4: they end the pair's holding);
    /// a state's own end (`to`), unless the next state surely starts before it.
    /// </summary>
    private static List<Mark> MarksOf(List<State> states, List<FactState> live)
    {
        var marks = states.Select(s => new Mark(s.Start, s, null, null, null)).ToList();
        foreach (var f in live.Where(f => f.Ending is not null))
        {
            marks.Add(new Mark(f.Ending!.On, null, states.First(s => s.Members.Contains(f)), f, f.Ending));
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
            if (next is { } n && (n.End <= own.To.Start || (n.IsExactDay && own.To.IsExactDay && n.Start <= own.To.Start)))
            {
                continue; // superseded: the next state begins before this one's own end
            }
            marks.Add(new Mark(own.To, null, states[i], own.Fact, null));
        }
        return marks.OrderBy(m => m.Date.Start).ThenBy(m => m.Date.End).ThenBy(m => m.IsEnd ? 0 : 1).ToList();
    }

    /// <summary>
    /// <paramref name="a"/> surely happens before <paramref name="b"/>: its window ends before b's begins;
    /// on one and the same day an end comes before a start (ended and taken again that day: held);
    /// and a state starts before anything ends it.
    /// </summary>
    private static bool SurelyBefore(Mark a, Mark b) =>
        a.Date.End <= b.Date.Start
        || (a.Date.IsExactDay && b.Date.IsExactDay && a.Date.Start == b.Date.Start && a.IsEnd && !b.IsEnd)
        || (a.Starts is not null && b.IsEnd && b.Of == a.Starts);

    private static HoldingFinding FindingOn(DateOnly? day, List<Mark> marks, List<State> states, Words words, List<FactState> retracted)
    {
        var passed = day is { } d ? marks.Where(m => m.PassedBy(d)).ToList() : [];
        var open = day is { } d2 ? marks.Where(m => m.OpenOn(d2)).ToList() : [];
        // A mark may be the latest to have happened unless a mark that surely happened surely came
        // after it. Only marks whose window reaches past every passed mark's start can be (cheap
        // test first; long histories have many marks).
        var latestStart = passed.Count == 0 ? DateOnly.MinValue : passed.Max(m => m.Date.Start);
        var outcomes = passed.Concat(open).Where(m => m.Date.End > latestStart)
            .Where(m => !passed.Any(p => p != m && SurelyBefore(m, p)))
            .Select(m => new Outcome(m)).ToList();
        if (passed.Count == 0)
        {
            outcomes.Insert(0, new Outcome(null));
        }
        var held = outcomes.Select(o => o.Held).Distinct().ToList();
        if (held.All(s => s is not null))
        {
            return held.Count == 1
                ? words.Held(held[0]!, UntilOf(marks, held[0]!), retracted)
                : words.Changing(held.Select(s => s!).OrderBy(s => s.Start.Start).ToList(), open.Select(m => m.Date).ToList(), retracted);
        }
        if (held.All(s => s is null))
        {
            var latest = outcomes.Where(o => o.After is not null).Select(o => o.After!).MaxBy(m => (m.Date.Start, m.Date.End));
            if (latest is null)
            {
                return words.NotYetHeld(states[0], retracted);
            }
            // The holding it ended: the last state surely begun before it (an ending ends the pair's holding, rule 4).
            var previous = marks.LastOrDefault(m => m.Starts is { EndsHolding: false } && SurelyBefore(m, latest))?.Starts ?? latest.Of;
            var next = marks.FirstOrDefault(m => m.Starts is { EndsHolding: false } && SurelyBefore(latest, m))?.Starts;
            return words.NoLongerHeld(latest, previous, next, retracted);
        }
        var heldStates = held.Where(s => s is not null).Select(s => s!).OrderBy(s => s.Start.Start).ToList();
        var notHeld = outcomes.Where(o => o.Held is null).Select(o => o.After).ToList();
        var starting = open.FirstOrDefault(m => m.Starts is { } s && heldStates.Contains(s));
        var ending = notHeld.FirstOrDefault(m => m is { IsEnd: true } && open.Contains(m));
        return words.Uncertain(heldStates, starting, ending, notHeld.FirstOrDefault(m => m is not null), retracted);
    }

    /// <summary>Where a held state stops: the first mark that can only come after its start.</summary>
    private static ValidDate? UntilOf(List<Mark> marks, State s)
    {
        var start = marks.First(m => m.Starts == s);
        return marks.FirstOrDefault(m => m != start && SurelyBefore(start, m))?.Date;
    }

    /// <summary>A retracted fact is named where it would have counted: over its own period.</summary>
    private static bool Overlaps(FactState f, DateOnly? from, DateOnly? to) =>
        (to is null || f.Current.Valid.From.Start < to) && (from is null || f.EndsOn is not { } end || from < end.End);

    /// <summary>The sentences and citations of findings.</summary>
    private sealed class Words(string holder, string subject, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        public HoldingFinding Held(State s, ValidDate? until, List<FactState> retracted)
        {
            var text = $"{holder} held {StakeWords(s.Share)} in {subject} from {s.Start.ToReadable()}"
                + (until is { } u ? $" until {u.ToReadable()}." : " on, with no end recorded.")
                + " " + Evidence(s);
            return new HoldingFinding(HoldingStatus.Held, s.Share, DateWithPrecision.Of(s.Start), DateWithPrecision.Of(until),
                s.Confidence, Cite(s.Members), Basis(s.Members, retracted), Notes(text, s.Members, retracted), s.Alternatives);
        }

        public HoldingFinding Changing(List<State> states, List<ValidDate> windows, List<FactState> retracted)
        {
            var share = states.Select(s => s.Share).Aggregate((a, b) => a is null || b is null ? a ?? b : a.Hull(b));
            var members = states.SelectMany(s => s.Members).ToList();
            var when = windows.Count > 0 ? $"during {windows[0].ToReadable()}" : "around this date";
            var text = $"{holder} held a stake in {subject} throughout, but its size changed {when} "
                + $"from {StakeWords(states[0].Share)} to {StakeWords(states[^1].Share)}; on this date the ledger cannot tell which applied.";
            var confidence = states.Select(s => s.Confidence).MinBy(ConfidenceRules.Strength);
            return new HoldingFinding(HoldingStatus.Held, share, DateWithPrecision.Of(states[0].Start), null,
                confidence, Cite(members), Basis(members, retracted), Notes(text, members, retracted));
        }

        public HoldingFinding Uncertain(List<State> held, Mark? starting, Mark? ending, Mark? notHeldAfter, List<FactState> retracted)
        {
            var s = starting?.Starts ?? held[^1];
            var share = held.Select(h => h.Share).Aggregate((a, b) => a is null || b is null ? a ?? b : a.Hull(b));
            string text;
            ValidDate? until = null;
            if (starting is not null)
            {
                text = $"{holder} acquired {StakeWords(s.Share)} in {subject} in {starting.Date.ToReadable()} ({LedgerJson.Word(starting.Date.Precision)} precision); "
                    + "on this date the ledger cannot tell whether it was already held. ";
            }
            else if (ending is not null)
            {
                until = ending.Date;
                text = $"{holder}'s stake in {subject} ended in {ending.Date.ToReadable()} ({LedgerJson.Word(ending.Date.Precision)} precision); "
                    + "on this date the ledger cannot tell whether it was still held. ";
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
                confidence, Cite(members), Basis(members, retracted), Notes(text + Evidence(s), members, retracted),
                held.Count == 1 ? s.Alternatives : null);
        }

        public HoldingFinding NotYetHeld(State first, List<FactState> retracted)
        {
            var text = first.EndsHolding
                ? $"No stake of {holder} in {subject} is recorded before {first.Start.ToReadable()}, when the sources put it at 0 %. " + Evidence(first)
                : $"No stake of {holder} in {subject} is recorded before {first.Start.ToReadable()}, when the nearest recorded holding, "
                    + $"{StakeWords(first.Share)}, starts. " + Evidence(first);
            return new HoldingFinding(HoldingStatus.NotHeld, null, null, DateWithPrecision.Of(first.Start), null,
                Cite(first.Members), Basis(first.Members, retracted), Notes(text, first.Members, retracted));
        }

        public HoldingFinding NoLongerHeld(Mark end, State? previous, State? next, List<FactState> retracted)
        {
            var how = end.Starts is { } zero
                ? $"{holder}'s stake in {subject} was 0 % from {zero.Start.ToReadable()}"
                : $"{holder}'s stake in {subject} ended on {end.Date.ToReadable()}" + (end.Ending?.Reason is { Length: > 0 } r ? $" ({r})" : "");
            var text = how + (next is null ? "; nothing recorded shows it held again." : $"; the next recorded holding starts {next.Start.ToReadable()}.")
                + (previous is null ? "" : $" The nearest recorded holding was {StakeWords(previous.Share)} from {previous.Start.ToReadable()}. " + Evidence(previous));
            var members = (previous?.Members ?? []).Concat(end.Starts?.Members ?? []).Concat(end.EndedFact is { } f ? [f] : []).Distinct().ToList();
            return new HoldingFinding(HoldingStatus.NotHeld, null, DateWithPrecision.Of(end.Date),
                DateWithPrecision.Of(next?.Start), null, Cite(members), Basis(members, retracted), Notes(text.TrimEnd(), members, retracted));
        }

        public HoldingFinding AllRetracted(List<FactState> retracted)
        {
            var text = $"Every stake fact recorded about {holder} in {subject} was retracted, so the ledger no longer knows of any holding.";
            return new HoldingFinding(HoldingStatus.Unknown, null, null, null, null, Cite(retracted), Basis([], retracted), Notes(text, [], retracted));
        }

        private static string StakeWords(Share? share) => share is null
            ? "a stake of disputed size"
            : share.Wording is { Length: > 0 } w ? $"a {w} ({share.ToReadable()})"
            : share.Exact is not null ? $"a {share.ToReadable()} stake"
            : $"a stake of {share.ToReadable()}";

        private static string Evidence(State s)
        {
            var count = s.Members.SelectMany(m => m.Current.Sources).Select(c => c.Source).Distinct().Count();
            var basis = s.Confidence switch
            {
                Confidence.Confirmed => "Confirmed by a party to it or an official register",
                Confidence.Reported => "Reported by third parties, not confirmed by the parties",
                Confidence.Claimed => "Claimed by one party, unverified",
                _ => "Disputed: the sources disagree" + (s.Alternatives is { } alt
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

        private static IReadOnlyList<BasisEvent> Basis(IEnumerable<FactState> members, IEnumerable<FactState> retracted) =>
            members.Concat(retracted).SelectMany(f => f.Basis).DistinctBy(e => e.Sequence).OrderBy(e => e.Sequence).Select(BasisEvent.Of).ToList();
    }
}
