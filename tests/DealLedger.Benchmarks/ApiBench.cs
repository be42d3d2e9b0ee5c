using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using DealLedger.Access;
using DealLedger.Importing;
using DealLedger.Storage;

namespace DealLedger.Benchmarks;

/// <summary>
/// The API as its own process (Release build of DealLedger.Api) on loopback: the holding endpoint under
/// load from wrk (Debian's package; the in-process client when wrk is missing), the API's resident
/// memory meanwhile, and the change feed's latency — commit to Server-Sent Event delivered — under
/// 1,000 events/s of writes.
/// </summary>
public static partial class ApiBench
{
    public static async Task RunAsync(Bench bench, long size, string cs, bool http, bool feed, int httpSeconds, int feedSeconds)
    {
        await using var ledger = Ledger.Connect(cs);
        var key = (await ledger.CreateKeyAsync($"bench-{Guid.NewGuid():N}"[..20], Role.Reader, "bench")).Key;
        var (api, address) = await StartedApiAsync(bench.Repo, cs);
        try
        {
            if (http)
            {
                await HttpAsync(bench, size, cs, api, address, key, httpSeconds);
            }
            if (feed)
            {
                await FeedAsync(bench, size, ledger, cs, address, key, feedSeconds);
            }
        }
        finally
        {
            await StopApiAsync(api);
        }
    }

    /// <summary>The API as its own process on a free loopback port, started and answering.</summary>
    internal static async Task<(Process Api, string Address)> StartedApiAsync(string repo, string cs, bool anonymousReads = false, IReadOnlyDictionary<string, string>? settings = null)
    {
        var port = FreePort();
        var api = StartApi(repo, cs, port, anonymousReads, settings);
        var address = $"http://127.0.0.1:{port}";
        await WaitReadyAsync(api, address);
        return (api, address);
    }

    internal static async Task StopApiAsync(Process api)
    {
        using (api)
        {
            if (!api.HasExited)
            {
                api.Kill(entireProcessTree: true);
                await api.WaitForExitAsync();
            }
        }
    }

    /// <summary>2,000 headline questions: random pairs of the ledger on random dates (the same every run).</summary>
    internal static async Task<List<string>> HoldingPathsAsync(string cs)
    {
        var pairs = await QueryBench.PairsAsync(cs);
        var random = new Random(2);
        return Enumerable.Range(0, 2_000).Select(_ =>
        {
            var (h, s) = pairs[random.Next(pairs.Count)];
            return $"/api/holdings/{h}/{s}?at={new DateOnly(1990, 1, 1).AddDays(random.Next(35 * 365)):yyyy-MM-dd}";
        }).ToList();
    }

    /// <summary>GETs of the paths in turn from <paramref name="connections"/> connections for a while: wrk, or the in-process client without it.</summary>
    internal static Task<(double Rate, double P99, long Errors)> LoadAsync(string address, List<string> paths, string key, int connections, int seconds) =>
        Which("wrk") is { } wrk ? WrkAsync(wrk, address, paths, key, connections, seconds) : InProcessLoadAsync(address, paths, key, connections, seconds);

