using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DealLedger.Access;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>
/// Keys never reach the logs: the API runs as a process logging everything (Trace, every category,
/// JSON with scopes) while keys are used, created, revoked, mistyped and refused, and requests fail in
/// every way; no line of its stdout or stderr holds a key, a part of one, or its stored hash.
/// </summary>
[Collection(ChildProcess.Collection)]
public sealed class KeysInLogsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestDatabase db = new();

    public Task InitializeAsync() => db.InitializeAsync();

    public Task DisposeAsync() => db.DisposeAsync();

    [Fact]
    public async Task no_key_or_key_hash_appears_in_the_apis_output_at_trace_level()
    {
        string admin;
        await using (var ledger = db.Connect())
        {
            await Seeds.LoadAsync(ledger);
            admin = (await ledger.CreateKeyAsync("log-admin", Role.Admin, "tests")).Key;
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var root = new Uri($"http://127.0.0.1:{ChildProcess.FreePort()}/");
        await using var api = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Api"), [], new Dictionary<string, string?>
        {
            ["ConnectionStrings__DealLedger"] = db.ConnectionString,
            ["ASPNETCORE_URLS"] = root.AbsoluteUri.TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            // Every category appsettings.json names, and all others, at Trace; JSON lines carry every
            // structured value and scope a log entry has.
            ["Logging__LogLevel__Default"] = "Trace",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
            ["Logging__LogLevel__Wolverine"] = "Trace",
            ["Logging__LogLevel__Wolverine.Configuration.HandlerDiscovery"] = "Trace",
            ["Logging__Console__FormatterName"] = "json",
            ["Logging__Console__FormatterOptions__IncludeScopes"] = "true",
            ["DealLedger__RateLimit__PermitsPerSecond"] = "1",
            ["DealLedger__RateLimit__Burst"] = "12",
        }, "api", keepAllOutput: true);
        await api.WaitForHttpAsync(new Uri(root, "health/ready"), TimeSpan.FromSeconds(60));
        var started = clock.Elapsed;
        using var http = new HttpClient { BaseAddress = root };
        var statuses = new List<string>();

        async Task<HttpResponseMessage> Send(HttpMethod method, string path, string? key, string? json = null, string? ifMatch = null)
        {
            using var request = new HttpRequestMessage(method, path);
            if (key is not null)
            {
                request.Headers.TryAddWithoutValidation("X-Api-Key", key);
            }
            if (json is not null)
            {
                request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            }
            if (ifMatch is not null)
            {
                request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
            }
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            statuses.Add($"{method} {path}: {(int)response.StatusCode}");
            return response;
        }

        async Task<string> CreateKey(string name, string role)
        {
            var created = await Send(HttpMethod.Post, "api/keys", admin, $$"""{ "name": "{{name}}", "role": "{{role}}" }""");
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            return JsonNode.Parse(await created.Content.ReadAsStringAsync())!["key"]!.GetValue<string>();
        }

        var writer = await CreateKey("log-writer", "writer");
        var reader = await CreateKey("log-reader", "reader");
        var unknown = "dlk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var malformed = "not-a-key-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var keys = new Dictionary<string, string> { ["admin"] = admin, ["writer"] = writer, ["reader"] = reader, ["unknown"] = unknown, ["malformed"] = malformed };

        // Reads, writes and each kind of failure, with each key.
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "api/holdings/microsoft/mistral-ai?at=2024-06-01", reader)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "api/feed?after=0&limit=3", reader)).StatusCode);
        using (var stream = await Send(HttpMethod.Get, "api/feed/stream?after=0", reader))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        }
        Assert.Equal(HttpStatusCode.Created, (await Send(HttpMethod.Post, "api/organizations", writer, """{ "id": "logged-co", "name": "Logged", "kind": "company" }""")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, "api/organizations", writer, """{ "id": """)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, "api/organizations", writer, """{ "id": "x", "name": "X", "kind": "nonsense" }""")).StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await Send(HttpMethod.Post, "api/facts/microsoft-mistral-stake/retractions", writer,
            """{ "reason": "r", "sources": [ { "source": "ms-mistral-article-de", "claim": "stated" } ] }""", "\"99\"")).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Send(HttpMethod.Post, "api/organizations", writer, new string(' ', 300 * 1024) + "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Get, "api/facts/no-such-fact", reader)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(HttpMethod.Post, "api/organizations", reader, """{ "id": "nope", "name": "Nope", "kind": "company" }""")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(HttpMethod.Get, "api/keys", writer)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "api/graph", unknown)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "api/graph", malformed)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await Send(HttpMethod.Post, "api/keys", admin, """{ "name": "log-writer", "role": "writer" }""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "api/keys", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Delete, "api/keys/log-writer", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Post, "api/organizations", writer, """{ "id": "late", "name": "Late", "kind": "company" }""")).StatusCode);
        // Past the reader key's limit.
        HttpStatusCode last;
        var tries = 0;
        do
        {
            last = (await Send(HttpMethod.Get, "api/graph", reader)).StatusCode;
        }
        while (last != HttpStatusCode.TooManyRequests && ++tries < 100);
        Assert.Equal(HttpStatusCode.TooManyRequests, last);

        // The last request's own log line shows everything before it was written out.
        var marker = Guid.NewGuid().ToString("N");
        await Send(HttpMethod.Get, $"health/live?end={marker}", null);
        await api.WaitForLineAsync(l => l.Contains(marker, StringComparison.Ordinal) && l.Contains("Request finished", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the last request's log line");
        var lines = api.AllOutput();

        // What a leak could look like: the key, its random part, and its SHA-256 (as stored) in the usual spellings.
        var secrets = keys.SelectMany(k =>
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(k.Value));
            var base64 = Convert.ToBase64String(hash);
            return new[]
            {
                (k.Key + " key", k.Value), (k.Key + " key's random part", k.Value[4..]),
                (k.Key + " hash (hex)", Convert.ToHexStringLower(hash)), (k.Key + " hash (HEX)", Convert.ToHexString(hash)),
                (k.Key + " hash (base64)", base64.TrimEnd('=')), (k.Key + " hash (base64url)", base64.TrimEnd('=').Replace('+', '-').Replace('/', '_')),
            };
        }).ToList();
        var leaks = secrets.SelectMany(s => lines.Where(l => l.Contains(s.Item2, StringComparison.OrdinalIgnoreCase)).Take(1).Select(l => $"{s.Item1} in: {l}")).ToList();

        output.WriteLine($"API ready after {started.TotalSeconds:0.0} s; {statuses.Count} requests, all logged by {clock.Elapsed.TotalSeconds:0.0} s; " +
            $"{lines.Count} log lines, {lines.Sum(l => l.Length)} characters searched for {secrets.Count} strings");
        output.WriteLine(string.Join("\n", statuses.Where(s => !s.Contains("api/graph", StringComparison.Ordinal))));
        // The logging was really on: Debug lines of authentication and Trace lines of Kestrel.
        Assert.Contains(lines, l => l.Contains("was not authenticated", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"LogLevel\":\"Trace\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("api/keys/log-writer", StringComparison.Ordinal));
        Assert.True(leaks.Count == 0, string.Join("\n", leaks));
    }
}
