using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Storage;
using System.Text.Json.Serialization;
using DealLedger.Time;

namespace DealLedger.Deals;

/// <summary>
/// The kinds of fact. <see cref="Control"/> is control of the subject that is not ownership (voting rights, the
/// right to appoint the board, senior management …): it never counts as a stake, so holdings and owners' totals stay about shares.
/// </summary>
public enum FactType { Stake, Investment, Partnership, BoardSeat, Acquisition, Announcement, Control }

public enum Instrument { Equity, ConvertibleNote, Loan, Grant, Unknown }

/// <summary>
/// One claim about the world with a valid period. The fields that apply depend on <see cref="Type"/>:
/// stake, board seat and control (Holder → Subject), investment (Investor → Investee), acquisition
/// (Acquirer → Target), partnership and announcement (Parties).
/// </summary>
public sealed record Fact
{
    public required string Id { get; init; }
    public required string Deal { get; init; }
    public required FactType Type { get; init; }
    public required ValidPeriod Valid { get; init; }
    public required IReadOnlyList<Claim> Sources { get; init; }

    public string? Holder { get; init; }
    public string? Subject { get; init; }
    public Share? Share { get; init; }
    public string? Role { get; init; }
    public string? Investor { get; init; }
    public string? Investee { get; init; }
    public Money? Amount { get; init; }
    public Money? ReportedEquivalent { get; init; }
    public Instrument? Instrument { get; init; }
    public string? Acquirer { get; init; }
    public string? Target { get; init; }
    public IReadOnlyList<string>? Parties { get; init; }
    public string? Scope { get; init; }
    public string? Title { get; init; }

    /// <summary>How a control fact's holder controls the subject ("voting rights"). Left out of JSON when null, so facts recorded before it existed keep their exact form.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Means { get; init; }

    /// <summary>The directed edge for kinds that have one (holder → subject), else null.</summary>
    public (string From, string To)? Direction => Type switch
    {
        FactType.Stake or FactType.BoardSeat or FactType.Control => (Holder!, Subject!),
        FactType.Investment => (Investor!, Investee!),
        FactType.Acquisition => (Acquirer!, Target!),
        _ => null,
    };

    /// <summary>Every organization the fact ties together.</summary>
    public IReadOnlyList<string> Organizations => Direction is { } d ? [d.From, d.To] : Parties ?? [];

    /// <summary>Same content, list by list (records compare lists by reference).</summary>
    public bool SameAs(Fact other) => LedgerJson.Canonical(this) == LedgerJson.Canonical(other);
}

/// <summary>The values a correction sets on a fact; unset fields keep their value.</summary>
public sealed record FactAmendment
{
    public Share? Share { get; init; }
    public ValidPeriod? Valid { get; init; }
    public Money? Amount { get; init; }
    public Money? ReportedEquivalent { get; init; }
    public Instrument? Instrument { get; init; }
    public string? Scope { get; init; }
    public string? Title { get; init; }
    public string? Role { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Means { get; init; }

    public Fact ApplyTo(Fact fact) => fact with
    {
        Share = Share ?? fact.Share,
        Valid = Valid ?? fact.Valid,
        Amount = Amount ?? fact.Amount,
        ReportedEquivalent = ReportedEquivalent ?? fact.ReportedEquivalent,
        Instrument = Instrument ?? fact.Instrument,
        Scope = Scope ?? fact.Scope,
        Title = Title ?? fact.Title,
        Role = Role ?? fact.Role,
        Means = Means ?? fact.Means,
    };
}
