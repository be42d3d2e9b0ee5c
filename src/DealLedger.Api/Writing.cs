using System.Globalization;
using System.Text;
using DealLedger.Access;
using DealLedger.Bods;
using DealLedger.Importing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace DealLedger.Api;

/// <summary>
/// The writes of DESIGN §6. Each takes one entry of a ledger document's section (an organization,
/// a deal with its facts, a correction …) and goes through the same import as documents, so one
/// set of rules checks everything; POST /api/import takes whole documents (YAML or JSON).
/// </summary>
public static class Writing
{
    public const int MaxDocumentBytes = (int)ApiHost.MaxRequestBytes;
    public const int MaxEntryBytes = 256 * 1024;

    public static void Map(RouteGroupBuilder api)
    {
        var writer = api.MapGroup("").RequireAuthorization(nameof(Role.Writer)).WithTags("Writing");
        writer.MapPost("/organizations", (HttpContext h, Ledger l, CancellationToken ct) => New(h, l, DocumentSection.Organizations, ct))
            .WithSummary("Register an organization (fields as in a document's 'organizations' entry)").Accepts<object>("application/json");
        writer.MapPost("/sources", (HttpContext h, Ledger l, CancellationToken ct) => New(h, l, DocumentSection.Sources, ct))
            .WithSummary("Register a source (fields as in a document's 'sources' entry)").Accepts<object>("application/json");
        writer.MapPost("/deals", (HttpContext h, Ledger l, CancellationToken ct) => New(h, l, DocumentSection.Deals, ct))
            .WithSummary("Record a deal with its facts and their sources (fields as in a document's 'deals' entry)").Accepts<object>("application/json");
        writer.MapPost("/facts/{fact}/sources", (HttpContext h, Ledger l, string fact, CancellationToken ct) => Amend(h, l, DocumentSection.Claims, fact, ct))
            .WithSummary("Add a source to a fact: { source, claim, attributedTo?, note? }; If-Match: the fact's ETag").Accepts<object>("application/json");
        writer.MapPost("/facts/{fact}/corrections", (HttpContext h, Ledger l, string fact, CancellationToken ct) => Amend(h, l, DocumentSection.Corrections, fact, ct))
            .WithSummary("Correct a fact: { set, reason, sources }; If-Match: the fact's ETag").Accepts<object>("application/json");
        writer.MapPost("/facts/{fact}/retractions", (HttpContext h, Ledger l, string fact, CancellationToken ct) => Amend(h, l, DocumentSection.Retractions, fact, ct))
            .WithSummary("Retract a fact: { reason, sources }; If-Match: the fact's ETag").Accepts<object>("application/json");
        writer.MapPost("/facts/{fact}/endings", (HttpContext h, Ledger l, string fact, CancellationToken ct) => Amend(h, l, DocumentSection.Endings, fact, ct))
            .WithSummary("End a relationship: { on, reason?, sources }; If-Match: the fact's ETag").Accepts<object>("application/json");
        writer.MapPost("/organizations/{organization}/merge", (HttpContext h, Ledger l, string organization, CancellationToken ct) => Merge(h, l, DocumentSection.Merges, organization, ct))
            .WithSummary("Merge a duplicate record into the organization it is the same as: { into, reason }; answers read it as that organization from now on").Accepts<object>("application/json");
        writer.MapPost("/organizations/{organization}/unmerge", (HttpContext h, Ledger l, string organization, CancellationToken ct) => Merge(h, l, DocumentSection.Unmerges, organization, ct))
            .WithSummary("Undo a merge of a duplicate record: { reason, into? }; answers read the two records apart again from now on").Accepts<object>("application/json");
        writer.MapPost("/import", async Task<IResult> (HttpContext h, Ledger l, string? format, CancellationToken ct) =>
            {
                var bods = BodsImport.IsBods(format);
                var yaml = h.Request.ContentType is { } type && (type.Contains("yaml", StringComparison.OrdinalIgnoreCase));
                // An empty body is an empty document, and the importer says so as it does for an empty file.
                var text = await BodyAsync(h, MaxDocumentBytes, ct, allowEmpty: true);
                var request = new WriteRequest(ApiKeyAuthentication.WriterOf(h));
                return bods
                    ? TypedResults.Ok(await l.ImportBodsAsync([("body.json", text)], ct, request))
                    : TypedResults.Ok(await l.ImportAsync([(yaml ? "body.yaml" : "body.json", text)], ct, request));
            })
            .WithSummary("Import a ledger document (DESIGN §9) as JSON or YAML (Content-Type: application/yaml), or with ?format=bods a BODS 0.4 package; all or nothing, and importing again changes nothing")
            .WithDescription("format: 'ledger' (default) takes a ledger document and answers an ImportReport; 'bods' takes a BODS 0.4 package " +
                "(a JSON array of statements, or JSON Lines) and answers a BodsImportReport: the import's report and, per statement, what it maps to, " +
                "what was recorded, and what could not be mapped and why (docs/bods.md).")
            .Accepts<object>("application/json", "application/yaml", "application/x-ndjson")
            .Produces<ImportReport>()
            .Produces<BodsImportReport>(StatusCodes.Status200OK, "application/json");
    }

