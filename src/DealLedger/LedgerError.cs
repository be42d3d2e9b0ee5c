namespace DealLedger;

public enum LedgerErrorKind
{
    /// <summary>The input breaks a rule; nothing was stored (CLI exit 2, HTTP 400).</summary>
    InvalidInput,
    /// <summary>An id names nothing the ledger knows (HTTP 404).</summary>
    NotFound,
    /// <summary>The command conflicts with what the ledger holds (HTTP 409).</summary>
    Conflict,
    /// <summary>Another writer changed what this command read first (If-Match; HTTP 412): read again and retry.</summary>
    Stale,
}

/// <summary>A failure a user can act on, with one precise sentence. Hosts map it to exit codes and problem details.</summary>
public sealed class LedgerException(LedgerErrorKind kind, string message) : Exception(message)
{
    public LedgerErrorKind Kind { get; } = kind;

    /// <summary>The input field at fault, when there is one ("share.max", "at"): APIs name it apart from the message.</summary>
    public string? Field { get; init; }

    public static LedgerException Invalid(string message) => new(LedgerErrorKind.InvalidInput, message);
    public static LedgerException NotFound(string message) => new(LedgerErrorKind.NotFound, message);
    public static LedgerException Conflict(string message) => new(LedgerErrorKind.Conflict, message);
    public static LedgerException Stale(string message) => new(LedgerErrorKind.Stale, message);
}
