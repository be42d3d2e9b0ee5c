using System.Text;
using DealLedger.Auditing;

namespace DealLedger.Rules.Tests;

/// <summary>
/// The seal chain's fast writer scans PostgreSQL's jsonb text byte by byte (no tokens, no decoded strings). For any text
/// in that form — keys in jsonb's order (by length first), a space after ',' and ':', PostgreSQL's escapes — it must write
/// exactly what the documented form (<see cref="CanonicalEvent.Json(string)"/>, a full JSON reader) writes, or seals made
/// by either would not verify by the other.
/// </summary>
public sealed class CanonicalJson
{
    [Theory]
    [InlineData("""{"b": 1, "a": [1, 2, {"d": null, "c": true}], "aa": "x"}""")]
    [InlineData("""{}""")]
    [InlineData("""[]""")]
    [InlineData("""{"a": {}, "b": [], "c": [[], [{}]]}""")]
    [InlineData("""{"q": "say \"hi\" \\ back", "n": "line\nbreak\t\u0001 \b\f\r"}""")]
    [InlineData("""{"z": 2, "é": 1, "日本": 3, "ab": 4, "a": 5, "": 6}""")]
    [InlineData("""{"m": 0, "n": -1.5e+10, "p": 123456789012345678901234567890.5, "t": false}""")]
    [InlineData("""{"k\"ey": 1, "a": {"y": 1, "x": 2}}""")]
    [InlineData("""{"a": {"k\\e": [1], "b": 2}, "0": "\\"}""")]
    [InlineData("""  "text with ] and } and , inside"  """)]
    [InlineData("""12.50""")]
    [InlineData("""null""")]
    [InlineData("""[true, false, null, "", "\"", 1e-7]""")]
    public void the_fast_writer_writes_what_the_documented_form_writes(string jsonb) =>
        Assert.Equal(CanonicalEvent.Json(jsonb), Fast(jsonb));

    [Fact]
    public void random_documents_in_jsonbs_form_are_written_as_the_documented_form_writes_them()
    {
        var random = new Random(13);
        for (var i = 0; i < 2_000; i++)
        {
            var jsonb = Jsonb(random, depth: 0);
            Assert.Equal(CanonicalEvent.Json(jsonb), Fast(jsonb));
        }
    }

    [Fact]
    public void objects_come_out_with_keys_in_code_point_order_and_no_whitespace() =>
        Assert.Equal("""{"a":[1,{"c":true,"d":null}],"aa":"x","b":1}""", Fast("""{"b": 1, "a": [1, {"d": null, "c": true}], "aa": "x"}"""));

    [Theory]
    [InlineData(512)]
    [InlineData(513)]
    [InlineData(100_000)]
    public void nesting_is_read_as_deep_as_the_documented_form_reads_it_and_deeper_is_refused_as_it_refuses(int depth)
    {
        // Arrays and objects in turn: a tampered log must be reported, not take the verifying process down.
        var jsonb = string.Concat(Enumerable.Range(0, depth).Select(i => i % 2 == 0 ? "[" : "{\"a\": ")) + "1"
            + string.Concat(Enumerable.Range(0, depth).Reverse().Select(i => i % 2 == 0 ? "]" : "}"));
        if (depth <= 512)
        {
            Assert.Equal(CanonicalEvent.Json(jsonb), Fast(jsonb));
        }
        else
        {
            Assert.ThrowsAny<System.Text.Json.JsonException>(() => CanonicalEvent.Json(jsonb));
            Assert.ThrowsAny<System.Text.Json.JsonException>(() => Fast(jsonb));
        }
    }

    private static string Fast(string jsonb)
    {
        using var writer = new CanonicalWriter();
        return Encoding.UTF8.GetString(writer.JsonOnly(Encoding.UTF8.GetBytes(jsonb)));
    }

    private static readonly string[] Keys = ["id", "a", "ab", "b", "share", "holder", "é", "z", "日本", "", "x\"y", "back\\slash", "tab\t", "😀", "Z", "aa"];

    private static readonly string[] Texts = ["", "plain", "quote \" inside", "back \\ slash", "new\nline", "bell \u0007", "ü é 😀", "] } , : ["];

    private static readonly string[] Numbers = ["0", "-1", "12.5", "1e+30", "-0.000001", "123456789012345678901234567890"];

    /// <summary>A random value written as jsonb's text writes it: keys by length then bytes, ", " and ": ", PostgreSQL's escapes.</summary>
    private static string Jsonb(Random random, int depth)
    {
        switch (depth > 4 ? random.Next(3) : random.Next(5))
        {
            case 0:
                return CanonicalEvent.Quote(Texts[random.Next(Texts.Length)]);
            case 1:
                return Numbers[random.Next(Numbers.Length)];
            case 2:
                return random.Next(3) switch { 0 => "true", 1 => "false", _ => "null" };
            case 3:
                return "[" + string.Join(", ", Enumerable.Range(0, random.Next(4)).Select(_ => Jsonb(random, depth + 1))) + "]";
            default:
                var keys = Keys.OrderBy(_ => random.Next()).Take(random.Next(7))
                    .OrderBy(k => Encoding.UTF8.GetByteCount(k)).ThenBy(k => Encoding.UTF8.GetBytes(k), ByteOrder.Instance);
                return "{" + string.Join(", ", keys.Select(k => $"{CanonicalEvent.Quote(k)}: {Jsonb(random, depth + 1)}")) + "}";
        }
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
