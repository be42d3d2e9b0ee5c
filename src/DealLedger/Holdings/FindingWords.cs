using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Holdings;

/// <summary>
/// Renders a stored <see cref="Finding"/> into the answer's <see cref="HoldingFinding"/>: its sentence
/// from the case and values, its citations from the sources registered, its basis as stored. The one
/// place the ledger's holding sentences are written.
/// </summary>
public static class FindingWords
{
    public static HoldingFinding Render(Finding f, string holder, string subject, IReadOnlyDictionary<string, SourceRegistered> sources) =>
        new(f.Status, f.Share, f.Since, f.Until, f.Confidence,
            Citations(f.Sources, sources),
            f.Basis,
            Sentence(f.Explanation, holder, subject) + Notes(f),
            f.Alternatives);

    /// <summary>The sources a finding cites (by id), as an answer shows them.</summary>
    public static List<SourceCitation> Citations(IEnumerable<string> cited, IReadOnlyDictionary<string, SourceRegistered> sources) =>
        cited.Select(id => SourceCitation.Of(id, sources)).ToList();

    private static string Sentence(Explanation explanation, string holder, string subject) => explanation switch
    {
        HeldFrom h => $"{holder} held {Share.Phrase(h.Share)} in {subject} from {h.From.ToReadable()}"
            + (h.Until is { } u ? $" until {u.ToReadable()}." : " on, with no end recorded.") + " " + Evidence(h.Evidence),
        SizeChanging c => $"{holder} held a stake in {subject} throughout, but its size changed "
            + (c.During is { } d ? $"during {d.ToReadable()}" : "around this date")
            + $" from {Share.Phrase(c.From)} to {Share.Phrase(c.To)}; on this date the ledger cannot tell which applied. " + Evidence(c.Evidence),
        AcquiredIn a => $"{holder} acquired {Share.Phrase(a.Share)} in {subject} in {a.Date.ToReadable()} ({LedgerJson.Word(a.Date.Precision)} precision); "
            + "on this date the ledger cannot tell whether it was already held. " + Evidence(a.Evidence),
        EndedIn e => $"{holder}'s stake in {subject} ended {On(e.Date)} ({LedgerJson.Word(e.Date.Precision)} precision); "
            + "on this date the ledger cannot tell whether it was still held. " + Evidence(e.Evidence),
        ZeroDisputed z => $"The sources disagree whether {holder} held any stake in {subject} from {z.From.ToReadable()}: one puts it at 0 %. " + Evidence(z.Evidence),
        OrderUnknown o => $"The dates recorded for {holder}'s stake in {subject} do not tell their order: the ledger cannot tell "
            + (o.Ended is { } ended ? $"whether it ended ({ended.ToReadable()}) before or after it was taken ({o.Taken?.ToReadable()})" : "whether it had been acquired yet")
            + ". " + Evidence(o.Evidence),
        NotYetHeld n => n.Share?.IsZero == true
            ? $"No stake of {holder} in {subject} is recorded before {n.Until.ToReadable()}, when the sources put it at 0 %. " + Evidence(n.Evidence)
            : $"No stake of {holder} in {subject} is recorded before {n.Until.ToReadable()}, when the nearest recorded holding, "
                + $"{Share.Phrase(n.Share)}, starts. " + Evidence(n.Evidence),
        NoLongerHeld n => ((n.Zero
                ? $"{holder}'s stake in {subject} was 0 % from {n.Date.ToReadable()}"
                : $"{holder}'s stake in {subject} ended {On(n.Date)}" + (n.Reason is { Length: > 0 } r ? $" ({r})" : ""))
            + (n.Next is { } next ? $"; the next recorded holding starts {next.ToReadable()}." : "; nothing recorded shows it held again.")
            + (n.Previous is { } p ? $" The nearest recorded holding was {Share.Phrase(p.Share)} from {p.From.ToReadable()}. " + Evidence(p.Evidence) : "")).TrimEnd(),
        AllRetracted => $"Every stake fact recorded about {holder} in {subject} was retracted, so the ledger no longer knows of any holding.",
        _ => throw new ArgumentException($"no words for {explanation.GetType().Name}"),
    };

    private static string On(ValidDate date) => (date.IsExactDay ? "on " : "in ") + date.ToReadable();

    private static string Evidence(Evidence e)
    {
        var basis = e.Confidence switch
        {
            Confidence.Confirmed => "Confirmed by a party to it or an official register",
            Confidence.Reported => "Reported by third parties, not confirmed by the parties",
            Confidence.Claimed => "Claimed by one party, unverified",
            _ => "Disputed: the sources disagree" + (e.Alternatives is { } alt
                ? " (" + string.Join("; ", alt.Select(a => $"{a.Share.ToReadable()} per {string.Join(", ", a.Sources)}")) + ")"
                : " (a source denies it)"),
        };
        return $"{basis}; {e.Sources} source{(e.Sources == 1 ? "" : "s")}.";
    }

    private static string Notes(Finding f) =>
        string.Concat((f.Corrections ?? []).Select(c => $" Fact {c.Fact} was corrected on {c.On}: {c.Reason}."))
        + string.Concat((f.Retractions ?? []).Select(r => $" Fact {r.Fact} was retracted on {r.On}: {r.Reason}."));
}
