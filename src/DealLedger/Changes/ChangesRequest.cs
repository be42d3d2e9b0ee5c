using DealLedger.Time;

namespace DealLedger.Changes;

/// <summary>Which `changes` question: what the ledger learned between two instants, or what changed in the world between two dates.</summary>
public enum ChangeQuestion { Knowledge, World }

/// <summary>
/// Where a page of changes ends: the last pair (holder:subject) or tie (a fact id) it looked at. Pairs come first, in id
/// order, then ties: a cursor naming a fact has passed every pair.
/// </summary>
public sealed record ChangesCursor(string? Holder, string? Subject, string? Fact)
{
    public override string ToString() => Fact ?? $"{Holder}:{Subject}";

    public static ChangesCursor? Parse(string? text, string name)
    {
        if (text is null)
        {
            return null;
        }
        var parts = text.Split(':');
        return parts.Length switch
        {
            1 => new ChangesCursor(null, null, QueryArguments.Id(text, name)),
            2 => new ChangesCursor(QueryArguments.Id(parts[0], name), QueryArguments.Id(parts[1], name), null),
            _ => throw new LedgerException(LedgerErrorKind.InvalidInput, $"{name} '{QueryArguments.Shown(text)}' is not where a page ended: use the answer's page.next (a fact id, or HOLDER:SUBJECT)") { Field = name },
        };
    }
}

/// <summary>
/// A `changes` question, read from text the same way by the CLI and the API (their spellings of each argument name the
/// field at fault). A knowledge diff names knownFrom (and knownTo, default now, and optionally a date `at`); a world diff
/// names two dates, at and toAt (and knownAt, default now).
/// </summary>
public sealed record ChangesRequest(ChangeQuestion Question, DateTimeOffset? KnownFrom, DateTimeOffset? KnownTo, DateTimeOffset? KnownAt,
    DateOnly? At, DateOnly? ToAt, string? Organization, int Limit, ChangesCursor? After)
{
    public const int DefaultLimit = 100;

    public const int MaxLimit = 1_000;

    /// <summary>How the caller spells each argument (camelCase over HTTP, --kebab-case on the CLI), for the errors found later.</summary>
    internal Func<string, string> Spelled { get; init; } = name => name;

    /// <param name="cli">Whether the arguments came from the CLI (errors then name --known-from, not knownFrom).</param>
    public static ChangesRequest Parse(string? knownFrom, string? knownTo, string? at, string? toAt, string? knownAt, string? org, string? limit, string? after, bool cli)
    {
        string Name(string camel) => cli ? "--" + string.Concat(camel.Select(c => char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : c.ToString())) : camel;
        var from = QueryArguments.KnownAt(knownFrom, Name("knownFrom"));
        var to = QueryArguments.KnownAt(knownTo, Name("knownTo"));
        var asked = QueryArguments.KnownAt(knownAt, Name("knownAt"));
        var day = QueryArguments.Day(at, Name("at"));
        var toDay = QueryArguments.Day(toAt, Name("toAt"));
        var page = QueryArguments.Page(0, QueryArguments.Count(limit, Name("limit"), DefaultLimit), MaxLimit, Name("after"), Name("limit"));
        var request = new ChangesRequest(ChangeQuestion.Knowledge, from, to, asked, day, toDay, QueryArguments.Id(org, Name("org")), page.Limit,
            ChangesCursor.Parse(after, Name("after"))) { Spelled = Name };
        LedgerException Invalid(string field, string message) => new(LedgerErrorKind.InvalidInput, message) { Field = Name(field) };
        if (from is null && toDay is null && day is not null)
        {
            throw Invalid("toAt", $"{Name("at")} alone is one date: give {Name("toAt")} too (what changed in the world between two dates), or {Name("knownFrom")} (what the ledger learned since an instant, on that date)");
        }
        if (from is null && toDay is null)
        {
            throw Invalid("knownFrom", $"changes compares two moments: give {Name("knownFrom")} (what the ledger learned since an instant) or {Name("at")} and {Name("toAt")} (what changed in the world between two dates)");
        }
        if (from is not null)
        {
            if (toDay is not null)
            {
                throw Invalid("toAt", $"{Name("toAt")} compares two dates, {Name("knownFrom")} two instants: ask one of them at a time");
            }
            if (asked is not null)
            {
                throw Invalid("knownAt", $"a knowledge diff runs from {Name("knownFrom")} to {Name("knownTo")}: give {Name("knownTo")}, not {Name("knownAt")}");
            }
            if (to is not null && from > to)
            {
                throw Invalid("knownFrom", $"{Name("knownFrom")} {Instant.Format(from.Value)} is after {Name("knownTo")} {Instant.Format(to.Value)}");
            }
            return request;
        }
        if (to is not null)
        {
            throw Invalid("knownTo", $"a world diff compares two dates as known at one instant: give {Name("knownAt")}, not {Name("knownTo")}");
        }
        if (day is null)
        {
            throw Invalid("at", $"a world diff compares {Name("at")} with {Name("toAt")}: give both dates");
        }
        if (day > toDay)
        {
            throw Invalid("toAt", $"{Name("toAt")} {ValidDate.OfDay(toDay!.Value)} is before {Name("at")} {ValidDate.OfDay(day.Value)}");
        }
        return request with { Question = ChangeQuestion.World };
    }
}
