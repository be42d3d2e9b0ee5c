using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using DealLedger.Access;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>
/// Issue 5, faults: PostgreSQL restarted under load — once shut down cleanly, once as in a crash —
/// while writers, readers and a probe keep calling the API. Clients get only retryable errors (503
/// problem details with Retry-After; never a 500, never a hang past their timeout); the API, never
/// restarted, serves again as soon as the database is back, and its background work resumes: the
/// feed's LISTEN, continuous sealing, Wolverine's node and outbox. No write is lost: every write that
/// got a 2xx is in the log once, and so is every write answered 503 and sent again with the same content.
/// The server is one of the test's own (<see cref="PrivateCluster"/>): the shared one keeps running.
/// </summary>
[Collection(ChildProcess.Collection)]
[Trait("Category", "Faults")]
public sealed class DatabaseRestartTests(ITestOutputHelper output)
{
    private const int Organizations = 20;
    private const int Writers = 4;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<Call> calls = new();
    private readonly Stopwatch clock = new();

    private sealed record Call(string Client, TimeSpan Started, TimeSpan Ended, string Outcome, bool RetryAfter);

    [Fact]
    public async Task a_restarted_database_gives_clients_retryable_errors_and_the_api_recovers_without_a_restart_losing_no_write()
    {
        var total = Stopwatch.StartNew();
        await using var cluster = await PrivateCluster.StartAsync();
        var setup = total.Elapsed;
        string writerKey, readerKey;
        await using (var ledger = Ledger.Connect(cluster.ConnectionString))
        {
            await ledger.ApplyAsync(Path.Combine(TestDatabase.RepoRoot, "migrations"));
            await ledger.ImportAsync([("basics.json", Basics())]);
            writerKey = (await ledger.CreateKeyAsync("restart-writer", Role.Writer, "tests")).Key;
            readerKey = (await ledger.CreateKeyAsync("restart-reader", Role.Reader, "tests")).Key;
        }
        await using var api = new ApiProcess(cluster.ConnectionString);
        await api.StartAsync();
        var apiProcessId = api.Process!.Id;
        output.WriteLine($"own cluster created and started in {setup.TotalSeconds:0.0} s, migrated and API ready at {total.Elapsed.TotalSeconds:0.0} s");

        using var writer = api.Client(writerKey, ClientTimeout);
        using var reader = api.Client(readerKey, ClientTimeout);
        using var stop = new CancellationTokenSource();
        clock.Start();
        var acknowledged = new ConcurrentBag<(string Stream, int Events)>();
        var load = new List<Task>();
        for (var w = 0; w < Writers; w++)
        {
            var id = w;
            // Writers honour Retry-After; the probe tries every 100 ms, to time the recovery closely.
            load.Add(Task.Run(() => WriteAsync(writer, $"writer {id}", k => ("api/deals", $"w{id}-{k}", Deal(id, k), 2), true, acknowledged, stop.Token)));
        }
        load.Add(Task.Run(() => WriteAsync(writer, "probe", k => ("api/sources", $"probe-{k}", Probe(k), 1), false, acknowledged, stop.Token)));
        for (var r = 0; r < 2; r++)
        {
            var id = r;
            load.Add(Task.Run(() => ReadAsync(reader, $"reader {id}", stop.Token)));
        }
        var health = new ConcurrentQueue<(TimeSpan At, HttpStatusCode? Status)>();
        load.Add(Task.Run(() => HealthAsync(api.Url, health, stop.Token)));

        var outages = new List<(string Kind, TimeSpan Down, TimeSpan Up, TimeSpan FirstWrite, TimeSpan Ready)>();
        try
        {
            foreach (var crash in new[] { false, true })
            {
                // Steady load first: writes succeeding for a while.
                var steadyFrom = outages.Count == 0 ? TimeSpan.Zero : outages[^1].Ready;
                await WaitAsync(() => Task.FromResult(calls.Count(c => c.Outcome is "200" or "201" && c.Started > steadyFrom && c.Client != "probe") >= 10), "10 writes before the outage");
                var down = clock.Elapsed;
                await cluster.StopAsync(crash);
                await Task.Delay(Outage);
                await cluster.StartAgainAsync();
                var up = clock.Elapsed;
                var recovered = Stopwatch.StartNew();
                TimeSpan? firstWrite = null, ready = null;
                while ((firstWrite is null || ready is null) && recovered.Elapsed < RecoveryDeadline)
                {
                    await Task.Delay(50);
                    firstWrite ??= calls.Where(c => c.Client.StartsWith("writer", StringComparison.Ordinal) || c.Client == "probe")
                        .Where(c => c.Outcome is "200" or "201" && c.Ended > up).Select(c => (TimeSpan?)c.Ended).Min();
                    ready ??= health.Where(h => h.At > up && h.Status == HttpStatusCode.OK).Select(h => (TimeSpan?)h.At).Min();
                }
                Assert.True(firstWrite is not null && ready is not null,
                    $"{(crash ? "crash" : "restart")}: no {(firstWrite is null ? "successful write" : "ready answer")} within {RecoveryDeadline.TotalSeconds:0} s of the database's return:\n{api.Process?.Tail()}");
                outages.Add((crash ? "crash (pg_ctl stop -m immediate)" : "clean restart (pg_ctl stop -m fast)", down, up, firstWrite!.Value, ready!.Value));
            }
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(60));
        }

