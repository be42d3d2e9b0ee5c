using System.Net;
using System.Text.Json;

namespace DealLedger.Client;

/// <summary>
/// The API refused or failed a request: its status and the RFC 9457 problem details it sent
/// (title, detail, and the field at fault when the input was bad).
/// </summary>
public sealed class LedgerApiException(HttpStatusCode status, string title, string? detail, string? field = null, string? type = null)
    : Exception(Describe(status, title, detail, field))
{
    public HttpStatusCode Status { get; } = status;
    public string Title { get; } = title;
    public string? Detail { get; } = detail;
    public string? Field { get; } = field;
    public string? Type { get; } = type;

    /// <summary>How long the API asked to wait before sending the request again (Retry-After of a 503), if it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Worth trying again later: the server or the database was unavailable, or the request timed out.</summary>
    public bool IsTransient => (int)Status >= 500 || Status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;

    private static string Describe(HttpStatusCode status, string title, string? detail, string? field) =>
        $"{(int)status} {title}{(detail is { Length: > 0 } ? ": " + detail : "")}{(field is null ? "" : $" (field {field})")}";

    /// <summary>Reads the problem details of a failed response; a body that is not one still gives a readable error.</summary>
    internal static async Task<LedgerApiException> FromAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        var retryAfter = response.Headers.RetryAfter is { } r ? r.Delta ?? (r.Date is { } at ? at - DateTimeOffset.UtcNow : null) : null;
        try
        {
            using var json = JsonDocument.Parse(body);
            var p = json.RootElement;
            if (p.ValueKind == JsonValueKind.Object && p.TryGetProperty("title", out var title))
            {
                return new LedgerApiException(response.StatusCode, title.GetString() ?? response.ReasonPhrase ?? "",
                    Text(p, "detail"), Text(p, "field"), Text(p, "type")) { RetryAfter = retryAfter };
            }
        }
        catch (JsonException)
        {
            // Not problem details (a proxy's page, an empty body): fall through.
        }
        var excerpt = body.Length > 300 ? body[..300] + "…" : body;
        return new LedgerApiException(response.StatusCode, response.ReasonPhrase ?? "HTTP error", excerpt.Length > 0 ? excerpt : null) { RetryAfter = retryAfter };
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
