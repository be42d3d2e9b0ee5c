using System.Globalization;
using System.Text.RegularExpressions;
using DealLedger.Holdings;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Importing;

/// <summary>
/// Reads one mapping of a document: every field it reads is checked against its rule, and any
/// field it was not told about is an error (unknown fields are never ignored).
/// </summary>
internal sealed partial class Fields
{
    public const int MaxText = 2000;
    private readonly MapNode map;
    private readonly HashSet<string> allowed;

    private Fields(MapNode map, IEnumerable<string> allowed)
    {
        this.map = map;
        this.allowed = [.. allowed];
        foreach (var (key, node) in map.Fields)
        {
            if (!this.allowed.Contains(key))
            {
                throw node.Error($"unknown field '{Clip(key)}' (allowed here: {string.Join(", ", allowed)})");
            }
        }
    }

    public DocumentNode Node => map;

    public static Fields Of(DocumentNode node, params string[] allowed) =>
        node is MapNode m ? new Fields(m, allowed) : throw node.Error($"expected a mapping with fields {string.Join(", ", allowed)}");

    public DocumentNode? Get(string key) => map.Fields.FirstOrDefault(f => f.Key == key).Value is { } n && !(n is ScalarNode { Value: null, Quoted: false }) ? n : null;

    public bool Has(string key) => map.Fields.Any(f => f.Key == key);

    private DocumentNode Require(string key) => Get(key) ?? throw map.Missing(key, $"the field '{key}' is required");

    public string Text(string key) => TextOf(Require(key));

    public string? OptionalText(string key) => Get(key) is { } n ? TextOf(n) : null;

    public static string TextOf(DocumentNode node)
    {
        if (node is not ScalarNode { Value: { } value, JsonLiteral: false })
        {
            throw node.Error($"expected text, got {Describe(node)}");
        }
        foreach (var ch in value)
        {
            if (char.IsControl(ch) && ch is not '\n' and not '\t')
            {
                throw node.Error($"text contains the control character U+{(int)ch:X4}");
            }
        }
        if (value.Any(char.IsSurrogate) && !IsWellFormed(value))
        {
            throw node.Error("text is not valid Unicode");
        }
        // Characters as a reader counts them (an emoji is one), not UTF-16 units.
        var length = value.EnumerateRunes().Count();
        if (length > MaxText)
        {
            throw node.Error($"text is {length} characters long; at most {MaxText} are allowed");
        }
        if (string.IsNullOrWhiteSpace(value))
        {
            throw node.Error("text must not be empty");
        }
        return value;
    }

