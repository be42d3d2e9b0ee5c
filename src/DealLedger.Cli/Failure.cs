using Npgsql;

namespace DealLedger.Cli;

/// <summary>The one mapping from failures to the CLI's exit code and error line: 2 for bad input, 1 for anything else.</summary>
internal static class Failure
{
    /// <summary>The exit code and the one line to print.</summary>
    public static (int Code, string Message) Describe(Exception e)
    {
        var (code, message) = Classify(e);
        return (code, OneLine(message));
    }

    /// <summary>Control characters a message quotes from its input (a newline, the ESC of a terminal sequence) are shown escaped, never sent to the terminal: the error stays one line.</summary>
    public static string OneLine(string message) =>
        string.Concat(message.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    private static (int Code, string Message) Classify(Exception e) => e switch
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
