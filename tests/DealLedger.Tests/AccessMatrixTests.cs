using System.Diagnostics;
using System.Net;
using System.Text;
using DealLedger.Access;
using DealLedger.Auditing;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

using DealLedger.Feed;
using DealLedger.Subscriptions;

namespace DealLedger.Tests;

/// <summary>
/// Who may call what: every endpoint the running API maps (read from its endpoint data source, so an
/// endpoint added without a row here fails the test) × no key, each role's key, an unknown key and a
/// revoked key, each with the status written out below; refusals are problem details and change nothing.
/// With anonymous reads on, reads need no key and writes still do.
/// </summary>
public sealed class AccessMatrixTests(ApiHostFixture api, ITestOutputHelper output) : IClassFixture<ApiHostFixture>
{
    private enum Caller { None, Reader, Writer, Admin, Unknown, Revoked }

    /// <summary>One endpoint: how to call it successfully (fresh data per call), and the status each caller gets.</summary>
    private sealed record Row(string Endpoint, Func<string, Task<HttpRequestMessage>> Request, int None, int Reader, int Writer, int Admin, int AnonymousReads)
    {
        /// <summary>Unknown and revoked keys are refused wherever a key is needed; open endpoints ignore keys.</summary>
        public int Expected(Caller c) => c switch
        {
            Caller.None => None,
            Caller.Reader => Reader,
            Caller.Writer => Writer,
            Caller.Admin => Admin,
            _ => None == 401 ? 401 : None,
        };
    }

    private const string Source = """[ { "source": "ms-mistral-article-de", "claim": "stated" } ]""";

