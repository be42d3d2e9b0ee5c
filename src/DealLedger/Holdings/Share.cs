using System.Globalization;
using System.Text.Json.Serialization;

namespace DealLedger.Holdings;

/// <summary>
/// A stake's size in percent (0–100): exact, or a range with inclusive or exclusive ends,
/// plus the words a source used ("small minority stake"). A range never pretends to be a number.
/// </summary>
public sealed record Share(decimal? Exact, decimal? Min, bool MinInclusive, decimal? Max, bool MaxInclusive, string? Wording)
{
    public static Share OfExact(decimal value, string? wording = null) => new(value, null, true, null, true, wording);

    public static Share Range(decimal min, bool minInclusive, decimal max, bool maxInclusive, string? wording = null) =>
        new(null, min, minInclusive, max, maxInclusive, wording);

    [JsonIgnore]
    public decimal Lower => Exact ?? Min ?? 0m;
    [JsonIgnore]
    public decimal Upper => Exact ?? Max ?? 100m;
    [JsonIgnore]
    public bool LowerInclusive => Exact is not null || (Min is null || MinInclusive);
    [JsonIgnore]
    public bool UpperInclusive => Exact is not null || (Max is null || MaxInclusive);

    [JsonIgnore]
    public bool IsZero => Exact == 0m;

    /// <summary>The values both shares allow, or null when they cannot both be true.</summary>
    public Share? Intersect(Share other)
    {
        var (lower, lowerInc) = Lower > other.Lower ? (Lower, LowerInclusive)
            : other.Lower > Lower ? (other.Lower, other.LowerInclusive)
            : (Lower, LowerInclusive && other.LowerInclusive);
        var (upper, upperInc) = Upper < other.Upper ? (Upper, UpperInclusive)
            : other.Upper < Upper ? (other.Upper, other.UpperInclusive)
            : (Upper, UpperInclusive && other.UpperInclusive);
        if (lower > upper || (lower == upper && !(lowerInc && upperInc)))
        {
            return null;
        }
        var wording = Same(this, lower, lowerInc, upper, upperInc) ? Wording
            : Same(other, lower, lowerInc, upper, upperInc) ? other.Wording
            : null;
        return lower == upper ? OfExact(lower, wording) : Range(lower, lowerInc, upper, upperInc, wording);
    }

    /// <summary>The smallest range covering both shares (for a change of size within an imprecise date).</summary>
    public Share Hull(Share other)
    {
        var (lower, lowerInc) = Lower < other.Lower ? (Lower, LowerInclusive)
            : other.Lower < Lower ? (other.Lower, other.LowerInclusive)
            : (Lower, LowerInclusive || other.LowerInclusive);
        var (upper, upperInc) = Upper > other.Upper ? (Upper, UpperInclusive)
            : other.Upper > Upper ? (other.Upper, other.UpperInclusive)
            : (Upper, UpperInclusive || other.UpperInclusive);
        return lower == upper && lowerInc && upperInc ? OfExact(lower) : Range(lower, lowerInc, upper, upperInc);
    }

    private static bool Same(Share s, decimal lower, bool lowerInc, decimal upper, bool upperInc) =>
        s.Lower == lower && s.Upper == upper && s.LowerInclusive == lowerInc && s.UpperInclusive == upperInc;

    /// <summary>"a small minority stake (more than 0 % and less than 50 %)", "a 0.8 % stake"; null: "a stake of disputed size".</summary>
    public static string Phrase(Share? share) => share is null
        ? "a stake of disputed size"
        : share.Wording is { Length: > 0 } w ? $"a {w} ({share.ToReadable()})"
        : share.Exact is not null ? $"a {share.ToReadable()} stake"
        : $"a stake of {share.ToReadable()}";

    /// <summary>"0.8 %", "more than 0 % and less than 50 %", "at least 10 %".</summary>
    public string ToReadable()
    {
        string Pct(decimal v) => v.ToString("0.####", CultureInfo.InvariantCulture) + " %";
        if (Exact is { } exact)
        {
            return Pct(exact);
        }
        var parts = new List<string>();
        if (Min is { } min && !(min == 0 && MinInclusive))
        {
            parts.Add((MinInclusive ? "at least " : "more than ") + Pct(min));
        }
        if (Max is { } max && !(max == 100 && MaxInclusive))
        {
            parts.Add((MaxInclusive ? "at most " : "less than ") + Pct(max));
        }
        return parts.Count == 0 ? "of unknown size" : string.Join(" and ", parts);
    }
}
