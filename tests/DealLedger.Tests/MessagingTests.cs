using System.Text;
using DealLedger.Access;
using DealLedger.Deals;
using DealLedger.Feed;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// Integration events through Wolverine's durable outbox (DESIGN §7): the message is stored in the
/// write's own transaction, so a crash between the commit and the send loses nothing, and a
/// consumer that deduplicates by message id sees it once.
/// </summary>
[Collection(ChildProcess.Collection)]
public sealed class MessagingTests
{
    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        try
        {
            return (long)(await cmd.ExecuteScalarAsync())!;
        }
        catch (PostgresException e) when (e.SqlState == "42P01")
        {
            return -1; // the consumer has not created its table yet
        }
    }

    private const string Deal = """
        { "id": "nvidia-mistral-2025", "parties": ["nvidia", "mistral-ai"], "facts": [
          { "id": "nvidia-mistral-stake", "type": "stake", "holder": "nvidia", "subject": "mistral-ai", "share": { "exact": 1.5 },
            "valid": { "from": "2025-06-11" }, "sources": [ { "source": "ai-for-citizens-article-de", "claim": "stated" } ] } ] }
        """;

    /// <summary>A database with the seeds, and a writer's key.</summary>
    private static async Task<(TestDatabase Db, string Key)> SeededAsync(string writer)
    {
        var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await Seeds.LoadAsync(ledger);
        return (db, (await ledger.CreateKeyAsync(writer, Role.Writer, "tests")).Key);
    }

    /// <param name="fault">The fault injected (a DealLedger:Testing setting), if any.</param>
    /// <summary>Every holding-change message the consumer has stored.</summary>
    private const string Notices = "select count(*) from notices.holding_changes";

    /// <summary>The downstream consumer (DealLedger.Notices), started, once its table is there.</summary>
    private static async Task<ChildProcess> ConsumerAsync(TestDatabase db, Dictionary<string, string?> environment)
    {
        var consumer = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Notices"), [], environment, "notices");
        try
        {
            await consumer.WaitUntilAsync(async () => await CountAsync(db.ConnectionString, Notices) == 0, TimeSpan.FromSeconds(60), "notices table");
            return consumer;
        }
        catch
        {
            await consumer.DisposeAsync();
            throw;
        }
    }

    private static Dictionary<string, string?> Environment(TestDatabase db, string url, string? fault = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__DealLedger"] = db.ConnectionString,
            ["ASPNETCORE_URLS"] = url,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        if (fault is not null)
        {
            environment[$"DealLedger__Testing__{fault}"] = "true";
        }
        return environment;
    }

    [Fact]
    public async Task a_message_of_a_write_whose_commit_reply_was_lost_is_delivered_once_while_the_api_lives_on()
    {
        var (db, key) = await SeededAsync("doubt-writer");
        await using var _ = db;
        await using var ledger = db.Connect();
        var url = $"http://127.0.0.1:{ChildProcess.FreePort()}";
        var environment = Environment(db, url, "LoseCommitReply");
        await using var consumer = await ConsumerAsync(db, environment);
        await using var api = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Api"), [], environment, "api (loses commit replies)");
        await api.WaitForHttpAsync(new Uri($"{url}/health/ready"), TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Add("X-Api-Key", key);

        // The write committed, but its caller hears the database failed; sent again, it is found written.
        using (var first = await http.PostAsync("/api/deals", new StringContent(Deal, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, first.StatusCode);
        }
        using (var again = await http.PostAsync("/api/deals", new StringContent(Deal, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, again.StatusCode);
        }

        // The node that wrote it lives on and never sent the message itself; it is delivered all the same, once.
        var fact = await ledger.FactAsync("nvidia-mistral-stake");
        await consumer.WaitUntilAsync(async () => await CountAsync(db.ConnectionString, Notices) == 1, TimeSpan.FromSeconds(30), "the message while the API lives", TimeSpan.FromMilliseconds(250));
        await Task.Delay(TimeSpan.FromSeconds(3)); // a second delivery would show by now
        var id = HoldingChanged.IdOf(fact.Basis[^1].Sequence, "nvidia", "mistral-ai");
        Assert.Equal(1L, await CountAsync(db.ConnectionString, $"select count(*) from notices.holding_changes where message_id = '{id}' and deliveries = 1"));
        Assert.Equal(1L, await CountAsync(db.ConnectionString, Notices));
        Assert.Equal(0L, await CountAsync(db.ConnectionString, "select count(*) from wolverine.wolverine_outgoing_envelopes"));
        Assert.False(api.HasExited, api.Tail());
    }

    [Fact]
    public async Task a_message_is_delivered_exactly_once_after_the_api_dies_between_commit_and_send()
    {
        var (db, key) = await SeededAsync("crash-writer");
        await using var _ = db;
        await using var ledger = db.Connect();
        var url = $"http://127.0.0.1:{ChildProcess.FreePort()}";

        await using var consumer = await ConsumerAsync(db, Environment(db, url));
        var api = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Api"), [], Environment(db, url, "CrashAfterCommit"), "api (crashes after commit)");
        await using (api)
        {
            await api.WaitForHttpAsync(new Uri($"{url}/health/ready"), TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            http.DefaultRequestHeaders.Add("X-Api-Key", key);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.PostAsync("/api/deals", new StringContent(Deal, Encoding.UTF8, "application/json")));
            Assert.NotEqual(0, await api.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        // The write committed with its message in the outbox; nothing was sent.
        var fact = await ledger.FactAsync("nvidia-mistral-stake");
        Assert.Equal(1L, await CountAsync(db.ConnectionString, "select count(*) from wolverine.wolverine_outgoing_envelopes"));
        Assert.Equal(0L, await CountAsync(db.ConnectionString, Notices));

        await using var restarted = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Api"), [], Environment(db, url), "api (restarted)");
        await restarted.WaitForHttpAsync(new Uri($"{url}/health/ready"), TimeSpan.FromSeconds(60));
        await consumer.WaitUntilAsync(async () => await CountAsync(db.ConnectionString, Notices) == 1, TimeSpan.FromSeconds(90), "the message after the restart", TimeSpan.FromMilliseconds(250));
        await Task.Delay(TimeSpan.FromSeconds(3)); // a second delivery would show by now

        var id = HoldingChanged.IdOf(fact.Basis[^1].Sequence, "nvidia", "mistral-ai");
        Assert.Equal(1L, await CountAsync(db.ConnectionString, $"select count(*) from notices.holding_changes where message_id = '{id}' and deliveries = 1"));
        Assert.Equal(1L, await CountAsync(db.ConnectionString, Notices));
        Assert.Equal(0L, await CountAsync(db.ConnectionString, "select count(*) from wolverine.wolverine_outgoing_envelopes"));
    }
}
