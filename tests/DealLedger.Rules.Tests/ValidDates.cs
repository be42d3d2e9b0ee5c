using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Rules.Tests;

/// <summary>
/// A valid date's text, as users write it and as events and findings store it: read and written without allocating, and
/// refused with the same words as always.
/// </summary>
public sealed class ValidDates
{
    public static TheoryData<string> Texts => ["0001", "0001-01", "0001-01-01", "1999-12-31", "2024", "2024-02", "2024-02-29", "9998-12-31", "9998-12"];

    [Theory]
    [MemberData(nameof(Texts))]
    public void Text_reads_back_as_written(string text)
    {
        var date = ValidDate.Parse(text);
        Assert.Equal(text, date.ToString());
        Assert.Equal($"\"{text}\"", LedgerJson.Canonical(date));
        Assert.Equal(date, LedgerJson.Deserialize<ValidDate>($"\"{text}\""));
    }

    [Fact]
    public void Every_day_of_a_leap_year_and_its_neighbours_reads_and_writes_as_its_calendar_date()
    {
        for (var day = new DateOnly(2023, 1, 1); day < new DateOnly(2026, 1, 1); day = day.AddDays(1))
        {
            var date = ValidDate.OfDay(day);
            var text = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(text, date.ToString());
            Assert.Equal(date, ValidDate.Parse(text));
            Assert.Equal(day, date.Start);
        }
    }

    [Fact]
    public void Surrounding_white_space_is_ignored()
    {
        Assert.Equal(ValidDate.Parse("2024-02"), ValidDate.Parse("  2024-02\t"));
    }

    [Theory]
    [InlineData("", "a date is required (YYYY, YYYY-MM or YYYY-MM-DD)")]
    [InlineData("   ", "a date is required (YYYY, YYYY-MM or YYYY-MM-DD)")]
    [InlineData("24-02", "'24-02' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
    [InlineData("2024-2-1", "'2024-2-1' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
    [InlineData("2024/02/01", "'2024/02/01' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
    [InlineData("2024-02-01T00:00:00Z", "'2024-02-01T00:00:00Z' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
    [InlineData("２０２４", "'２０２４' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
    [InlineData("-2024", "'-2024' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
    [InlineData("2024-", "'2024-' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
    [InlineData("2024--01", "'2024--01' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
    [InlineData("2024-01-01-01", "'2024-01-01-01' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")]
    [InlineData("0000", "'0000' is not a date: the year must be between 0001 and 9998")]
    [InlineData("9999-12-31", "'9999-12-31' is not a date: the year must be between 0001 and 9998")]
    [InlineData("2024-00", "'2024-00' is not a date: month 0 does not exist")]
    [InlineData(" 2024-13 ", "' 2024-13 ' is not a date: month 13 does not exist")]
    [InlineData("2023-02-29", "'2023-02-29' is not a date: 2023-02 has no day 29")]
    [InlineData("2024-04-31", "'2024-04-31' is not a date: 2024-04 has no day 31")]
    [InlineData("2024-01-00", "'2024-01-00' is not a date: 2024-01 has no day 0")]
    public void A_text_that_is_no_date_is_refused_in_words(string text, string error)
    {
        Assert.False(ValidDate.TryParse(text, out _, out var said));
        Assert.Equal(error, said);
        Assert.Equal(error, Assert.Throws<FormatException>(() => ValidDate.Parse(text)).Message);
    }

    [Fact]
    public void Json_reads_escaped_text_as_the_same_date_and_refuses_a_bad_one_in_the_same_words()
    {
        Assert.Equal(ValidDate.Parse("2024-02"), LedgerJson.Deserialize<ValidDate>("\"\\u0032024-02\""));
        var refused = Assert.ThrowsAny<Exception>(() => LedgerJson.Deserialize<ValidDate>("\"2024-13\""));
        Assert.Contains("'2024-13' is not a date: month 13 does not exist", Messages(refused));
        refused = Assert.ThrowsAny<Exception>(() => LedgerJson.Deserialize<ValidDate>("\"2024-02-01T00:00:00Z\""));
        Assert.Contains("is not a date: use YYYY, YYYY-MM or YYYY-MM-DD", Messages(refused));
    }

    private static string Messages(Exception? e)
    {
        var all = new List<string>();
        for (; e is not null; e = e.InnerException)
        {
            all.Add(e.Message);
        }
        return string.Join(" | ", all);
    }
}
