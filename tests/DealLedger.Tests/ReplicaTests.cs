using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
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
/// Issue 16: reads on PostgreSQL hot standbys keep knownAt exact, and a promoted standby takes the writes without an API
/// restart. Each test has a cluster and a standby of its own (<see cref="PrivateCluster"/>, eng/pg standby): the shared
/// server keeps running.
/// </summary>
[Collection(ChildProcess.Collection)]
[Trait("Category", "Faults")]
public sealed class ReplicaTests(ITestOutputHelper output)
{
    private const int Organizations = 8;
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task a_replica_whose_replay_is_paused_answers_every_knownAt_as_the_primary_does_and_never_stale()
    {
        await using var cluster = await PrivateCluster.StartAsync();
        var (writerKey, readerKey, adminKey) = await PrepareAsync(cluster.ConnectionString);
        var standby = await cluster.StartStandbyAsync();
        // One node reads from the standby (a short wait, so a paused standby hands reads to the primary quickly); the other
        // reads only the primary: the same knownAt must get the same bytes from both.
        await using var onReplica = new ApiProcess(cluster.ConnectionString, "api-replica", new Dictionary<string, string?>
        {
            ["DealLedger__Replicas__0"] = standby,
            ["DealLedger__ReplicaWait"] = "00:00:00.100",
        });
        await using var onPrimary = new ApiProcess(cluster.ConnectionString, "api-primary");
        await Task.WhenAll(onReplica.StartAsync(), onPrimary.StartAsync());
        using var writer = onPrimary.Client(writerKey, ClientTimeout);
        using var replicaReader = onReplica.Client(readerKey, ClientTimeout);
        using var primaryReader = onPrimary.Client(readerKey, ClientTimeout);
        using var admin = onReplica.Client(adminKey, ClientTimeout);

        var recorded = new List<DateTimeOffset>();
        for (var k = 0; k < 12; k++)
        {
            recorded.Add(await WriteAsync(writer, k));
        }
        var random = new Random(16);
        var compared = await CompareAsync(replicaReader, primaryReader, recorded, random, 60);

        await using (var c = new NpgsqlConnection(standby))
        {
            await c.OpenAsync();
            await new NpgsqlCommand("select pg_wal_replay_pause()", c).ExecuteNonQueryAsync();
        }
        var paused = recorded[^1];
        for (var k = 12; k < 24; k++)
        {
            recorded.Add(await WriteAsync(writer, k));
        }
        var ready = await ReadyAsync(onReplica.Url);
        output.WriteLine($"paused: {ready}");
        Assert.Contains("24 events behind", ready, StringComparison.Ordinal);
        var before = await ReadsAsync(admin);
        compared += await CompareAsync(replicaReader, primaryReader, recorded, random, 200);
        var during = await ReadsAsync(admin);
        output.WriteLine($"while paused: {during.Replica - before.Replica} answered by the replica, {during.Primary - before.Primary} by the primary");
        // Instants before the pause are still the standby's to answer; "now" and the later ones are the primary's.
        Assert.True(during.Replica > before.Replica, "no read was answered by the paused replica (instants it holds)");
        Assert.True(during.Primary > before.Primary, "no read was handed to the primary while the replica was paused");

        await using (var c = new NpgsqlConnection(standby))
        {
            await c.OpenAsync();
            await new NpgsqlCommand("select pg_wal_replay_resume()", c).ExecuteNonQueryAsync();
        }
        await onReplica.Process!.WaitUntilAsync(async () => (await ReadyAsync(onReplica.Url)).Contains(" 0 events behind", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the standby to catch up");
        await Task.Delay(TimeSpan.FromSeconds(1.1)); // the replica's rest after giving up
        var resumed = await ReadsAsync(admin);
        compared += await CompareAsync(replicaReader, primaryReader, recorded, random, 60);
        var after = await ReadsAsync(admin);
        output.WriteLine($"after resuming: {after.Replica - resumed.Replica} answered by the replica, {after.Primary - resumed.Primary} by the primary; {compared} answers compared in all, paused after {paused:O}");
        Assert.True(after.Replica - resumed.Replica >= 55, $"only {after.Replica - resumed.Replica} of 60 reads answered by the caught-up replica");

        // A standby that is gone costs the reads nothing but its connection attempt: the primary answers, the node is degraded.
        await cluster.StopStandbyAsync(crash: true);
        compared += await CompareAsync(replicaReader, primaryReader, recorded, random, 30);
        var gone = await ReadyAsync(onReplica.Url);
        output.WriteLine($"standby stopped: {gone}");
        Assert.Contains("\"status\":\"Degraded\"", gone, StringComparison.Ordinal);
        Assert.Contains("unreachable", gone, StringComparison.Ordinal);
        Assert.True((await ReadsAsync(admin)).Primary >= after.Primary + 30, "the reads did not go to the primary while the standby was down");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task a_promoted_standby_takes_the_writes_without_an_api_restart(bool synchronous)
    {
        await using var cluster = await PrivateCluster.StartAsync();
        var (writerKey, _, _) = await PrepareAsync(cluster.ConnectionString);
        var standby = await cluster.StartStandbyAsync(synchronous);
        await using (var c = new NpgsqlConnection(cluster.ConnectionString))
        {
            await c.OpenAsync();
            var mode = (string)(await new NpgsqlCommand("select current_setting('synchronous_commit') || ' ' || (select sync_state from pg_stat_replication)", c).ExecuteScalarAsync())!;
            Assert.Equal(synchronous ? "remote_apply sync" : "on async", mode);
        }
        var both = Both(cluster.ConnectionString, standby);
        await using var api = new ApiProcess(both, "api-failover");
        await api.StartAsync();
        var apiProcess = api.Process!.Id;
        using var writer = api.Client(writerKey, ClientTimeout);
        var clock = Stopwatch.StartNew();
        var acknowledged = new ConcurrentQueue<(string Deal, TimeSpan At)>();
        var failed = 0;
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var k = 0; !stop.IsCancellationRequested; k++)
            {
                var id = $"f{w}-{k}";
                // A write whose answer did not come is sent again with the same content: at most once by its id.
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using var response = await writer.PostAsync("api/deals", Body(id, w * 1000 + k));
                        if (response.IsSuccessStatusCode)
                        {
                            acknowledged.Enqueue((id, clock.Elapsed));
                            break;
                        }
                        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                    }
                    Interlocked.Increment(ref failed);
                    await Task.Delay(50);
                }
            }
        })).ToList();
        await api.Process!.WaitUntilAsync(() => Task.FromResult(acknowledged.Count >= 60), TimeSpan.FromSeconds(60), "60 writes before the crash");
        var crash = clock.Elapsed;
        var beforeCrash = acknowledged.Count;
        await cluster.StopAsync(crash: true);
        var stopped = clock.Elapsed;
        await cluster.PromoteStandbyAsync();
        var promoted = clock.Elapsed;
        await api.Process!.WaitUntilAsync(() => Task.FromResult(acknowledged.Any(a => a.At > promoted)), TimeSpan.FromSeconds(60), "a write acknowledged after the promotion");
        var resumed = acknowledged.Where(a => a.At > promoted).Min(a => a.At);
        await api.Process!.WaitUntilAsync(() => Task.FromResult(acknowledged.Count(a => a.At > promoted) >= 40), TimeSpan.FromSeconds(60), "40 writes after the promotion");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.Equal(apiProcess, api.Process!.Id);
        var stored = new HashSet<string>();
        await using (var c = new NpgsqlConnection(standby))
        {
            await c.OpenAsync();
            await using var r = await new NpgsqlCommand("select id from dealledger.deals", c).ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                stored.Add(r.GetString(0));
            }
        }
        var lost = acknowledged.Where(a => !stored.Contains(a.Deal)).ToList();
        output.WriteLine($"{(synchronous ? "synchronous (remote_apply)" : "asynchronous")}: {beforeCrash} writes acknowledged before the crash at {crash.TotalSeconds:0.0} s; " +
            $"primary down in {(stopped - crash).TotalSeconds:0.00} s, standby promoted {(promoted - stopped).TotalSeconds:0.00} s later; first write acknowledged " +
            $"{(resumed - promoted).TotalSeconds:0.00} s after the promotion ({(resumed - crash).TotalSeconds:0.00} s after the crash); {failed} attempts failed meanwhile; " +
            $"{acknowledged.Count} acknowledged in all, {lost.Count} lost: {string.Join(", ", lost.Select(l => $"{l.Deal} at {l.At.TotalSeconds:0.000} s"))}");
        if (synchronous)
        {
            Assert.Empty(lost);
        }
        Assert.True(resumed - promoted < TimeSpan.FromSeconds(30), $"writes resumed {(resumed - promoted).TotalSeconds:0.0} s after the promotion");
        using var ready = await new HttpClient { BaseAddress = api.Url }.GetAsync("health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    /// <summary>
    /// A "now" read whose query asks for a connection of its own (every query of the simple form) must get it from a
    /// server that holds the instant the first statement answered: a replica setting naming several servers (Load Balance
    /// Hosts, or a pooler or DNS name in front of several standbys) may hand it another one, further behind. Here the route
    /// names the primary (a standby that is caught up) and the paused standby.
    /// </summary>
    [Fact]
    public async Task a_now_read_whose_query_opens_a_connection_never_reads_a_server_behind_the_instant_it_echoes()
    {
        await using var cluster = await PrivateCluster.StartAsync();
        await PrepareAsync(cluster.ConnectionString);
        var standby = await cluster.StartStandbyAsync();
        await using (var c = new NpgsqlConnection(standby))
        {
            await c.OpenAsync();
            await new NpgsqlCommand("select pg_wal_replay_pause()", c).ExecuteNonQueryAsync();
        }
        await using var onPrimary = Ledger.Connect(cluster.ConnectionString);
        for (var k = 0; k < 3; k++)
        {
            await onPrimary.ImportAsync([($"late{k}.json", JsonSerializer.Serialize(new { organizations = new[] { new { id = $"late-{k}", name = $"Late {k}", kind = "company" } } }))]);
        }
        var p = new NpgsqlConnectionStringBuilder(cluster.ConnectionString);
        var s = new NpgsqlConnectionStringBuilder(standby);
        var route = new NpgsqlConnectionStringBuilder(standby)
        {
            Host = $"{p.Host}:{p.Port},{s.Host}:{s.Port}", Port = 5432, LoadBalanceHosts = true, TargetSessionAttributes = "any",
        }.ConnectionString;
        await using var onReplica = Ledger.Connect(cluster.ConnectionString, replicas: Replicas.Of(cluster.ConnectionString, [route], TimeSpan.FromMilliseconds(100)));
        static Task<long> CountAsync(NpgsqlConnection c, DateTimeOffset k, CancellationToken token) =>
            Sql.ScalarAsync<long>(c, $"select count(*) from {ProjectionTables.Of("mt_events")} where timestamp <= $1", token, k);
        for (var i = 0; i < 10; i++)
        {
            var (k, events) = await onReplica.ReadAsync(null, async (c, k, token) => (k, await CountAsync(c, k, token)));
            var same = await onPrimary.ReadAsync(k, (c, k2, token) => CountAsync(c, k2, token));
            Assert.True(events == same, $"read {i}: answered as known at {k:O} with {events} events; the primary has {same} by then");
        }
    }

    /// <summary>A replica setting naming several standbys reads from them: it is not made to look for a primary among them.</summary>
    [Fact]
    public async Task a_replica_setting_naming_several_hosts_targets_the_standbys_among_them()
    {
        var replicas = Replicas.Of("Host=p;Database=d", ["Host=s1,s2:5433;Database=d"])!;
        await using var _ = replicas;
        var route = new NpgsqlConnectionStringBuilder(replicas.All.Single().Database.ConnectionString);
        Assert.NotEqual("primary", route.TargetSessionAttributes);
        // A standby gives up connecting after 2 s, unless its entry says otherwise, in any spelling Npgsql takes.
        Assert.Equal(2, route.Timeout);
        await using var own = Replicas.Of("Host=p;Database=d", ["Host=s1;Database=d;timeout=7"])!;
        Assert.Equal(7, new NpgsqlConnectionStringBuilder(own.All.Single().Database.ConnectionString).Timeout);
    }

    /// <summary>
    /// A standby that refuses the connection (a wrong password, too many connections, …) says nothing about the query:
    /// the primary answers it, as for a standby that is down, rather than the read failing.
    /// </summary>
    [Fact]
    public async Task a_standby_that_refuses_the_connection_hands_the_read_to_the_primary()
    {
        await using var cluster = await PrivateCluster.StartAsync();
        await PrepareAsync(cluster.ConnectionString);
        var refusing = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Password = "not-the-password" }.ConnectionString;
        await using var onReplica = Ledger.Connect(cluster.ConnectionString, replicas: Replicas.Of(cluster.ConnectionString, [refusing]));
        foreach (var knownAt in new DateTimeOffset?[] { null, DateTimeOffset.UtcNow })
        {
            Assert.True(await onReplica.ReadAsync(knownAt, (c, _, token) => Sql.ScalarAsync<long>(c, $"select count(*) from {ProjectionTables.Of("mt_events")}", token)) > 0);
        }
    }

    /// <summary>Debian's libfaketime (eng/test installs it when missing), for this machine's architecture.</summary>
    private static string? FakeTime => Directory.Exists("/usr/lib")
        ? Directory.EnumerateDirectories("/usr/lib").Select(d => Path.Combine(d, "faketime", "libfaketime.so.1")).FirstOrDefault(File.Exists)
        : null;

    /// <summary>
    /// A standby whose clock is behind the primary's (here by 2 s, libfaketime) must still answer a knownAt it has replayed
    /// as the primary does: a write's own recordedAt asked of it, once replayed, must be answered as known at that instant,
    /// with the write. KnownAtSql's least($1, now()) on the standby takes the standby's clock.
    /// </summary>
    [Fact]
    public async Task a_standby_whose_clock_is_behind_answers_a_replayed_knownAt_as_the_primary_does()
    {
        Assert.True(FakeTime is not null, "no libfaketime.so.1 under /usr/lib/*/faketime (eng/test installs Debian's libfaketime)");
        await using var cluster = await PrivateCluster.StartAsync();
        await PrepareAsync(cluster.ConnectionString);
        await cluster.StartStandbyAsync();
        await cluster.StopStandbyAsync();
        var standby = await cluster.StartStandbyAsync(environment: new Dictionary<string, string> { ["LD_PRELOAD"] = FakeTime!, ["FAKETIME"] = "-2" });
        await using var onPrimary = Ledger.Connect(cluster.ConnectionString);
        await using var onReplica = Ledger.Connect(cluster.ConnectionString, replicas: Replicas.Of(cluster.ConnectionString, [standby], TimeSpan.FromMilliseconds(100)));
        static Task<long> CountAsync(NpgsqlConnection c, DateTimeOffset k, CancellationToken token) =>
            Sql.ScalarAsync<long>(c, $"select count(*) from {ProjectionTables.Of("mt_events")} where timestamp <= $1", token, k);
        await using var s = new NpgsqlConnection(standby);
        await s.OpenAsync();
        for (var i = 0; i < 3; i++)
        {
            var written = (await onPrimary.ImportAsync([($"late{i}.json", JsonSerializer.Serialize(new { organizations = new[] { new { id = $"late-{i}", name = $"Late {i}", kind = "company" } } }))])).RecordedAt!.Value;
            while (!await Sql.ScalarAsync<bool>(s, "select last_recorded_at >= $1 from dealledger.ledger_position where id = 1", default, written))
            {
                await Task.Delay(5);
            }
            var (k, events) = await onReplica.ReadAsync(written, async (c, k, token) => (k, await CountAsync(c, k, token)));
            var (k2, same) = await onPrimary.ReadAsync(written, async (c, k, token) => (k, await CountAsync(c, k, token)));
            Assert.True(k == k2 && events == same,
                $"knownAt {written:O}: the standby's node answered as known at {k:O} with {events} events, the primary as known at {k2:O} with {same}");
        }
    }

    /// <summary>The primary and the standby as one multi-host connection string (the primary's other settings).</summary>
    private static string Both(string primary, string standby)
    {
        var a = new NpgsqlConnectionStringBuilder(primary);
        var b = new NpgsqlConnectionStringBuilder(standby);
        return new NpgsqlConnectionStringBuilder(primary) { Host = $"{a.Host}:{a.Port},{b.Host}:{b.Port}", Port = 5432 }.ConnectionString;
    }

    private static async Task<(string Writer, string Reader, string Admin)> PrepareAsync(string connectionString)
    {
        await using var ledger = Ledger.Connect(connectionString);
        await ledger.ApplyAsync(Path.Combine(TestDatabase.RepoRoot, "migrations"));
        await ledger.ImportAsync([("basics.json", JsonSerializer.Serialize(new
        {
            organizations = Enumerable.Range(0, Organizations).Select(i => new { id = Org(i), name = $"Replica {i}", kind = "company" }),
            sources = new[] { new { id = "r-register", title = "The register", kind = "official-register" } },
        }))]);
        return ((await ledger.CreateKeyAsync("replica-writer", Role.Writer, "tests")).Key, (await ledger.CreateKeyAsync("replica-reader", Role.Reader, "tests")).Key,
            (await ledger.CreateKeyAsync("replica-admin", Role.Admin, "tests")).Key);
    }

    private static string Org(int i) => $"rep-{i % Organizations}";

    /// <summary>Deal k: a stake between two of the organizations, from a day of its own.</summary>
    private static StringContent Body(string id, int k) => new(JsonSerializer.Serialize(new
    {
        id,
        parties = new[] { Org(k), Org(k + 1 + k / Organizations % (Organizations - 1)) },
        facts = new[]
        {
            new
            {
                id = $"{id}-stake", type = "stake", holder = Org(k), subject = Org(k + 1 + k / Organizations % (Organizations - 1)), share = new { exact = 1 + k % 49 },
                valid = new { from = new DateOnly(1990, 1, 1).AddDays(k * 3).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) },
                sources = new[] { new { source = "r-register", claim = "stated" } },
            },
        },
    }), Encoding.UTF8, "application/json");

    private static async Task<DateTimeOffset> WriteAsync(HttpClient writer, int k)
    {
        using var response = await writer.PostAsync("api/deals", Body($"d{k}", k));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("recordedAt").GetDateTimeOffset();
    }

    /// <summary>
    /// Random questions to the replica's node, each then asked of the primary's node with the knownAt the first answer echoed:
    /// the bodies must be equal byte for byte. A "now" answer must not be older than the last write acknowledged before it
    /// was asked. Returns how many were compared.
    /// </summary>
    private async Task<int> CompareAsync(HttpClient replica, HttpClient primary, List<DateTimeOffset> recorded, Random random, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var a = random.Next(Organizations);
            var b = a + 1 + random.Next(Organizations - 1);
            var path = random.Next(5) switch
            {
                0 => $"api/holdings/{Org(a)}/{Org(b)}?at=2000-01-01",
                1 => $"api/holdings/{Org(a)}/{Org(b)}/history?",
                2 => $"api/organizations/{Org(a)}/relationships?at=1995-06-01",
                3 => $"api/organizations/{Org(a)}/owners?at=2000-01-01",
                _ => $"api/graph?around={Org(a)}&hops=2&at=2000-01-01",
            };
            var sep = path.EndsWith('?') ? "" : "&";
            var pick = random.Next(recorded.Count);
            string? knownAt = random.Next(6) switch
            {
                0 or 1 => null,
                2 => recorded[pick].ToString("O", CultureInfo.InvariantCulture),
                3 => recorded[pick].AddTicks(-10).ToString("O", CultureInfo.InvariantCulture),
                4 => recorded[pick].AddMilliseconds(random.Next(1, 50)).ToString("O", CultureInfo.InvariantCulture),
                _ => DateTimeOffset.UtcNow.AddHours(1).ToString("O", CultureInfo.InvariantCulture),
            };
            var asked = knownAt is null ? path : $"{path}{sep}knownAt={Uri.EscapeDataString(knownAt)}";
            var last = recorded[^1];
            var (status, body) = await GetAsync(replica, asked);
            Assert.True(status == HttpStatusCode.OK, $"{asked}: {status} {body}");
            var echoed = JsonDocument.Parse(body).RootElement.GetProperty("knownAt").GetString()!;
            if (knownAt is null)
            {
                Assert.True(DateTimeOffset.Parse(echoed, CultureInfo.InvariantCulture) >= last, $"{asked}: answered as known at {echoed}, before the last write acknowledged ({last:O})");
            }
            var (again, same) = await GetAsync(primary, $"{path}{sep}knownAt={Uri.EscapeDataString(echoed)}");
            Assert.Equal(HttpStatusCode.OK, again);
            Assert.True(body == same, $"{asked} (answered as known at {echoed}) differs between the replica's node and the primary's:\n{body}\n{same}");
        }
        return count;
    }

    private static async Task<(HttpStatusCode, string)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<string> ReadyAsync(Uri api)
    {
        using var http = new HttpClient { BaseAddress = api };
        return await http.GetStringAsync("health/ready");
    }

    /// <summary>dealledger.reads by database, from the node's Prometheus scrape.</summary>
    private static async Task<(long Replica, long Primary)> ReadsAsync(HttpClient admin)
    {
        var text = await admin.GetStringAsync("metrics");
        long Count(string database) => text.Split('\n')
            .Where(l => l.StartsWith("dealledger_reads_total{", StringComparison.Ordinal) && l.Contains($"dealledger_database=\"{database}\"", StringComparison.Ordinal))
            .Sum(l => (long)double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        return (Count("replica"), Count("primary"));
    }
}
