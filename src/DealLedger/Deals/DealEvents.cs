using DealLedger.Sources;
using DealLedger.Time;

namespace DealLedger.Deals;

/// <summary>Something announced that ties organizations together; its facts follow as <see cref="FactRecorded"/>.</summary>
public sealed record DealRecorded(string Id, string? Title, ValidDate? Announced, IReadOnlyList<string> Parties);

/// <summary>A fact of a deal entered the ledger (stream: the fact).</summary>
public sealed record FactRecorded(Fact Fact);

/// <summary>Another source spoke of an existing fact.</summary>
public sealed record SourceAddedToFact(string Fact, Claim Claim);

/// <summary>A fact's values were corrected; the original stays in the log.</summary>
public sealed record FactCorrected(string Fact, FactAmendment Set, string Reason, IReadOnlyList<Claim> Sources);

/// <summary>A fact was withdrawn: it no longer counts, but stays in the log and in explanations.</summary>
public sealed record FactRetracted(string Fact, string Reason, IReadOnlyList<Claim> Sources);

/// <summary>A fact stopped being true on a date (exclusive: not true on that date).</summary>
public sealed record FactEnded(string Fact, ValidDate On, string? Reason, IReadOnlyList<Claim> Sources);