    private Row[] Rows() =>
    [
        // Reads (reader role, or anonymous when configured).
        new("GET /api/holdings/{holder}/{subject}", _ => Get("/api/holdings/microsoft/mistral-ai?at=2024-06-01"), 401, 200, 200, 200, 200),
        new("GET /api/holdings/{holder}/{subject}/history", _ => Get("/api/holdings/microsoft/mistral-ai/history"), 401, 200, 200, 200, 200),
        new("GET /api/organizations/{organization}/relationships", _ => Get("/api/organizations/microsoft/relationships"), 401, 200, 200, 200, 200),
        new("GET /api/organizations/{organization}/owners", _ => Get("/api/organizations/mistral-ai/owners"), 401, 200, 200, 200, 200),
        new("GET /api/organizations/{organization}/investments", _ => Get("/api/organizations/microsoft/investments?from=2024-01-01"), 401, 200, 200, 200, 200),
        new("GET /api/organizations/{organization}/holdings", _ => Get("/api/organizations/microsoft/holdings?through=true"), 401, 200, 200, 200, 200),
        new("GET /api/graph", _ => Get("/api/graph?at=2024-06-01"), 401, 200, 200, 200, 200),
        new("GET /api/changes", _ => Get("/api/changes?knownFrom=2020-01-01T00:00:00Z&org=microsoft"), 401, 200, 200, 200, 200),
        new("GET /api/organizations", _ => Get("/api/organizations?q=mistral"), 401, 200, 200, 200, 200),
        new("GET /api/events", _ => Get("/api/events?limit=5"), 401, 200, 200, 200, 200),
        new("GET /api/facts/{fact}", _ => Get("/api/facts/microsoft-mistral-stake"), 401, 200, 200, 200, 200),
        new("GET /api/feed", _ => Get("/api/feed?after=0&limit=5"), 401, 200, 200, 200, 200),
        new("GET /api/feed/stream", _ => Get("/api/feed/stream?after=0"), 401, 200, 200, 200, 200),

        // Writes (writer role).
        new("POST /api/organizations", n => Post("/api/organizations", $$"""{ "id": "org-{{n}}", "name": "Org {{n}}", "kind": "company" }"""), 401, 403, 201, 201, 401),
        new("POST /api/sources", n => Post("/api/sources", $$"""{ "id": "src-{{n}}", "title": "Source {{n}}", "kind": "third-party" }"""), 401, 403, 201, 201, 401),
        new("POST /api/deals", n => Post("/api/deals", $$"""
            { "id": "deal-{{n}}", "parties": ["mistral-ai"], "facts": [ { "id": "news-{{n}}", "type": "announcement", "parties": ["mistral-ai"],
              "title": "Announcement {{n}}", "valid": { "from": "2024-02" }, "sources": {{Source}} } ] }
            """), 401, 403, 201, 201, 401),
        new("POST /api/facts/{fact}/sources", async n => await Post($"/api/facts/{await FactAsync(n)}/sources", """{ "source": "ai-for-citizens-article-de", "claim": "stated" }"""), 401, 403, 200, 200, 401),
        new("POST /api/facts/{fact}/corrections", async n => await Post($"/api/facts/{await FactAsync(n)}/corrections", $$"""{ "set": { "share": { "exact": 2 } }, "reason": "restated", "sources": {{Source}} }"""), 401, 403, 200, 200, 401),
        new("POST /api/facts/{fact}/retractions", async n => await Post($"/api/facts/{await FactAsync(n)}/retractions", $$"""{ "reason": "withdrawn", "sources": {{Source}} }"""), 401, 403, 200, 200, 401),
        new("POST /api/facts/{fact}/endings", async n => await Post($"/api/facts/{await FactAsync(n)}/endings", $$"""{ "on": "2024-06", "reason": "sold", "sources": {{Source}} }"""), 401, 403, 200, 200, 401),
        new("POST /api/organizations/{organization}/merge", async n => await Post($"/api/organizations/{await RecordAsync(n, merged: false)}/merge", """{ "into": "mistral-ai", "reason": "registered twice" }"""), 401, 403, 201, 201, 401),
        new("POST /api/organizations/{organization}/unmerge", async n => await Post($"/api/organizations/{await RecordAsync(n, merged: true)}/unmerge", """{ "reason": "two after all" }"""), 401, 403, 200, 200, 401),
        new("POST /api/import", n => Post("/api/import", $$"""{ "organizations": [ { "id": "imported-{{n}}", "name": "Imported {{n}}", "kind": "company" } ] }"""), 401, 403, 200, 200, 401),

        // Key administration (admin role).
        new("GET /api/keys", _ => Get("/api/keys"), 401, 403, 403, 200, 401),
        new("POST /api/keys", n => Post("/api/keys", $$"""{ "name": "made-{{n}}", "role": "reader" }"""), 401, 403, 403, 201, 401),
        new("DELETE /api/keys/{name}", async n => new HttpRequestMessage(HttpMethod.Delete, $"/api/keys/{(await api.Ledger.CreateKeyAsync($"doomed-{n}", Role.Reader, "tests")).Name}"), 401, 403, 403, 200, 401),

        // Webhook subscriptions (admin role); to a documentation address, for an organization no write names: nothing is sent.
        new("POST /api/subscriptions", n => Post("/api/subscriptions", $$"""{ "url": "https://203.0.113.10/hooks/{{n}}", "secret": "a-secret-of-some-length", "org": "no-such-org" }"""), 401, 403, 403, 201, 401),
        new("GET /api/subscriptions", _ => Get("/api/subscriptions"), 401, 403, 403, 200, 401),
        new("GET /api/subscriptions/{subscription}", async _ => await Get($"/api/subscriptions/{await SubscriptionAsync()}"), 401, 403, 403, 200, 401),
        new("DELETE /api/subscriptions/{subscription}", async _ => new HttpRequestMessage(HttpMethod.Delete, $"/api/subscriptions/{await SubscriptionAsync()}"), 401, 403, 403, 200, 401),
        new("GET /api/subscriptions/{subscription}/deliveries", async _ => await Get($"/api/subscriptions/{await SubscriptionAsync()}/deliveries"), 401, 403, 403, 200, 401),
        // No delivery of that id: an admin passes and is told so (404); the others are refused first.
        new("POST /api/subscriptions/{subscription}/deliveries/{delivery}/replay",
            async _ => await Post($"/api/subscriptions/{await SubscriptionAsync()}/deliveries/{Guid.NewGuid()}/replay", "{}"), 401, 403, 403, 404, 401),

        // Metrics (a Prometheus scrape): admin keys only.
        new("* /metrics", _ => Get("/metrics"), 401, 403, 403, 200, 401),

        // Open to all: the API's description and health (for load balancers and orchestrators).
        new("GET /openapi/{documentName}.json", _ => Get("/openapi/v1.json"), 200, 200, 200, 200, 200),
        new("GET /reference/{documentName?}", _ => Get("/reference/"), 200, 200, 200, 200, 200),
        new("GET /reference/scalar.js", _ => Get("/reference/scalar.js"), 200, 200, 200, 200, 200),
        new("GET /reference/scalar.aspnetcore.js", _ => Get("/reference/scalar.aspnetcore.js"), 200, 200, 200, 200, 200),
        new("GET /reference/favicon.svg", _ => Get("/reference/favicon.svg"), 200, 200, 200, 200, 200),
        new("GET /health/live", _ => Get("/health/live"), 200, 200, 200, 200, 200),
        new("HEAD /health/live", _ => Head("/health/live"), 200, 200, 200, 200, 200),
        new("GET /health/ready", _ => Get("/health/ready"), 200, 200, 200, 200, 200),
        new("HEAD /health/ready", _ => Head("/health/ready"), 200, 200, 200, 200, 200),
    ];

