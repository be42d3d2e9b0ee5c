using System.Globalization;
using System.Text;
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
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            date = default;
            error = "a date is required (YYYY, YYYY-MM or YYYY-MM-DD)";
            return false;
        }
        if (TryParse(text.AsSpan().Trim(), out date, out var year, out var month, out var day))
        {
            return true;
        }
        error = year < 0 ? $"'{text}' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD"
            : year is < 1 or > 9998 ? $"'{text}' is not a date: the year must be between 0001 and 9998"
            : month is < 1 or > 12 ? $"'{text}' is not a date: month {month} does not exist"
            : $"'{text}' is not a date: {year:D4}-{month:D2} has no day {day}";
        return false;
    }

    /// <summary>
    /// The one reading of a date's text, without allocating (events and findings hold many dates): YYYY, YYYY-MM or
    /// YYYY-MM-DD. On failure, <paramref name="year"/> is -1 when the text has none of those shapes; otherwise the parts
    /// read say which is out of range.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out ValidDate date, out int year, out int? month, out int? day)
    {
        date = default;
        (year, month, day) = (-1, null, null);
        if (text.Length is not (4 or 7 or 10) || (text.Length > 4 && text[4] != '-') || (text.Length > 7 && text[7] != '-'))
        {
            return false;
        }
        for (var i = 0; i < text.Length; i++)
        {
            if (i is not (4 or 7) && !char.IsAsciiDigit(text[i]))
            {
                return false;
            }
        }
        static int Digits(ReadOnlySpan<char> digits)
        {
            var value = 0;
            foreach (var c in digits)
            {
                value = (value * 10) + (c - '0');
            }
            return value;
        }
        year = Digits(text[..4]);
        month = text.Length > 4 ? Digits(text[5..7]) : null;
        day = text.Length > 7 ? Digits(text[8..10]) : null;
        if (year is < 1 or > 9998 || month is < 1 or > 12 || (day is not null && (day < 1 || day > DateTime.DaysInMonth(year, month!.Value))))
        {
            return false;
        }
        date = new ValidDate(year, month, day);
        return true;
    }

    public static ValidDate Parse(string text) =>
        TryParse(text, out var date, out var error) ? date : throw new FormatException(error);

    public override string ToString()
    {
        Span<char> text = stackalloc char[10];
        return new string(text[..Format(text)]);
    }

    /// <summary>Writes the date as its text (YYYY, YYYY-MM or YYYY-MM-DD) into at least 10 characters; how many it wrote.</summary>
    public int Format(Span<char> text)
    {
        static void Two(Span<char> at, int value) => (at[0], at[1]) = ((char)('0' + (value / 10)), (char)('0' + (value % 10)));
        Two(text, Year / 100);
        Two(text[2..], Year % 100);
        if (Month is not { } month)
        {
            return 4;
        }
        text[4] = '-';
        Two(text[5..], month);
        if (Day is not { } day)
        {
            return 7;
        }
        text[7] = '-';
        Two(text[8..], day);
        return 10;
    }

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
    public override ValidDate Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        // A plain date is read from its bytes; anything else (escaped, split, malformed) as a string, for its error.
        Span<char> text = stackalloc char[10];
        if (reader.TokenType == JsonTokenType.String && !reader.HasValueSequence && !reader.ValueIsEscaped && reader.ValueSpan.Length <= text.Length
            && Encoding.UTF8.TryGetChars(reader.ValueSpan, text, out var length) && ValidDate.TryParse(text[..length], out var date, out _, out _, out _))
        {
            return date;
        }
        return ValidDate.Parse(reader.GetString() ?? "");
    }

    public override void Write(Utf8JsonWriter writer, ValidDate value, JsonSerializerOptions options)
    {
        Span<char> text = stackalloc char[10];
        writer.WriteStringValue(text[..value.Format(text)]);
    }
}

/// <summary>
/// When a fact was true in the world: from a date, until an optional (exclusive) date. With
/// <paramref name="OrEarlier"/> the sources only say it was true by <paramref name="From"/>; when it began is unknown.
/// </summary>
public sealed record ValidPeriod(ValidDate From, ValidDate? To = null, bool OrEarlier = false);
