using DealLedger.Deals;
using DealLedger.Sources;
using DealLedger.Time;

namespace DealLedger.Holdings;

public enum HoldingStatus { Held, NotHeld, Uncertain, Unknown }

/// <summary>A source as an answer cites it; <paramref name="Url"/> (a link to the document) only when the source has one.</summary>
public sealed record SourceCitation(string Id, string Title, string? Publisher, string? Published, SourceKind Kind,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Url = null)
{
    public static SourceCitation Of(string id, IReadOnlyDictionary<string, SourceRegistered> sources) =>
        sources.TryGetValue(id, out var s)
            ? new SourceCitation(s.Id, s.Title, s.Publisher, s.Published?.ToString(), s.Kind, s.Url)
            : new SourceCitation(id, id, null, null, SourceKind.ThirdParty);
}

public sealed record DateWithPrecision(string Date, DatePrecision Precision)
{
    public static DateWithPrecision? Of(ValidDate? date) => date is { } d ? new(d.ToString(), d.Precision) : null;
}

/// <summary>One of several incompatible shares reported for the same state (DESIGN §3 rule 5).</summary>
public sealed record ShareClaim(Share Share, string Fact, IReadOnlyList<string> Sources);

/// <summary>
/// What the ledger says about a pair over one stretch of valid time, at one stretch of recorded
/// time: everything of the answer but the question's own dates.
/// </summary>
public sealed record HoldingFinding(
    HoldingStatus Status,
    Share? Share,
    DateWithPrecision? Since,
    DateWithPrecision? Until,
    Confidence? Confidence,
    IReadOnlyList<SourceCitation> Sources,
    IReadOnlyList<EventRef> Basis,
    string Explanation,
    IReadOnlyList<ShareClaim>? Alternatives = null);

/// <summary>The answer to "what was HOLDER's stake in SUBJECT at AT, as known at KNOWNAT" (DESIGN §4).</summary>
public sealed record HoldingAnswer(
    string Holder,
    string Subject,
    string At,
    string KnownAt,
    HoldingStatus Status,
    Share? Share,
    DateWithPrecision? Since,
    DateWithPrecision? Until,
    Confidence? Confidence,
    IReadOnlyList<SourceCitation> Sources,
    IReadOnlyList<EventRef> Basis,
    string Explanation)
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ShareClaim>? Alternatives { get; init; }

    /// <summary>The merges of duplicate records this answer reads (as known at knownAt): the holding is the survivors'.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Organizations.MergeNote>? Merges { get; init; }

    public static HoldingAnswer From(string holder, string subject, DateOnly at, DateTimeOffset knownAt, HoldingFinding f) =>
        new(holder, subject, ValidDate.OfDay(at).ToString(), Instant.Format(knownAt), f.Status, f.Share, f.Since, f.Until,
            f.Confidence, f.Sources, f.Basis, f.Explanation) { Alternatives = f.Alternatives };
}
