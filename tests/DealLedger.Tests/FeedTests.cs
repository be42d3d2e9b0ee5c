using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using DealLedger.Access;
using DealLedger.Auditing;
using DealLedger.Feed;
using DealLedger.Importing;

namespace DealLedger.Tests;

/// <summary>The change feed (DESIGN §7): pages from a checkpoint, the high-water mark, projection changes, and the SSE stream.</summary>
public sealed class FeedTests(ApiHostFixture api) : IClassFixture<ApiHostFixture>
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task pages_follow_the_log_from_a_checkpoint_without_gaps_or_repeats()
    {
        var seen = new List<long>();
        long after = 0;
        while (true)
        {
            var page = await api.Ledger.FeedAsync(after, 7);
            if (page.Messages.Count == 0)
            {
                Assert.Equal(page.HighWaterMark, after);
                break;
            }
            Assert.Equal(after, page.After);
            seen.AddRange(page.Messages.Select(m => m.Sequence));
            after = page.Next;
        }
        var log = (await api.Ledger.EventsAsync(new EventFilter(Limit: 10_000))).Select(e => e.Sequence).ToList();
        Assert.Equal(log, seen);
    }

    [Fact]
    public async Task nothing_of_a_write_in_flight_is_shown_until_it_commits()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var writer = db.Connect();
        await Seeds.LoadAsync(writer);
        await using var reader = db.Connect();
        var before = await reader.FeedAsync(0, 1000);
        var inside = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        writer.BeforeCommit = async _ => { inside.SetResult(); await release.Task; };

        var write = writer.ImportAsync([("late.yaml", "organizations:\n  - { id: late-co, name: Late, kind: company }\n")]);
        await inside.Task;
        var during = await reader.FeedAsync(before.Next, 1000);
        release.SetResult();
        await write;
        var after = await reader.FeedAsync(before.Next, 1000);

        Assert.Empty(during.Messages);
        Assert.Equal(before.HighWaterMark, during.HighWaterMark);
        Assert.Equal("late-co", Assert.Single(after.Messages).Changes.Single(c => c.Projection == "organizations").Key);
    }

    [Fact]
    public async Task a_correction_names_the_holding_segments_it_closed_and_opened()
    {
        var head = (await api.Ledger.FeedAsync(0, 1)).HighWaterMark;
        var correct = new HttpRequestMessage(HttpMethod.Post, "/api/facts/microsoft-mistral-stake/corrections")
        {
            Content = Json("""{ "id": "feed-test-correction", "set": { "share": { "exact": 0.8 } }, "reason": "test", "sources": [ { "source": "ms-mistral-article-de", "claim": "stated" } ] }"""),
        };
        Assert.Equal(HttpStatusCode.OK, (await api.Client(Role.Writer).SendAsync(correct)).StatusCode);

        var page = JsonNode.Parse(await api.Client(Role.Reader).GetStringAsync($"/api/feed?after={head}"))!;
        var message = Assert.Single(page["messages"]!.AsArray())!;
        var changes = message["changes"]!.AsArray();
        var holding = Assert.Single(changes, c => c!["projection"]!.GetValue<string>() == "holdings")!;
        Assert.Equal("microsoft→mistral-ai", holding["key"]!.GetValue<string>());
        Assert.NotEmpty(holding["closed"]!.AsArray());
        Assert.Contains(holding["opened"]!.AsArray(), s => s!["finding"]!["share"]?["exact"]?.GetValue<decimal>() == 0.8m);
        Assert.Contains(changes, c => c!["projection"]!.GetValue<string>() == "facts" && c["change"]!.GetValue<string>() == "amended");
        Assert.Equal("fact_corrected", message["event"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task the_feed_speaks_the_documents_words_while_the_log_keeps_its_bytes()
    {
        var page = JsonNode.Parse(await api.Client(Role.Reader).GetStringAsync("/api/feed?after=0&limit=1000"))!;
        var events = page["messages"]!.AsArray().Select(m => m!["event"]!).ToList();
        JsonNode Data(string type, Func<JsonNode, bool> which) => events.Where(e => e["type"]!.GetValue<string>() == type).Select(e => e["data"]!).First(which);

        // As the seed document wrote them: kinds, fact types, claims and instruments in kebab case.
        Assert.Equal("company", Data("organization_registered", d => d["id"]!.GetValue<string>() == "microsoft")["kind"]!.GetValue<string>());
        var stake = Data("fact_recorded", d => d["fact"]!["id"]!.GetValue<string>() == "microsoft-mistral-stake")["fact"]!;
        Assert.Equal("stake", stake["type"]!.GetValue<string>());
        Assert.Equal(["stated", "attributed"], stake["sources"]!.AsArray().Select(c => c!["kind"]!.GetValue<string>()));
        Assert.Equal("unknown", Data("fact_recorded", d => d["fact"]!["id"]!.GetValue<string>() == "microsoft-mistral-investment")["fact"]!["instrument"]!.GetValue<string>());

        // The log itself is as stored (its seals are over those bytes), and says the same thing read as its event.
        var log = await api.Ledger.EventsAsync(new EventFilter(Limit: 10_000));
        var organization = log.First(e => e.Type == "organization_registered" && e.Data.GetProperty("id").GetString() == "microsoft");
        Assert.Equal("Company", organization.Data.GetProperty("kind").GetString());
        foreach (var message in page["messages"]!.AsArray())
        {
            var stored = log.Single(e => e.Sequence == message!["event"]!["sequence"]!.GetValue<long>());
            var type = Storage.EventNames.TypeOf(stored.Type)!;
            Assert.Equal(Storage.LedgerJson.Canonical(System.Text.Json.JsonSerializer.Deserialize(stored.Data, type, Storage.LedgerJson.Options)),
                Storage.LedgerJson.Canonical(System.Text.Json.JsonSerializer.Deserialize(message!["event"]!["data"]!.ToJsonString(), type, Storage.LedgerJson.Options)));
        }
    }

    [Fact]
    public async Task the_stream_resumes_after_last_event_id_and_delivers_new_commits_live()
    {
        var head = (await api.Ledger.FeedAsync(0, 1)).HighWaterMark;
        var client = api.Client(Role.Reader);
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/feed/stream");
        request.Headers.Add("Last-Event-ID", (head - 2).ToString());
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));

        async Task<long> NextIdAsync()
        {
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    return long.Parse(line[4..]);
                }
            }
            throw new EndOfStreamException();
        }

        Assert.Equal(head - 1, await NextIdAsync());
        Assert.Equal(head, await NextIdAsync());
        var write = await api.Client(Role.Writer).PostAsync("/api/organizations", Json("""{ "id": "streamed-co", "name": "Streamed", "kind": "company" }"""));
        Assert.Equal(HttpStatusCode.Created, write.StatusCode);
        Assert.Equal(head + 1, await NextIdAsync());
    }

    [Fact]
    public async Task a_filtered_stream_says_how_far_it_looked_when_a_write_named_nothing_and_sends_the_next_that_does()
    {
        var head = (await api.Ledger.FeedAsync(0, 1)).HighWaterMark;
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/feed/stream?org=filtered-co&after={head}");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await api.Client(Role.Reader).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));

        async Task<(string Event, long Id)> NextAsync()
        {
            string? kind = null;
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    kind = line[7..];
                }
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    return (kind!, long.Parse(line[4..]));
                }
            }
            throw new EndOfStreamException();
        }

        var writer = api.Client(Role.Writer);
        Assert.Equal(HttpStatusCode.Created, (await writer.PostAsync("/api/organizations", Json("""{ "id": "unfiltered-co", "name": "Unfiltered", "kind": "company" }"""))).StatusCode);
        Assert.Equal(("checkpoint", head + 1), await NextAsync());
        Assert.Equal(HttpStatusCode.Created, (await writer.PostAsync("/api/organizations", Json("""{ "id": "filtered-co", "name": "Filtered", "kind": "company" }"""))).StatusCode);
        Assert.Equal(("change", head + 2), await NextAsync());
    }

    [Fact]
    public async Task a_stream_opened_at_the_head_answers_at_once_while_the_log_is_idle()
    {
        var head = (await api.Ledger.FeedAsync(0, 1)).HighWaterMark;
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/feed/stream");
        request.Headers.Add("Last-Event-ID", head.ToString());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        // Nothing to send yet: the headers alone tell a follower (a browser's EventSource) it is connected.
        using var response = await api.Client(Role.Reader).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
    }
}
