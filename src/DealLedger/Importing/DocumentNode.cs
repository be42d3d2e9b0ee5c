using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DealLedger.Importing;

/// <summary>
/// A ledger document read from YAML or JSON into one neutral tree, each node knowing where it
/// stands (file, path, line) so every error can say exactly what is wrong and where.
/// </summary>
internal abstract record DocumentNode(string File, string Path, int Line)
{
    public string Where => Line > 0 ? $"{File}: {Path} (line {Line})" : $"{File}: {Path}";

    public LedgerException Error(string message) => new(LedgerErrorKind.InvalidInput, $"{Where}: {message}") { Field = Path };

    /// <summary>The entry is well-formed but clashes with what the ledger already holds under its id (another writer got there first).</summary>
    public LedgerException Conflict(string message) => new(LedgerErrorKind.Conflict, $"{Where}: {message}") { Field = Path };

    public static DocumentNode Parse(string file, string text)
    {
        if (text.IndexOf('\0') >= 0)
        {
            throw LedgerException.Invalid($"{file}: contains a NUL byte; a ledger document is UTF-8 text");
        }
        var json = file.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || text.TrimStart().StartsWith('{') && !file.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) && !file.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);
        return json ? FromJson(file, text) : FromYaml(file, text);
    }

    private static DocumentNode FromJson(string file, string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
            return Convert(file, "$", doc.RootElement);
        }
        catch (JsonException e)
        {
            throw LedgerException.Invalid($"{file}: not valid JSON at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}: {FirstSentence(e.Message)}");
        }
    }

    private static DocumentNode Convert(string file, string path, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var map = new List<KeyValuePair<string, DocumentNode>>();
                foreach (var p in e.EnumerateObject())
                {
                    if (map.Any(m => m.Key == p.Name))
                    {
                        throw LedgerException.Invalid($"{file}: {path}: the field '{p.Name}' appears twice");
                    }
                    map.Add(new(p.Name, Convert(file, Child(path, p.Name), p.Value)));
                }
                return new MapNode(file, path, 0, map);
            case JsonValueKind.Array:
                return new ListNode(file, path, 0, e.EnumerateArray().Select((x, i) => Convert(file, $"{path}[{i}]", x)).ToList());
            case JsonValueKind.Null:
                return new ScalarNode(file, path, 0, null, false);
            case JsonValueKind.String:
                return new ScalarNode(file, path, 0, e.GetString(), true);
            default:
                return new ScalarNode(file, path, 0, e.GetRawText(), false, JsonLiteral: true);
        }
    }

    private static DocumentNode FromYaml(string file, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw LedgerException.Invalid($"{file}: not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {FirstSentence(e.InnerException?.Message ?? e.Message)}");
        }
        if (stream.Documents.Count == 0)
        {
            throw LedgerException.Invalid($"{file}: the document is empty");
        }
        if (stream.Documents.Count != 1)
        {
            throw LedgerException.Invalid($"{file}: expected exactly one YAML document, found {stream.Documents.Count}");
        }
        return Convert(file, "$", stream.Documents[0].RootNode, 0);
    }

    private static DocumentNode Convert(string file, string path, YamlNode node, int depth)
    {
        var line = (int)node.Start.Line;
        if (depth > 64)
        {
            throw LedgerException.Invalid($"{file}: {path} (line {line}): nested more than 64 levels deep");
        }
        switch (node)
        {
            case YamlMappingNode m:
                var map = new List<KeyValuePair<string, DocumentNode>>();
                foreach (var (k, v) in m.Children)
                {
                    var key = (k as YamlScalarNode)?.Value ?? throw LedgerException.Invalid($"{file}: {path} (line {k.Start.Line}): a field name must be plain text");
                    if (map.Any(x => x.Key == key))
                    {
                        throw LedgerException.Invalid($"{file}: {path} (line {k.Start.Line}): the field '{key}' appears twice");
                    }
                    map.Add(new(key, Convert(file, Child(path, key), v, depth + 1)));
                }
                return new MapNode(file, path, line, map);
            case YamlSequenceNode s:
                return new ListNode(file, path, line, s.Children.Select((x, i) => Convert(file, $"{path}[{i}]", x, depth + 1)).ToList());
            case YamlScalarNode s:
                var plain = s.Style is ScalarStyle.Plain or ScalarStyle.Any;
                var isNull = plain && (s.Value is null or "" or "~" or "null" or "Null" or "NULL");
                return new ScalarNode(file, path, line, isNull ? null : s.Value, !plain);
            default:
                throw LedgerException.Invalid($"{file}: {path} (line {line}): aliases and anchors are not supported");
        }
    }

    private static string Child(string path, string key) => path == "$" ? key : $"{path}.{key}";

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.');
    }
}

internal sealed record MapNode(string File, string Path, int Line, IReadOnlyList<KeyValuePair<string, DocumentNode>> Fields) : DocumentNode(File, Path, Line);

internal sealed record ListNode(string File, string Path, int Line, IReadOnlyList<DocumentNode> Items) : DocumentNode(File, Path, Line);

/// <summary>
/// A scalar's text; null for null. Quoted tells a YAML "null" string from a null; JsonLiteral marks a
/// JSON number or boolean, which is never accepted where text belongs.
/// </summary>
internal sealed record ScalarNode(string File, string Path, int Line, string? Value, bool Quoted, bool JsonLiteral = false) : DocumentNode(File, Path, Line);
