using System.Globalization;

namespace DealLedger.Time;

/// <summary>The two time arguments of every query, read from text the same way by the CLI and the API.</summary>
public static class QueryArguments
{
    /// <param name="name">How the caller spells the argument (--at, at), for the error.</param>
    public static DateOnly? Day(string? text, string name) =>
        text is null ? null
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day
        : throw new LedgerException(LedgerErrorKind.InvalidInput, $"{name} '{text}' is not a date: use YYYY-MM-DD (e.g. 2024-06-01)") { Field = name };

    public static DateTimeOffset? KnownAt(string? text, string name) =>
        text is null ? null
        : Instant.TryParse(text, out var instant) ? instant
        : throw new LedgerException(LedgerErrorKind.InvalidInput, $"{name} '{text}' is not an instant: use ISO 8601, e.g. 2026-01-01T00:00:00Z") { Field = name };
}
