using DealLedger.Sources;
using DealLedger.Time;

namespace DealLedger.Deals;

/// <summary>Something announced that ties organizations together; its facts follow as <see cref="FactRecorded"/>.</summary>
public sealed record DealRecorded(string Id, string? Title, ValidDate? Announced, IReadOnlyList<string> Parties);

/// <summary>A fact of a deal entered the ledger (stream: the fact).</summary>
public sealed record FactRecorded(Fact Fact);

/// <summary>Another source spoke of an existing fact.</summary>
public sealed record SourceAddedToFact(string Fact, Claim Claim, string? Id = null);

/// <summary>A fact's values were corrected; the original stays in the log.</summary>
public sealed record FactCorrected(string Fact, FactAmendment Set, string Reason, IReadOnlyList<Claim> Sources, string? Id = null);

/// <summary>A fact was withdrawn: it no longer counts, but stays in the log and in explanations. A second retraction adds its sources.</summary>
public sealed record FactRetracted(string Fact, string Reason, IReadOnlyList<Claim> Sources, string? Id = null);

/// <summary>A fact stopped being true on a date (exclusive: not true on that date). A second ending on the same date adds its sources.</summary>
public sealed record FactEnded(string Fact, ValidDate On, string? Reason, IReadOnlyList<Claim> Sources, string? Id = null);

/// <summary>
/// The optional ids of amendments (claims, corrections, retractions, endings): natural keys that let
/// the same content be recorded twice on purpose (a correction reverted, then made again).
/// </summary>
public static class AmendmentIds
{
    public static string? Of(object e) => e switch
    {
        SourceAddedToFact x => x.Id,
        FactCorrected x => x.Id,
        FactRetracted x => x.Id,
        FactEnded x => x.Id,
        _ => null,
    };
}
