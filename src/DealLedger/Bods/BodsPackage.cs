using System.Globalization;
using System.Text.Json;

namespace DealLedger.Bods;

/// <summary>
/// One BODS 0.4 statement as read from a package: the fields every statement must have, checked,
/// and its whole JSON for the rest. <paramref name="Index"/> counts from 1 within its file.
/// </summary>
public sealed record BodsStatement(string File, int Index, string StatementId, string RecordId, string RecordType, string? RecordStatus,
    DateOnly StatementDate, JsonElement Json)
{
    public string Where => $"{File}: statement {Index} ({StatementId})";

    public JsonElement Details => Json.GetProperty("recordDetails");

    public static string? Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static JsonElement? Get(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static IEnumerable<JsonElement> List(JsonElement e, string name) =>
        Get(e, name) is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray() : [];

    /// <summary>A BODS date (YYYY-MM-DD, or a date-time whose date part is taken as written), or null when absent or malformed.</summary>
    public static DateOnly? DateOf(string? text) =>
        text is { Length: >= 10 } && DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
            && (text.Length == 10 || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            && d.Year is >= 1 and <= 9998
            ? d : null;
}

/// <summary>Reads BODS 0.4 packages: a JSON array of statements, or JSON Lines (one statement a line).</summary>
public static class BodsPackage
{
    public static IReadOnlyList<BodsStatement> Read(string file, string text)
    {
        var trimmed = text.TrimStart();
        var statements = new List<BodsStatement>();
        if (trimmed.StartsWith('['))
        {
            var root = Parse(file, text, 0);
            var i = 0;
            foreach (var e in root.EnumerateArray())
            {
                statements.Add(Statement(file, ++i, e));
            }
        }
        else if (trimmed.StartsWith('{') && TryParse(text) is { } single)
        {
            // One JSON object: a lone statement, or something that is not BODS at all.
            if (BodsStatement.Get(single, "statementId") is null)
            {
                throw LedgerException.Invalid($"{file}: not a BODS package: one JSON object that is not a statement (a ledger document is imported without --format bods)");
            }
            statements.Add(Statement(file, 1, single));
        }
        else if (trimmed.StartsWith('{'))
        {
            var lines = text.Split('\n');
            for (var n = 0; n < lines.Length; n++)
            {
                if (!string.IsNullOrWhiteSpace(lines[n]))
                {
                    statements.Add(Statement(file, statements.Count + 1, Parse(file, lines[n], n)));
                }
            }
        }
        else
        {
            throw LedgerException.Invalid($"{file}: not a BODS package: expected a JSON array of statements (or JSON Lines, one statement a line)");
        }
        if (statements.Count == 0)
        {
            throw LedgerException.Invalid($"{file}: the package holds no statements");
        }
        return statements;
    }

    private static JsonElement? TryParse(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonElement Parse(string file, string text, int line)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw LedgerException.Invalid($"{file}: not valid JSON at line {line + (e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}");
        }
    }

    private static readonly string[] RecordTypes = ["entity", "person", "relationship"];
    private static readonly string[] RecordStatuses = ["new", "updated", "closed"];

    private static BodsStatement Statement(string file, int index, JsonElement e)
    {
        var where = $"{file}: statement {index}";
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw LedgerException.Invalid($"{where}: expected a statement (a JSON object)");
        }
        string Required(string name) => BodsStatement.Text(e, name) is { Length: > 0 } v
            ? v : throw LedgerException.Invalid($"{where}: '{name}' is required (a non-empty string)");
        var id = Required("statementId");
        where += $" ({id})";
        if (id.Length is < 32 or > 64)
        {
            throw LedgerException.Invalid($"{where}: a statementId is 32 to 64 characters long, this one {id.Length}");
        }
        var type = Required("recordType");
        if (!RecordTypes.Contains(type))
        {
            throw LedgerException.Invalid($"{where}: recordType '{type}' is not one of {string.Join(", ", RecordTypes)}");
        }
        var status = BodsStatement.Text(e, "recordStatus");
        if (status is not null && !RecordStatuses.Contains(status))
        {
            throw LedgerException.Invalid($"{where}: recordStatus '{status}' is not one of {string.Join(", ", RecordStatuses)}");
        }
        var date = BodsStatement.DateOf(Required("statementDate"))
            ?? throw LedgerException.Invalid($"{where}: statementDate '{BodsStatement.Text(e, "statementDate")}' is not a date (YYYY-MM-DD) or date-time");
        if (BodsStatement.Get(e, "recordDetails") is not { ValueKind: JsonValueKind.Object })
        {
            throw LedgerException.Invalid($"{where}: 'recordDetails' is required (an object)");
        }
        return new BodsStatement(file, index, id, Required("recordId"), type, status, date, e);
    }
}