    /// <summary>A second record of Mistral AI for the n-th call to merge (or, merged already, to unmerge).</summary>
    private async Task<string> RecordAsync(string n, bool merged)
    {
        var id = $"{(merged ? "merged" : "twin")}-{n}";
        await api.Ledger.ImportYamlAsync($"organizations:\n  - {{ id: {id}, name: Twin {n}, kind: company }}\n" +
            (merged ? Seeds.MergeOf(id, "mistral-ai") : ""));
        return id;
    }

    [Fact]
    public async Task every_endpoint_answers_each_kind_of_caller_with_the_status_in_the_matrix_and_refusals_change_nothing()
    {
        var rows = Rows();
        var mapped = MappedEndpoints(api.Services);
        Assert.True(mapped.SetEquals(rows.Select(r => r.Endpoint)),
            $"endpoints without a row: [{string.Join(", ", mapped.Except(rows.Select(r => r.Endpoint)))}]; rows without an endpoint: [{string.Join(", ", rows.Select(r => r.Endpoint).Except(mapped))}]");

        var revoked = await api.Ledger.CreateKeyAsync("matrix-revoked-admin", Role.Admin, "tests");
        await api.Ledger.RevokeKeyAsync(revoked.Name);
        var keys = new Dictionary<Caller, string?>
        {
            [Caller.None] = null,
            [Caller.Reader] = api.Keys[Role.Reader],
            [Caller.Writer] = api.Keys[Role.Writer],
            [Caller.Admin] = api.Keys[Role.Admin],
            [Caller.Unknown] = "dlk_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            [Caller.Revoked] = revoked.Key,
        };
        var clock = Stopwatch.StartNew();
        var wrong = new List<string>();
        var cells = 0;

        // Refusals first, their requests made ready (facts and keys to amend or revoke) before the
        // stored state is fingerprinted around them; then the calls that succeed.
        var refused = new List<(Row Row, Caller Caller, HttpRequestMessage Request)>();
        foreach (var (row, caller) in rows.SelectMany(r => keys.Keys.Select(c => (Row: r, Caller: c))).Where(x => x.Row.Expected(x.Caller) >= 400))
        {
            refused.Add((row, caller, await RequestAsync(row)));
        }
        // The host seals in the background: seal the preparations' writes now, so only a refusal could change the seals.
        await api.Ledger.SealAsync(CancellationToken.None);
        var before = await StateAsync();
        foreach (var (row, caller, request) in refused)
        {
            cells++;
            await CheckAsync(api.Client(key: keys[caller]), row, request, $"{caller}", row.Expected(caller), wrong);
        }
        Assert.Equal(before, await StateAsync());
        foreach (var (row, caller) in rows.SelectMany(r => keys.Keys.Select(c => (Row: r, Caller: c))).Where(x => x.Row.Expected(x.Caller) < 400))
        {
            cells++;
            await CheckAsync(api.Client(key: keys[caller]), row, await RequestAsync(row), $"{caller}", row.Expected(caller), wrong);
        }

        // Anonymous reads on: the same rows without a key (and a wrong key still refused).
        await using var open = api.Host(anonymousReads: true);
        foreach (var row in rows)
        {
            cells += 2;
            await CheckAsync(open.CreateClient(), row, await RequestAsync(row), "None, anonymous reads on", row.AnonymousReads, wrong);
            var unknown = open.CreateClient();
            unknown.DefaultRequestHeaders.Add("X-Api-Key", keys[Caller.Unknown]);
            await CheckAsync(unknown, row, await RequestAsync(row), "Unknown, anonymous reads on", row.Expected(Caller.Unknown), wrong);
        }

        output.WriteLine($"{rows.Length} endpoints, {cells} calls ({refused.Count} of them refusals) in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {cells} calls answered otherwise:\n{string.Join("\n", wrong)}");
    }

