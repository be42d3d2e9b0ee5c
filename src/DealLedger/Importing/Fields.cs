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
                throw node.Error($"unknown field '{key}' (allowed here: {string.Join(", ", allowed)})");
            }
        }
    }

    public DocumentNode Node => map;

    public static Fields Of(DocumentNode node, params string[] allowed) =>
        node is MapNode m ? new Fields(m, allowed) : throw node.Error($"expected a mapping with fields {string.Join(", ", allowed)}");

    public DocumentNode? Get(string key) => map.Fields.FirstOrDefault(f => f.Key == key).Value is { } n && !(n is ScalarNode { Value: null, Quoted: false }) ? n : null;

    public bool Has(string key) => map.Fields.Any(f => f.Key == key);

    private DocumentNode Require(string key) => Get(key) ?? throw map.Error($"the field '{key}' is required");

    public string Text(string key) => TextOf(Require(key));

    public string? OptionalText(string key) => Get(key) is { } n ? TextOf(n) : null;

    public static string TextOf(DocumentNode node)
    {
        if (node is not ScalarNode { Value: { } value, JsonLiteral: false })
        {
            throw node.Error($"expected text, got {Describe(node)}");
        }
        if (value.Length > MaxText)
        {
            throw node.Error($"text is {value.Length} characters long; at most {MaxText} are allowed");
        }
        if (value.Any(ch => char.IsControl(ch) && ch is not '\n' and not '\t'))
        {
            throw node.Error("text contains a control character");
        }
        if (value.Any(char.IsSurrogate) && !IsWellFormed(value))
        {
            throw node.Error("text is not valid Unicode");
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
        if (text.Length > 100 || !SlugPattern().IsMatch(text))
        {
            throw node.Error($"'{Clip(text)}' is not an id: use lowercase letters, digits and single hyphens (e.g. mistral-ai), at most 100 characters");
        }
        return text;
    }

    public IReadOnlyList<string> SlugList(string key, int min = 0)
    {
        var list = Get(key) is { } n ? ListOf(n).Select(SlugOf).ToList() : [];
        if (list.Count < min)
        {
            throw (Get(key) ?? map).Error($"'{key}' needs at least {min} organization{(min == 1 ? "" : "s")}");
        }
        var duplicate = list.GroupBy(x => x).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw Get(key)!.Error($"'{duplicate.Key}' is listed twice");
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
        var text = node is ScalarNode { Value: { } v } ? v : throw node.Error("expected a date (YYYY, YYYY-MM or YYYY-MM-DD)");
        return ValidDate.TryParse(text, out var date, out var error) ? date : throw node.Error(error);
    }

    public decimal Number(string key) => NumberOf(Require(key));

    public static decimal NumberOf(DocumentNode node)
    {
        if (node is ScalarNode { Value: { } v, Quoted: false }
            && decimal.TryParse(v, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var d))
        {
            return d;
        }
        throw node.Error($"expected a number, got {Describe(node)}");
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
}
