using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DealLedger.Access;
using DealLedger.Auditing;
using DealLedger.Relationships;
using DealLedger.Time;

namespace DealLedger.Tests;

/// <summary>The HTTP API (DESIGN §4–6): the same answers as the CLI, access by role, problem details, concurrency.</summary>
public sealed class ApiTests(ApiHostFixture api) : IClassFixture<ApiHostFixture>
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<long> EventCountAsync() => (await api.Ledger.EventsAsync(new EventFilter(Limit: EventLog.MaxLimit))).Count;

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    [Fact]
    public async Task holding_endpoint_answers_with_exactly_the_json_of_the_cli()
    {
        var knownAt = Instant.Format(api.Seeded);
        var http = await api.Client(Role.Reader).GetStringAsync($"/api/holdings/microsoft/mistral-ai?at=2024-06-01&knownAt={knownAt}");
        var (code, cli, _) = await HeadlineTests.RunCliAsync(["holding", "microsoft", "mistral-ai", "--at", "2024-06-01", "--known-at", knownAt, "--json", "--connection", api.ConnectionString]);

        Assert.Equal(0, code);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(cli), JsonNode.Parse(http)), $"HTTP:\n{http}\nCLI:\n{cli}");
        Assert.Equal("held", JsonNode.Parse(http)!["status"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("history", "/api/holdings/microsoft/mistral-ai/history", "history", "microsoft", "mistral-ai")]
    [InlineData("relationships", "/api/organizations/mistral-ai/relationships?at=2024-06-01", "relationships", "mistral-ai", "--at", "2024-06-01")]
    [InlineData("owners", "/api/organizations/mistral-ai/owners?at=2024-06-01", "owners", "mistral-ai", "--at", "2024-06-01")]
    [InlineData("a page of relationships", "/api/organizations/mistral-ai/relationships?at=2024-06-01&limit=2&after=1", "relationships", "mistral-ai", "--at", "2024-06-01", "--limit", "2", "--after", "1")]
    [InlineData("one tie of the relationships", "/api/organizations/mistral-ai/relationships?at=2024-06-01&fact=microsoft-mistral-azure", "relationships", "mistral-ai", "--at", "2024-06-01", "--fact", "microsoft-mistral-azure")]
    [InlineData("a neighbourhood", "/api/graph?around=mistral-ai&hops=2&limit=3&at=2024-06-01", "graph", "--around", "mistral-ai", "--hops", "2", "--limit", "3", "--at", "2024-06-01")]
    [InlineData("a page of the whole graph", "/api/graph?limit=4&after=4&at=2024-06-01", "graph", "--limit", "4", "--after", "4", "--at", "2024-06-01")]
    [InlineData("a search", "/api/organizations?q=gov&limit=2", "organizations", "gov", "--limit", "2")]
    [InlineData("owners through chains", "/api/organizations/mistral-ai/owners?through=true&threshold=25&depth=5&at=2024-06-01", "owners", "mistral-ai", "--through", "--threshold", "25", "--depth", "5", "--at", "2024-06-01")]
    [InlineData("holdings through chains", "/api/organizations/microsoft/holdings?through=true&at=2024-06-01", "holdings", "microsoft", "--through", "--at", "2024-06-01")]
    [InlineData("direct holdings", "/api/organizations/microsoft/holdings?at=2024-06-01", "holdings", "microsoft", "--at", "2024-06-01")]
    public async Task every_query_answers_as_the_cli_does(string _, string path, params string[] cliArgs)
    {
        var knownAt = Instant.Format(api.Seeded);
        var http = await api.Client(Role.Reader).GetStringAsync($"{path}{(path.Contains('?') ? '&' : '?')}knownAt={knownAt}");
        var (code, cli, err) = await HeadlineTests.RunCliAsync([.. cliArgs, "--known-at", knownAt, "--json", "--connection", api.ConnectionString]);

        Assert.True(code == 0, err);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(cli), JsonNode.Parse(http)), $"HTTP:\n{http}\nCLI:\n{cli}");
    }

    [Fact]
    public async Task the_whole_graph_comes_a_page_of_organizations_at_a_time_and_holds_each_tie_once()
    {
        var client = api.Client(Role.Reader);
        var first = JsonNode.Parse(await client.GetStringAsync("/api/graph?at=2024-06-01&limit=4"))!;
        var knownAt = first["knownAt"]!.GetValue<string>();
        var pages = new List<JsonNode> { first };
        while (pages[^1]["page"]!["next"] is { } next)
        {
            pages.Add(JsonNode.Parse(await client.GetStringAsync($"/api/graph?at=2024-06-01&limit=4&after={next}&knownAt={Uri.EscapeDataString(knownAt)}"))!);
        }
        var edges = pages.SelectMany(p => p["edges"]!.AsArray()).ToList();

        // The seeds' 10 organizations and any other tests of this class wrote, each on one page.
        var total = first["page"]!["total"]!.GetValue<long>();
        Assert.InRange(total, 10, 100);
        Assert.Equal((total + 3) / 4, pages.Count);
        Assert.All(pages, p => Assert.Equal(total, p["page"]!["total"]!.GetValue<long>()));
        Assert.Contains(pages.SelectMany(p => p["organizations"]!.AsArray()), o => o!["id"]!.GetValue<string>() == "mistral-ai");
        Assert.Contains(edges, e => e!["fact"]!.GetValue<string>() == "microsoft-mistral-stake" && e["directed"]!.GetValue<bool>()
            && e["organizations"]![0]!.GetValue<string>() == "microsoft" && e["organizations"]![1]!.GetValue<string>() == "mistral-ai");
        Assert.Equal(edges.Count, edges.Select(e => e!["fact"]!.GetValue<string>()).Distinct().Count());
        // Without a limit, a page is bounded all the same.
        var unasked = JsonNode.Parse(await client.GetStringAsync("/api/graph?at=2024-06-01"))!;
        Assert.Equal(GraphQuery.WholeDefaultLimit, unasked["page"]!["limit"]!.GetValue<int>());
    }

    [Fact]
    public async Task relationships_asked_for_one_fact_give_that_tie_alone_or_none_when_it_is_not_in_force()
    {
        var client = api.Client(Role.Reader);
        var one = JsonNode.Parse(await client.GetStringAsync("/api/organizations/mistral-ai/relationships?at=2024-06-01&fact=microsoft-mistral-azure"))!;
        var tie = Assert.Single(one["relationships"]!.AsArray());
        Assert.Equal("microsoft-mistral-azure", tie!["fact"]!.GetValue<string>());
        Assert.Equal("partnership", tie["type"]!.GetValue<string>());
        Assert.Equal(1, one["page"]!["total"]!.GetValue<long>());

        // Before the partnership began, the page of that fact is empty: not in force then.
        var before = JsonNode.Parse(await client.GetStringAsync("/api/organizations/mistral-ai/relationships?at=2020-01-01&fact=microsoft-mistral-azure"))!;
        Assert.Empty(before["relationships"]!.AsArray());
        Assert.Equal(0, before["page"]!["total"]!.GetValue<long>());
    }

    /// <summary>Known now but not yet registered at knownAt: every query about it answers as about an unknown organization.</summary>
    [Theory]
    [InlineData("/api/organizations/mistral-ai/relationships", "organization", "relationships", "mistral-ai")]
    [InlineData("/api/organizations/mistral-ai/owners", "organization", "owners", "mistral-ai")]
    [InlineData("/api/organizations/mistral-ai/owners?through=true", "organization", "owners", "mistral-ai", "--through")]
    [InlineData("/api/organizations/mistral-ai/holdings", "organization", "holdings", "mistral-ai")]
    [InlineData("/api/graph?around=mistral-ai", "around", "graph", "--around", "mistral-ai")]
    public async Task an_organization_not_yet_registered_at_known_at_is_not_found(string path, string field, params string[] cliArgs)
    {
        var before = Instant.Format(api.Seeded.AddSeconds(-1));
        var problem = await ProblemAsync(await api.Client(Role.Reader).GetAsync($"{path}{(path.Contains('?') ? '&' : '?')}knownAt={Uri.EscapeDataString(before)}"), HttpStatusCode.NotFound);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains($"organization 'mistral-ai' was not yet registered as known at {before}", problem.GetProperty("detail").GetString());

        var (code, _, err) = await HeadlineTests.RunCliAsync([.. cliArgs, "--known-at", before, "--connection", api.ConnectionString]);
        Assert.Equal(2, code);
        Assert.Contains("was not yet registered", err);
    }

    [Theory]
    [InlineData("/api/graph?limit=100000", "limit", "between 1 and 200")]
    [InlineData("/api/graph?hops=2", "hops", "hops needs around")]
    [InlineData("/api/graph?around=mistral-ai&hops=3", "hops", "must be 1 or 2")]
    [InlineData("/api/graph?around=Mistral", "around", "is not an id")]
    [InlineData("/api/organizations/mistral-ai/relationships?limit=0", "limit", "between 1 and 1000")]
    [InlineData("/api/organizations/mistral-ai/relationships?fact=Microsoft-Mistral-Azure", "fact", "fact 'Microsoft-Mistral-Azure' is not an id")]
    [InlineData("/api/organizations/mistral-ai/owners?after=-1", "after", "is not a whole number")]
    [InlineData("/api/organizations/mistral-ai/owners?through=true&depth=0", "depth", "depth must be between 1 and 20 stakes, got 0")]
    [InlineData("/api/organizations/mistral-ai/owners?through=true&threshold=101", "threshold", "threshold '101' is not a percentage")]
    [InlineData("/api/organizations/mistral-ai/owners?depth=2", "depth", "depth needs through")]
    [InlineData("/api/organizations/mistral-ai/owners?through=yes", "through", "through 'yes' is not true or false")]
    [InlineData("/api/organizations/microsoft/holdings?threshold=25", "threshold", "threshold needs through")]
    [InlineData("/api/organizations?q=x&limit=201", "limit", "between 1 and 200")]
    public async Task a_query_argument_out_of_range_is_refused_naming_the_parameter(string path, string field, string says)
    {
        var problem = await ProblemAsync(await api.Client(Role.Reader).GetAsync(path), HttpStatusCode.BadRequest);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains(says, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task reads_need_a_key_unless_anonymous_reads_are_configured()
    {
        const string path = "/api/holdings/microsoft/mistral-ai?at=2024-06-01";
        var problem = await ProblemAsync(await api.Client().GetAsync(path), HttpStatusCode.Unauthorized);
        Assert.Contains("X-Api-Key", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await api.Client(Role.Reader).GetAsync(path)).StatusCode);
        await ProblemAsync(await api.Client(key: "dlk_not-a-key").GetAsync(path), HttpStatusCode.Unauthorized);

        await using var open = api.Host(anonymousReads: true);
        Assert.Equal(HttpStatusCode.OK, (await open.CreateClient().GetAsync(path)).StatusCode);
        var write = await open.CreateClient().PostAsync("/api/organizations", Json("""{ "id": "anon", "name": "Anon", "kind": "company" }"""));
        await ProblemAsync(write, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task writes_without_a_writer_key_are_refused_and_store_nothing()
    {
        var before = await EventCountAsync();
        const string body = """{ "id": "refused-co", "name": "Refused", "kind": "company" }""";

        await ProblemAsync(await api.Client().PostAsync("/api/organizations", Json(body)), HttpStatusCode.Unauthorized);
        var forbidden = await ProblemAsync(await api.Client(Role.Reader).PostAsync("/api/organizations", Json(body)), HttpStatusCode.Forbidden);
        Assert.Contains("'writer'", forbidden.GetProperty("detail").GetString());
        var revoked = await api.Ledger.CreateKeyAsync("revoked-writer", Role.Writer, "tests");
        await api.Ledger.RevokeKeyAsync("revoked-writer");
        await ProblemAsync(await api.Client(key: revoked.Key).PostAsync("/api/organizations", Json(body)), HttpStatusCode.Unauthorized);

        Assert.Equal(before, await EventCountAsync());
    }

    [Fact]
    public async Task each_event_records_the_key_that_wrote_it()
    {
        var response = await api.Client(Role.Writer).PostAsync("/api/organizations", Json("""{ "id": "keyed-co", "name": "Keyed", "kind": "company" }"""));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var logged = await api.Ledger.EventsAsync(new EventFilter(Stream: "organization:keyed-co"));
        Assert.Equal("key:test-writer", Assert.Single(logged).Writer);
    }

    [Fact]
    public async Task events_filter_by_writer_and_recorded_time()
    {
        var created = JsonNode.Parse(await (await api.Client(Role.Writer).PostAsync("/api/organizations", Json("""{ "id": "filtered-co", "name": "Filtered", "kind": "company" }"""))).Content.ReadAsStringAsync())!;
        var at = created["recordedAt"]!.GetValue<string>();
        var reader = api.Client(Role.Reader);

        var byWriter = JsonNode.Parse(await reader.GetStringAsync("/api/events?writer=key:test-writer&limit=1000"))!.AsArray();
        var inWindow = JsonNode.Parse(await reader.GetStringAsync($"/api/events?from={at}&to={Uri.EscapeDataString(DateTimeOffset.Parse(at).AddTicks(10).ToString("O"))}"))!.AsArray();
        var before = JsonNode.Parse(await reader.GetStringAsync($"/api/events?to={at}&limit=1000"))!.AsArray();

        Assert.NotEmpty(byWriter);
        Assert.All(byWriter, e => Assert.Equal("key:test-writer", e!["writer"]!.GetValue<string>()));
        Assert.Equal("organization:filtered-co", Assert.Single(inWindow)!["stream"]!.GetValue<string>());
        Assert.DoesNotContain(before, e => e!["stream"]!.GetValue<string>() == "organization:filtered-co");
        await ProblemAsync(await reader.GetAsync("/api/events?from=yesterday"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task bad_input_gets_problem_details_that_name_the_field_and_store_nothing()
    {
        var before = await EventCountAsync();
        var deal = """
            { "id": "bad-deal", "parties": ["microsoft", "mistral-ai"], "facts": [
              { "id": "bad-stake", "type": "stake", "holder": "microsoft", "subject": "mistral-ai",
                "share": { "min": 10, "max": 120 }, "valid": { "from": "2024-03" },
                "sources": [ { "source": "ms-mistral-article-de", "claim": "stated" } ] } ] }
            """;
        var problem = await ProblemAsync(await api.Client(Role.Writer).PostAsync("/api/deals", Json(deal)), HttpStatusCode.BadRequest);

        Assert.Equal("facts[0].share.max", problem.GetProperty("field").GetString());
        Assert.Contains("100", problem.GetProperty("detail").GetString());
        var at = await ProblemAsync(await api.Client(Role.Reader).GetAsync("/api/holdings/microsoft/mistral-ai?at=2024-02-30"), HttpStatusCode.BadRequest);
        Assert.Equal("at", at.GetProperty("field").GetString());
        await ProblemAsync(await api.Client(Role.Writer).PostAsync("/api/organizations", Json("{ \"id\": ")), HttpStatusCode.BadRequest);
        Assert.Equal(before, await EventCountAsync());
    }

    [Fact]
    public async Task unknown_ids_get_404()
    {
        var problem = await ProblemAsync(await api.Client(Role.Reader).GetAsync("/api/organizations/no-such-org/relationships"), HttpStatusCode.NotFound);
        Assert.Contains("no-such-org", problem.GetProperty("detail").GetString());
        await ProblemAsync(await api.Client(Role.Reader).GetAsync("/api/facts/no-such-fact"), HttpStatusCode.NotFound);
        await ProblemAsync(await api.Client(Role.Reader).GetAsync("/api/no-such-route"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task an_amendment_with_a_stale_if_match_gets_412_and_the_current_one_succeeds()
    {
        var writer = api.Client(Role.Writer);
        var read = await writer.GetAsync("/api/facts/mistral-nvidia-data-centres");
        var etag = read.Headers.ETag!;
        var before = await EventCountAsync();
        var addSource = """{ "source": "ms-mistral-article-de", "claim": "stated" }""";

        var stale = new HttpRequestMessage(HttpMethod.Post, "/api/facts/mistral-nvidia-data-centres/sources") { Content = Json(addSource) };
        stale.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{int.Parse(etag.Tag.Trim('"')) + 5}\""));
        var problem = await ProblemAsync(await writer.SendAsync(stale), HttpStatusCode.PreconditionFailed);
        Assert.Contains("another writer", problem.GetProperty("detail").GetString());
        Assert.Equal(before, await EventCountAsync());

        var current = new HttpRequestMessage(HttpMethod.Post, "/api/facts/mistral-nvidia-data-centres/sources") { Content = Json(addSource) };
        current.Headers.IfMatch.Add(etag);
        var ok = await writer.SendAsync(current);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal($"\"{int.Parse(etag.Tag.Trim('"')) + 1}\"", ok.Headers.ETag!.Tag);
        Assert.Equal(before + 1, await EventCountAsync());

        // The first writer's If-Match is now stale too: a lost update is impossible.
        var again = new HttpRequestMessage(HttpMethod.Post, "/api/facts/mistral-nvidia-data-centres/retractions") { Content = Json("""{ "reason": "test", "sources": [ { "source": "ms-mistral-article-de", "claim": "denied" } ] }""") };
        again.Headers.IfMatch.Add(etag);
        await ProblemAsync(await writer.SendAsync(again), HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task of_two_writers_recording_one_fact_differently_at_once_one_wins_and_the_other_gets_409()
    {
        string Deal(decimal share) => $$"""
            { "id": "race-deal", "parties": ["openai", "mistral-ai"], "facts": [
              { "id": "race-stake", "type": "stake", "holder": "openai", "subject": "mistral-ai", "share": { "exact": {{share}} },
                "valid": { "from": "2025-01" }, "sources": [ { "source": "ms-mistral-article-de", "claim": "stated" } ] } ] }
            """;
        var writer = api.Client(Role.Writer);

        var responses = await Task.WhenAll(writer.PostAsync("/api/deals", Json(Deal(1))), writer.PostAsync("/api/deals", Json(Deal(2))));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        var loser = Assert.Single(responses, r => r.StatusCode != HttpStatusCode.Created);
        var problem = await ProblemAsync(loser, HttpStatusCode.Conflict);
        Assert.Contains("already recorded with different", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task a_body_over_the_limit_gets_413()
    {
        var huge = new string(' ', 300 * 1024) + "{}";
        await ProblemAsync(await api.Client(Role.Writer).PostAsync("/api/organizations", Json(huge)), HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task import_takes_yaml_documents_and_importing_again_changes_nothing()
    {
        var yaml = "organizations:\n  - { id: yaml-co, name: Yaml Co, kind: company }\n";
        HttpContent Body() => new StringContent(yaml, Encoding.UTF8, "application/yaml");
        var writer = api.Client(Role.Writer);

        var first = JsonNode.Parse(await (await writer.PostAsync("/api/import", Body())).Content.ReadAsStringAsync())!;
        var second = JsonNode.Parse(await (await writer.PostAsync("/api/import", Body())).Content.ReadAsStringAsync())!;

        Assert.Equal(1, first["eventsAppended"]!.GetValue<int>());
        Assert.Equal(0, second["eventsAppended"]!.GetValue<int>());
    }

    [Fact]
    public async Task import_takes_bods_packages_with_format_bods_and_reports_each_statement()
    {
        var package = await File.ReadAllTextAsync(Path.Combine(BodsSchema.Folder, "examples", "simple-pep-declaration.json"));
        var writer = api.Client(Role.Writer);

        var first = JsonNode.Parse(await (await writer.PostAsync("/api/import?format=bods", Json(package))).Content.ReadAsStringAsync())!;
        var second = JsonNode.Parse(await (await writer.PostAsync("/api/import?format=bods", Json(package))).Content.ReadAsStringAsync())!;

        Assert.Equal(3, first["packages"]![0]!["statements"]!.GetValue<int>());
        Assert.Equal(2, first["packages"]![0]!["factsCreated"]!.GetValue<int>());
        Assert.Equal("mapped", first["packages"]![0]!["statementReports"]![2]!["mapping"]!.GetValue<string>());
        Assert.Equal(0, second["import"]!["eventsAppended"]!.GetValue<int>());
        var held = JsonNode.Parse(await writer.GetStringAsync("/api/holdings/bods-c9ceb68d7241/bods-841083ba86e3?at=2019-01-01"))!;
        Assert.Equal(25m, held["share"]!["min"]!.GetValue<decimal>());
        Assert.False(held["share"]!["maxInclusive"]!.GetValue<bool>());

        var problem = await ProblemAsync(await writer.PostAsync("/api/import?format=nope", Json(package)), HttpStatusCode.BadRequest);
        Assert.Contains("not one of: ledger, bods", problem.GetProperty("detail").GetString());
        var openapi = JsonNode.Parse(await writer.GetStringAsync("/openapi/v1.json"))!;
        Assert.Contains(openapi["paths"]!["/api/import"]!["post"]!["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "format");
    }

    [Fact]
    public async Task keys_are_administered_by_admins_only()
    {
        var body = Json("""{ "name": "made-over-http", "role": "reader" }""");
        await ProblemAsync(await api.Client(Role.Writer).PostAsync("/api/keys", body), HttpStatusCode.Forbidden);

        var created = await api.Client(Role.Admin).PostAsync("/api/keys", Json("""{ "name": "made-over-http", "role": "reader" }"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["key"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await api.Client(key: key).GetAsync("/api/graph")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await api.Client(Role.Admin).DeleteAsync("/api/keys/made-over-http")).StatusCode);
        await ProblemAsync(await api.Client(key: key).GetAsync("/api/graph"), HttpStatusCode.Unauthorized);
        var list = await api.Client(Role.Admin).GetStringAsync("/api/keys");
        Assert.DoesNotContain(key, list);
    }

    [Fact]
    public async Task openapi_reference_ui_and_health_are_served()
    {
        var client = api.Client();
        var openapi = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;
        Assert.NotNull(openapi["paths"]!["/api/holdings/{holder}/{subject}"]);
        Assert.NotNull(openapi["paths"]!["/api/feed/stream"]);
        // A fact is described by the one shape every kind is written in, not left empty by its converter.
        var fact = openapi["components"]!["schemas"]!["Fact"]!;
        Assert.Equal(["id", "deal", "type", "valid", "sources"], fact["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.All(new[] { "holder", "subject", "share", "investor", "amount", "instrument", "acquirer", "parties", "title", "means", "organizations" },
            field => Assert.NotNull(fact["properties"]![field]));
        var ui = await client.GetAsync("/reference/");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Contains("text/html", ui.Content.Headers.ContentType!.ToString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }
}
