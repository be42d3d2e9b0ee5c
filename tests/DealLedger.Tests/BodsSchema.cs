using System.Text.Json.Nodes;
using NJsonSchema;

namespace DealLedger.Tests;

/// <summary>
/// The BODS 0.4 JSON Schema (tests/DealLedger.Tests/Bods/schema, draft 2020-12) as NJsonSchema 11.6.2
/// can check it. NJsonSchema reads drafts 4–7: it does not know `$defs`, the `urn:` ids the files
/// refer to each other by, `if`/`then` or `const` (measured: it loads them as unknown keywords and
/// checks nothing under them). So the files are rewritten once — `$defs` to `definitions`, each
/// `urn:…` reference to the file that declares that id — and the schema's conditional rules are
/// checked here, each as the schema states it: a statement's recordDetails against the record schema
/// its recordType selects; isComponent true → componentRecords empty; an annotation that is
/// `linking` has a url; transformedContent only with `transformation`. Everything else (types,
/// enums, required fields, formats, string lengths, number ranges, nested references) is NJsonSchema's.
/// </summary>
public static class BodsSchema
{
    private static readonly (string Id, string File)[] Files =
    [
        ("urn:components", "components.json"), ("urn:entity", "entity-record.json"), ("urn:person", "person-record.json"),
        ("urn:relationship", "relationship-record.json"), ("urn:statement", "statement.json"),
    ];

    public static string Folder => Path.Combine(TestDatabase.RepoRoot, "tests", "DealLedger.Tests", "Bods");

    private static readonly Lazy<Task<Dictionary<string, JsonSchema>>> Schemas = new(LoadAsync);

    private static async Task<Dictionary<string, JsonSchema>> LoadAsync()
    {
        var dir = Directory.CreateTempSubdirectory("bods-schema-").FullName;
        foreach (var (id, file) in Files)
        {
            var node = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Folder, "schema", file)));
            await File.WriteAllTextAsync(Path.Combine(dir, file), Adapt(node, id)!.ToJsonString());
        }
        var schemas = new Dictionary<string, JsonSchema>();
        foreach (var (id, file) in Files)
        {
            schemas[id] = await JsonSchema.FromFileAsync(Path.Combine(dir, file));
        }
        return schemas;
    }

    private static JsonNode? Adapt(JsonNode? node, string self) => node switch
    {
        JsonObject o => new JsonObject(o.Where(p => p.Key is not "$schema" and not "$id").Select(p => KeyValuePair.Create(
            p.Key == "$defs" ? "definitions" : p.Key,
            p.Key == "$ref" ? JsonValue.Create(Reference(p.Value!.GetValue<string>(), self)) : Adapt(p.Value, self)))),
        JsonArray a => new JsonArray(a.Select(x => Adapt(x, self)).ToArray()),
        _ => node?.DeepClone(),
    };

    private static string Reference(string reference, string self)
    {
        var r = reference.Replace("#/$defs/", "#/definitions/");
        if (r.StartsWith(self + "#", StringComparison.Ordinal))
        {
            return r[self.Length..];
        }
        foreach (var (id, file) in Files)
        {
            if (r == id || r.StartsWith(id + "#", StringComparison.Ordinal))
            {
                return file + r[id.Length..];
            }
        }
        return r;
    }

    /// <summary>Every way <paramref name="json"/> (a BODS package) breaks the 0.4 schema; empty when it is valid.</summary>
    public static async Task<IReadOnlyList<string>> ErrorsAsync(string json)
    {
        var schemas = await Schemas.Value;
        var errors = schemas["urn:statement"].Validate(json).Select(e => e.ToString()).ToList();
        if (JsonNode.Parse(json) is not JsonArray statements)
        {
            return errors;
        }
        for (var i = 0; i < statements.Count; i++)
        {
            if (statements[i] is not JsonObject s)
            {
                continue;
            }
            var where = $"#/[{i}]";
            // statement.json: if recordType is X then recordDetails is urn:X.
            if (s["recordType"]?.GetValue<string>() is { } type && schemas.TryGetValue("urn:" + type, out var record) && s["recordDetails"] is { } details)
            {
                errors.AddRange(record.Validate(details.ToJsonString()).Select(e => $"{where}.recordDetails ({type}): {e}"));
                // relationship-record.json: if isComponent is true then componentRecords is [].
                if (type == "relationship" && details["isComponent"]?.GetValue<bool>() == true && details["componentRecords"] is JsonArray { Count: > 0 })
                {
                    errors.Add($"{where}.recordDetails: a component relationship lists componentRecords");
                }
            }
            foreach (var (a, n) in (s["annotations"] as JsonArray ?? []).Select((a, n) => (a as JsonObject, n)))
            {
                var motivation = a?["motivation"]?.GetValue<string>();
                if (motivation == "linking" && a?["url"] is null)
                {
                    errors.Add($"{where}.annotations[{n}]: a linking annotation needs a url");
                }
                if (motivation != "transformation" && a?["transformedContent"] is { } content && content.GetValue<string>() != "")
                {
                    errors.Add($"{where}.annotations[{n}]: transformedContent only goes with motivation transformation");
                }
            }
        }
        return errors;
    }
}
