using System.Text.Json;
using System.Text.RegularExpressions;
using DealLedger.Time;

namespace DealLedger.Bods;

/// <summary>
/// Annotations of a statement: kept as notes on the claims of the facts they point at, read as
/// corrections when their motivation is `correcting`, and — for the two the ledger's own export
/// writes — read back as the precision of a date BODS cannot express.
/// </summary>
internal static partial class BodsAnnotations
{
    /// <param name="Interest">The interest it points into (/interests/N or /recordDetails/interests/N), else null: the whole statement.</param>
    /// <param name="Field">The interest's field it points at (startDate …), if any.</param>
    public sealed record Annotation(string Pointer, int? Interest, string? Field, string Motivation, string? Description, string? Url, string? Author)
    {
        /// <summary>Written by the ledger's export to carry a date's precision; not a note worth keeping.</summary>
        public bool Ours => Description is { } d && (RoundedPattern().IsMatch(d) || InForcePattern().IsMatch(d));

        public string Text => $"{Motivation} annotation at '{Pointer}': {Description ?? "(no description)"}"
            + (Url is null ? "" : $" <{Url}>") + (Author is null ? "" : $" (by {Author})");
    }

    public static IReadOnlyList<Annotation> Of(BodsStatement s) =>
        BodsStatement.List(s.Json, "annotations").Select(a =>
        {
            var pointer = BodsStatement.Text(a, "statementPointerTarget") ?? "";
            var p = pointer.StartsWith("/recordDetails", StringComparison.Ordinal) ? pointer["/recordDetails".Length..] : pointer;
            var m = PointerPattern().Match(p);
            return new Annotation(pointer, m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null,
                m.Success && m.Groups[2].Success ? m.Groups[2].Value : null,
                BodsStatement.Text(a, "motivation") ?? "commenting", BodsStatement.Text(a, "description"), BodsStatement.Text(a, "url"),
                BodsStatement.Get(a, "createdBy") is { } by ? BodsStatement.Text(by, "name") : null);
        }).ToList();

    /// <summary>The reason of a `correcting` annotation on the interest (or on the whole statement), if there is one.</summary>
    public static string? Correcting(IReadOnlyList<Annotation> annotations, int interest) =>
        annotations.Where(a => a.Motivation == "correcting" && (a.Interest == interest || (a.Interest is null && a.Pointer is "" or "/")))
            .Select(a => a.Description ?? "a correcting annotation gives no description").FirstOrDefault();

    /// <summary>The text the export writes for a date it had to round to its first day.</summary>
    public static string RoundedText(ValidDate date) =>
        $"Rounded to the first day of its {(date.Precision == DatePrecision.Month ? "month" : "year")}, as BODS asks: the date is known only to the {(date.Precision == DatePrecision.Month ? "month" : "year")} ({date}).";

    /// <summary>The text the export writes for an interest known to be in force by a date, its start unknown.</summary>
    public static string InForceText(ValidDate date) => $"In force by {date}; when it began is not known.";

    /// <summary>The date at its own precision, when an annotation of the export says the day given was rounded from it.</summary>
    public static ValidDate? Rounded(IReadOnlyList<Annotation> annotations, int interest, string field, DateOnly day) =>
        annotations.Where(a => a.Interest == interest && a.Field == field && a.Description is not null)
            .Select(a => RoundedPattern().Match(a.Description!)).Where(m => m.Success)
            .Select(m => ValidDate.TryParse(m.Groups[1].Value, out var d, out _) && d.Start == day ? d : (ValidDate?)null)
            .FirstOrDefault(d => d is not null);

    public static ValidDate? InForceBy(IReadOnlyList<Annotation> annotations, int interest) =>
        annotations.Where(a => a.Interest == interest && a.Field is null && a.Description is not null)
            .Select(a => InForcePattern().Match(a.Description!)).Where(m => m.Success)
            .Select(m => ValidDate.TryParse(m.Groups[1].Value, out var d, out _) ? d : (ValidDate?)null)
            .FirstOrDefault(d => d is not null);

    [GeneratedRegex(@"^/interests/(\d+)(?:/(\w+))?")]
    private static partial Regex PointerPattern();

    [GeneratedRegex(@"the date is known only to the (?:month|year) \((\d{4}(?:-\d{2})?)\)")]
    private static partial Regex RoundedPattern();

    [GeneratedRegex(@"^In force by (\d{4}(?:-\d{2}(?:-\d{2})?)?); when it began is not known")]
    private static partial Regex InForcePattern();
}
