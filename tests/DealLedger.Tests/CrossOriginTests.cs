using System.Net;
using System.Text.RegularExpressions;
using DealLedger.Access;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DealLedger.Tests;

/// <summary>
/// CORS (DealLedger:Cors:Origins): closed unless configured — no response of any endpoint lets a
/// browser page of another origin read it, and preflights are refused; configured origins, and only
/// they, may call with a key.
/// </summary>
public sealed partial class CrossOriginTests(ApiHostFixture api) : IClassFixture<ApiHostFixture>
{
    private const string App = "https://app.example";
    private const string Elsewhere = "https://elsewhere.example";

    private static readonly Dictionary<string, string> RouteValues = new()
    {
        ["holder"] = "microsoft", ["subject"] = "mistral-ai", ["organization"] = "mistral-ai", ["fact"] = "microsoft-mistral-stake",
        ["name"] = "nobody", ["documentName"] = "v1", ["documentName?"] = "", ["subscription"] = "sub-0000", ["delivery"] = "first",
    };

    [Fact]
    public async Task with_no_origins_configured_no_response_allows_another_origin_and_every_preflight_is_refused()
    {
        var client = api.Client(Role.Admin);
        var endpoints = AccessMatrixTests.Endpoints(api.Services).ToList();
        var seen = new List<string>();
        foreach (var (method, pattern) in endpoints)
        {
            var path = RouteParameter().Replace(pattern, m => RouteValues[m.Groups[1].Value]);
            var verb = method == "*" ? "GET" : method;

            // A simple request from a page of another origin: answered (the server cannot know), but never readable by that page.
            using var simple = new HttpRequestMessage(new HttpMethod(verb), path);
            simple.Headers.Add("Origin", Elsewhere);
            using var answer = await client.SendAsync(simple, HttpCompletionOption.ResponseHeadersRead);
            seen.Add($"{verb} {path}: {(int)answer.StatusCode}");
            Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"), $"{verb} {path} answered {(int)answer.StatusCode} with Access-Control-Allow-Origin");

            // The preflight a browser sends before a call with a key: refused, and not allowing anything.
            using var preflight = Preflight(path, verb, Elsewhere);
            using var refused = await api.Client().SendAsync(preflight);
            Assert.False(refused.IsSuccessStatusCode, $"preflight of {verb} {path} answered {(int)refused.StatusCode}");
            Assert.DoesNotContain(refused.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
        }
        Assert.True(endpoints.Count >= 20, string.Join("\n", seen));
    }

    [Fact]
    public async Task a_configured_origin_may_call_with_a_key_and_read_the_answer_and_others_still_may_not()
    {
        await using var host = api.Host(anonymousReads: false, new Dictionary<string, string> { ["DealLedger:Cors:Origins"] = $"{App}, http://localhost:3000" });
        var anonymous = host.CreateClient();

        using var allowed = await anonymous.SendAsync(Preflight("/api/facts/microsoft-mistral-stake/corrections", "POST", App, "x-api-key, content-type, if-match"));
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal(App, Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("POST", allowed.Headers.GetValues("Access-Control-Allow-Methods").Single().Split(','));
        var allowedHeaders = allowed.Headers.GetValues("Access-Control-Allow-Headers").Single().Split(',');
        Assert.All(new[] { "X-Api-Key", "Content-Type", "If-Match" }, h => Assert.Contains(h, allowedHeaders));
        Assert.False(allowed.Headers.Contains("Access-Control-Allow-Credentials"));

        var reader = host.CreateClient();
        reader.DefaultRequestHeaders.Add("X-Api-Key", api.Keys[Role.Reader]);
        using var read = new HttpRequestMessage(HttpMethod.Get, "/api/facts/microsoft-mistral-stake");
        read.Headers.Add("Origin", App);
        using var answer = await reader.SendAsync(read);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(App, Assert.Single(answer.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("ETag", answer.Headers.GetValues("Access-Control-Expose-Headers").Single().Split(','));

        using var other = await anonymous.SendAsync(Preflight("/api/graph", "GET", Elsewhere));
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
        using var otherRead = new HttpRequestMessage(HttpMethod.Get, "/api/graph");
        otherRead.Headers.Add("Origin", Elsewhere);
        using var otherAnswer = await reader.SendAsync(otherRead);
        Assert.Equal(HttpStatusCode.OK, otherAnswer.StatusCode);
        Assert.False(otherAnswer.Headers.Contains("Access-Control-Allow-Origin"));
    }

    private static HttpRequestMessage Preflight(string path, string method, string origin, string headers = "x-api-key")
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return request;
    }

    [GeneratedRegex(@"\{([^}]+)\}")]
    private static partial Regex RouteParameter();
}
