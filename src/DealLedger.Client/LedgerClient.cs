using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DealLedger.Client;

/// <summary>
/// A typed client for the DealLedger HTTP API: the queries (DESIGN §4–5), the writes (§6) and the
/// change feed (§7). Every request carries the API key in X-Api-Key. A refusal or failure of the
/// API is a <see cref="LedgerApiException"/> with the problem details; network failures are the
/// HttpClient's own exceptions. Nothing is retried here: whoever calls decides (see <see cref="FeedFollower"/>).
/// </summary>
public sealed class LedgerClient : IDisposable
{
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>The ledger's JSON: camelCase names, kebab-case enum values ("not-held", "third-party").</summary>
    public static readonly JsonSerializerOptions Json = CreateJson();

    private readonly HttpClient http;
    private readonly string? apiKey;
    private readonly bool ownsHttp;

    /// <summary>Over an HttpClient whose BaseAddress is the API's root (e.g. http://127.0.0.1:5000/); it is not disposed with this client.</summary>
    public LedgerClient(HttpClient http, string? apiKey)
    {
        if (http.BaseAddress is null)
        {
            throw new ArgumentException("the HttpClient needs a BaseAddress (the API's root, e.g. http://127.0.0.1:5000/)", nameof(http));
        }
        this.http = http;
        this.apiKey = apiKey;
    }

    /// <summary>With an HttpClient of its own (disposed with this client).</summary>
    public LedgerClient(Uri api, string? apiKey, TimeSpan? timeout = null)
        : this(new HttpClient { BaseAddress = Root(api), Timeout = timeout ?? TimeSpan.FromSeconds(30) }, apiKey)
    {
        ownsHttp = true;
    }

    public Uri BaseAddress => http.BaseAddress!;

    // ---- Queries ------------------------------------------------------------------------------

    /// <summary>HOLDER's stake in SUBJECT on <paramref name="at"/> (default today), as known at <paramref name="knownAt"/> (default now).</summary>
    public Task<HoldingAnswer> HoldingAsync(string holder, string subject, DateOnly? at = null, DateTimeOffset? knownAt = null, CancellationToken ct = default) =>
        GetAsync<HoldingAnswer>($"api/holdings/{Segment(holder)}/{Segment(subject)}{Query(("at", Day(at)), ("knownAt", Instant(knownAt)))}", ct);

    /// <summary>Every period of HOLDER's stake in SUBJECT over valid time (JSON as the API gives it).</summary>
    public Task<JsonElement> HoldingHistoryAsync(string holder, string subject, DateTimeOffset? knownAt = null, CancellationToken ct = default) =>
        GetAsync<JsonElement>($"api/holdings/{Segment(holder)}/{Segment(subject)}/history{Query(("knownAt", Instant(knownAt)))}", ct);

    /// <summary>An organization's profile and its relationships on a date, incoming and outgoing.</summary>
    public Task<JsonElement> RelationshipsAsync(string organization, DateOnly? at = null, DateTimeOffset? knownAt = null, CancellationToken ct = default) =>
        GetAsync<JsonElement>($"api/organizations/{Segment(organization)}/relationships{Query(("at", Day(at)), ("knownAt", Instant(knownAt)))}", ct);

    /// <summary>Who held stakes in an organization on a date, and the bounds of their known total.</summary>
    public Task<JsonElement> OwnersAsync(string organization, DateOnly? at = null, DateTimeOffset? knownAt = null, CancellationToken ct = default) =>
        GetAsync<JsonElement>($"api/organizations/{Segment(organization)}/owners{Query(("at", Day(at)), ("knownAt", Instant(knownAt)))}", ct);

