using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using DealLedger.Access;
using DealLedger.Auditing;
using DealLedger.Client;
using DealLedger.Importing;
using Npgsql;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>
/// Several API nodes on one database (docs/nodes.md), run for real as child processes. Every node
/// serves reads and writes and sees the others' writes at once (projections are written in each
/// write's own transaction); the background work that must survive a node — sending its outbox,
/// sealing — is taken over when a node is killed with SIGKILL; nothing is lost, sent twice or applied twice.
/// </summary>
[Collection(ChildProcess.Collection)]
public sealed class NodesTests(ITestOutputHelper output)
{
    /// <summary>Kills per run of the takeover test; eng/test uses the default, `DEALLEDGER_NODE_KILLS=6` measures more.</summary>
    private static readonly int Kills = int.TryParse(Environment.GetEnvironmentVariable("DEALLEDGER_NODE_KILLS"), out var k) && k > 0 ? k : 2;

    private static readonly TimeSpan Takeover = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task two_nodes_on_one_database_give_the_same_answers_and_each_sees_the_others_writes_at_once()
    {
        var clock = Stopwatch.StartNew();
        await using var cluster = await Cluster.CreateAsync();
        var starting = cluster.StartNoticesAsync();
        Node[] nodes = await Task.WhenAll(cluster.StartNodeAsync("node-a", holdOutbox: false), cluster.StartNodeAsync("node-b", holdOutbox: false));
        await starting;
        var up = clock.Elapsed;
        var (a, b) = (nodes[0], nodes[1]);
        var head = await cluster.LedgerHeadAsync() - 1; // the streams start with the last event of the seed
        await using var streamA = await FeedStream.OpenAsync(a, head);
        await using var streamB = await FeedStream.OpenAsync(b, head);
        FeedStream[] streams = [streamA, streamB];

        // 4 writers, each alternating the node it writes through; right after each write the other node must answer with it.
        var writes = new List<(long Sequence, int Node, long AnsweredAt)>();
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 12; i++)
            {
                var (via, other) = (nodes[(w + i) % 2], nodes[(w + i + 1) % 2]);
                var d = Interlocked.Increment(ref next);
                var report = await via.Writer.RecordDealAsync(DealOf(d));
                var answeredAt = Stopwatch.GetTimestamp();
                Assert.Equal(4, report.EventsAppended); // the deal and its 3 facts
                lock (writes)
                {
                    writes.Add((report.LastSequence!.Value, (w + i) % 2, answeredAt));
                }
                var fact = await other.Reader.FactAsync($"f-{3 * d}");
                Assert.Equal("\"1\"", fact.ETag);
                var (holder, subject) = PairOf(3 * d);
                var question = $"api/holdings/{holder}/{subject}?at={StartOf(3 * d).AddMonths(1):yyyy-MM-dd}&knownAt={Instant(report.RecordedAt!.Value)}";
                var answers = await Task.WhenAll(nodes.Select(n => n.GetStringAsync(question)));
                Assert.Equal(answers[0], answers[1]);
                // The answer rests on the write just made (its events are the last four of the log at that point).
                var basis = JsonDocument.Parse(answers[0]).RootElement.GetProperty("basis").EnumerateArray().Select(e => e.GetProperty("sequence").GetInt64());
                Assert.Contains(basis, s => s > report.LastSequence - 4);
            }
        })));

        // Conflicts across nodes: two writers amend one fact through different nodes with the same If-Match; one wins, one gets 412.
        for (var i = 1; i <= 6; i++)
        {
            var fact = $"f-{3 * i + 1}";
            var etag = (await a.Reader.FactAsync(fact)).ETag;
            var outcomes = await Task.WhenAll(nodes.Select(async (n, x) =>
            {
                try
                {
                    await n.Writer.CorrectAsync(fact, new { set = new { share = new { exact = 40 + x } }, reason = "restated", sources = new[] { new { source = "src-a", claim = "stated" } } }, etag);
                    return HttpStatusCode.OK;
                }
                catch (LedgerApiException e)
                {
                    return e.Status;
                }
            }));
            Assert.Equal(new[] { HttpStatusCode.OK, HttpStatusCode.PreconditionFailed }, outcomes.Order());
            Assert.Equal("\"2\"", (await b.Reader.FactAsync(fact)).ETag);
        }

        // The feed: each node's live stream delivers every write, including those made through the other node, in order.
        var last = await cluster.LedgerHeadAsync();
        var log = await cluster.SequencesAsync(head);
        foreach (var s in streams)
        {
            await s.WaitForAsync(last, TimeSpan.FromSeconds(10));
            Assert.Equal(log, s.Sequences);
        }
        var crossNode = writes.Select(w => Stopwatch.GetElapsedTime(w.AnsweredAt, streams[1 - w.Node].ArrivedAt(w.Sequence))).Order().ToList();
        var sameNode = writes.Select(w => Stopwatch.GetElapsedTime(w.AnsweredAt, streams[w.Node].ArrivedAt(w.Sequence))).Order().ToList();

        // The same answers from both nodes, to the byte, for questions as known at the last write.
        var knownAt = Instant(await cluster.ScalarAsync<DateTimeOffset>("select last_recorded_at from dealledger.ledger_position"));
        var questions = new List<string> { $"api/graph?at=2010-06-01&knownAt={knownAt}", $"api/graph?knownAt={knownAt}", "api/feed?after=0&limit=1000", $"api/events?after={head}&limit=1000" };
        questions.AddRange(Enumerable.Range(0, 10).SelectMany(o => new[]
        {
            $"api/organizations/{Org(o)}/relationships?at=2005-01-01&knownAt={knownAt}",
            $"api/organizations/{Org(o)}/owners?at=2009-01-01&knownAt={knownAt}",
            $"api/holdings/{PairOf(o).Holder}/{PairOf(o).Subject}/history?knownAt={knownAt}",
        }));
        foreach (var q in questions)
        {
            var answers = await Task.WhenAll(nodes.Select(n => n.GetStringAsync(q)));
            Assert.True(answers[0] == answers[1], $"the nodes answer {q} differently:\n{answers[0]}\n{answers[1]}");
        }

        var written = clock.Elapsed;
        var checks = await cluster.AssertConsistentAsync();
        output.WriteLine($"2 nodes and the consumer up after {up.TotalSeconds:0.0} s, writes and reads done at {written.TotalSeconds:0.0} s, checks done at {clock.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine($"{writes.Count} deals written alternately through 2 nodes by 4 writers, each read back at once from the other node; 6 cross-node If-Match races (6 × one 200, one 412); {questions.Count} questions answered identically by both");
        output.WriteLine($"feed stream, write answered → delivered by the other node: median {Ms(crossNode[crossNode.Count / 2])}, max {Ms(crossNode[^1])} (same node: median {Ms(sameNode[sameNode.Count / 2])}, max {Ms(sameNode[^1])})");
        output.WriteLine(checks);
        Assert.True(crossNode[^1] < TimeSpan.FromSeconds(3), $"a write through one node reached the other node's feed stream only after {Ms(crossNode[^1])}");
    }

    [Fact]
    public async Task a_node_killed_under_write_load_is_taken_over_within_30_s_with_no_write_lost_and_every_message_delivered_once()
    {
        var total = Stopwatch.StartNew();
        await using var cluster = await Cluster.CreateAsync();
        // The first victim starts alone, so it leads Wolverine's nodes: the first kill is the leader's, later ones are not.
        var victim = await cluster.StartNodeAsync("node-1", holdOutbox: true);
        await victim.Process.WaitUntilAsync(async () => await cluster.AgentNodeAsync("wolverine://leader/") == victim.WolverineNode, TimeSpan.FromSeconds(60), "it to lead");
        var starting = cluster.StartNoticesAsync();
        var survivor = await cluster.StartNodeAsync("node-s", holdOutbox: false);
        await starting;
        var deal = 0;
        var figures = new List<string>();
        var takeovers = new List<(TimeSpan Delivered, TimeSpan Sealed)>();
        var up = total.Elapsed;
        for (var kill = 1; kill <= Kills; kill++)
        {
            if (kill > 1)
            {
                victim = await cluster.StartNodeAsync($"node-{kill}", holdOutbox: true);
            }
            var load = new WriteLoad([victim, survivor], () => Interlocked.Increment(ref deal));
            // The victim never sends its outbox (holdOutbox): whatever it wrote waits for a live node to take it over.
            await victim.Process.WaitUntilAsync(async () => load.Written >= 40 && await cluster.PendingAsync(victim.WolverineNode) >= 5,
                TimeSpan.FromSeconds(90), "writes through it with unsent messages", TimeSpan.FromMilliseconds(50));
            var leader = await cluster.AgentNodeAsync("wolverine://leader/") == victim.WolverineNode;
            var recovery = await cluster.AgentNodeAsync("wolverinedb://") == victim.WolverineNode;
            var backends = await cluster.BackendsAsync(victim.Process);
            var locks = await cluster.ScalarAsync<long>("select count(*) from pg_locks where locktype = 'advisory' and granted and pid = any($1)", backends);

            var clock = Stopwatch.StartNew();
            await victim.Process.KillAsync();
            var head = await cluster.LedgerHeadAsync();
            var pending = await cluster.PendingAsync(victim.WolverineNode);
            // Each watched on its own, so that one slow look does not delay the others' timing.
            var expected = cluster.ExpectedNoticesAsync(head);
            var watches = await Task.WhenAll(
                FirstAsync(clock, async () => await cluster.ScalarAsync<long>("select count(*) from pg_stat_activity where pid = any($1)", backends) == 0),
                FirstAsync(clock, async () => await cluster.SealHeadAsync() >= head),
                FirstAsync(clock, async () => !(await cluster.NodeNumbersAsync()).Contains(victim.WolverineNode)),
                FirstAsync(clock, async () => await cluster.NoticesAsync(head) == (await expected).Count));
            var (gone, sealedPast, ejected, delivered) = (watches[0], watches[1], watches[2], watches[3]);
            var (deals, failovers) = await load.StopAsync();
            var stored = await cluster.ScalarAsync<long>("select count(*) from dealledger.deals where id = any($1)", (object)deals.ToArray());

            figures.Add($"kill {kill}: {victim.Name} (Wolverine node {victim.WolverineNode}{(leader ? ", the leader" : "")}{(recovery ? ", running outbox recovery" : "")}) " +
                $"with {pending} unsent messages, {backends.Length} backends ({locks} advisory locks held), log head {head}: " +
                $"backends gone {Seconds(gone)}, seal head past {head} {Seconds(sealedPast)}, node ejected {Seconds(ejected)}, last unsent message delivered {Seconds(delivered)}; " +
                $"writers: {deals.Count} deals acknowledged, {failovers} sent again to the other node, {deals.Count - stored} lost");
            output.WriteLine(figures[^1]);
            Assert.True(pending >= 5, figures[^1]);
            Assert.True(gone is not null && sealedPast is not null && delivered is not null, $"no takeover within {Takeover.TotalSeconds:0} s: {figures[^1]}");
            Assert.True(failovers > 0, figures[^1]);
            Assert.Equal(deals.Count, stored);
            takeovers.Add((delivered!.Value, sealedPast!.Value));
        }

        var killed = total.Elapsed;
        var checks = await cluster.AssertConsistentAsync();
        output.WriteLine(checks);
        output.WriteLine($"nodes up after {up.TotalSeconds:0.0} s, {Kills} kills done at {killed.TotalSeconds:0.0} s, checks done at {total.Elapsed.TotalSeconds:0.0} s; kill → last unsent message delivered: {string.Join(", ", takeovers.Select(t => Seconds(t.Delivered)))}; " +
            $"kill → seal head past the last write: {string.Join(", ", takeovers.Select(t => Seconds(t.Sealed)))}");
    }

    [Fact]
    public async Task a_backend_whose_client_vanished_mid_statement_gives_up_the_write_lock_within_seconds()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await ledger.ImportYamlAsync(Seeds.Basics);

        // Without the check PostgreSQL notices the dead client only when the statement ends: every write waits for it.
        var unchecked_ = await WriteLockAfterClientVanishesAsync(db, ledger, "-c client_connection_check_interval=0", 1);
        // With the ledger's connections as they are (client_connection_check_interval=2000), within seconds.
        var checked_ = await WriteLockAfterClientVanishesAsync(db, ledger, null, 2);

        output.WriteLine($"a write waiting behind a vanished client's statement: without the client check still waiting after {unchecked_.TotalSeconds:0.0} s (the backend was then terminated); " +
            $"with it, written after {checked_.TotalSeconds:0.0} s");
        Assert.True(unchecked_ >= TimeSpan.FromSeconds(5), $"the write went through after {unchecked_.TotalSeconds:0.0} s without the check: the test no longer shows the stall");
        Assert.True(checked_ < TimeSpan.FromSeconds(8), $"the write lock of a vanished client was released only after {checked_.TotalSeconds:0.0} s");
    }

    /// <summary>
    /// A write holds the write lock and runs a long statement (standing for a rebuild's bulk copy) when its client's
    /// connection drops, as a killed process's do; how long until another write can go through. Past 5 s the stuck
    /// backend is terminated by hand and 5 s or more is returned.
    /// </summary>
    private static async Task<TimeSpan> WriteLockAfterClientVanishesAsync(TestDatabase db, Ledger ledger, string? options, int n)
    {
        var server = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var relay = Relay.Start(server.Host!, server.Port);
        var through = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = relay.Port, Pooling = false, Options = options, ApplicationName = $"doomed-{n}" };
        await using var doomed = Ledger.Connect(through.ConnectionString);
        doomed.Committing = async (commit, ct) =>
        {
            await using var cmd = new NpgsqlCommand("select pg_sleep(30)", commit.Connection);
            await cmd.ExecuteNonQueryAsync(ct);
        };
        var write = doomed.ImportYamlAsync(Seeds.Deal($"doomed-{n}", Seeds.Stake($"doomed-stake-{n}", "{ exact: 10 }", "{ from: 2020 }")));
        await using var admin = new NpgsqlConnection(db.ConnectionString);
        await admin.OpenAsync();
        async Task<long> SleepingAsync()
        {
            await using var cmd = new NpgsqlCommand("select coalesce(max(pid), 0) from pg_stat_activity where application_name = $1 and state = 'active' and query like 'select pg_sleep%'", admin);
            cmd.Parameters.Add(new NpgsqlParameter { Value = $"doomed-{n}" });
            return Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }
        for (var wait = Stopwatch.StartNew(); await SleepingAsync() == 0; await Task.Delay(20))
        {
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(30) && !write.IsCompleted, "the doomed write never reached its long statement");
        }

        relay.Cut();
        var clock = Stopwatch.StartNew();
        var next = ledger.ImportYamlAsync(Seeds.Deal($"next-{n}", Seeds.Stake($"next-stake-{n}", "{ exact: 20 }", "{ from: 2021 }", holder: "initech")));
        var waited = await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(5))) == next ? clock.Elapsed : (TimeSpan?)null;
        if (waited is null)
        {
            await using var terminate = new NpgsqlCommand($"select pg_terminate_backend({await SleepingAsync()})", admin);
            await terminate.ExecuteNonQueryAsync();
        }
        await next;
        await Assert.ThrowsAnyAsync<Exception>(() => write);
        await using (var cmd = new NpgsqlCommand("select count(*) from dealledger.deals where id = $1", admin))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = $"doomed-{n}" });
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!); // all or nothing: the vanished write stored nothing
        }
        return waited ?? clock.Elapsed;
    }

    /// <summary>When <paramref name="condition"/> first held, by <paramref name="clock"/>; null if not within <see cref="Takeover"/>.</summary>
    private static async Task<TimeSpan?> FirstAsync(Stopwatch clock, Func<Task<bool>> condition)
    {
        while (clock.Elapsed < Takeover)
        {
            if (await condition())
            {
                return clock.Elapsed;
            }
            await Task.Delay(50);
        }
        return null;
    }

    private static string Seconds(TimeSpan? t) => t is { } s ? $"+{s.TotalSeconds:0.0} s" : "never (within 30 s)";

    private static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:0} ms";
    private static string Instant(DateTimeOffset t) => Uri.EscapeDataString(t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));

    // ---- What the writers write ------------------------------------------------------------------

    private const int Organizations = 30;
    private const int Pairs = 150;

    private static string Org(int i) => $"org-{i:D2}";

    /// <summary>Pair p: holder p mod 30, subject 1–5 places further on; 150 distinct pairs.</summary>
    private static (string Holder, string Subject) PairOf(int g) =>
        (Org(g % Pairs % Organizations), Org((g % Pairs % Organizations + 1 + g % Pairs / Organizations) % Organizations));

    /// <summary>Fact g starts in a month of its own within its pair, so each fact changes its pair's holdings.</summary>
    private static DateOnly StartOf(int g) => new DateOnly(2000, 1, 1).AddMonths(g / Pairs * 6 + g % Pairs % 5);

    /// <summary>Deal d: facts 3d, 3d+1, 3d+2, each a stake on its own pair.</summary>
    private static object DealOf(int d)
    {
        var facts = Enumerable.Range(3 * d, 3).Select(g =>
        {
            var (holder, subject) = PairOf(g);
            return new
            {
                id = $"f-{g}",
                type = "stake",
                holder,
                subject,
                share = new { exact = 1 + g % 90 },
                valid = new { from = StartOf(g).ToString("yyyy-MM", CultureInfo.InvariantCulture) },
                sources = new[] { new { source = g % 2 == 0 ? "src-a" : "src-b", claim = "stated" } },
            };
        }).ToList();
        return new { id = $"d-{d}", parties = facts.SelectMany(f => new[] { f.holder, f.subject }).Distinct().Order(StringComparer.Ordinal).ToArray(), facts };
    }

    // ---- The nodes -------------------------------------------------------------------------------

    /// <summary>An API node: its process, its Wolverine node number, and clients for it.</summary>
    private sealed class Node(string name, Uri url, ChildProcess process, int wolverineNode, string writerKey, string readerKey) : IDisposable
    {
        private readonly HttpClient http = new() { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };

        public string Name { get; } = name;
        public Uri Url { get; } = url;
        public ChildProcess Process { get; } = process;
        public int WolverineNode { get; } = wolverineNode;
        public string ReaderKey { get; } = readerKey;
        public LedgerClient Writer { get; } = new(url, writerKey, TimeSpan.FromSeconds(60));
        public LedgerClient Reader { get; } = new(url, readerKey, TimeSpan.FromSeconds(60));

        public async Task<string> GetStringAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add(LedgerClient.ApiKeyHeader, ReaderKey);
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{Name}: GET {path} → {(int)response.StatusCode} {body}");
            return body;
        }

        public void Dispose()
        {
            http.Dispose();
            Writer.Dispose();
            Reader.Dispose();
        }
    }

    /// <summary>One ledger database, its keys, the Notices consumer and the API nodes started on it.</summary>
    private sealed class Cluster : IAsyncDisposable
    {
        private readonly List<ChildProcess> processes = [];
        private readonly List<Node> nodes = [];
        private string writerKey = "";
        private string readerKey = "";

        private Cluster(TestDatabase db)
        {
            Db = db;
            Ledger = db.Connect();
        }

        public TestDatabase Db { get; }
        public Ledger Ledger { get; }

        public static async Task<Cluster> CreateAsync()
        {
            var cluster = new Cluster(await TestDatabase.CreateAsync());
            cluster.writerKey = (await cluster.Ledger.CreateKeyAsync("writers", Role.Writer, "tests")).Key;
            cluster.readerKey = (await cluster.Ledger.CreateKeyAsync("readers", Role.Reader, "tests")).Key;
            await cluster.Ledger.ImportAsync([("seed.json", Seeds.Companies(Organizations))]);
            return cluster;
        }

        private Dictionary<string, string?> Environment(string name, Uri? url = null, bool holdOutbox = false) => new()
        {
            // The application name tells each node's backends apart in pg_stat_activity.
            ["ConnectionStrings__DealLedger"] = $"{Db.ConnectionString};Application Name={name}",
            ["ASPNETCORE_URLS"] = url?.AbsoluteUri.TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Wolverine.Runtime.Agents.NodeAgentController"] = "Information", // its node number
            ["DealLedger__Testing__HoldOutbox"] = holdOutbox ? "true" : "false",
        };

        public async Task<ChildProcess> StartNoticesAsync()
        {
            var notices = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Notices"), [], Environment("notices"), "notices");
            processes.Add(notices);
            await notices.WaitUntilAsync(async () => await ScalarAsync<long>("select count(*) from pg_tables where schemaname = 'notices'") == 1, TimeSpan.FromSeconds(90), "the notices table");
            await JoinedAsync(notices);
            return notices;
        }

        /// <summary>Starts an API node and waits until it is ready and has joined Wolverine's nodes.</summary>
        /// <param name="holdOutbox">The node never sends its outbox: its messages wait until a live node takes them over.</param>
        public async Task<Node> StartNodeAsync(string name, bool holdOutbox)
        {
            var url = new Uri($"http://127.0.0.1:{ChildProcess.FreePort()}/");
            var process = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Api"), [], Environment(name, url, holdOutbox), name);
            processes.Add(process);
            await process.WaitForHttpAsync(new Uri(url, "health/ready"), TimeSpan.FromSeconds(90));
            var node = new Node(name, url, process, await JoinedAsync(process), writerKey, readerKey);
            nodes.Add(node);
            return node;
        }

        /// <summary>The number Wolverine gave the process's node (it logs it once its node agent starts).</summary>
        private static async Task<int> JoinedAsync(ChildProcess process)
        {
            const string marker = "with assigned node id ";
            var line = await process.WaitForLineAsync(l => l.Contains(marker, StringComparison.Ordinal), TimeSpan.FromSeconds(90), "its Wolverine node id");
            var number = line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..].Split(' ')[0];
            return int.Parse(number, CultureInfo.InvariantCulture);
        }

        public async Task<HashSet<int>> NodeNumbersAsync() =>
            [.. await ListAsync("select node_number from wolverine.wolverine_nodes", r => r.GetInt32(0))];

        /// <summary>The Wolverine node that runs an agent (the leader, wolverine://leader/; the outbox recovery, wolverinedb://…); 0 if none.</summary>
        public async Task<int> AgentNodeAsync(string uriPrefix) =>
            (await ListAsync("select n.node_number from wolverine.wolverine_node_assignments a join wolverine.wolverine_nodes n on n.id = a.node_id where a.id like $1",
                r => r.GetInt32(0), uriPrefix + "%")).FirstOrDefault();

        /// <summary>
        /// The backends serving a node's process: those whose client port is one of the process's TCP sockets, its pooled
        /// connections and Wolverine's lock connections alike (read from /proc, before the process is killed). By
        /// application name, Wolverine's lock connections of every node look the same, so a survivor's could be counted.
        /// </summary>
        public async Task<int[]> BackendsAsync(ChildProcess node)
        {
            var sockets = new HashSet<string>();
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{node.Id}/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                    {
                        sockets.Add(target["socket:[".Length..^1]);
                    }
                }
                catch (IOException)
                {
                    // Closed while listed.
                }
            }
            var ports = new List<int>();
            foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" }.Where(File.Exists))
            {
                foreach (var line in File.ReadLines(table).Skip(1))
                {
                    // sl local_address rem_address st queues timer retransmits uid timeout inode
                    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (sockets.Contains(fields[9]))
                    {
                        ports.Add(Convert.ToInt32(fields[1][(fields[1].LastIndexOf(':') + 1)..], 16));
                    }
                }
            }
            return [.. await ListAsync("select pid from pg_stat_activity where client_port = any($1)", r => r.GetInt32(0), ports.ToArray())];
        }

        public Task<long> LedgerHeadAsync() => ScalarAsync<long>("select coalesce((select last_sequence from dealledger.ledger_position), 0)");

        public Task<long> SealHeadAsync() => ScalarAsync<long>("select coalesce(max(sequence), 0) from dealledger.seals");

        public Task<long> PendingAsync(int wolverineNode) => ScalarAsync<long>("select count(*) from wolverine.wolverine_outgoing_envelopes where owner_id = $1", wolverineNode);

        public async Task<List<long>> SequencesAsync(long after) =>
            await ListAsync("select seq_id from dealledger.mt_events where seq_id > $1 and seq_id <= (select last_sequence from dealledger.ledger_position) order by seq_id", r => r.GetInt64(0), after);

        /// <summary>The HoldingChanged ids the writes up to <paramref name="upTo"/> must have sent, from the ledger's own change feed.</summary>
        public async Task<HashSet<Guid>> ExpectedNoticesAsync(long upTo)
        {
            var ids = new HashSet<Guid>();
            for (long after = 0; after < upTo;)
            {
                var page = await Feed.ChangeFeed.FeedAsync(Ledger, after, Feed.ChangeFeed.MaxLimit);
                if (page.Messages.Count == 0)
                {
                    break;
                }
                foreach (var m in page.Messages.Where(m => m.Sequence <= upTo))
                {
                    foreach (var c in m.Changes.Where(c => c.Projection == "holdings"))
                    {
                        ids.Add(Feed.HoldingChanged.IdOf(m.Sequence, c.Holder!, c.Subject!));
                    }
                }
                after = page.Next;
            }
            return ids;
        }

        public Task<long> NoticesAsync(long upTo) => ScalarAsync<long>("select count(*) from notices.holding_changes where sequence <= $1", upTo);

        /// <summary>
        /// What must hold however the nodes came and went: the log is sealed to its head and verifies; every
        /// HoldingChanged was delivered, once; the projections equal a clean rebuild from the log.
        /// </summary>
        public async Task<string> AssertConsistentAsync()
        {
            var head = await LedgerHeadAsync();
            var expected = await ExpectedNoticesAsync(head);
            var wait = Stopwatch.StartNew();
            while ((await SealHeadAsync() < head || await NoticesAsync(long.MaxValue) < expected.Count) && wait.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100);
            }
            var verify = await Ledger.VerifyAsync();
            Assert.True(verify.Ok && verify.SealedHead == head, $"seals: ok {verify.Ok}, sealed head {verify.SealedHead} of {head}, {verify.Break?.Summary}");
            await Task.Delay(TimeSpan.FromSeconds(2)); // a second delivery of anything would show by now
            var delivered = await ListAsync("select message_id, deliveries from notices.holding_changes", r => (Id: r.GetGuid(0), Deliveries: r.GetInt32(1)));
            var missing = expected.Except(delivered.Select(d => d.Id)).ToList();
            var unexpected = delivered.Select(d => d.Id).Except(expected).ToList();
            var twice = delivered.Where(d => d.Deliveries != 1).ToList();
            Assert.True(missing.Count == 0 && unexpected.Count == 0 && twice.Count == 0,
                $"{expected.Count} HoldingChanged expected, {delivered.Count} delivered: {missing.Count} missing, {unexpected.Count} unexpected, {twice.Count} delivered more than once ({string.Join(", ", twice.Take(5))})");
            Assert.Equal(0L, await ScalarAsync<long>("select count(*) from wolverine.wolverine_outgoing_envelopes"));
            var rebuild = await Ledger.RebuildAsync();
            Assert.True(rebuild.Unchanged, "the projections differ from a clean rebuild: " + string.Join("; ",
                rebuild.Before.Zip(rebuild.After).Where(p => p.First != p.Second).Select(p => $"{p.First} → {p.Second}")));
            return $"log head {head}, sealed and verified to {verify.SealedHead}; {expected.Count} HoldingChanged delivered once each; projections = a clean rebuild of {rebuild.Events} events";
        }

        public async Task<T> ScalarAsync<T>(string sql, params object[] args) => (await ListAsync(sql, r => r.GetFieldValue<T>(0), args))[0];

        public async Task<List<T>> ListAsync<T>(string sql, Func<NpgsqlDataReader, T> read, params object[] args)
        {
            await using var c = new NpgsqlConnection(Db.ConnectionString);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand(sql, c);
            foreach (var a in args)
            {
                cmd.Parameters.Add(new NpgsqlParameter { Value = a });
            }
            await using var r = await cmd.ExecuteReaderAsync();
            var rows = new List<T>();
            while (await r.ReadAsync())
            {
                rows.Add(read(r));
            }
            return rows;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var n in nodes)
            {
                n.Dispose();
            }
            foreach (var p in Enumerable.Reverse(processes))
            {
                await p.DisposeAsync();
            }
            await Ledger.DisposeAsync();
            await Db.DisposeAsync();
        }
    }

    /// <summary>
    /// Writers that record deals through the nodes in turn; when a node fails (refused, reset) the same deal goes to the
    /// next node. Safe to repeat: a deal is keyed by its id, so if the first node had committed it the next stores nothing.
    /// </summary>
    private sealed class WriteLoad
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task<List<string>>[] writers;
        private int written;
        private int failovers;

        public WriteLoad(IReadOnlyList<Node> nodes, Func<int> nextDeal, int count = 4) =>
            writers = [.. Enumerable.Range(0, count).Select(w => Task.Run(() => WriteAsync(nodes, w, nextDeal)))];

        public int Written => Volatile.Read(ref written);

        private async Task<List<string>> WriteAsync(IReadOnlyList<Node> nodes, int w, Func<int> nextDeal)
        {
            var acknowledged = new List<string>();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var d = nextDeal();
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        await nodes[(w + i + attempt) % nodes.Count].Writer.RecordDealAsync(DealOf(d));
                        break;
                    }
                    catch (HttpRequestException) when (attempt < 5)
                    {
                        Interlocked.Increment(ref failovers);
                    }
                }
                acknowledged.Add($"d-{d}");
                Interlocked.Increment(ref written);
            }
            return acknowledged;
        }

        /// <summary>Lets each writer finish the write in hand; every deal acknowledged, and how many writes were sent again.</summary>
        public async Task<(List<string> Deals, int Failovers)> StopAsync()
        {
            await stop.CancelAsync();
            var deals = await Task.WhenAll(writers);
            return ([.. deals.SelectMany(d => d)], Volatile.Read(ref failovers));
        }
    }

    /// <summary>A TCP relay to PostgreSQL that drops all its connections at once, as the sockets of a killed process are dropped.</summary>
    private sealed class Relay : IAsyncDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly List<Socket> sockets = [];
        private readonly string host;
        private readonly int port;

        private Relay(string host, int port)
        {
            this.host = host;
            this.port = port;
            listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

        public static Relay Start(string host, int port) => new(host, port);

        private async Task AcceptAsync()
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptSocketAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
                var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await server.ConnectAsync(host, port);
                lock (sockets)
                {
                    sockets.Add(client);
                    sockets.Add(server);
                }
                _ = PumpAsync(client, server);
                _ = PumpAsync(server, client);
            }
        }

        private static async Task PumpAsync(Socket from, Socket to)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int read;
                while ((read = await from.ReceiveAsync(buffer)) > 0)
                {
                    await to.SendAsync(buffer.AsMemory(0, read));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Cut.
            }
        }

        public void Cut()
        {
            lock (sockets)
            {
                foreach (var s in sockets)
                {
                    s.Dispose();
                }
                sockets.Clear();
            }
        }

        public ValueTask DisposeAsync()
        {
            listener.Stop();
            Cut();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>A node's live change feed (GET /api/feed/stream): the sequences it delivered, and when each arrived.</summary>
    private sealed class FeedStream : IAsyncDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly List<(long Sequence, long At)> arrived = [];
        private readonly HttpClient http;
        private Task reading = Task.CompletedTask;

        private FeedStream(Node node) => http = new HttpClient { BaseAddress = node.Url, Timeout = Timeout.InfiniteTimeSpan };

        /// <summary>Opens the stream from <paramref name="after"/>, which must be below the log's head: the first event sent is what answers the request.</summary>
        public static async Task<FeedStream> OpenAsync(Node node, long after)
        {
            var stream = new FeedStream(node);
            var request = new HttpRequestMessage(HttpMethod.Get, $"api/feed/stream?after={after}");
            request.Headers.Add(LedgerClient.ApiKeyHeader, node.ReaderKey);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stream.stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var response = await stream.http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            response.EnsureSuccessStatusCode();
            stream.reading = stream.ReadAsync(response);
            return stream;
        }

        private async Task ReadAsync(HttpResponseMessage response)
        {
            using (response)
            {
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
                while (await reader.ReadLineAsync(stop.Token) is { } line)
                {
                    if (line.StartsWith("id: ", StringComparison.Ordinal))
                    {
                        var sequence = long.Parse(line[4..], CultureInfo.InvariantCulture);
                        lock (arrived)
                        {
                            arrived.Add((sequence, Stopwatch.GetTimestamp()));
                        }
                    }
                }
            }
        }

        public List<long> Sequences
        {
            get
            {
                lock (arrived)
                {
                    return [.. arrived.Select(a => a.Sequence)];
                }
            }
        }

        public long ArrivedAt(long sequence)
        {
            lock (arrived)
            {
                return arrived.Single(a => a.Sequence == sequence).At;
            }
        }

        public async Task WaitForAsync(long sequence, TimeSpan timeout)
        {
            var wait = Stopwatch.StartNew();
            while (!Sequences.Contains(sequence))
            {
                Assert.False(reading.IsCompleted, $"the feed stream ended: {reading.Exception?.GetBaseException().Message}");
                Assert.True(wait.Elapsed < timeout, $"the feed stream did not deliver {sequence} within {timeout.TotalSeconds:0} s (last: {Sequences.LastOrDefault()})");
                await Task.Delay(20);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            try
            {
                await reading;
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
            {
                // Stopped on purpose.
            }
            http.Dispose();
            stop.Dispose();
        }
    }
}