    private static bool IsWellFormed(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return false;
        }
        return true;
    }

    public string Slug(string key) => SlugOf(Require(key));

    public static string SlugOf(DocumentNode node)
    {
        var text = TextOf(node);
        if (!IsId(text))
        {
            throw node.Error($"'{Clip(text)}' is not an id: use lowercase letters, digits and single hyphens (e.g. mistral-ai), at most 100 characters");
        }
        return text;
    }

    /// <summary>An id of the ledger (organization, source, deal, fact): a lowercase slug of at most 100 characters.</summary>
    internal static bool IsId(string text) => text.Length <= 100 && SlugPattern().IsMatch(text);

    public IReadOnlyList<string> SlugList(string key, int min = 0)
    {
        var list = Get(key) is { } n ? ListOf(n).Select(SlugOf).ToList() : [];
        if (list.Count < min)
        {
            throw (Get(key) ?? map).Error($"'{key}' needs at least {min} organization{(min == 1 ? "" : "s")}");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            if (!seen.Add(list[i]))
            {
                throw ListOf(Get(key)!)[i].Error($"'{list[i]}' is listed twice");
            }
        }
        return list;
    }

    public IReadOnlyList<string> TextList(string key) => Get(key) is { } n ? ListOf(n).Select(TextOf).ToList() : [];

    public static IReadOnlyList<DocumentNode> ListOf(DocumentNode node) =>
        node is ListNode l ? l.Items : throw node.Error("expected a list");

    public IReadOnlyList<DocumentNode> List(string key) => Get(key) is { } n ? ListOf(n) : [];

    public ValidDate Date(string key) => DateOf(Require(key));

    public ValidDate? OptionalDate(string key) => Get(key) is { } n ? DateOf(n) : null;

    public static ValidDate DateOf(DocumentNode node)
    {
        // A JSON number is not a date, even 2024: dates are text, as every other value of a document is typed.
        var text = node is ScalarNode { Value: { } v, JsonLiteral: false } ? v : throw node.Error($"expected a date as text (\"2024\", \"2024-02\" or \"2024-02-26\"), got {Describe(node)}");
        return ValidDate.TryParse(text, out var date, out var error) ? date : throw node.Error(error);
    }

    public decimal Number(string key) => NumberOf(Require(key));

    /// <summary>
    /// A number, kept exactly: one that a decimal would round (more than 28 significant digits, 1e-30)
    /// or cannot hold (1e30) is refused, never silently stored as another value (1e-30 as a stake of 0).
    /// </summary>
    public static decimal NumberOf(DocumentNode node)
    {
        if (node is not ScalarNode { Value: { } v, Quoted: false } || Decompose(v) is not { } number)
        {
            throw node.Error($"expected a number, got {Describe(node)}");
        }
        if (decimal.TryParse(v, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var d)
            && Decompose(d.ToString(CultureInfo.InvariantCulture)) == number)
        {
            return d;
        }
        throw node.Error($"'{Clip(v)}' cannot be kept exactly: numbers have at most 28 significant digits and 28 decimal places, up to {decimal.MaxValue.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>A number's sign, significant digits and power of ten ("-0.50" → (true, "5", -1); zero has no digits); null when the text is not a number.</summary>
    private static (bool Negative, string Digits, long Exponent)? Decompose(string text)
    {
        var m = NumberPattern().Match(text);
        if (!m.Success || m.Groups["int"].Length + m.Groups["frac"].Length == 0)
        {
            return null;
        }
        var digits = m.Groups["int"].Value + m.Groups["frac"].Value;
        var exponent = m.Groups["exp"].Success ? long.Parse(m.Groups["exp"].Value, CultureInfo.InvariantCulture) : 0L;
        var significant = digits.TrimEnd('0');
        exponent += digits.Length - significant.Length - m.Groups["frac"].Length;
        significant = significant.TrimStart('0');
        return significant.Length == 0 ? (false, "", 0) : (m.Groups["sign"].Value == "-", significant, exponent);
    }

    public bool Flag(string key, bool fallback)
    {
        if (Get(key) is not { } node)
        {
            return fallback;
        }
        return node is ScalarNode { Value: "true" or "false", Quoted: false } s ? s.Value == "true" : throw node.Error($"expected true or false, got {Describe(node)}");
    }

    public TEnum Enum<TEnum>(string key) where TEnum : struct, Enum => EnumOf<TEnum>(Require(key));

    public TEnum? OptionalEnum<TEnum>(string key) where TEnum : struct, Enum => Get(key) is { } n ? EnumOf<TEnum>(n) : null;

    public static TEnum EnumOf<TEnum>(DocumentNode node) where TEnum : struct, Enum
    {
        var words = System.Enum.GetValues<TEnum>().ToDictionary(LedgerJson.Word, v => v);
        var text = node is ScalarNode { Value: { } v } ? v : "";
        return words.TryGetValue(text, out var value) ? value
            : throw node.Error($"'{Clip(text)}' is not one of: {string.Join(", ", words.Keys)}");
    }

    /// <summary>A share: { exact } or a range { min, minInclusive, max, maxInclusive }, with an optional wording; 0–100.</summary>
    public Share Share(string key) => ShareOf(Require(key));

    public static Share ShareOf(DocumentNode node)
    {
        var f = Of(node, "exact", "min", "minInclusive", "max", "maxInclusive", "wording");
        var wording = f.OptionalText("wording");
        decimal Percent(string k)
        {
            var value = NumberOf(f.Get(k)!);
            return value is >= 0 and <= 100 ? value : throw f.Get(k)!.Error($"a share is a percentage from 0 to 100, got {value.ToString(CultureInfo.InvariantCulture)}");
        }
        if (f.Get("exact") is not null)
        {
            if (f.Has("min") || f.Has("max") || f.Has("minInclusive") || f.Has("maxInclusive"))
            {
                throw node.Error("a share is either { exact } or a range { min, max }, not both");
            }
            return Holdings.Share.OfExact(Percent("exact"), wording);
        }
        if (f.Get("min") is null && f.Get("max") is null)
        {
            throw node.Error("a share needs 'exact', or 'min' and/or 'max'");
        }
        var min = f.Get("min") is null ? 0m : Percent("min");
        var max = f.Get("max") is null ? 100m : Percent("max");
        var minInc = f.Flag("minInclusive", true);
        var maxInc = f.Flag("maxInclusive", true);
        if (min > max)
        {
            throw node.Error($"min ({min.ToString(CultureInfo.InvariantCulture)}) is greater than max ({max.ToString(CultureInfo.InvariantCulture)})");
        }
        if (min == max && !(minInc && maxInc))
        {
            throw node.Error("the range is empty: min equals max but an end is exclusive");
        }
        return min == max ? Holdings.Share.OfExact(min, wording) : Holdings.Share.Range(min, minInc, max, maxInc, wording);
    }

    public static string Describe(DocumentNode node) => node switch
    {
        ScalarNode { Value: null } => "null",
        ScalarNode { Value: var v, Quoted: true } => $"the text \"{Clip(v!)}\"",
        ScalarNode { Value: var v } => $"'{Clip(v!)}'",
        ListNode => "a list",
        _ => "a mapping",
    };

    public static string Clip(string s) => s.Length > 60 ? s[..60] + "…" : s;

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex SlugPattern();

    // The exponent has at most 9 digits: anything larger is out of every range anyway, and parses.
    [GeneratedRegex(@"^(?<sign>[+-]?)(?<int>[0-9]*)(?:\.(?<frac>[0-9]*))?(?:[eE](?<exp>[+-]?[0-9]{1,9}))?$")]
    private static partial Regex NumberPattern();
}
