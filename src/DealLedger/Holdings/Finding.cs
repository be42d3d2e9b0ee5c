using System.Text.Json;
using System.Text.Json.Serialization;
using DealLedger.Deals;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Holdings;

/// <summary>
/// What the ledger says about a pair over one stretch, as data (the finding stored in holding_segments):
/// sources by id, the basis events as the log holds them (id, sequence, type, recorded time: they never
/// change, and an answer then needs no read of the log), the explanation as its case and values. No sentence
/// and no copy of a source is stored, so wording can change without a rebuild and a row stays small;
/// <see cref="FindingWords"/> renders it into the <see cref="HoldingFinding"/> an answer shows.
/// </summary>
public sealed record Finding(
    HoldingStatus Status,
    Share? Share,
    DateWithPrecision? Since,
    DateWithPrecision? Until,
    Confidence? Confidence,
    IReadOnlyList<string> Sources,
    IReadOnlyList<EventRef> Basis,
    Explanation Explanation,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<FactNote>? Corrections = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<FactNote>? Retractions = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ShareClaim>? Alternatives = null)
{
    /// <summary>The finding as stored: two findings are the same when these are.</summary>
    public string Canonical() => LedgerJson.Canonical(this);

    /// <summary>A stored finding; one another version of the projections wrote is refused with what to do.</summary>
    public static Finding Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Finding>(json, LedgerJson.AsWritten) ?? throw new JsonException("a null finding");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            // Not as this ledger writes it (a discriminator not first, or worse): read as any JSON is.
        }
        try
        {
            return LedgerJson.Deserialize<Finding>(json);
        }
        catch (System.Text.Json.JsonException)
        {
            throw OfAnotherVersion();
        }
    }

    internal static LedgerException OfAnotherVersion() => new(LedgerErrorKind.Conflict,
        $"the holding projections were built by another version of DealLedger (this one writes version {ProjectionTables.Version}): run `dealledger rebuild`");
}

/// <summary>
/// What a stored finding reads (status, share, dates, confidence, sources, basis, alternatives) without its explanation and
/// notes: what answers that list many holdings show of each (an organization's ties, a look-through's chains). Only a
/// holding's own answer puts the explanation in words, and parsing it is about half of what parsing a finding costs.
/// </summary>
public sealed record Reading(
    HoldingStatus Status,
    Share? Share,
    DateWithPrecision? Since,
    DateWithPrecision? Until,
    Confidence? Confidence,
    IReadOnlyList<string> Sources,
    IReadOnlyList<EventRef> Basis,
    IReadOnlyList<ShareClaim>? Alternatives = null)
{
    /// <summary>A stored finding's reading, its explanation skipped unread; one another version of the projections wrote is refused with what to do.</summary>
    public static Reading Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Reading>(json, LedgerJson.AsWritten) is { Sources: not null, Basis: not null } reading ? reading : throw Finding.OfAnotherVersion();
        }
        catch (JsonException)
        {
            throw Finding.OfAnotherVersion();
        }
    }
}

/// <summary>A correction or a retraction of a fact the finding rests on: which fact, on which (UTC) day, why.</summary>
public sealed record FactNote(string Fact, string On, string Reason);

/// <summary>How a stretch's reading was reached, for its sentence: one case per kind of reading.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "case")]
[JsonDerivedType(typeof(HeldFrom), "held")]
[JsonDerivedType(typeof(SizeChanging), "changing")]
[JsonDerivedType(typeof(AcquiredIn), "acquired")]
[JsonDerivedType(typeof(EndedIn), "ended")]
[JsonDerivedType(typeof(ZeroDisputed), "zero-disputed")]
[JsonDerivedType(typeof(OrderUnknown), "order-unknown")]
[JsonDerivedType(typeof(NotYetHeld), "not-yet-held")]
[JsonDerivedType(typeof(NoLongerHeld), "no-longer-held")]
[JsonDerivedType(typeof(AllRetracted), "all-retracted")]
public abstract record Explanation;

/// <summary>The grounds of a reading: the weakest confidence, how many distinct sources, and (disputed) what each claimed.</summary>
public sealed record Evidence(Confidence Confidence, int Sources,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ShareClaim>? Alternatives = null);

/// <summary>Held from a date, until another or on.</summary>
public sealed record HeldFrom(Share? Share, ValidDate From, ValidDate? Until, Evidence Evidence) : Explanation;

/// <summary>Held throughout, but the size changed during a window (or around the date) from one share to another.</summary>
public sealed record SizeChanging(Share? From, Share? To, ValidDate? During, Evidence Evidence) : Explanation;

/// <summary>Acquired within an imprecise date that covers the day.</summary>
public sealed record AcquiredIn(Share? Share, ValidDate Date, Evidence Evidence) : Explanation;

/// <summary>Ended within an imprecise date that covers the day.</summary>
public sealed record EndedIn(ValidDate Date, Evidence Evidence) : Explanation;

/// <summary>A dispute between a stake and 0 % from a date.</summary>
public sealed record ZeroDisputed(ValidDate From, Evidence Evidence) : Explanation;

/// <summary>The dates do not order an end (when known) and a start (<paramref name="Taken"/>).</summary>
public sealed record OrderUnknown(ValidDate? Ended, ValidDate? Taken, Evidence Evidence) : Explanation;

/// <summary>Before the first recorded state (its share: 0 % says so).</summary>
public sealed record NotYetHeld(ValidDate Until, Share? Share, Evidence Evidence) : Explanation;

/// <summary>After a holding ended (at 0 % from <paramref name="Date"/> when <paramref name="Zero"/>), with the next and the nearest earlier holding.</summary>
public sealed record NoLongerHeld(ValidDate Date, bool Zero, string? Reason, ValidDate? Next, EarlierHolding? Previous) : Explanation;

/// <summary>The nearest holding recorded before an end.</summary>
public sealed record EarlierHolding(Share? Share, ValidDate From, Evidence Evidence);

/// <summary>Every stake fact of the pair was retracted.</summary>
public sealed record AllRetracted : Explanation;
