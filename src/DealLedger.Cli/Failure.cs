using Npgsql;

namespace DealLedger.Cli;

/// <summary>The one mapping from failures to the CLI's exit code and error line: 2 for bad input, 1 for anything else.</summary>
internal static class Failure
{
    public static (int Code, string Message) Describe(Exception e) => e switch
    {
        LedgerException { Kind: LedgerErrorKind.InvalidInput or LedgerErrorKind.NotFound or LedgerErrorKind.Conflict } l => (2, l.Message),
        LedgerException l => (1, l.Message),
        PostgresException { SqlState: "3D000" } p => (1, $"the database does not exist: {p.MessageText}"),
        PostgresException { SqlState: "42P01" } => (1, "the ledger's schema is missing: run 'dealledger migrate' first"),
        PostgresException p => (1, $"database error {p.SqlState}: {p.MessageText}"),
        NpgsqlException n => (1, $"cannot reach the database: {n.InnerException?.Message ?? n.Message}"),
        IOException io => (1, io.Message),
        UnauthorizedAccessException ua => (1, ua.Message),
        OperationCanceledException => (1, "cancelled"),
        _ => (1, $"unexpected error ({e.GetType().Name}): {e.Message}"),
    };
}
