using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace DealLedger.Importing;

/// <summary>
/// A ledger document read from YAML or JSON into one neutral tree, each node knowing where it
/// stands (file, path, line) so every error can say exactly what is wrong and where.
/// </summary>
internal abstract record DocumentNode(string File, string Path, int Line)
{
    public string Where => Line > 0 ? $"{File}: {Path} (line {Line})" : $"{File}: {Path}";

    public LedgerException Error(string message) => new(LedgerErrorKind.InvalidInput, $"{Where}: {message}") { Field = Path };

    /// <summary>A required field is missing here: the error names where it belongs ("facts[0].valid").</summary>
    public LedgerException Missing(string key, string message) => new(LedgerErrorKind.InvalidInput, $"{Where}: {message}") { Field = Child(Path, key) };

    /// <summary>The error is about one field of this mapping (its value, or its absence).</summary>
    public DocumentNode At(string key) => this is MapNode m && m.Fields.FirstOrDefault(f => f.Key == key).Value is { } child ? child : this;

    /// <summary>The field (or list item) among <paramref name="keys"/> that holds <paramref name="value"/>: where an id that does not fit was written.</summary>
    public DocumentNode Find(string value, params string[] keys)
    {
        foreach (var key in keys)
        {
            switch (At(key))
            {
                case ScalarNode s when s.Value == value && !ReferenceEquals(s, this):
                    return s;
                // A list of ids (parties), or of claims whose 'source' is the id.
                case ListNode l when l.Items.Select(i => i.At("source")).FirstOrDefault(i => i is ScalarNode x && x.Value == value) is { } item:
                    return item;
            }
        }
        return this;
    }

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
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = MaxDepth });
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
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject())
                {
                    var name = JsonText(file, path, () => p.Name);
                    if (!names.Add(name))
                    {
                        throw new LedgerException(LedgerErrorKind.InvalidInput, $"{file}: {path}: the field '{Clip(name)}' appears twice") { Field = Child(path, name) };
                    }
                    map.Add(new(name, Convert(file, Child(path, name), p.Value)));
                }
                return new MapNode(file, path, 0, map);
            case JsonValueKind.Array:
                return new ListNode(file, path, 0, e.EnumerateArray().Select((x, i) => Convert(file, $"{path}[{i}]", x)).ToList());
            case JsonValueKind.Null:
                return new ScalarNode(file, path, 0, null, false);
            case JsonValueKind.String:
                return new ScalarNode(file, path, 0, JsonText(file, path, e.GetString), true);
            default:
                return new ScalarNode(file, path, 0, e.GetRawText(), false, JsonLiteral: true);
        }
    }

    /// <summary>A JSON string's text; an escaped lone surrogate ("\ud800") is not text, and says where it is.</summary>
    private static string JsonText(string file, string path, Func<string?> read)
    {
        try
        {
            return read() ?? "";
        }
        catch (InvalidOperationException)
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, $"{file}: {path}: text is not valid Unicode (a lone surrogate escape such as \\ud800)") { Field = path };
        }
    }

    /// <summary>
    /// YAML read event by event with a stack of its own, not YamlDotNet's recursive node model: a
    /// body of a few hundred thousand '[' must be refused at depth 65, not overflow the stack and
    /// take the process down. Anchors, aliases and tags are refused as they come (an alias bomb
    /// never gets expanded; a '!!binary' value would otherwise be read as its base64 text).
    /// </summary>
    private static DocumentNode FromYaml(string file, string text)
    {
        var parser = new Parser(new StringReader(text));
        try
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                throw LedgerException.Invalid($"{file}: the document is empty");
            }
            parser.Consume<DocumentStart>();
            var root = ReadYamlNode(file, parser);
            parser.Consume<DocumentEnd>();
            if (!parser.Accept<StreamEnd>(out _))
            {
                throw LedgerException.Invalid($"{file}: expected exactly one YAML document, found more");
            }
            return root;
        }
        catch (YamlException e)
        {
            throw LedgerException.Invalid($"{file}: not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {FirstSentence(e.InnerException?.Message ?? e.Message)}");
        }
    }

    /// <summary>A mapping or list being read: its path and line, what it holds so far, and (mappings) the key awaiting its value.</summary>
    private sealed class Open(string path, int line, bool isMap)
    {
        public string Path { get; } = path;
        public int Line { get; } = line;
        public bool IsMap { get; } = isMap;
        public List<KeyValuePair<string, DocumentNode>> Fields { get; } = [];
        /// <summary>The field names so far: a mapping of 500,000 keys is checked for a repeated one in linear time.</summary>
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
        public List<DocumentNode> Items { get; } = [];
        public string? Key { get; set; }

        public string NextPath => IsMap ? Child(Path, Key!) : $"{Path}[{Items.Count}]";

        public DocumentNode Close(string file) => IsMap ? new MapNode(file, Path, Line, Fields) : new ListNode(file, Path, Line, Items);
    }

    private static DocumentNode ReadYamlNode(string file, IParser parser)
    {
        var open = new Stack<Open>();
        while (true)
        {
            var e = parser.Consume<ParsingEvent>();
            var line = (int)e.Start.Line;
            var parent = open.Count > 0 ? open.Peek() : null;
            var awaitingKey = parent is { IsMap: true, Key: null };
            // Where this event stands: a key stands at its mapping; a value at the key's path or the list's next index.
            var path = parent is null ? "$" : awaitingKey ? parent.Path : parent.NextPath;
            if (e is AnchorAlias || e is NodeEvent { Anchor.IsEmpty: false })
            {
                throw new LedgerException(LedgerErrorKind.InvalidInput, $"{file}: {path} (line {line}): YAML anchors and aliases (&, *) are not supported: write each value out") { Field = path };
            }
            if (e is NodeEvent { Tag.IsEmpty: false } tagged)
            {
                throw new LedgerException(LedgerErrorKind.InvalidInput, $"{file}: {path} (line {line}): YAML tags ({Clip(tagged.Tag.Value)}) are not supported: write plain values") { Field = path };
            }
            DocumentNode? done;
            switch (e)
            {
                case Scalar s when awaitingKey:
                    if (!parent!.Names.Add(s.Value))
                    {
                        var twice = Child(parent.Path, s.Value);
                        throw new LedgerException(LedgerErrorKind.InvalidInput, $"{file}: {parent.Path} (line {line}): the field '{Clip(s.Value)}' appears twice") { Field = twice };
                    }
                    parent.Key = s.Value;
                    continue;
                case MappingStart or SequenceStart when awaitingKey:
                    throw new LedgerException(LedgerErrorKind.InvalidInput, $"{file}: {parent!.Path} (line {line}): a field name must be plain text") { Field = parent.Path };
                case MappingStart or SequenceStart:
                    if (open.Count >= MaxDepth)
                    {
                        throw new LedgerException(LedgerErrorKind.InvalidInput, $"{file}: {path} (line {line}): nested more than {MaxDepth} levels deep") { Field = path };
                    }
                    open.Push(new Open(path, line, e is MappingStart));
                    continue;
                case Scalar s:
                    var plain = s.Style is ScalarStyle.Plain or ScalarStyle.Any;
                    var isNull = plain && s.Value is "" or "~" or "null" or "Null" or "NULL";
                    done = new ScalarNode(file, path, line, isNull ? null : s.Value, !plain);
                    break;
                case MappingEnd or SequenceEnd:
                    done = open.Pop().Close(file);
                    parent = open.Count > 0 ? open.Peek() : null;
                    break;
                default:
                    throw new LedgerException(LedgerErrorKind.InvalidInput, $"{file}: {path} (line {line}): unexpected YAML ({e.GetType().Name})") { Field = path };
            }
            if (parent is null)
            {
                return done;
            }
            if (parent.IsMap)
            {
                parent.Fields.Add(new(parent.Key!, done));
                parent.Key = null;
            }
            else
            {
                parent.Items.Add(done);
            }
        }
    }

    /// <summary>The most a document may nest (the ledger's own documents need 6 levels).</summary>
    public const int MaxDepth = 64;

    /// <summary>A field's path; a very long field name is clipped, so an error never echoes a megabyte of it.</summary>
    private static string Child(string path, string key) => path == "$" ? Clip(key) : $"{path}.{Clip(key)}";

    private static string Clip(string text) => Fields.Clip(text);

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
