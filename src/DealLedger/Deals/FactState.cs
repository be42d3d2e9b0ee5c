using DealLedger.Sources;
using DealLedger.Time;

namespace DealLedger.Deals;

/// <summary>An event of the log as projections and explanations cite it.</summary>
public sealed record EventRef(Guid EventId, long Sequence, string Type, DateTimeOffset RecordedAt);

/// <summary>An event of the log with its data, in sequence order.</summary>
public sealed record LoggedEvent(EventRef Ref, string StreamKey, object Data);

public sealed record CorrectionNote(EventRef Event, FactAmendment Set, string Reason, IReadOnlyList<Claim> Sources);

public sealed record RetractionNote(EventRef Event, string Reason, IReadOnlyList<Claim> Sources);

public sealed record EndingNote(EventRef Event, ValidDate On, string? Reason, IReadOnlyList<Claim> Sources);

/// <summary>
/// A fact as the log tells it so far: its current values (after corrections and added sources),
/// what touched it, and whether it was retracted or ended. The same fold serves the projections
/// and a replay of a truncated log, so both answer alike.
/// </summary>
public sealed record FactState
{
    public required Fact Original { get; init; }
    public required Fact Current { get; init; }
    public required IReadOnlyList<EventRef> Basis { get; init; }
    public IReadOnlyList<CorrectionNote> Corrections { get; init; } = [];
    public RetractionNote? Retraction { get; init; }
    public EndingNote? Ending { get; init; }

    public string Id => Current.Id;
    public bool IsRetracted => Retraction is not null;

    public static FactState Recorded(FactRecorded e, EventRef at) =>
        new() { Original = e.Fact, Current = e.Fact, Basis = [at] };

    public FactState Apply(object data, EventRef at) => data switch
    {
        SourceAddedToFact e => this with
        {
            Current = Current with { Sources = [.. Current.Sources, e.Claim] },
            Basis = [.. Basis, at],
        },
        FactCorrected e => this with
        {
            Current = e.Set.ApplyTo(Current) with { Sources = [.. Current.Sources, .. e.Sources] },
            Corrections = [.. Corrections, new CorrectionNote(at, e.Set, e.Reason, e.Sources)],
            Basis = [.. Basis, at],
        },
        FactRetracted e => this with { Retraction = new RetractionNote(at, e.Reason, e.Sources), Basis = [.. Basis, at] },
        FactEnded e => this with { Ending = new EndingNote(at, e.On, e.Reason, e.Sources), Basis = [.. Basis, at] },
        _ => this,
    };

    /// <summary>The date the fact stops being true, if known: an ending, else its period's end.</summary>
    public ValidDate? EndsOn => Ending?.On ?? Current.Valid.To;
}
