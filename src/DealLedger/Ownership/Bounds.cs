using DealLedger.Holdings;

namespace DealLedger.Ownership;

/// <summary>
/// A share as look-through arithmetic carries it: a fraction of the capital (0–1) between two ends, each
/// reached or only approached. Products and sums of stakes stay ranges: a chain through "a small minority
/// stake" is never given as a number.
/// </summary>
internal readonly record struct Bounds(decimal Lower, bool LowerInclusive, decimal Upper, bool UpperInclusive)
{
    public static readonly Bounds Whole = new(1m, true, 1m, true);

    /// <summary>Nothing: exactly 0.</summary>
    public static readonly Bounds None = new(0m, true, 0m, true);

    /// <summary>What a held or uncertain stake counts for: its share; a disputed size by the cover of what was claimed; an uncertain one from 0.</summary>
    public static Bounds Counted(HoldingStatus status, Share? share, IEnumerable<Share>? claimed)
    {
        var cover = share ?? claimed?.Aggregate((Share?)null, (hull, s) => hull is null ? s : hull.Hull(s)) ?? Share.Range(0m, true, 100m, true);
        var b = new Bounds(cover.Lower / 100m, cover.LowerInclusive, cover.Upper / 100m, cover.UpperInclusive);
        return status == HoldingStatus.Uncertain ? b with { Lower = 0m, LowerInclusive = true } : b;
    }

    /// <summary>
    /// The product of two independent shares. An end is reached when both factors reach theirs, or when a
    /// factor that can be 0 makes it 0.
    /// </summary>
    public Bounds Times(Bounds o) => new(
        Lower * o.Lower,
        (LowerInclusive && o.LowerInclusive) || (Lower == 0m && LowerInclusive) || (o.Lower == 0m && o.LowerInclusive),
        Upper * o.Upper,
        (UpperInclusive && o.UpperInclusive) || (Upper == 0m && UpperInclusive) || (o.Upper == 0m && o.UpperInclusive));

    /// <summary>
    /// The ends as answers show them (<see cref="ToShare"/>: 6 decimal places of a percent), rounded outward, so what
    /// is shown never lies outside what it stands for.
    /// </summary>
    public Bounds Shown()
    {
        const decimal scale = 100_000_000m;
        var lower = Math.Floor(Lower * scale) / scale;
        var upper = Math.Ceiling(Upper * scale) / scale;
        return new(lower, LowerInclusive || lower != Lower, upper, UpperInclusive || upper != Upper);
    }

    /// <summary>Whether some share lies within both (each end as reached or only approached).</summary>
    public bool Meets(Bounds o)
    {
        var (lower, lowerIn) = Lower > o.Lower ? (Lower, LowerInclusive) : o.Lower > Lower ? (o.Lower, o.LowerInclusive) : (Lower, LowerInclusive && o.LowerInclusive);
        var (upper, upperIn) = Upper < o.Upper ? (Upper, UpperInclusive) : o.Upper < Upper ? (o.Upper, o.UpperInclusive) : (Upper, UpperInclusive && o.UpperInclusive);
        return lower < upper || (lower == upper && lowerIn && upperIn);
    }

    /// <summary>More than half for certain: a majority holder passes control on.</summary>
    public bool SurelyMajority => Lower > 0.5m || (Lower == 0.5m && !LowerInclusive);

    /// <summary>At least <paramref name="percent"/> for certain, possibly, or not.</summary>
    public ThresholdSide Side(decimal percent)
    {
        var t = percent / 100m;
        return Lower >= t ? ThresholdSide.AtOrAbove
            : Upper > t || (Upper == t && UpperInclusive) ? ThresholdSide.Possibly
            : ThresholdSide.Below;
    }

    /// <summary>In percent as answers give shares (DESIGN §4), to 6 decimal places: a number only when both ends are reached and meet.</summary>
    public Share ToShare()
    {
        var lower = Percent(Lower);
        var upper = Percent(Upper);
        return lower == upper && LowerInclusive && UpperInclusive ? Share.OfExact(lower) : Share.Range(lower, LowerInclusive, upper, UpperInclusive);
    }

    // Dividing by 1 at the greatest scale drops trailing zeros: 5 %, not 5.000000 %.
    private static decimal Percent(decimal fraction) => Math.Round(fraction * 100m, 6, MidpointRounding.AwayFromZero) / 1.000000000000000000000000000000000m;
}

/// <summary>Where a look-through share lies against a threshold: certainly at or above it (its lower bound), possibly (its upper bound only), or below.</summary>
public enum ThresholdSide { AtOrAbove, Possibly, Below }
