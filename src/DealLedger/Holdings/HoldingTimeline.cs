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
/// </summary>
public static class HoldingTimeline
{
    /// <summary>The pair's states: facts whose starts coincide describe one state (rule 5).</summary>
    private sealed record State(ValidDate Start, IReadOnlyList<FactState> Members, Share? Share,
        IReadOnlyList<ShareClaim>? Alternatives, Confidence Confidence)
    {
        public bool EndsHolding => Share?.IsZero == true;
    }

    /// <summary>A point on the valid axis where the pair's condition changes, ordered as it happens.</summary>
    private sealed record Boundary(ValidDate Date, State? Starts, FactState? EndedFact, EndingNote? Ending);

    public static IReadOnlyList<HoldingSegment> Build(
        string holder, string subject, IReadOnlyList<FactState> facts,
        IReadOnlyDictionary<string, SourceRegistered> sources, Func<string, string> nameOf)
    {
        var words = new Words(nameOf(holder), nameOf(subject), sources);
        // Order never depends on where the facts came from (a table scan or a replay).
        facts = facts.OrderBy(f => f.Id, StringComparer.Ordinal).ToList();
        var retracted = facts.Where(f => f.IsRetracted).ToList();
        var live = facts.Where(f => !f.IsRetracted).ToList();
        if (live.Count == 0)
        {
            return retracted.Count == 0 ? [] : [new HoldingSegment(null, null, words.AllRetracted(retracted))];
        }
        var states = GroupIntoStates(live, sources);
        var boundaries = states.Select(s => new Boundary(s.Start, s, null, null))
            .Concat(live.Where(f => f.EndsOn is not null).Select(f => new Boundary(f.EndsOn!.Value, null, f, f.Ending)))
            // by earliest possible day; at equal days an ending comes before a new start, so a stake
            // ended and taken again on one date is held on that date.
            .OrderBy(b => b.Date.Start).ThenBy(b => b.Date.End).ThenBy(b => b.Starts is null ? 0 : 1)
            .ToList();

        var points = boundaries.SelectMany(b => new[] { b.Date.Start, b.Date.End }).Distinct().Order().ToList();
        var segments = new List<HoldingSegment>();
        for (var i = -1; i < points.Count; i++)
        {
            DateOnly? from = i < 0 ? null : points[i];
            DateOnly? to = i + 1 < points.Count ? points[i + 1] : null;
            var finding = FindingFor(from, boundaries, words, retracted);
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

    private static List<State> GroupIntoStates(List<FactState> live, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        var ordered = live.OrderBy(f => f.Current.Valid.From.Start).ThenBy(f => f.Current.Valid.From.End).ThenBy(f => f.Id, StringComparer.Ordinal).ToList();
        var groups = new List<List<FactState>>();
        var groupEnd = DateOnly.MinValue;
        foreach (var fact in ordered)
        {
            var from = fact.Current.Valid.From;
            if (groups.Count == 0 || from.Start >= groupEnd)
            {
                groups.Add([]);
                groupEnd = from.End;
            }
            groups[^1].Add(fact);
            if (from.End > groupEnd)
            {
                groupEnd = from.End;
            }
        }
        return groups.Select(g => StateOf(g, sources)).ToList();
    }

    private static State StateOf(List<FactState> members, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        // The state starts at the most precise of its coinciding dates (rule 5).
        var start = members.Select(m => m.Current.Valid.From)
            .OrderBy(d => d.End.DayNumber - d.Start.DayNumber).ThenBy(d => d.Start).First();
        Share? share = members[0].Current.Share!;
        foreach (var m in members.Skip(1))
        {
            share = share?.Intersect(m.Current.Share!);
        }
        var confidences = members.Select(m => ConfidenceRules.Of(m.Current.Sources, s => KindOf(sources, s))).ToList();
        IReadOnlyList<ShareClaim>? alternatives = null;
        Confidence confidence;
        if (share is null || confidences.Contains(Confidence.Disputed))
        {
            confidence = Confidence.Disputed;
            alternatives = share is null
                ? members.Select(m => new ShareClaim(m.Current.Share!, m.Id, m.Current.Sources.Select(c => c.Source).Distinct().ToList())).ToList()
                : null;
        }
        else
        {
            confidence = confidences.MaxBy(ConfidenceRules.Strength);
        }
        return new State(start, members, share, alternatives, confidence);
    }

    private static SourceKind KindOf(IReadOnlyDictionary<string, SourceRegistered> sources, string id) =>
        sources.TryGetValue(id, out var s) ? s.Kind : SourceKind.ThirdParty;

    /// <summary>What can be true on the days from <paramref name="day"/> to the next point.</summary>
    private static HoldingFinding FindingFor(DateOnly? day, List<Boundary> boundaries, Words words, List<FactState> retracted)
    {
        // Boundaries wholly passed on this day have happened; those whose imprecise date covers it may have.
        var happened = -1;
        var maybe = new List<int>();
        if (day is { } d)
        {
            for (var k = 0; k < boundaries.Count; k++)
            {
                // A day-precise date has happened on its own day (periods are half-open).
                var date = boundaries[k].Date;
                if (date.End <= d || (date.IsExactDay && date.Start <= d))
                {
                    happened = k;
                }
            }
            for (var k = happened + 1; k < boundaries.Count; k++)
            {
                if (boundaries[k].Date.Start <= d)
                {
                    maybe.Add(k);
                }
            }
        }
        var possible = new[] { happened }.Concat(maybe).ToList();
        var held = possible.Select(k => HeldAfter(boundaries, k)).ToList();
        if (held.All(s => s is not null))
        {
            var states = held.Select(s => s!).Distinct().ToList();
            return states.Count == 1
                ? words.Held(states[0], UntilOf(boundaries, possible[0]), retracted)
                : words.Changing(states, boundaries[maybe[0]].Date, retracted);
        }
        if (held.All(s => s is null))
        {
            return NotHeld(boundaries, happened, words, retracted);
        }
        var heldState = held.First(s => s is not null)!;
        var window = boundaries[maybe[^1]];
        return words.Uncertain(heldState, window.Date, window.Starts is not null && !window.Starts.EndsHolding, window, retracted);
    }

    private static State? HeldAfter(List<Boundary> boundaries, int k) =>
        k >= 0 && boundaries[k].Starts is { EndsHolding: false } s ? s : null;

    private static ValidDate? UntilOf(List<Boundary> boundaries, int k) =>
        k + 1 < boundaries.Count ? boundaries[k + 1].Date : null;

    private static HoldingFinding NotHeld(List<Boundary> boundaries, int happened, Words words, List<FactState> retracted)
    {
        var nextStart = boundaries.Skip(happened + 1).FirstOrDefault(b => b.Starts is { EndsHolding: false });
        if (happened < 0)
        {
            return words.NotYetHeld(nextStart!.Starts!, retracted);
        }
        var end = boundaries[happened];
        var previous = boundaries.Take(happened + 1).LastOrDefault(b => b.Starts is { EndsHolding: false })?.Starts;
        return words.NoLongerHeld(end, previous, nextStart?.Starts, retracted);
    }

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

        public HoldingFinding Changing(List<State> states, ValidDate window, List<FactState> retracted)
        {
            var share = states.Select(s => s.Share).Aggregate((a, b) => a is null || b is null ? a ?? b : a.Hull(b));
            var members = states.SelectMany(s => s.Members).ToList();
            var text = $"{holder} held a stake in {subject} throughout, but its size changed during {window.ToReadable()} "
                + $"from {StakeWords(states[0].Share)} to {StakeWords(states[^1].Share)}; on this date the ledger cannot tell which applied.";
            var confidence = states.Select(s => s.Confidence).MinBy(ConfidenceRules.Strength);
            return new HoldingFinding(HoldingStatus.Held, share, DateWithPrecision.Of(states[0].Start), null,
                confidence, Cite(members), Basis(members, retracted), Notes(text, members, retracted));
        }

        public HoldingFinding Uncertain(State s, ValidDate window, bool starting, Boundary boundary, List<FactState> retracted)
        {
            var text = starting
                ? $"{holder} acquired {StakeWords(s.Share)} in {subject} in {window.ToReadable()} ({LedgerJson.Word(window.Precision)} precision); on this date the ledger cannot tell whether it was already held. "
                : $"{holder}'s stake in {subject} ended in {window.ToReadable()} ({LedgerJson.Word(window.Precision)} precision); on this date the ledger cannot tell whether it was still held. ";
            var members = boundary.EndedFact is { } ended && !s.Members.Contains(ended) ? [.. s.Members, ended] : s.Members.ToList();
            return new HoldingFinding(HoldingStatus.Uncertain, s.Share, DateWithPrecision.Of(s.Start),
                starting ? null : DateWithPrecision.Of(window), s.Confidence, Cite(members), Basis(members, retracted),
                Notes(text + Evidence(s), s.Members, retracted), s.Alternatives);
        }

        public HoldingFinding NotYetHeld(State first, List<FactState> retracted)
        {
            var text = $"No stake of {holder} in {subject} is recorded before {first.Start.ToReadable()}, when the nearest recorded holding, "
                + $"{StakeWords(first.Share)}, starts. " + Evidence(first);
            return new HoldingFinding(HoldingStatus.NotHeld, null, null, DateWithPrecision.Of(first.Start), null,
                Cite(first.Members), Basis(first.Members, retracted), Notes(text, first.Members, retracted));
        }

        public HoldingFinding NoLongerHeld(Boundary end, State? previous, State? next, List<FactState> retracted)
        {
            var how = end.Starts is { } zero
                ? $"{holder}'s stake in {subject} fell to 0 % on {zero.Start.ToReadable()}"
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

        private string Evidence(State s)
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
            var notes = members.SelectMany(m => m.Corrections.Select(c => $" Fact {m.Id} was corrected on {c.Event.RecordedAt:yyyy-MM-dd}: {c.Reason}."))
                .Concat(retracted.Select(r => $" Fact {r.Id} was retracted on {r.Retraction!.Event.RecordedAt:yyyy-MM-dd}: {r.Retraction.Reason}."));
            return text + string.Concat(notes);
        }

        private IReadOnlyList<SourceCitation> Cite(IEnumerable<FactState> facts) =>
            facts.SelectMany(SourceCatalog.CitedBy).Distinct().Select(id => SourceCitation.Of(id, sources)).ToList();

        private static IReadOnlyList<BasisEvent> Basis(IEnumerable<FactState> members, IEnumerable<FactState> retracted) =>
            members.Concat(retracted).SelectMany(f => f.Basis).DistinctBy(e => e.Sequence).OrderBy(e => e.Sequence).Select(BasisEvent.Of).ToList();
    }
}