        // The API was never restarted.
        Assert.Equal(apiProcessId, api.Process!.Id);
        Assert.False(api.Process.HasExited, api.Process.Tail());
        Assert.Single(api.Starts);

        var byOutcome = calls.GroupBy(c => c.Outcome).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
        var refused = calls.Where(c => c.Outcome is not ("200" or "201")).ToList();
        foreach (var (kind, down, up, firstWrite, ready) in outages)
        {
            var during = refused.Count(c => c.Ended >= down && c.Started <= firstWrite);
            output.WriteLine($"{kind}: database down at {down.TotalSeconds:0.0} s for {(up - down).TotalSeconds:0.0} s; {during} requests refused meanwhile; " +
                $"first successful write {(firstWrite - up).TotalMilliseconds:0} ms after it was back, /health/ready healthy after {(ready - up).TotalMilliseconds:0} ms");
        }
        output.WriteLine($"{calls.Count} calls: {string.Join(", ", byOutcome.Select(p => $"{p.Value}× {p.Key}"))}");
        var wrong = refused.Where(c => !(c.Outcome == "503" && c.RetryAfter)).ToList();
        Assert.True(wrong.Count == 0, $"outages at {string.Join(", ", outages.Select(o => $"{o.Down.TotalSeconds:0.0}–{o.Up.TotalSeconds:0.0} s"))}; " +
            $"{string.Join("; ", wrong.Select(c => $"{c.Client} got {c.Outcome}{(c.RetryAfter || c.Outcome != "503" ? "" : " without Retry-After")} ({c.Started.TotalSeconds:0.0}–{c.Ended.TotalSeconds:0.0} s)"))}; " +
            $"the API's log ends:\n{api.Process.Tail(60)}");
        Assert.Contains(refused, c => c.Client.StartsWith("writer", StringComparison.Ordinal));

