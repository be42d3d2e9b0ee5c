using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using DealLedger.Auditing;
using DealLedger.Sources;
using DealLedger.Storage;

namespace DealLedger.Bods;

/// <summary>
/// A BODS statement as a ledger source, and how it speaks of the facts it yields. Everything here is
/// made from the statement alone, so the same statement always gives the same source.
/// </summary>
internal static class BodsSources
{
    /// <summary>Source types in order of weight: the first present decides the source's kind.</summary>
    private static readonly (string Type, SourceKind Kind)[] Kinds =
    [
        ("officialRegister", SourceKind.OfficialRegister),
        ("selfDeclaration", SourceKind.SelfDeclaration),
        ("primaryResearch", SourceKind.PrimaryResearch),
        ("thirdParty", SourceKind.ThirdParty),
    ];

    public static SourceKind KindOf(BodsStatement s) => KindOf(Types(s));

    private static SourceKind KindOf(IReadOnlyList<string> types) =>
        Kinds.Where(k => types.Contains(k.Type)).Select(k => (SourceKind?)k.Kind).FirstOrDefault() ?? SourceKind.ThirdParty;

    private static IReadOnlyList<string> Types(BodsStatement s) =>
        BodsStatement.Get(s.Json, "source") is { } src
            ? BodsStatement.List(src, "type").Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
            : [];

    public static JsonObject Source(BodsStatement s, List<string> notes)
    {
        var publication = BodsStatement.Get(s.Json, "publicationDetails");
        var publisher = publication is { } p && BodsStatement.Get(p, "publisher") is { } who
            ? BodsStatement.Text(who, "name") ?? BodsStatement.Text(who, "url") : null;
        var published = publication is { } p2 && BodsStatement.DateOf(BodsStatement.Text(p2, "publicationDate")) is { } day
            ? Time.ValidDate.OfDay(day).ToString() : null;
        var src = BodsStatement.Get(s.Json, "source");
        var url = src is { } x ? BodsStatement.Text(x, "url") : null;
        if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            notes.Add($"source URL '{url}' is not an http(s) URL; not kept");
            url = null;
        }
        var types = Types(s);
        if (types.Count == 0)
        {
            notes.Add("the statement names no source type: its source is taken as third-party (reported, not confirmed)");
        }
        return new JsonObject
        {
            ["id"] = BodsIds.Source(s.StatementId),
            ["title"] = BodsTranslation.Clip($"BODS {s.RecordType} statement {s.StatementId} on record {s.RecordId} ({s.RecordStatus ?? "no status"}), declared {Time.ValidDate.OfDay(s.StatementDate)}"),
            ["publisher"] = publisher is null ? null : BodsTranslation.Clip(publisher),
            ["published"] = published,
            ["kind"] = LedgerJson.Word(KindOf(types)),
            ["url"] = url is null || url.Length > Importing.Fields.MaxText ? null : url,
            ["contentHash"] = ContentHash(s.Json),
        };
    }

    /// <summary>
    /// How the statement speaks of a fact: a register's or a declaring party's statement states it;
    /// a third party's or researcher's statement that names who asserted it attributes it to them.
    /// Interest details, annotations and the "verified" source type ride along as the claim's note.
    /// </summary>
    public static JsonObject Claim(BodsStatement s, int? index, string? note, IReadOnlyList<BodsAnnotations.Annotation> annotations)
    {
        var kind = KindOf(s);
        var src = BodsStatement.Get(s.Json, "source");
        var asserted = src is { } x
            ? BodsStatement.List(x, "assertedBy").Select(a => BodsStatement.Text(a, "name") ?? BodsStatement.Text(a, "uri")).Where(n => !string.IsNullOrWhiteSpace(n)).Distinct().ToList()
            : [];
        var claim = new JsonObject { ["source"] = BodsIds.Source(s.StatementId) };
        if (asserted.Count > 0 && kind is SourceKind.ThirdParty or SourceKind.PrimaryResearch)
        {
            claim["claim"] = "attributed";
            claim["attributedTo"] = BodsTranslation.Clip(string.Join(", ", asserted));
        }
        else
        {
            claim["claim"] = "stated";
        }
        var parts = new List<string>();
        if (note is not null)
        {
            parts.Add(note);
        }
        if (asserted.Count > 0 && claim["claim"]!.GetValue<string>() == "stated")
        {
            parts.Add($"asserted by {string.Join(", ", asserted)}");
        }
        if (Types(s).Contains("verified"))
        {
            parts.Add("the source marks it verified");
        }
        if (src is { } y && BodsStatement.Text(y, "description") is { } description)
        {
            parts.Add($"source: {description}");
        }
        parts.AddRange(annotations.Where(a => a.Interest is null || a.Interest == index).Where(a => !a.Ours).Select(a => a.Text));
        if (parts.Count > 0)
        {
            claim["note"] = BodsTranslation.Clip(string.Join(" | ", parts));
        }
        return claim;
    }

    /// <summary>"sha256:" and the hash of the statement in canonical JSON (sorted keys, no whitespace), so a reformatted file gives the same hash.</summary>
    public static string ContentHash(JsonElement statement)
    {
        var buffer = new ArrayBufferWriter<byte>();
        CanonicalEvent.Json(buffer, statement.GetRawText());
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }
}