    /// <summary>
    /// A bounded part of the relationship graph on a date: <paramref name="around"/> an organization (with
    /// <paramref name="hops"/> 1 or 2), or a page of the whole; the answer's page.next is the next <paramref name="after"/>.
    /// </summary>
    public Task<JsonElement> GraphAsync(DateOnly? at = null, DateTimeOffset? knownAt = null, CancellationToken ct = default,
        string? around = null, int? hops = null, int? limit = null, long? after = null) =>
        GetAsync<JsonElement>($"api/graph{Query(("around", around), ("hops", hops is { } h ? Number(h) : null), ("at", Day(at)), ("knownAt", Instant(knownAt)),
            ("limit", limit is { } l ? Number(l) : null), ("after", after is { } a ? Number(a) : null))}", ct);

    /// <summary>The raw log in sequence order after <paramref name="after"/>, optionally of one stream or event type.</summary>
    public Task<IReadOnlyList<LogEntry>> EventsAsync(long after = 0, int limit = 100, string? stream = null, string? type = null, CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<LogEntry>>($"api/events{Query(("after", Number(after)), ("limit", Number(limit)), ("stream", stream), ("type", type))}", ct);

    /// <summary>A fact as the ledger holds it now, with its ETag (pass it as ifMatch when amending).</summary>
    public async Task<VersionedFact> FactAsync(string fact, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Get, $"api/facts/{Segment(fact)}", null, null, ct);
        var state = await ReadAsync<JsonElement>(response, ct);
        return new VersionedFact(state, response.Headers.ETag?.Tag ?? throw new LedgerApiException(response.StatusCode, "No ETag", $"the answer for fact '{fact}' has no ETag"));
    }

    // ---- Writes (each takes a JSON-serializable object, or a string of raw JSON) ---------------

    public Task<ImportReport> RegisterOrganizationAsync(object organization, CancellationToken ct = default) => PostAsync("api/organizations", organization, ct);

    public Task<ImportReport> RegisterSourceAsync(object source, CancellationToken ct = default) => PostAsync("api/sources", source, ct);

    /// <summary>A deal with its facts and their sources: { id, parties, facts: [ { id, type, …, valid, sources } ] }.</summary>
    public Task<ImportReport> RecordDealAsync(object deal, CancellationToken ct = default) => PostAsync("api/deals", deal, ct);

    /// <summary>A whole ledger document (DESIGN §9), JSON or YAML; all or nothing, and importing again changes nothing.</summary>
    public async Task<ImportReport> ImportAsync(string document, bool yaml = false, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/import",
            new StringContent(document, Encoding.UTF8, yaml ? "application/yaml" : "application/json"), null, ct);
        return await ReadAsync<ImportReport>(response, ct);
    }

    /// <summary>Another source on a fact: { source, claim, attributedTo?, note? }.</summary>
    public Task<AmendmentReport> AddSourceAsync(string fact, object claim, string? ifMatch = null, CancellationToken ct = default) =>
        AmendAsync(fact, "sources", claim, ifMatch, ct);

    /// <summary>A correction: { set, reason, sources }.</summary>
    public Task<AmendmentReport> CorrectAsync(string fact, object correction, string? ifMatch = null, CancellationToken ct = default) =>
        AmendAsync(fact, "corrections", correction, ifMatch, ct);

    /// <summary>A retraction: { reason, sources }.</summary>
    public Task<AmendmentReport> RetractAsync(string fact, object retraction, string? ifMatch = null, CancellationToken ct = default) =>
        AmendAsync(fact, "retractions", retraction, ifMatch, ct);

    /// <summary>The end of a relationship: { on, reason?, sources }.</summary>
    public Task<AmendmentReport> EndAsync(string fact, object ending, string? ifMatch = null, CancellationToken ct = default) =>
        AmendAsync(fact, "endings", ending, ifMatch, ct);

    // ---- The change feed -----------------------------------------------------------------------

    /// <summary>A page of the change feed after a checkpoint (limit 1–1000).</summary>
    public Task<FeedPage> FeedAsync(long after, int limit = 100, CancellationToken ct = default) => FeedAsync(after, limit, null, ct);

    /// <param name="org">Only the writes that changed this organization's ties (its registration, its facts and holdings); null: every write.</param>
    public Task<FeedPage> FeedAsync(long after, int limit, string? org, CancellationToken ct = default) =>
        GetAsync<FeedPage>($"api/feed{Query(("after", Number(after)), ("limit", Number(limit)), ("org", org))}", ct);

    // ---- Plumbing ------------------------------------------------------------------------------

    private async Task<T> GetAsync<T>(string path, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, null, ct);
        return await ReadAsync<T>(response, ct);
    }

    private async Task<ImportReport> PostAsync(string path, object body, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, path, JsonBody(body), null, ct);
        return await ReadAsync<ImportReport>(response, ct);
    }

    private async Task<AmendmentReport> AmendAsync(string fact, string kind, object body, string? ifMatch, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, $"api/facts/{Segment(fact)}/{kind}", JsonBody(body), ifMatch, ct);
        return new AmendmentReport(await ReadAsync<ImportReport>(response, ct), response.Headers.ETag?.Tag);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, string? ifMatch, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (apiKey is not null)
        {
            request.Headers.Add(ApiKeyHeader, apiKey);
        }
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (ifMatch is not null)
        {
            // An ETag as the API gave it ("3"), or just the version (3).
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch.StartsWith('"') || ifMatch == "*" ? ifMatch : $"\"{ifMatch}\"");
        }
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            throw await LedgerApiException.FromAsync(response, ct);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        return await JsonSerializer.DeserializeAsync<T>(body, Json, ct)
            ?? throw new LedgerApiException(response.StatusCode, "Empty answer", $"{response.RequestMessage?.RequestUri} answered null");
    }

    private static StringContent JsonBody(object body) =>
        new(body as string ?? JsonSerializer.Serialize(body, body.GetType(), WriteJson), Encoding.UTF8, "application/json");

    // Bodies leave out nulls: the ledger treats a missing optional field and null alike, and a
    // typed body then need not know every optional field.
    private static readonly JsonSerializerOptions WriteJson = new(Json) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private static Uri Root(Uri api) => api.AbsoluteUri.EndsWith('/') ? api : new Uri(api.AbsoluteUri + "/");

    private static string Segment(string value) => Uri.EscapeDataString(value);

    private static string? Day(DateOnly? day) => day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>ISO 8601 in UTC to the microsecond, as the ledger writes recorded instants.</summary>
    private static string? Instant(DateTimeOffset? instant) =>
        instant?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var given = parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return given.Count == 0 ? "" : "?" + string.Join('&', given);
    }

    public void Dispose()
    {
        if (ownsHttp)
        {
            http.Dispose();
        }
    }
}
