namespace DealLedger.Organizations;

/// <summary>
/// "<paramref name="Duplicate"/> and <paramref name="Into"/> are the same organization": the ledger's records of it are read as
/// one, under <paramref name="Into"/>, from this event's recorded time on (as known before it, they stay two). About the
/// ledger's records, not the world: it has no valid date and no sources, but a writer and a reason.
/// </summary>
/// <param name="Writer">Who recorded it: the write's own writer (an API key's name, the CLI's user), set by the ledger, never by a client.</param>
public sealed record OrganizationsMerged(string Duplicate, string Into, string Reason, string Writer);

/// <summary>The merge of <paramref name="Duplicate"/> into <paramref name="Into"/> undone: from this event's recorded time on, the two records are read apart again.</summary>
public sealed record OrganizationMergeUndone(string Duplicate, string Into, string Reason, string Writer);
