using DealLedger.Sources;
using DealLedger.Time;

namespace DealLedger.Deals;

/// <summary>An event of the log as projections and explanations cite it.</summary>
public sealed record EventRef(Guid EventId, long Sequence, string Type, DateTimeOffset RecordedAt);

/// <summary>An event of the log with its data, in sequence order.</summary>
public sealed record LoggedEvent(EventRef Ref, object Data);

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

    /// <summary>The ids of the amendments applied, with the canonical content each was recorded with.</summary>
    public IReadOnlyDictionary<string, string> Amendments { get; init; } = new Dictionary<string, string>();

    public string Id => Current.Id;

    /// <summary>The current values of a stake fact (holdings code reads only stakes). Not public: not part of an answer's JSON.</summary>
    internal Stake Stake => (Stake)Current;

    /// <summary>How many events made this state: the fact's version for optimistic concurrency (ETag).</summary>
    public int Version => Basis.Count;
    public bool IsRetracted => Retraction is not null;

    public static FactState Recorded(FactRecorded e, EventRef at) =>
        new() { Original = e.Fact, Current = e.Fact, Basis = [at] };

    /// <summary>The fact a fact event is about, or null for any other event.</summary>
    public static string? FactIdOf(object e) => e switch
    {
        FactRecorded x => x.Fact.Id,
        SourceAddedToFact x => x.Fact,
        FactCorrected x => x.Fact,
        FactRetracted x => x.Fact,
        FactEnded x => x.Fact,
        _ => null,
    };

    /// <summary>One step of the fold: a recorded fact starts its state; any other fact event amends it.</summary>
    public static FactState Next(FactState? current, object e, EventRef at) => e is FactRecorded r
        ? Recorded(r, at)
        : (current ?? throw new InvalidOperationException($"event {at.Sequence} amends fact '{FactIdOf(e)}', which was never recorded")).Apply(e, at);

    public FactState Apply(object data, EventRef at)
    {
        var next = Amend(data, at);
        return AmendmentIds.Of(data) is { } id
            ? next with { Amendments = new Dictionary<string, string>(Amendments) { [id] = Storage.LedgerJson.Canonical(data) } }
            : next;
    }

    private FactState Amend(object data, EventRef at) => data switch
    {
        SourceAddedToFact e => this with
        {
            Current = Current with { Sources = [.. Current.Sources, e.Claim] },
            Basis = [.. Basis, at],
        },
        FactCorrected e => this with
        {
            Current = Corrected(Current, e),
            Corrections = [.. Corrections, new CorrectionNote(at, e.Set, e.Reason, e.Sources)],
            Basis = [.. Basis, at],
        },
        // A second retraction or ending (same date) brings more sources; the first one's date and reason stand.
        FactRetracted e => this with
        {
            Retraction = Retraction is null ? new RetractionNote(at, e.Reason, e.Sources) : Retraction with { Sources = Union(Retraction.Sources, e.Sources) },
            Basis = [.. Basis, at],
        },
        FactEnded e => this with
        {
            Ending = Ending is null ? new EndingNote(at, e.On, e.Reason, e.Sources) : Ending with { Sources = Union(Ending.Sources, e.Sources) },
            Basis = [.. Basis, at],
        },
        _ => this,
    };

    /// <summary>The fact after a correction: the values it sets, and its sources added to the fact's.</summary>
    public static Fact Corrected(Fact fact, FactCorrected e) => e.Set.ApplyTo(fact) with { Sources = Union(fact.Sources, e.Sources) };

    private static IReadOnlyList<Claim> Union(IReadOnlyList<Claim> a, IReadOnlyList<Claim> b) =>
        [.. a, .. b.Where(x => !a.Any(y => y.Source == x.Source))];

    /// <summary>The date the fact stops being true, if known: an ending, else its period's end.</summary>
    public ValidDate? EndsOn => Ending?.On ?? Current.Valid.To;
}
