using DealLedger.Time;

namespace DealLedger.Sources;

/// <summary>A document that states facts entered the ledger. Registering the same document again is a no-op.</summary>
public sealed record SourceRegistered(
    string Id,
    string Title,
    string? Publisher,
    ValidDate? Published,
    string? Language,
    SourceKind Kind,
    string? Url,
    string? ContentHash);
