using System.Diagnostics;
using System.Globalization;
using DealLedger;
using DealLedger.Access;
using DealLedger.Api;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;

// Figures, not tests: the headline query in process, then over HTTP on loopback, on a ledger of its
// own (database dealledger_bench).
// Usage: dotnet run -c Release --project tests/DealLedger.Benchmarks -- [--runs N] [--queries N] [--http-seconds N]
var runs = Arg("--runs", 3);
var queries = Arg("--queries", 5000);
var httpSeconds = Arg("--http-seconds", 10);
var server = Environment.GetEnvironmentVariable(LedgerStore.EnvironmentVariable)
    ?? throw new InvalidOperationException($"set {LedgerStore.EnvironmentVariable} (eng/bench does)");
var repo = FindRepo();
if (Array.IndexOf(args, "--audit") >= 0)
{
    await DealLedger.Benchmarks.AuditBenchmark.RunAsync(server, repo, Arg("--audit", 100_000), Array.IndexOf(args, "--reuse") >= 0);
    return;
}

var database = "dealledger_bench";
await using (var admin = new NpgsqlConnection(server))
{
    await admin.OpenAsync();
    await using var drop = new NpgsqlCommand($"drop database if exists {database} with (force)", admin);
    await drop.ExecuteNonQueryAsync();
    await using var create = new NpgsqlCommand($"create database {database}", admin);
    await create.ExecuteNonQueryAsync();
}
var cs = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
await using var ledger = Ledger.Connect(cs);
await ledger.ApplyAsync(Path.Combine(repo, "migrations"));
await ledger.ImportFilesAsync(Directory.GetFiles(Path.Combine(repo, "seeds")).Order(StringComparer.Ordinal));

var at = new DateOnly(2024, 6, 1);
Console.WriteLine($"headline query in process: holding microsoft mistral-ai --at {at:yyyy-MM-dd}, {queries} queries per run, {runs} runs, {Environment.ProcessorCount} cores");
Console.WriteLine("run   knownAt   p50 ms   p99 ms   mean ms");
foreach (var known in new[] { "now", "past" })
{
    DateTimeOffset? knownAt = known == "now" ? null : DateTimeOffset.UtcNow.AddSeconds(-1);
    for (var w = 0; w < 200; w++)
    {
        await ledger.HoldingAsync("microsoft", "mistral-ai", at, knownAt);
    }
    var medians = new List<double>();
    for (var run = 1; run <= runs; run++)
    {
        var times = new double[queries];
        for (var i = 0; i < queries; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var answer = await ledger.HoldingAsync("microsoft", "mistral-ai", at, knownAt);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (answer.Status != HoldingStatus.Held && known == "now")
            {
                throw new InvalidOperationException($"unexpected answer: {answer.Status}");
            }
        }
        Array.Sort(times);
        var p50 = times[queries / 2];
        medians.Add(p50);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{run,-5} {known,-9} {p50,7:F3}  {times[(int)(queries * 0.99)],7:F3}  {times.Average(),7:F3}"));
    }
    medians.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median p50 of {runs} runs (knownAt {known}): {medians[medians.Count / 2]:F3} ms"));
}

// The holding endpoint over HTTP: the API on Kestrel (loopback), clients in this process, sharing the cores.
// One key asks far more than a key may by default (DealLedger:RateLimit): the limit is raised, not
// removed, so each request still pays for the limiter as in service.
var key = (await ledger.CreateKeyAsync($"bench-{Guid.NewGuid():N}", Role.Reader, "bench")).Key;
var app = ApiHost.Build(["--urls", "http://127.0.0.1:0", $"--ConnectionStrings:DealLedger={cs}", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Wolverine.Configuration.HandlerDiscovery=Error",
    "--DealLedger:RateLimit:PermitsPerSecond=1000000", "--DealLedger:RateLimit:Burst=1000000"]);
await app.StartAsync();
var address = app.Urls.First();
const string path = "/api/holdings/microsoft/mistral-ai?at=2024-06-01";
Console.WriteLine($"holding endpoint over HTTP/1.1 on loopback ({address}{path}), {httpSeconds} s per run, {runs} runs");
Console.WriteLine("clients  run   req/s     p50 ms   p99 ms");
foreach (var clients in new[] { 1, 8 })
{
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients }) { BaseAddress = new Uri(address) };
    http.DefaultRequestHeaders.Add("X-Api-Key", key);
    await Load(http, clients, TimeSpan.FromSeconds(2)); // warm-up
    for (var run = 1; run <= runs; run++)
    {
        var (count, times) = await Load(http, clients, TimeSpan.FromSeconds(httpSeconds));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{clients,-8} {run,-5} {count / (double)httpSeconds,8:F0}  {times[times.Length / 2],7:F3}  {times[(int)(times.Length * 0.99)],7:F3}"));
    }
}
await app.StopAsync();

static async Task<(int Count, double[] Times)> Load(HttpClient http, int clients, TimeSpan duration)
{
    var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    var all = await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
    {
        var times = new List<double>();
        while (Stopwatch.GetTimestamp() < until)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync(path);
            await response.Content.ReadAsByteArrayAsync();
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"HTTP {(int)response.StatusCode}");
            }
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return times;
    }));
    var merged = all.SelectMany(t => t).Order().ToArray();
    return (merged.Length, merged);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static string FindRepo()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "DealLedger.sln")))
        {
            return dir.FullName;
        }
    }
    throw new InvalidOperationException("run from inside the checkout");
}