    private static async Task HttpAsync(Bench bench, long size, string cs, Process api, string address, string key, int seconds)
    {
        var paths = await HoldingPathsAsync(cs);
        var wrk = Which("wrk");
        var rates = new List<double>();
        var p99s = new List<double>();
        var rss = new List<double>();
        var apiCpu = new List<double>();
        const int connections = 16;
        for (var run = 0; run <= bench.Runs; run++)
        {
            // Run 0 warms the API up (JIT, pools) and is not counted: long enough for dynamic PGO's second compilation of the
            // hot methods (a first counted run after 10 s of warm-up still ran at about half the later runs' rate).
            var duration = run == 0 ? Math.Max(bench.Quick ? 5 : 20, seconds) : seconds;
            using var memory = new PeakMemory(api.Id);
            var busy = CpuTime.MachineBusySeconds();
            var (rate, p99, errors) = await LoadAsync(address, paths, key, connections, duration);
            var perRequest = CoreMilliseconds(CpuTime.MachineBusySeconds() - busy, rate, duration);
            if (errors > 0)
            {
                throw new InvalidOperationException($"{errors} requests failed (non-2xx or socket errors) in the HTTP load");
            }
            if (run == 0)
            {
                continue;
            }
            rates.Add(rate);
            p99s.Add(p99);
            rss.Add(memory.PeakMegabytes);
            apiCpu.Add(perRequest);
            Bench.Log($"GET /api/holdings ({(wrk is null ? "in-process client" : "wrk")}, {connections} connections, {duration} s): run {run}: {rate:N0} req/s, p99 {p99:F2} ms, API RSS peak {memory.PeakMegabytes:F0} MB, {perRequest:F3} ms of the machine's CPU a request");
        }
        var how = wrk is null ? "in-process HttpClient (wrk not installed)" : "wrk -t2";
        var median = Bench.Median(rates);
        var medianP99 = Bench.Median(p99s);
        bench.Add(new Measurement("GET /api/holdings on loopback, throughput", size, "req/s", median, "≥ 10,000 req/s", median >= 10_000, bench.Runs,
            Note: $"{how}, {connections} connections, {seconds} s a run, random pairs and dates; load generator and API share the cores"));
        bench.Add(new Measurement("GET /api/holdings on loopback, p99", size, "ms", medianP99, "≤ 5 ms", medianP99 <= 5, bench.Runs));

        // The limits outside our code, measured beside it on the same cores: PostgreSQL alone answering the very
        // statements a holding request sends, and Kestrel alone answering a request that reads no database.
        var statements = await ProbeStatementsAsync(cs);
        var direct = new List<(double Rate, double P99)>();
        var kestrel = new List<(double Rate, double P99)>();
        var few = new List<(double Rate, double P99)>();
        var directCpu = new List<double>();
        var kestrelCpu = new List<double>();
        var limitRuns = bench.Quick ? 1 : bench.Runs;
        if (statements is not null)
        {
            // Warms up the connections and their prepared statements, as the API's warm-up run does.
            await DirectProbesAsync(cs, statements, paths, connections, 2);
        }
        for (var run = 1; run <= limitRuns; run++)
        {
            if (statements is not null)
            {
                var busy = CpuTime.MachineBusySeconds();
                direct.Add(await DirectProbesAsync(cs, statements, paths, connections, seconds));
                directCpu.Add(CoreMilliseconds(CpuTime.MachineBusySeconds() - busy, direct[^1].Rate, seconds));
                // Fewer connections than requests in flight: what PostgreSQL answers with one backend per core and a spare.
                few.Add(await DirectProbesAsync(cs, statements, paths, FewConnections, seconds));
                Bench.Log($"PostgreSQL alone, the holding request's statements from Npgsql connections (no HTTP): run {run}: {connections} connections {direct[^1].Rate:N0} req/s, p99 {direct[^1].P99:F2} ms, {directCpu[^1]:F3} ms of the machine's CPU a request; {FewConnections} connections {few[^1].Rate:N0} req/s, p99 {few[^1].P99:F2} ms");
            }
            var liveBusy = CpuTime.MachineBusySeconds();
            var live = await LoadAsync(address, ["/health/live"], key, connections, seconds);
            kestrel.Add((live.Rate, live.P99));
            kestrelCpu.Add(CoreMilliseconds(CpuTime.MachineBusySeconds() - liveBusy, live.Rate, seconds));
            Bench.Log($"Kestrel alone, GET /health/live with the same key and load: run {run}: {live.Rate:N0} req/s, p99 {live.P99:F2} ms, {kestrelCpu[^1]:F3} ms of the machine's CPU a request");
        }
        if (statements is not null)
        {
            var postgres = Bench.Median(direct.Select(d => d.Rate));
            bench.Add(new Measurement("GET /api/holdings limit: PostgreSQL alone", size, "req/s", postgres, "—", null, limitRuns,
                "GET /api/holdings", median, median / postgres, "the API's share of this limit", null,
                $"the statement one holding request sends (captured from HoldingAsync), random pairs and dates, {connections} Npgsql connections in this process, no HTTP; p99 {Bench.Median(direct.Select(d => d.P99)):F2} ms; from {FewConnections} connections: {Bench.Median(few.Select(d => d.Rate)):N0} req/s, p99 {Bench.Median(few.Select(d => d.P99)):F2} ms"));
        }
        var kestrelRate = Bench.Median(kestrel.Select(k => k.Rate));
        bench.Add(new Measurement("GET /api/holdings limit: Kestrel alone (no database)", size, "req/s", kestrelRate, "—", null, limitRuns,
            "GET /api/holdings", median, median / kestrelRate, "the API's share of this limit", null,
            $"GET /health/live on the same API process, with the same key and {how} load (authentication, rate limiter and middleware, no database); p99 {Bench.Median(kestrel.Select(k => k.P99)):F2} ms"));
        // The cores' limit: a request must at least be served by PostgreSQL (and Npgsql's client side) and pass Kestrel
        // and the key check (and the load generator's side of HTTP), each measured alone above with what the machine's CPU
        // spent a request. Together, on these cores, they allow at most this many requests a second, before any of the
        // API's own work on a holding (the query's code, its words, JSON).
        if (directCpu.Count > 0 && kestrelCpu.Count > 0 && Bench.Median(directCpu) > 0)
        {
            var floor = Bench.Median(directCpu) + Bench.Median(kestrelCpu);
            var ceiling = Environment.ProcessorCount * 1000 / floor;
            var spent = Bench.Median(apiCpu);
            bench.Add(new Measurement("GET /api/holdings limit: the cores", size, "req/s", ceiling, "—", null, limitRuns,
                "GET /api/holdings", median, median / ceiling, "the API's share of this limit", null,
                $"{Environment.ProcessorCount} cores ÷ the machine's CPU a request of PostgreSQL alone ({Bench.Median(directCpu):F3} ms) and of Kestrel alone ({Bench.Median(kestrelCpu):F3} ms), " +
                $"each measured over its whole run from /proc/stat (every process: server, client, load generator); GET /api/holdings took {spent:F3} ms a request, " +
                $"of which {Math.Max(0, spent - floor):F3} ms beyond those two"));
        }
        var peak = Bench.Median(rss);
        bench.Add(new Measurement("memory: API resident under the HTTP load", size, "MB", peak, "≤ 300 MB", peak <= 300, bench.Runs,
            Note: "peak VmRSS of the API process, sampled every 50 ms during each run"));
    }

