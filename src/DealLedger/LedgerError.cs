namespace DealLedger;

public enum LedgerErrorKind
{
    /// <summary>The input breaks a rule; nothing was stored (CLI exit 2, HTTP 400).</summary>
    InvalidInput,
    /// <summary>An id names nothing the ledger knows (HTTP 404).</summary>
    NotFound,
    /// <summary>Another writer changed what this command expected (HTTP 409/412); retry.</summary>
    Conflict,
}

/// <summary>A failure a user can act on, with one precise sentence. Hosts map it to exit codes and problem details.</summary>
public sealed class LedgerException(LedgerErrorKind kind, string message) : Exception(message)
{
    public LedgerErrorKind Kind { get; } = kind;

    public static LedgerException Invalid(string message) => new(LedgerErrorKind.InvalidInput, message);
    public static LedgerException NotFound(string message) => new(LedgerErrorKind.NotFound, message);
    public static LedgerException Conflict(string message) => new(LedgerErrorKind.Conflict, message);
}