    private static HashSet<string> MappedEndpoints(IServiceProvider services) => Endpoints(services).Select(e => $"{e.Method} {e.Pattern}").ToHashSet();

    /// <summary>Every endpoint the app maps: its method ("*" for any) and route pattern (a group's "" route without its trailing '/').</summary>
    internal static IEnumerable<(string Method, string Pattern)> Endpoints(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (m, e.RoutePattern.RawText!.TrimEnd('/'))));

    private static Task<HttpRequestMessage> RequestAsync(Row row) => row.Request(Guid.NewGuid().ToString("N")[..12]);

    private static async Task CheckAsync(HttpClient client, Row row, HttpRequestMessage request, string caller, int expected, List<string> wrong)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // Headers only: the feed's stream never ends by itself.
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        request.Dispose();
        var status = (int)response.StatusCode;
        var problem = response.Content.Headers.ContentType?.MediaType;
        if (status != expected)
        {
            var body = row.Endpoint.EndsWith("/stream", StringComparison.Ordinal) ? "" : await response.Content.ReadAsStringAsync(cts.Token);
            wrong.Add($"  {row.Endpoint} as {caller}: {status}, expected {expected} {body[..Math.Min(body.Length, 200)]}");
        }
        else if (status >= 400 && problem != "application/problem+json")
        {
            wrong.Add($"  {row.Endpoint} as {caller}: {status} as '{problem}', not problem details");
        }
    }

    /// <summary>Everything stored, keys included.</summary>
    private async Task<string> StateAsync()
    {
        var keys = await api.Ledger.KeysAsync();
        var subscriptions = await api.Ledger.SubscriptionsAsync();
        return await api.FingerprintAsync() + string.Join(";", keys.Select(k => $"{k.Name}:{k.RevokedAt}")) + string.Join(";", subscriptions.Select(x => x.Id));
    }

    /// <summary>A subscription of its own (for an organization no write names), for one call.</summary>
    private async Task<string> SubscriptionAsync() =>
        (await api.Ledger.SubscribeAsync("https://203.0.113.10/hooks/matrix", "a-secret-of-some-length", FeedFilter.Parse("no-such-org", null, null), "tests", new WebhookOptions())).Id;

    /// <summary>A stake of its own, for one amendment.</summary>
    private async Task<string> FactAsync(string n)
    {
        await api.Ledger.ImportYamlAsync($$"""
            organizations:
              - { id: h-{{n}}, name: Holder {{n}}, kind: company }
              - { id: s-{{n}}, name: Subject {{n}}, kind: company }
            deals:
              - id: d-{{n}}
                parties: [h-{{n}}, s-{{n}}]
                facts:
                  - { id: f-{{n}}, type: stake, holder: h-{{n}}, subject: s-{{n}}, share: { exact: 1 }, valid: { from: 2024-02 },
                      sources: [ { source: ms-mistral-article-de, claim: stated } ] }
            """);
        return $"f-{n}";
    }

    private static Task<HttpRequestMessage> Get(string path) => Task.FromResult(new HttpRequestMessage(HttpMethod.Get, path));

    private static Task<HttpRequestMessage> Head(string path) => Task.FromResult(new HttpRequestMessage(HttpMethod.Head, path));

    private static Task<HttpRequestMessage> Post(string path, string json) =>
        Task.FromResult(new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
}
