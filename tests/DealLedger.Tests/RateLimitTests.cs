using System.Net;
using System.Text.Json;
using DealLedger.Access;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DealLedger.Tests;

/// <summary>Per-key rate limits (DealLedger:RateLimit): one key over its limit is told to wait; other keys go on being served.</summary>
public sealed class RateLimitTests(ApiHostFixture api) : IClassFixture<ApiHostFixture>
{
    private const int Burst = 5;

    private WebApplicationFactory<Program> Limited() => api.Host(anonymousReads: false, new Dictionary<string, string>
    {
        ["DealLedger:RateLimit:PermitsPerSecond"] = "1",
        ["DealLedger:RateLimit:Burst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    private static HttpClient Client(WebApplicationFactory<Program> host, string? key)
    {
        var client = host.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }
        return client;
    }

    /// <summary>Calls until the first 429 (at most <paramref name="most"/> calls); the statuses before it, and the 429.</summary>
    private static async Task<(List<HttpStatusCode> Served, HttpResponseMessage? Refused)> UntilRefusedAsync(HttpClient client, int most)
    {
        var served = new List<HttpStatusCode>();
        for (var i = 0; i < most; i++)
        {
            var response = await client.GetAsync("/api/graph");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return (served, response);
            }
            served.Add(response.StatusCode);
        }
        return (served, null);
    }

    [Fact]
    public async Task a_key_over_its_limit_gets_429_problem_details_with_retry_after_while_another_key_is_served()
    {
        await using var host = Limited();
        var reader = Client(host, api.Keys[Role.Reader]);

        var (served, refused) = await UntilRefusedAsync(reader, Burst + 10);

        // The burst is served in full; then (well within a second or two of refills) a 429.
        Assert.NotNull(refused);
        Assert.InRange(served.Count, Burst, Burst + 3);
        Assert.All(served, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Contains("test-reader", problem.GetProperty("detail").GetString());
        var wait = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(wait);
        Assert.InRange(wait.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        // Another key has a bucket of its own: its whole burst is served at once.
        var writer = Client(host, api.Keys[Role.Writer]);
        for (var i = 0; i < Burst; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await writer.GetAsync("/api/graph")).StatusCode);
        }

        // The first key is served again after the wait it was told.
        await Task.Delay(wait.Value);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/graph")).StatusCode);
    }

    [Fact]
    public async Task guessing_keys_is_limited_by_address_and_does_not_use_up_a_real_keys_limit()
    {
        await using var host = Limited();
        var guesses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < Burst + 10 && refused is null; i++)
        {
            var response = await Client(host, $"dlk_guess-{i}").GetAsync("/api/graph");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                guesses.Add(response.StatusCode);
            }
        }

        Assert.NotNull(refused);
        Assert.InRange(guesses.Count, Burst, Burst + 3);
        Assert.All(guesses, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Client(host, null).GetAsync("/api/graph")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client(host, api.Keys[Role.Admin]).GetAsync("/api/graph")).StatusCode);
    }

    [Theory]
    [InlineData("DealLedger:RateLimit:Burst", "0", "DealLedger:RateLimit needs")]
    [InlineData("DealLedger:RateLimit:PermitsPerSecond", "-1", "DealLedger:RateLimit needs")]
    [InlineData("DealLedger:Cors:Origins", "https://app.example/path", "DealLedger:Cors:Origins: 'https://app.example/path' is not an origin")]
    [InlineData("DealLedger:Cors:Origins", "*", "DealLedger:Cors:Origins: '*' is not an origin")]
    public async Task a_bad_limit_or_origin_stops_the_api_at_start_naming_the_setting(string setting, string value, string message)
    {
        await using var host = api.Host(anonymousReads: false, new Dictionary<string, string> { [setting] = value });
        var e = Assert.ThrowsAny<Exception>(() => host.CreateClient());
        Assert.Contains(message, e.Message);
    }
}