    /// <summary>
    /// The statement a holding request sends, as it reached PostgreSQL for one HoldingAsync "as of now" (Ledger.ReadAsync
    /// at the high-water mark, HoldingQuery's probe) — its text from Npgsql's tracing, checked against pg_stat_activity
    /// (the backend's last statement). Its parameters follow Ledger.ReadAsync's contract: $1 is the knownAt asked (none),
    /// then the probe's holder, subject and day. Null when it cannot be captured so (the query changed shape): then the
    /// limit is not measured, and the log says why.
    /// </summary>
    internal static async Task<List<(string Sql, object?[] Parameters)>?> ProbeStatementsAsync(string cs)
    {
        // A pair and a day with a segment, so the request needs no statement beyond its one batch.
        var found = await Bench.ScalarAsync<string>(cs,
            $"select holder || '|' || subject || '|' || to_char(lower(valid), 'YYYY-MM-DD') from {ProjectionTables.Name("holding_segments")} " +
            "where upper_inf(recorded) and not lower_inf(valid) limit 1");
        var (holder, subject, day) = (found.Split('|')[0], found.Split('|')[1], DateOnly.Parse(found.Split('|')[2], CultureInfo.InvariantCulture));
        var application = $"dealledger-bench-capture-{Environment.ProcessId}";
        var first = new List<string>();
        await using var ledger = Ledger.Connect(new Npgsql.NpgsqlConnectionStringBuilder(cs) { ApplicationName = application, MaxPoolSize = 1 }.ConnectionString);
        try
        {
            // Once before listening: the ledger then knows the sources and events the finding cites (as a serving API
            // soon knows most), and the request is its one batch.
            await DealLedger.Holdings.HoldingQuery.HoldingAsync(ledger, holder, subject, day);
        }
        catch (LedgerException e)
        {
            Bench.Log($"PostgreSQL alone: the holding request's statements were not captured: {e.Message}");
            return null;
        }
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.GetTagItem("db.query.text") is string text)
                {
                    lock (first)
                    {
                        first.Add(text);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        {
            await DealLedger.Holdings.HoldingQuery.HoldingAsync(ledger, holder, subject, day);
            listener.ActivityStopped = null;
            var last = await Bench.ScalarAsync<string>(cs, $"select query from pg_stat_activity where application_name = '{application}'");
            // Npgsql's tracing names a batch by its statements joined with ";\n"; the probe is the backend's last
            // statement (pg_stat_activity shows it cut at track_activity_query_size, so only its start is compared).
            var parts = first.Count == 1 ? first[0].Split(";\n") : [];
            if (parts.Length != 1 || last.Length == 0 || !parts[0].StartsWith(last, StringComparison.Ordinal) || Placeholders(parts[0]) != 4)
            {
                Bench.Log($"PostgreSQL alone: the holding request's statement was not captured as one probe of (holder, subject, day): {string.Join(" // ", first)} // last: {last}");
                return null;
            }
            return [(parts[0], [null, "{holder}", "{subject}", "{day}"])];
        }

        static int Placeholders(string sql) => Regex.Matches(sql, @"\$(\d+)").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
    }

    /// <summary>
    /// The captured statements sent straight from Npgsql by <paramref name="connections"/> connections at
    /// once (random pairs and dates, as the HTTP load): what PostgreSQL alone answers on these cores.
    /// </summary>
    private static async Task<(double Rate, double P99)> DirectProbesAsync(string cs, List<(string Sql, object?[] Parameters)> statements, List<string> paths, int connections, int seconds)
    {
        await using var source = LedgerStore.DataSource(cs);
        var asked = paths.Select(p =>
        {
            var parts = p.Split('/', '?', '=');
            return (Holder: parts[3], Subject: parts[4], Day: DateOnly.Parse(parts[^1], CultureInfo.InvariantCulture));
        }).ToArray();
        var until = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        var all = await Task.WhenAll(Enumerable.Range(0, connections).Select(async c =>
        {
            var times = new List<double>();
            var i = c;
            while (Stopwatch.GetTimestamp() < until)
            {
                var (holder, subject, day) = asked[i++ % asked.Length];
                var start = Stopwatch.GetTimestamp();
                await using (var connection = await source.OpenConnectionAsync())
                {
                    await SendProbeAsync(connection, statements, holder, subject, day);
                }
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            return times;
        }));
        var merged = all.SelectMany(t => t).Order().ToArray();
        return (merged.Length / (double)seconds, Bench.Percentile(merged, 0.99));
    }

    /// <summary>The captured statements of one holding request, for (holder, subject, day), as one batch; rows read and dropped.</summary>
    internal static async Task SendProbeAsync(Npgsql.NpgsqlConnection connection, List<(string Sql, object?[] Parameters)> statements, string holder, string subject, DateOnly day)
    {
        await using var batch = new Npgsql.NpgsqlBatch(connection);
        foreach (var (sql, parameters) in statements)
        {
            var command = new Npgsql.NpgsqlBatchCommand(sql);
            foreach (var value in parameters)
            {
                command.Parameters.Add(value is null
                    ? new Npgsql.NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz }
                    : new Npgsql.NpgsqlParameter { Value = value switch { "{holder}" => holder, "{subject}" => subject, "{day}" => day, _ => value } });
            }
            batch.BatchCommands.Add(command);
        }
        await using var reader = await batch.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
            }
        }
        while (await reader.NextResultAsync());
    }