        // No write lost, none twice: each acknowledged write's streams hold its events once; nothing else was written.
        await using var c = new NpgsqlConnection(cluster.ConnectionString);
        await c.OpenAsync();
        var streams = await ListAsync(c, $"select split_part(stream_id, ':', 2), count(*) from {ProjectionTables.Name("mt_events")} " +
            "where stream_id like 'fact:w%' or stream_id like 'deal:w%' or stream_id like 'source:probe-%' group by 1", r => (r.GetString(0), r.GetInt64(1)));
        var expected = acknowledged.ToDictionary(a => a.Stream, a => (long)a.Events);
        Assert.Equal(expected.Count, acknowledged.Count);
        var found = streams.GroupBy(s => s.Item1.EndsWith("-stake", StringComparison.Ordinal) ? s.Item1[..^"-stake".Length] : s.Item1)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.Item2));
        Assert.Equal(expected.OrderBy(p => p.Key), found.OrderBy(p => p.Key));
        output.WriteLine($"{expected.Count} writes acknowledged ({expected.Values.Sum()} events), each in the log once; lost: {expected.Keys.Except(found.Keys).Count()}");

        // Background work resumed: the feed's (and the key cache's) LISTEN (on a connection opened after the last outage), sealing up to the head,
        // Wolverine's node health check and outbox (every holding change sent to the queue once, nothing left behind).
        // Nothing could connect, or write, while the database was down: what started or was written after it went down came after its return.
        var since = DateTimeOffset.UtcNow - (clock.Elapsed - outages[^1].Down);
        await WaitAsync(async () => await ScalarAsync<long>(c, "select count(*) from pg_stat_activity where datname = current_database() and query like 'listen %' and backend_start > $1", since) == 1,
            "the API to LISTEN again");
        await WaitAsync(async () => await ScalarAsync<long>(c, $"select coalesce(max(sequence), 0) from {ProjectionTables.Name("seals")}") == await ScalarAsync<long>(c, $"select max(seq_id) from {ProjectionTables.Name("mt_events")}"),
            "sealing to reach the head");
        await WaitAsync(async () => await ScalarAsync<DateTime>(c, $"select max(health_check) from {LedgerMessaging.Schema}.wolverine_nodes") > since.UtcDateTime,
            "Wolverine's node health check");
        var changes = await ScalarAsync<long>(c, $"select count(*) from (select sequence, holder, subject from {ProjectionTables.Name("holding_segments")} " +
            $"union select closed_sequence, holder, subject from {ProjectionTables.Name("holding_segments")} where closed_sequence is not null) x");
        var drained = await WaitAsync(async () => await ScalarAsync<long>(c, $"select count(*) from {LedgerMessaging.Schema}.wolverine_outgoing_envelopes") == 0, "the outbox to drain",
            async () => $"left in the outbox (owner, destination, attempts): {string.Join("; ", await ListAsync(c, $"select owner_id, destination, coalesce(attempts, 0), exists (select from {LedgerMessaging.QueueSchema}.wolverine_queue_{LedgerMessaging.HoldingChangesQueue.Replace('-', '_')} q where q.id = o.id) from {LedgerMessaging.Schema}.wolverine_outgoing_envelopes o limit 10", r => $"{r.GetInt32(0)} {r.GetString(1)} {r.GetInt32(2)} in queue: {r.GetBoolean(3)}"))}; " +
                $"nodes: {string.Join("; ", await ListAsync(c, $"select id, node_number, health_check from {LedgerMessaging.Schema}.wolverine_nodes", r => $"{r.GetGuid(0)} #{r.GetInt32(1)} {r.GetDateTime(2):HH:mm:ss.fff}"))}; the API's log ends:\n{string.Join("\n", api.Process.Tail(400).Split('\n').Where(l => !l.Contains("Database unavailable") && !l.Contains("DealLedger.Api.Problems")))}");
        Assert.Equal(changes, await ScalarAsync<long>(c, $"select count(*) from {LedgerMessaging.QueueSchema}.wolverine_queue_{LedgerMessaging.HoldingChangesQueue.Replace('-', '_')}"));
        Assert.Equal(0L, await ScalarAsync<long>(c, $"select count(*) from {LedgerMessaging.Schema}.wolverine_dead_letters"));

        // The feed wakes on commits again: a follower on the stream sees a new write at once.
        var latency = await StreamLatencyAsync(api.Url, readerKey, writer);
        output.WriteLine($"after recovery: LISTEN again, sealed to the head, Wolverine's node checking in, {changes} holding-change messages in the queue (none left in the outbox after {drained.TotalSeconds:0.0} s, no dead letters); " +
            $"a new write reached a feed stream in {latency.TotalMilliseconds:0} ms. Whole test {total.Elapsed.TotalSeconds:0} s");
        Assert.True(latency < TimeSpan.FromSeconds(3), $"the feed stream took {latency.TotalMilliseconds:0} ms to see a write");
    }

    /// <summary>Writes one logical write after another, each sent again (same content) until a 2xx.</summary>
    private async Task WriteAsync(HttpClient http, string client, Func<int, (string Path, string Stream, string Body, int Events)> next, bool honourRetryAfter,
        ConcurrentBag<(string, int)> acknowledged, CancellationToken stop)
    {
        for (var k = 0; !stop.IsCancellationRequested; k++)
        {
            var (path, stream, body, events) = next(k);
            while (true)
            {
                var (outcome, retryAfter) = await CallAsync(client, () => http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")));
                if (outcome is "200" or "201")
                {
                    acknowledged.Add((stream, events));
                    break;
                }
                await Task.Delay(honourRetryAfter && retryAfter is { } wait ? wait : TimeSpan.FromMilliseconds(100));
            }
        }
    }

    private async Task ReadAsync(HttpClient http, string client, CancellationToken stop)
    {
        for (var k = 0; !stop.IsCancellationRequested; k++)
        {
            var (outcome, retryAfter) = await CallAsync(client, () => http.GetAsync($"api/holdings/{Org(k)}/{Org(k + 1)}?at=2000-01-01"));
            await Task.Delay(outcome == "503" && retryAfter is { } wait ? wait : TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>One call: its outcome (the status, "timeout" past the client's timeout, "transport" when the connection failed) and its Retry-After.</summary>
    private async Task<(string Outcome, TimeSpan? RetryAfter)> CallAsync(string client, Func<Task<HttpResponseMessage>> send)
    {
        var started = clock.Elapsed;
        string outcome;
        TimeSpan? retryAfter = null;
        try
        {
            using var response = await send();
            outcome = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            retryAfter = response.Headers.RetryAfter?.Delta;
            if (!response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                outcome += " (not problem details)";
            }
        }
        catch (TaskCanceledException)
        {
            outcome = "timeout";
        }
        catch (HttpRequestException)
        {
            outcome = "transport";
        }
        calls.Enqueue(new Call(client, started, clock.Elapsed, outcome, retryAfter is not null));
        return (outcome, retryAfter);
    }

    private async Task HealthAsync(Uri api, ConcurrentQueue<(TimeSpan, HttpStatusCode?)> health, CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = api, Timeout = ClientTimeout };
        while (!stop.IsCancellationRequested)
        {
            HttpStatusCode? status;
            try
            {
                using var response = await http.GetAsync("health/ready");
                status = response.StatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                status = null;
            }
            health.Enqueue((clock.Elapsed, status));
            await Task.Delay(100);
        }
    }

    /// <summary>How long a write takes to reach a follower of the feed's Server-Sent Events stream.</summary>
    private static async Task<TimeSpan> StreamLatencyAsync(Uri api, string readerKey, HttpClient writer)
    {
        using var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Api-Key", readerKey);
        var head = JsonDocument.Parse(await http.GetStringAsync("api/feed?limit=1")).RootElement.GetProperty("highWaterMark").GetInt64();
        // The stream's headers come with its first event: ask, let it settle into waiting for a commit, then write.
        var opening = http.GetAsync($"api/feed/stream?after={head}", HttpCompletionOption.ResponseHeadersRead);
        await Task.Delay(1000);
        var sent = Stopwatch.StartNew();
        using (var write = await writer.PostAsync("api/sources", new StringContent(Probe(1_000_000), Encoding.UTF8, "application/json")))
        {
            write.EnsureSuccessStatusCode();
        }
        using var response = await opening;
        response.EnsureSuccessStatusCode();
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await lines.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) is { } line)
        {
            if (line.StartsWith("id:", StringComparison.Ordinal))
            {
                return sent.Elapsed;
            }
        }
        throw new InvalidOperationException("the feed stream ended");
    }

    /// <returns>How long it took.</returns>
    private static async Task<TimeSpan> WaitAsync(Func<Task<bool>> condition, string what, Func<Task<string>>? explain = null)
    {
        var waited = Stopwatch.StartNew();
        for (; !await condition(); await Task.Delay(100))
        {
            if (waited.Elapsed >= RecoveryDeadline)
            {
                Assert.Fail($"no {what} within {RecoveryDeadline.TotalSeconds:0} s{(explain is null ? "" : "; " + await explain())}");
            }
        }
        return waited.Elapsed;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection c, string sql, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<List<T>> ListAsync<T>(NpgsqlConnection c, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<T>();
        while (await r.ReadAsync())
        {
            list.Add(read(r));
        }
        return list;
    }

    private static string Org(int i) => $"r-{i % Organizations:D2}";

    private static string Basics() => JsonSerializer.Serialize(new
    {
        organizations = Enumerable.Range(0, Organizations).Select(i => new { id = Org(i), name = $"Restart {i}", kind = "company" }),
        sources = new[] { new { id = "r-register", title = "The register", kind = "official-register" } },
    });

    /// <summary>Writer w's k-th deal: one stake, on a day of its own (so every fact starts a state of its pair).</summary>
    private static string Deal(int w, int k)
    {
        var holder = (w * 7 + k) % Organizations;
        var subject = (holder + 1 + k % (Organizations - 1)) % Organizations;
        return JsonSerializer.Serialize(new
        {
            id = $"w{w}-{k}",
            parties = new[] { Org(holder), Org(subject) },
            facts = new[]
            {
                new
                {
                    id = $"w{w}-{k}-stake", type = "stake", holder = Org(holder), subject = Org(subject), share = new { exact = 1 + (w + k) % 49 },
                    valid = new { from = new DateOnly(1950, 1, 1).AddDays(w * 5000 + k).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) },
                    sources = new[] { new { source = "r-register", claim = "stated" } },
                },
            },
        });
    }

    private static string Probe(int k) => JsonSerializer.Serialize(new { id = $"probe-{k}", title = $"Probe {k}", kind = "third-party" });
}
