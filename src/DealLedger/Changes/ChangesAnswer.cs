using System.Text.Json.Serialization;
using DealLedger.Auditing;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;

namespace DealLedger.Changes;

/// <summary>
/// How an answer changed. A knowledge diff: new (nothing known before), retracted, ended, disputed, or what differs (status,
/// share, period, confidence, sources, the terms of a tie, or only its grounds: the events and reasons it rests on). A world
/// diff: started, ended, or what differs between the two dates.
/// </summary>
public enum ChangeKind { New, Started, Ended, Retracted, Disputed, Status, Share, Period, Confidence, Sources, Terms, Grounds }

/// <summary>A stretch of a pair's holding over valid time (from inclusive, to exclusive; null: unbounded) and what the ledger says of it.</summary>
public sealed record PeriodFinding(string? From, string? To, HoldingFinding Finding);

/// <summary>An event that caused a change: as the log holds it (in the documents' words), with the sources it cites.</summary>
public sealed record ChangeEvent(LogEntry Event, IReadOnlyList<SourceCitation> Sources);

/// <summary>
/// A pair whose holding answer differs: before and after, each the stretches of the answer (the one covering the date asked,
/// or the whole history over valid time), and the events that caused it (a knowledge diff: those recorded in between).
/// </summary>
public sealed record HoldingChange(string Holder, string Subject, string Summary, IReadOnlyList<ChangeKind> Kinds,
    IReadOnlyList<PeriodFinding> Before, IReadOnlyList<PeriodFinding> After)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ChangeEvent>? Events { get; init; }
}

/// <summary>A tie as an answer shows it: the fact as the ledger holds it, and (for a date asked) whether it was in force then.</summary>
public sealed record TieState([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TieStatus? Status, FactState Fact);

/// <summary>A tie (a fact of any kind but a stake: stakes are answered by pair) whose answer differs; null before or after: none then.</summary>
public sealed record TieChange(string Fact, FactType Type, IReadOnlyList<string> Organizations, string Summary, IReadOnlyList<ChangeKind> Kinds,
    TieState? Before, TieState? After)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ChangeEvent>? Events { get; init; }
}

/// <summary>
/// Which part of the changes a page lists: it looked at <paramref name="Limit"/> pairs and ties at most, after
/// <paramref name="After"/>; <paramref name="Next"/> is the `after` of the next page, or null on the last. Ask the next
/// page with the same instants (a knowledge diff's knownTo, a world diff's knownAt: the answer echoes them).
/// </summary>
public sealed record ChangesPage(int Limit, string? After, string? Next);

/// <summary>
/// What changed (DESIGN §12). A knowledge diff: every pair and tie whose answer as known at <paramref name="KnownTo"/>
/// differs from the answer as known at <paramref name="KnownFrom"/> (on <paramref name="At"/>, or over the whole valid-time
/// history), with the events recorded in between that caused it. A world diff: every pair and tie whose answer on
/// <paramref name="ToAt"/> differs from the answer on <paramref name="At"/>, as known at <paramref name="KnownAt"/>.
/// </summary>
public sealed record ChangesAnswer(ChangeQuestion Question, string? KnownFrom, string? KnownTo, string? KnownAt, string? At, string? ToAt, string? Organization,
    IReadOnlyList<HoldingChange> Holdings, IReadOnlyList<TieChange> Ties, ChangesPage Page);
