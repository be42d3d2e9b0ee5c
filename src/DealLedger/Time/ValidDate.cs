using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DealLedger.Time;

public enum DatePrecision { Day, Month, Year }

/// <summary>
/// A date in the world's time, known to a day, a month or a year ("2024-02-26", "2024-02", "2024").
/// It stands for the half-open interval of days [Start, End): every day it could be.
/// </summary>
[JsonConverter(typeof(ValidDateJsonConverter))]
public readonly record struct ValidDate
{
    public int Year { get; }
    public int? Month { get; }
    public int? Day { get; }

    private ValidDate(int year, int? month, int? day) { Year = year; Month = month; Day = day; }

    public DatePrecision Precision => Day is not null ? DatePrecision.Day : Month is not null ? DatePrecision.Month : DatePrecision.Year;

    /// <summary>First day the date can mean.</summary>
    public DateOnly Start => new(Year, Month ?? 1, Day ?? 1);

    /// <summary>First day after every day the date can mean (exclusive end).</summary>
    public DateOnly End => Precision switch
    {
        DatePrecision.Day => Start.AddDays(1),
        DatePrecision.Month => Start.AddMonths(1),
        _ => Start.AddYears(1),
    };

    public bool IsExactDay => Precision == DatePrecision.Day;

    /// <summary>
    /// The last day something dated so may have happened. A change takes effect on its day, so by this
    /// day it surely has: a stake or tie from "2024-02" is surely in force on 2024-02-29, and one ended
    /// "2025-06" surely no longer on 2025-06-30. Stakes' timelines and other ties use this one rule.
    /// </summary>
    public DateOnly LastDay => End.AddDays(-1);

    /// <summary>Two dates coincide when some day could be both ("2024-02" and "2024-02-26").</summary>
    public bool Coincides(ValidDate other) => Start < other.End && other.Start < End;

    /// <summary>
    /// As an end, this date cannot come after <paramref name="start"/>: even its last possible day is
    /// on or before the start's first possible day (periods are half-open, so ending on the day a
    /// fact starts leaves it no day at all). Overlapping imprecise dates may still follow
    /// ("2024-02" can end a period from "2024-02-10"), but "2024-02" cannot end one from "2024-02-29".
    /// </summary>
    public bool CannotFollow(ValidDate start) => LastDay <= start.Start;

    public static ValidDate OfDay(DateOnly day) => new(day.Year, day.Month, day.Day);

    public static bool TryParse(string? text, out ValidDate date, out string error)
    {
        date = default;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "a date is required (YYYY, YYYY-MM or YYYY-MM-DD)";
            return false;
        }
        var parts = text.Trim().Split('-');
        if (parts.Length > 3 || parts.Any(p => p.Length == 0 || !p.All(char.IsAsciiDigit))
            || parts[0].Length != 4 || parts.Skip(1).Any(p => p.Length != 2))
        {
            error = $"'{text}' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD";
            return false;
        }
        var year = int.Parse(parts[0], CultureInfo.InvariantCulture);
        if (year is < 1 or > 9998)
        {
            error = $"'{text}' is not a date: the year must be between 0001 and 9998";
            return false;
        }
        int? month = parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : null;
        if (month is < 1 or > 12)
        {
            error = $"'{text}' is not a date: month {month} does not exist";
            return false;
        }
        int? day = parts.Length > 2 ? int.Parse(parts[2], CultureInfo.InvariantCulture) : null;
        if (day is not null && (day < 1 || day > DateTime.DaysInMonth(year, month!.Value)))
        {
            error = $"'{text}' is not a date: {year:D4}-{month:D2} has no day {day}";
            return false;
        }
        date = new ValidDate(year, month, day);
        return true;
    }

    public static ValidDate Parse(string text) =>
        TryParse(text, out var date, out var error) ? date : throw new FormatException(error);

    public override string ToString() => Precision switch
    {
        DatePrecision.Day => $"{Year:D4}-{Month:D2}-{Day:D2}",
        DatePrecision.Month => $"{Year:D4}-{Month:D2}",
        _ => $"{Year:D4}",
    };

    /// <summary>Words for a reader: "26 February 2024", "February 2024", "2024".</summary>
    public string ToReadable() => Precision switch
    {
        DatePrecision.Day => Start.ToString("d MMMM yyyy", CultureInfo.InvariantCulture),
        DatePrecision.Month => Start.ToString("MMMM yyyy", CultureInfo.InvariantCulture),
        _ => Year.ToString(CultureInfo.InvariantCulture),
    };
}

public sealed class ValidDateJsonConverter : JsonConverter<ValidDate>
{
    public override ValidDate Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ValidDate.Parse(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, ValidDate value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}

/// <summary>
/// When a fact was true in the world: from a date, until an optional (exclusive) date. With
/// <paramref name="OrEarlier"/> the sources only say it was true by <paramref name="From"/>; when it began is unknown.
/// </summary>
public sealed record ValidPeriod(ValidDate From, ValidDate? To = null, bool OrEarlier = false);
