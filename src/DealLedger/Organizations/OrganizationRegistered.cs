namespace DealLedger.Organizations;

public enum OrganizationKind { Company, Fund, PublicBody, Government, Person }

/// <summary>An organization entered the ledger under a stable slug.</summary>
public sealed record OrganizationRegistered(
    string Id,
    string Name,
    IReadOnlyList<string> Aliases,
    OrganizationKind Kind,
    string? Country,
    IReadOnlyDictionary<string, string> Identifiers);
