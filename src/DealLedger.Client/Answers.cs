using System.Text.Json.Serialization;

namespace DealLedger.Client;

// The answers of DESIGN §4 as a downstream app reads them. These mirror the server's records
// (src/DealLedger/Holdings/HoldingAnswer.cs) without depending on the ledger's core.

public enum HoldingStatus { Held, NotHeld, Uncertain, Unknown }

public enum DatePrecision { Day, Month, Year }

public enum Confidence { Confirmed, Reported, Claimed, Disputed, Retracted }

public enum SourceKind { SelfDeclaration, ThirdParty, OfficialRegister, PrimaryResearch }

/// <summary>A stake's size in percent: exact, or a range with inclusive or exclusive ends, plus the words a source used.</summary>
public sealed record Share(decimal? Exact, decimal? Min, bool MinInclusive, decimal? Max, bool MaxInclusive, string? Wording);

/// <summary>A valid date as the ledger knows it: "2024-02" with month precision.</summary>
public sealed record DateWithPrecision(string Date, DatePrecision Precision);

/// <summary>A source as an answer cites it; <paramref name="Url"/> only when the source has a link.</summary>
public sealed record SourceCitation(string Id, string Title, string? Publisher, string? Published, SourceKind Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Url = null);

/// <summary>An event an answer rests on; open it with <see cref="LedgerClient.EventsAsync"/>.</summary>
public sealed record BasisEvent(Guid EventId, long Sequence, string Type, DateTimeOffset RecordedAt);

/// <summary>One of several incompatible shares reported for the same state (a disputed answer).</summary>
public sealed record ShareClaim(Share Share, string Fact, IReadOnlyList<string> Sources);

/// <summary>"What was HOLDER's stake in SUBJECT at AT, as known at KNOWNAT, and how do we know?" (DESIGN §4).</summary>
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
    IReadOnlyList<BasisEvent> Basis,
    string Explanation)
{
    /// <summary>For a disputed answer: each size with its fact and sources.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ShareClaim>? Alternatives { get; init; }
}

/// <summary>What a write did: counts of what was new and what the ledger already held.</summary>
public sealed record ImportReport(
    int Documents,
    int EventsAppended,
    long? LastSequence,
    DateTimeOffset? RecordedAt,
    IReadOnlyDictionary<string, int> Recorded,
    IReadOnlyDictionary<string, int> AlreadyKnown);

/// <summary>What an amendment did, and the fact's new ETag (send it as If-Match on the next amendment).</summary>
public sealed record AmendmentReport(ImportReport Report, string? ETag);

/// <summary>A fact as the ledger holds it now (its JSON), and its ETag: the fact's version, quoted ("3").</summary>
public sealed record VersionedFact(System.Text.Json.JsonElement State, string ETag);
