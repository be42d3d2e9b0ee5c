using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DealLedger.Access;
using DealLedger.Client;
using DealLedger.Feed;
using DealLedger.Storage;
using Npgsql;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>
/// Webhooks (DESIGN §12, issue 15) for real: the API runs as a process of its own and delivers to a loopback receiver of the
/// test's, which fails the first deliveries and goes down for a while; the API is SIGKILLed mid-delivery and started again.
/// Every matching write must arrive at least once, in order per subscription, signed.
/// </summary>
[Collection(ChildProcess.Collection)]
public sealed class WebhookTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string SecretA = "secret-of-subscription-a";
    private const string SecretB = "secret-of-subscription-b";
    private const int Organizations = 12;

    private readonly TestDatabase db = new();
    private ApiProcess api = null!;
    private Uri apiRoot = null!;
    private string adminKey = "";
    private string writerKey = "";

    public async Task InitializeAsync()
    {
        await db.InitializeAsync();
        await using var ledger = db.Connect();
        adminKey = (await ledger.CreateKeyAsync("hooks-admin", Role.Admin, "tests")).Key;
        writerKey = (await ledger.CreateKeyAsync("hooks-writer", Role.Writer, "tests")).Key;
    }

    public async Task DisposeAsync()
    {
        if (api is not null)
        {
            await api.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        await db.DisposeAsync();
    }

    /// <summary>The API as a process of its own (ApiProcess), delivering to loopback with quick retries.</summary>
    private async Task StartApiAsync(int maxAttempts)
    {
        api = new ApiProcess(db.ConnectionString, "api", new Dictionary<string, string?>
        {
            ["DealLedger__Webhooks__AllowLoopback"] = "true",
            ["DealLedger__Webhooks__FirstRetry"] = "00:00:00.1",
            ["DealLedger__Webhooks__MaxAttempts"] = $"{maxAttempts}",
            ["DealLedger__Webhooks__SweepInterval"] = "00:00:01",
            ["DealLedger__Webhooks__Timeout"] = "00:00:05",
        });
        apiRoot = api.Url;
        await api.StartAsync();
    }

    private HttpClient Admin()
    {
        var http = new HttpClient { BaseAddress = apiRoot };
        http.DefaultRequestHeaders.Add("X-Api-Key", adminKey);
        return http;
    }

    private async Task<JsonElement> SubscribeAsync(string url, string secret, string? org = null)
    {
        using var http = Admin();
        var response = await http.PostAsync("api/subscriptions", new StringContent(JsonSerializer.Serialize(new { url, secret, org }), Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Deal d: three stakes among the organizations, so some name org-03 and some do not.</summary>
    private static object DealOf(int d)
    {
        var facts = Enumerable.Range(0, 3).Select(j =>
        {
            var holder = (d * 3 + j) % Organizations;
            var subject = (holder + 1 + d % 5) % Organizations;
            return new
            {
                id = $"f-{d}-{j}",
                type = "stake",
                holder = $"org-{holder:D2}",
                subject = $"org-{subject:D2}",
                share = new { exact = 1 + (d * 7 + j) % 40 },
                valid = new { from = $"{2010 + d % 12}-{1 + j * 4:D2}" },
                sources = new[] { new { source = d % 2 == 0 ? "src-a" : "src-b", claim = "stated" } },
            };
        }).ToList();
        return new { id = $"d-{d}", parties = facts.SelectMany(f => new[] { f.holder, f.subject }).Distinct().Order(StringComparer.Ordinal).ToArray(), facts };
    }

    private async Task WriteAsync(int from, int to)
    {
        using var writer = new LedgerClient(apiRoot, writerKey);
        for (var d = from; d < to; d++)
        {
            await writer.RecordDealAsync(DealOf(d));
            if (d % 4 == 3)
            {
                var fact = $"f-{d - 2}-1";
                await writer.CorrectAsync(fact, new { set = new { share = new { exact = 50 } }, reason = "restated", sources = new[] { new { source = "src-a", claim = "stated" } } },
                    (await writer.FactAsync(fact)).ETag);
            }
        }
    }

    /// <summary>The writes a subscription must be delivered: each page of one write of its filtered feed after where it started.</summary>
    private async Task<List<long>> ExpectedAsync(long from, FeedFilter filter)
    {
        await using var ledger = db.Connect();
        var writes = new List<long>();
        while (true)
        {
            var page = await ledger.NextWriteAsync(from, filter);
            if (page.Messages.Count > 0)
            {
                writes.Add(page.Next);
            }
            if (page.Next == page.HighWaterMark || (page.Messages.Count == 0 && page.Next == from))
            {
                return writes;
            }
            from = page.Next;
        }
    }

    private async Task<long> ScalarAsync(string sql, params object[] args)
    {
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    /// <summary>What a failed check needs to tell a lost delivery from a wrong expectation: the deliveries the ledger recorded, the requests the receiver got, and the log's writes.</summary>
    private async Task<string> DiagnosisAsync(string subscription, IReadOnlyList<WebhookReceiver.Received> mine)
    {
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        var deliveries = await Sql.ListAsync(c, "select after_sequence, sequence, status, attempts, response_status, error, first_attempt_at, last_attempt_at " +
            "from dealledger.webhook_deliveries where subscription_id = $1 order by sequence",
            r => $"  {r.GetInt64(0)} {r.GetInt64(1)} {r.GetString(2)} {r.GetInt32(3)} {(r.IsDBNull(4) ? "-" : r.GetInt32(4))} {(r.IsDBNull(5) ? "" : r.GetString(5))} " +
                $"{r.GetDateTime(6):HH:mm:ss.ffffff} {r.GetDateTime(7):HH:mm:ss.ffffff}", default, subscription);
        var log = await Sql.ListAsync(c, "select seq_id, timestamp, type, stream_id from dealledger.mt_events order by seq_id",
            r => $"  {r.GetInt64(0)} {r.GetFieldValue<DateTimeOffset>(1):HH:mm:ss.ffffff} {r.GetString(2)} {r.GetString(3)}", default);
        return string.Join('\n', [
            "deliveries recorded (after, sequence, status, attempts, response, error, first, last):", .. deliveries,
            "requests received (at, after, sequence, answered, id):", .. mine.Select(q => $"  {q.At:HH:mm:ss.ffffff} {q.Json.GetProperty("after").GetInt64()} {q.Sequence} {q.Answered} {q.Id}"),
            "the log (sequence, recorded, type, stream):", .. log]);
    }

    [Fact]
    public async Task every_matching_write_reaches_its_receiver_in_order_and_signed_through_failures_an_outage_and_a_killed_api()
    {
        await StartApiAsync(maxAttempts: 100);
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.FailFirst = 3;
        receiver.Delay = TimeSpan.FromMilliseconds(15);
        using (var writer = new LedgerClient(apiRoot, writerKey))
        {
            await writer.ImportAsync(Seeds.Companies(Organizations));
        }

        // Addresses inside are refused.
        using (var http = Admin())
        {
            foreach (var inside in new[] { "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://192.168.1.1:8080/x" })
            {
                var refused = await http.PostAsync("api/subscriptions", new StringContent(JsonSerializer.Serialize(new { url = inside, secret = SecretA }), Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
                Assert.Equal("url", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
            }
        }
        var a = await SubscribeAsync(receiver.Url("a"), SecretA, org: "org-03");
        var b = await SubscribeAsync(receiver.Url("b"), SecretB);
        var (aFrom, bFrom) = (a.GetProperty("deliveredUpTo").GetInt64(), b.GetProperty("deliveredUpTo").GetInt64());
        var clock = Stopwatch.StartNew();

        await WriteAsync(0, 20);
        // Down while writes go on: deliveries fail to connect and wait their turn.
        await receiver.DownAsync();
        await WriteAsync(20, 40);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await receiver.UpAsync();
        var before = receiver.Requests.Count;
        // Killed mid-delivery: once the receiver is taking the backlog again.
        await api.Process!.WaitUntilAsync(() => Task.FromResult(receiver.Requests.Count >= before + 5), TimeSpan.FromSeconds(30), "deliveries to resume", TimeSpan.FromMilliseconds(5));
        await api.KillAsync();
        var atKill = receiver.Requests.Count;
        await api.StartAsync();
        await WriteAsync(40, 60);

        var head = await ScalarAsync("select last_sequence from dealledger.ledger_position where id = 1");
        await api.Process!.WaitUntilAsync(async () => await ScalarAsync("select count(*) from dealledger.webhook_subscriptions where delivered_up_to < $1", head) == 0,
            TimeSpan.FromSeconds(120), "every subscription to reach the head of the log", TimeSpan.FromMilliseconds(200));
        var caughtUp = clock.Elapsed;

        var expectedA = await ExpectedAsync(aFrom, FeedFilter.Parse("org-03", null, null));
        var expectedB = await ExpectedAsync(bFrom, FeedFilter.Parse(null, null, null));
        var received = receiver.Requests.ToList();
        foreach (var (path, expected, secret, wrong) in new[] { ("a", expectedA, SecretA, SecretB), ("b", expectedB, SecretB, SecretA) })
        {
            var mine = received.Where(r => r.Path == path).ToList();
            var taken = mine.Where(r => r.Answered == 204).ToList();
            // At least once, nothing else; in order (the first time each arrived), every one signed with its own secret.
            var subscription = (path == "a" ? a : b).GetProperty("id").GetString()!;
            var takenWrites = taken.Select(r => r.Sequence).Distinct().Order().ToList();
            if (!expected.SequenceEqual(takenWrites))
            {
                Assert.Fail($"subscription {path}: expected {string.Join(",", expected)}\ntaken {string.Join(",", takenWrites)}\n" +
                    await DiagnosisAsync(subscription, mine) + "\n" + api.Process!.Tail(80));
            }
            Assert.All(mine, r => Assert.Contains(r.Sequence, expected));
            var firsts = taken.GroupBy(r => r.Id).Select(g => g.First()).ToList();
            Assert.Equal(firsts.Select(r => r.Sequence).Order(), firsts.Select(r => r.Sequence));
            Assert.All(mine, r => Assert.True(WebhookReceiver.Verify(r, secret), $"delivery {r.Id} does not verify"));
            Assert.All(mine, r => Assert.False(WebhookReceiver.Verify(r, wrong), $"delivery {r.Id} verifies with another secret"));
            Assert.All(mine, r => Assert.Equal(r.Id, r.Json.GetProperty("id").GetGuid()));
            Assert.All(taken, r => Assert.All(r.Json.GetProperty("messages").EnumerateArray(),
                m => Assert.InRange(m.GetProperty("event").GetProperty("sequence").GetInt64(), r.Json.GetProperty("after").GetInt64() + 1, r.Sequence)));
            var attempts = await ScalarAsync("select coalesce(sum(attempts), 0) from dealledger.webhook_deliveries where subscription_id = $1", subscription);
            output.WriteLine($"subscription {path}: {expected.Count} matching writes, {mine.Count} requests received ({taken.Count} taken, {mine.Count - taken.Count} answered 500), " +
                $"{attempts} attempts recorded ({attempts - expected.Count} retries), {taken.Count - firsts.Count} duplicates");
        }
        Assert.True(expectedA.Count >= 10 && expectedB.Count > expectedA.Count, $"a: {expectedA.Count}, b: {expectedB.Count}");
        Assert.Contains(received, r => r.Answered == 500);
        output.WriteLine($"killed with {atKill} requests received; every subscription at the head ({head}) after {caughtUp.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task a_delivery_that_fails_every_attempt_is_kept_as_failed_and_an_admin_replays_it()
    {
        await StartApiAsync(maxAttempts: 3);
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Failing["c"] = true;
        using (var writer = new LedgerClient(apiRoot, writerKey))
        {
            await writer.ImportAsync(Seeds.Companies(Organizations));
        }
        var c = await SubscribeAsync(receiver.Url("c"), SecretA);
        var id = c.GetProperty("id").GetString()!;
        await WriteAsync(0, 2);
        using var http = Admin();
        JsonElement[] failed = [];
        await api.Process!.WaitUntilAsync(async () =>
        {
            failed = (await http.GetFromJsonAsync<JsonElement[]>($"api/subscriptions/{id}/deliveries?status=failed"))!;
            return failed.Length == 2;
        }, TimeSpan.FromSeconds(60), "both writes' deliveries to fail three times", TimeSpan.FromMilliseconds(200));
        Assert.All(failed, d => Assert.Equal(3, d.GetProperty("attempts").GetInt32()));
        Assert.True(receiver.Requests.Count(r => r.Path == "c") == 6, string.Join("\n", receiver.Requests.Select(r => $"{r.At:HH:mm:ss.fff} {r.Path} {r.Id} {r.Sequence} {r.Answered}")) + "\n" + api.Process!.Tail());

        // Fixed, the receiver takes the replay: the same id and the same messages.
        receiver.Failing.Clear();
        var first = failed[^1];
        var replay = await http.PostAsync($"api/subscriptions/{id}/deliveries/{first.GetProperty("id").GetGuid()}/replay", null);
        Assert.True(replay.StatusCode == HttpStatusCode.OK, await replay.Content.ReadAsStringAsync() + api.Process!.Tail());
        var replayed = await replay.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("delivered", replayed.GetProperty("status").GetString());
        Assert.Equal(4, replayed.GetProperty("attempts").GetInt32());
        var sent = receiver.Requests.Where(r => r.Path == "c" && r.Id == first.GetProperty("id").GetGuid()).ToList();
        Assert.Equal(204, sent[^1].Answered);
        Assert.Equal(Encoding.UTF8.GetString(sent[0].Body), Encoding.UTF8.GetString(sent[^1].Body));
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync($"api/subscriptions/{id}/deliveries/{Guid.NewGuid()}/replay", null)).StatusCode);

        // Removed, it is delivered nothing more.
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync($"api/subscriptions/{id}")).StatusCode);
        var count = receiver.Requests.Count;
        await WriteAsync(2, 3);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(count, receiver.Requests.Count);
    }
}
