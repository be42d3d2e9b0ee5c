using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using DealLedger.Importing;

namespace DealLedger.Time;

/// <summary>The arguments of queries (dates, instants, ids, paging), read from text the same way by the CLI and the API.</summary>
public static class QueryArguments
{
    /// <summary>
    /// A day of the years documents can name (0001–9998, ValidDate's rule): a question about a day no
    /// fact can mention is refused, not answered from the calendar's edge.
    /// </summary>
    /// <param name="name">How the caller spells the argument (--at, at), for the error.</param>
    public static DateOnly? Day(string? text, string name) =>
        text is null ? null
        : !DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
            ? throw Invalid(name, $"{name} '{Shown(text)}' is not a date: use YYYY-MM-DD (e.g. 2024-06-01)")
        : ValidDate.TryParse(text, out var day, out var error) ? day.Start
        : throw Invalid(name, $"{name} {error}");

    public static DateTimeOffset? KnownAt(string? text, string name) =>
        text is null ? null
        : Instant.TryParse(text, out var instant) ? instant
        : throw Invalid(name, $"{name} '{Shown(text)}' is not an instant: use ISO 8601, e.g. 2026-01-01T00:00:00Z");

    /// <summary>
    /// An id of the ledger as a query names it (an organization, a fact). Text that can never be an
    /// id ("Microsoft", "x'; drop table") is bad input, told apart from a well-formed id the ledger
    /// does not know (not found). Absent (null) stays absent, for a query that may name one.
    /// </summary>
    [return: NotNullIfNotNull(nameof(text))]
    public static string? Id(string? text, string name) =>
        text is null ? null
        : Fields.IsId(text) ? text
        : throw Invalid(name, $"{name} '{Shown(text)}' is not an id: use lowercase letters, digits and single hyphens (e.g. mistral-ai), at most 100 characters");

    /// <summary>A yes-or-no switch of a query ("true" or "false"), false when absent.</summary>
    public static bool Flag(string? text, string name) =>
        text is null ? false
        : bool.TryParse(text, out var on) ? on
        : throw Invalid(name, $"{name} '{Shown(text)}' is not true or false");

    /// <summary>A whole number of 0 or more (a sequence to start after, a page size), or <paramref name="fallback"/> when absent.</summary>
    public static long Count(string? text, string name, long fallback) =>
        text is null ? fallback
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw Invalid(name, $"{name} '{Shown(text)}' is not a whole number of 0 or more");

    /// <summary>A page of the log or the feed: a sequence to start after, and a page size from 1 to <paramref name="maxLimit"/>.</summary>
    public static (long After, int Limit) Page(long after, long limit, int maxLimit, string afterName = "after", string limitName = "limit")
    {
        if (after < 0)
        {
            throw Invalid(afterName, $"{afterName} must be 0 or more, got {after}");
        }
        if (limit < 1 || limit > maxLimit)
        {
            throw Invalid(limitName, $"{limitName} must be between 1 and {maxLimit}, got {limit}");
        }
        return (after, (int)limit);
    }

    /// <summary>Free text a query filters by (a stream, a writer): no control characters, and not a megabyte of it.</summary>
    public static string? Text(string? text, string name)
    {
        if (text is null)
        {
            return null;
        }
        if (text.Length > Fields.MaxText || text.Any(char.IsControl))
        {
            throw Invalid(name, $"{name} '{Shown(text)}' is not a value to filter by: at most {Fields.MaxText} characters, no control characters");
        }
        return text;
    }

    /// <summary>The argument as an error may quote it: clipped, with control characters shown as escapes.</summary>
    public static string Shown(string text) =>
        string.Concat(Fields.Clip(text).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    private static LedgerException Invalid(string name, string message) => new(LedgerErrorKind.InvalidInput, message) { Field = name };
}