    /// <summary>Milliseconds of the machine's CPU a request: busy seconds over a run ÷ the requests it served.</summary>
    private static double CoreMilliseconds(double busySeconds, double rate, int seconds) =>
        rate > 0 ? busySeconds * 1000 / (rate * seconds) : 0;

    private static async Task<(double Rate, double P99, long Errors)> WrkAsync(string wrk, string address, List<string> paths, string key, int connections, int seconds)
    {
        var script = Path.Combine(Path.GetTempPath(), $"dealledger-bench-{Environment.ProcessId}.lua");
        await File.WriteAllTextAsync(script,
            "local paths = {\n" + string.Concat(paths.Select(p => $"  \"{p}\",\n")) + "}\n" +
            "local i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n");
        try
        {
            var info = new ProcessStartInfo(wrk, ["-t2", $"-c{connections}", $"-d{seconds}s", "--latency", "-H", $"X-Api-Key: {key}", "-s", script, address])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            var rate = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            var p99 = Milliseconds(Percentile99().Match(output));
            var errors = NonSuccess().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            var socket = SocketErrors().Match(output);
            if (socket.Success)
            {
                errors += socket.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture));
            }
            return (rate, p99, errors);
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static double Milliseconds(Match m)
    {
        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"\s99%\s+([0-9.]+)(us|ms|s)")]
    private static partial Regex Percentile99();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();

    /// <summary>Without wrk: HttpClient, one task per connection, for the given time.</summary>
    private static async Task<(double Rate, double P99, long Errors)> InProcessLoadAsync(string address, List<string> paths, string key, int connections, int seconds)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = new Uri(address) };
        http.DefaultRequestHeaders.Add(ApiKeyHeader, key);
        var until = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        long errors = 0;
        var all = await Task.WhenAll(Enumerable.Range(0, connections).Select(async c =>
        {
            var times = new List<double>();
            var i = c;
            while (Stopwatch.GetTimestamp() < until)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(paths[i++ % paths.Count]);
                await response.Content.ReadAsByteArrayAsync();
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                }
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            return times;
        }));
        var merged = all.SelectMany(t => t).Order().ToArray();
        return (merged.Length / (double)seconds, Bench.Percentile(merged, 0.99), errors);
    }

    private const string ApiKeyHeader = "X-Api-Key";

    /// <summary>The second, smaller number of connections PostgreSQL's limit is measured with: two per core.</summary>
    private static int FewConnections => 2 * Environment.ProcessorCount;

    /// <summary>
    /// Writes of 50 events every 50 ms (1,000 events/s) through the bulk path for the given time, while
    /// a client follows /api/feed/stream: for each event, the time from its write's commit to its
    /// Server-Sent Event's arrival.
    /// </summary>
    private static async Task FeedAsync(Bench bench, long size, Ledger ledger, string cs, string address, string key, int seconds)
    {
        var p99s = new List<double>();
        var p50s = new List<double>();
        var rates = new List<double>();
        var orgs = (await QueryBench.PairsAsync(cs)).SelectMany(p => new[] { p.Holder, p.Subject })
            .Where(o => o.StartsWith("org-", StringComparison.Ordinal)).Distinct().Take(400).ToList();
        // Ids of their own for this invocation (a ledger may be measured again), and a source of its own per run.
        var tag = (DateTime.UtcNow.Ticks / TimeSpan.TicksPerSecond).ToString("x", CultureInfo.InvariantCulture);
        for (var run = 1; run <= bench.Runs; run++)
        {
            var committed = new Dictionary<long, long>();
            ledger.Committed = (commit, _) =>
            {
                var at = Stopwatch.GetTimestamp();
                lock (committed)
                {
                    foreach (var e in commit.Events)
                    {
                        committed[e.Ref.Sequence] = at;
                    }
                }
                return Task.CompletedTask;
            };
            var start = await Bench.ScalarAsync<long>(cs, "select coalesce(max(last_sequence), 0) from dealledger.ledger_position");
            var received = new Dictionary<long, long>();
            using var stop = new CancellationTokenSource();
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.Add(ApiKeyHeader, key);
            // The stream's headers may come only with its first event: read it in the background, write meanwhile.
            var reader = Task.Run(async () =>
            {
                try
                {
                    using var response = await http.GetAsync($"/api/feed/stream?after={start}", HttpCompletionOption.ResponseHeadersRead, stop.Token);
                    response.EnsureSuccessStatusCode();
                    using var lines = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
                    while (await lines.ReadLineAsync(stop.Token) is { } line)
                    {
                        if (line.StartsWith("id: ", StringComparison.Ordinal))
                        {
                            var at = Stopwatch.GetTimestamp();
                            lock (received)
                            {
                                received[long.Parse(line.AsSpan(4), CultureInfo.InvariantCulture)] = at;
                            }
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
            var writes = seconds * 20;
            var began = Stopwatch.GetTimestamp();
            var events = 0L;
            for (var w = 0; w < writes; w++)
            {
                var due = began + w * Stopwatch.Frequency / 20;
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
                events += (await ledger.ImportAsync([($"feed-{run}-{w}.json", FeedDocument($"{tag}-{run}", w, orgs))])).EventsAppended;
            }
            var elapsed = Stopwatch.GetElapsedTime(began);
            // Let the last events arrive.
            var deadline = Stopwatch.GetTimestamp() + 5 * Stopwatch.Frequency;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                lock (received)
                {
                    lock (committed)
                    {
                        if (committed.Keys.All(received.ContainsKey))
                        {
                            break;
                        }
                    }
                }
                await Task.Delay(50);
            }
            stop.Cancel();
            await reader;
            ledger.Committed = null;
            var latencies = committed.Select(c => received.TryGetValue(c.Key, out var r) ? (r - c.Value) * 1000.0 / Stopwatch.Frequency : double.PositiveInfinity).Order().ToArray();
            var missing = latencies.Count(double.IsPositiveInfinity);
            p50s.Add(Bench.Percentile(latencies, 0.5));
            p99s.Add(Bench.Percentile(latencies, 0.99));
            rates.Add(events / elapsed.TotalSeconds);
            Bench.Log($"feed: run {run}: {events:N0} events in {elapsed.TotalSeconds:F1} s ({rates[^1]:N0} events/s), commit → SSE p50 {p50s[^1]:F1} ms, p99 {p99s[^1]:F1} ms{(missing > 0 ? $", {missing} never arrived" : "")}");
        }
        var p99 = Bench.Median(p99s);
        bench.Add(new Measurement("feed: commit → Server-Sent Event, p99", size, "ms", p99, "≤ 250 ms at 1,000 events/s", p99 <= 250 && Bench.Median(rates) >= 950, bench.Runs,
            Note: $"writes of 50 events every 50 ms through the bulk path, {Bench.Median(rates):N0} events/s sustained, p50 {Bench.Median(p50s):F1} ms"));
    }

    /// <summary>
    /// 25 deals with one stake each: 50 events, new facts on known organizations, each starting on a day of
    /// its own, so none contradicts another (the first write also registers the run's source).
    /// </summary>
    private static string FeedDocument(string run, int write, List<string> orgs)
    {
        var source = $"feed-source-{run}";
        var text = new StringBuilder(write == 0 ? $"{{\"sources\":[{{\"id\":\"{source}\",\"title\":\"Feed benchmark\",\"kind\":\"third-party\"}}],\"deals\":[" : "{\"deals\":[");
        for (var d = 0; d < 25; d++)
        {
            var h = orgs[(write * 25 + d) % orgs.Count];
            var s = orgs[(write * 25 + d + 7) % orgs.Count];
            if (h == s)
            {
                s = orgs[(write * 25 + d + 8) % orgs.Count];
            }
            var id = $"feed-{run}-{write}-{d}";
            text.Append(CultureInfo.InvariantCulture, $"{(d > 0 ? "," : "")}{{\"id\":\"{id}\",\"parties\":[\"{h}\",\"{s}\"],\"facts\":[{{\"id\":\"{id}-f\",\"type\":\"stake\",")
                .Append(CultureInfo.InvariantCulture, $"\"holder\":\"{h}\",\"subject\":\"{s}\",\"share\":{{\"exact\":{1 + d % 40}}},\"valid\":{{\"from\":\"{new DateOnly(2030, 1, 1).AddDays(write * 25 + d):yyyy-MM-dd}\"}},")
                .Append(CultureInfo.InvariantCulture, $"\"sources\":[{{\"source\":\"{source}\",\"claim\":\"stated\"}}]}}]}}");
        }
        return text.Append("]}").ToString();
    }

    internal static Process StartApi(string repo, string cs, int port, bool anonymousReads = false, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = Path.Combine(repo, "src", "DealLedger.Api", "bin", "Release", "net10.0", "DealLedger.Api.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("build the solution first (Release)", dll);
        }
        var info = new ProcessStartInfo("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}", "--Logging:LogLevel:Default=Warning"])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["ConnectionStrings__DealLedger"] = cs;
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        // One key asks far more than a key may by default: the limit is raised, not removed, so each
        // request still pays for the limiter as in service.
        info.Environment["DealLedger__RateLimit__PermitsPerSecond"] = "100000000";
        info.Environment["DealLedger__RateLimit__Burst"] = "100000000";
        if (anonymousReads)
        {
            info.Environment["DealLedger__AnonymousReads"] = "true";
        }
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) { Console.Error.WriteLine($"  api: {line}"); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    internal static async Task WaitReadyAsync(Process api, string address)
    {
        using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.GetTimestamp() + 90 * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (api.HasExited)
            {
                throw new InvalidOperationException($"the API exited ({api.ExitCode}) while starting");
            }
            try
            {
                if ((await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(250);
        }
        throw new TimeoutException("the API did not become ready within 90 s");
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    /// <summary>The peak resident memory of a process while this is alive (VmRSS sampled every 50 ms).</summary>
    private sealed class PeakMemory : IDisposable
    {
        private readonly Timer timer;
        private readonly int pid;
        private long peakKb;

        public PeakMemory(int pid)
        {
            this.pid = pid;
            timer = new Timer(_ => Sample(), null, 0, 50);
        }

        public double PeakMegabytes => Interlocked.Read(ref peakKb) / 1024.0;

        private void Sample()
        {
            try
            {
                var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                if (line is not null && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture, out var kb))
                {
                    long seen;
                    while (kb > (seen = Interlocked.Read(ref peakKb)) && Interlocked.CompareExchange(ref peakKb, kb, seen) != seen)
                    {
                    }
                }
            }
            catch (IOException)
            {
            }
        }

        public void Dispose()
        {
            timer.Dispose();
            Sample();
        }
    }
}