    /// <summary>An entry's body is JSON (the routes take application/json only): named so, it is never read as YAML.</summary>
    private const string EntryName = "body.json";

    public static string ETagOf(int version) => $"\"{version.ToString(CultureInfo.InvariantCulture)}\"";

    private static async Task<Results<Created<ImportReport>, Ok<ImportReport>>> New(HttpContext h, Ledger ledger, DocumentSection section, CancellationToken ct)
    {
        var text = await BodyAsync(h, MaxEntryBytes, ct);
        var report = await ledger.ImportEntryAsync(section, EntryName, text, new WriteRequest(ApiKeyAuthentication.WriterOf(h)), ct);
        return report.EventsAppended > 0 ? TypedResults.Created((string?)null, report) : TypedResults.Ok(report);
    }

    private static async Task<Results<Created<ImportReport>, Ok<ImportReport>>> Merge(HttpContext h, Ledger ledger, DocumentSection section, string org, CancellationToken ct)
    {
        var text = await BodyAsync(h, MaxEntryBytes, ct);
        var report = await ledger.ImportEntryAsync(section, EntryName, text, new WriteRequest(ApiKeyAuthentication.WriterOf(h)), ct,
            new Dictionary<string, string> { ["duplicate"] = org });
        // A merge is a new record of the ledger's (201); its undo amends it, as a retraction amends a fact (200).
        return report.EventsAppended > 0 && section == DocumentSection.Merges ? TypedResults.Created((string?)null, report) : TypedResults.Ok(report);
    }

    private static async Task<Ok<ImportReport>> Amend(HttpContext h, Ledger ledger, DocumentSection section, string fact, CancellationToken ct)
    {
        var expected = IfMatch(h, fact);
        var text = await BodyAsync(h, MaxEntryBytes, ct);
        var request = new WriteRequest(ApiKeyAuthentication.WriterOf(h), expected is { } v ? new Dictionary<string, int> { [fact] = v } : null);
        var report = await ledger.ImportEntryAsync(section, EntryName, text, request, ct, new Dictionary<string, string> { ["fact"] = fact });
        // The version this write left, not a later read's: another writer may have moved on since.
        h.Response.Headers.ETag = ETagOf(report.FactVersions[fact]);
        return TypedResults.Ok(report);
    }

    /// <summary>The fact version the client read (If-Match: "N"); "*" or no header: no expectation.</summary>
    private static int? IfMatch(HttpContext h, string fact)
    {
        var header = h.Request.Headers.IfMatch.ToString();
        if (header.Length == 0 || header == "*")
        {
            return null;
        }
        return EntityTagHeaderValue.TryParse(header, out var tag) && !tag.IsWeak
            && int.TryParse(tag.Tag.AsSpan(1, tag.Tag.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw new LedgerException(LedgerErrorKind.InvalidInput, $"If-Match '{header}' is not an ETag of fact '{fact}' (expected e.g. \"3\", from GET /api/facts/{fact})") { Field = "If-Match" };
    }

    /// <summary>The body as UTF-8 text, refused (413) beyond <paramref name="limit"/> bytes whatever the server's own limit.</summary>
    internal static async Task<string> BodyAsync(HttpContext h, int limit, CancellationToken ct, bool allowEmpty = false)
    {
        BodyTooLargeException TooLarge() => new(
            $"The body is larger than the {limit / 1024} KiB that {h.Request.Method} {h.Request.Path} accepts" +
            (limit < MaxDocumentBytes ? $"; send larger documents to POST /api/import (up to {MaxDocumentBytes / 1024 / 1024} MiB)." : "."));
        if (h.Request.ContentLength > limit)
        {
            throw TooLarge();
        }
        var bytes = await Import.ReadAtMostAsync(h.Request.Body, limit, TooLarge, ct);
        if (bytes.Length == 0 && !allowEmpty)
        {
            throw LedgerException.Invalid("the request has no body: send a JSON object");
        }
        return Import.DecodeUtf8("body", bytes);
    }
}

/// <summary>A body over a route's own limit (413), with the sentence that names the limit.</summary>
public sealed class BodyTooLargeException(string message) : BadHttpRequestException(message, StatusCodes.Status413PayloadTooLarge);
