using System.Globalization;

namespace DealLedger.Time;

/// <summary>Recorded instants as text: ISO 8601 in UTC with a Z, to the microsecond PostgreSQL keeps.</summary>
public static class Instant
{
    public static string Format(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        var text = utc.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.');
        return text + "Z";
    }

    public static bool TryParse(string text, out DateTimeOffset value)
    {
        // A bare date means the start of that day in UTC.
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            value = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return true;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out value)
            && (text.Contains('T') || text.Contains(' '));
    }

    /// <summary>PostgreSQL keeps microseconds: anything finer would not round-trip.</summary>
    public static DateTimeOffset TruncateToMicroseconds(DateTimeOffset value) =>
        new(value.UtcTicks - value.UtcTicks % 10, TimeSpan.Zero);
}
