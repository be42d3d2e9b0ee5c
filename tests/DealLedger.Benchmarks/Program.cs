using System.Diagnostics;
using System.Globalization;
using DealLedger.Benchmarks;
using DealLedger.Storage;

// Figures, not tests (eng/bench). Generates realistic histories at several sizes, runs every workload of
// issue 8 on each, each with its comparison measured in the same run, and prints one table; writes it as
// CSV and the scaling curves as PNG (artifacts/bench/ unless --out).
//
//   eng/bench [--quick] [--sizes 10000,100000,1000000] [--runs 3] [--only import,query,http,audit,feed,explorer,write,verify,lookthrough,changes,replicas]
//             (lookthrough: look-through owners on a group structure of its own, once whatever the sizes)
//             (verify: the verify workload of audit alone, without rebuild and replay)
//             (without import: the ledgers a previous run left, dealledger_bench_SIZE, are measured again)
//             [--http-seconds 10] [--feed-seconds 20] [--out DIR]
//   eng/bench --audit EVENTS [--reuse]      the older auditing benchmark (many small writes, then replay)
//   eng/bench --timeline                    HoldingTimeline.Build on a long pair and a short one (no database)
var quick = args.Contains("--quick");
var runs = Arg("--runs", 3);
var sizes = (Text("--sizes") ?? (quick ? "10000" : "10000,100000,1000000")).Split(',').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
var only = Text("--only")?.Split(',').ToHashSet() ?? ["import", "query", "http", "audit", "feed", "explorer", "changes", "write", "lookthrough"];
if (args.Contains("--timeline"))
{
    TimelineTiming.Run();
    return 0;
}
var server = Environment.GetEnvironmentVariable(LedgerStore.EnvironmentVariable)
    ?? throw new InvalidOperationException($"set {LedgerStore.EnvironmentVariable} (eng/bench does)");
var repo = FindRepo();
if (args.Contains("--audit"))
{
    await AuditBenchmark.RunAsync(server, repo, Arg("--audit", 100_000), args.Contains("--reuse"));
    return 0;
}
if (Text("--probe") is { } probe)
{
    await Probe.RunAsync(new Npgsql.NpgsqlConnectionStringBuilder(server) { Database = probe }.ConnectionString);
    return 0;
}
var output = Text("--out") ?? Path.Combine(repo, "artifacts", "bench");
Directory.CreateDirectory(output);

var watch = Stopwatch.StartNew();
var bench = new Bench(server, repo, runs, quick);
Bench.Log($"eng/bench{(quick ? " --quick" : "")}: sizes {string.Join(", ", sizes.Select(Report.Size))}, {runs} runs each, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
await bench.PrepareTemplateAsync();
foreach (var size in sizes)
{
    var generator = new HistoryGenerator((int)size, batches: size >= 100_000 ? 10 : 4);
    var generated = Stopwatch.StartNew();
    var history = generator.Generate().ToList();
    Bench.Log($"history {Report.Size(size)}: {history.Sum(b => b.Events):N0} events in {history.Count} writes ({history.Sum(b => b.Documents.Count):N0} documents), generated in {generated.Elapsed.TotalSeconds:F1} s");
    var cs = only.Contains("import") || !await DatabaseExistsAsync(bench, size)
        ? await ImportBench.RunAsync(bench, size, history, measure: only.Contains("import"))
        : bench.ConnectionString($"dealledger_bench_{size}");
    history.Clear();
    if (only.Contains("query"))
    {
        await QueryBench.RunAsync(bench, size, cs);
    }
    // The API's workloads once, on the largest ledger: they do not scale with the history.
    if ((only.Contains("http") || only.Contains("feed")) && size == sizes.Max())
    {
        await ApiBench.RunAsync(bench, size, cs, only.Contains("http"), only.Contains("feed"), Arg("--http-seconds", quick ? 3 : 10), Arg("--feed-seconds", quick ? 3 : 20));
    }
    // The explorer's figures on every size: they are about how an answer's cost grows with the ledger.
    if (only.Contains("explorer"))
    {
        await ExplorerBench.RunAsync(bench, size, cs);
    }
    if (only.Contains("changes"))
    {
        await ChangesBench.RunAsync(bench, size, cs);
    }
    if (only.Contains("audit"))
    {
        await AuditBench.RunAsync(bench, size, cs);
    }
    else if (only.Contains("verify"))
    {
        // Verify alone (audit runs it after rebuild and replay).
        await AuditBench.VerifyOnlyAsync(bench, size, cs);
    }
    // Last: its writes add to the ledger the other workloads measure.
    if (only.Contains("write"))
    {
        await WriteBench.RunAsync(bench, size, cs);
    }
    // Opt-in (--only replicas): it copies the whole private cluster into a standby; its writes add to the ledger too.
    if (only.Contains("replicas") && size == sizes.Max())
    {
        await ReplicaBench.RunAsync(bench, size, cs, Arg("--http-seconds", quick ? 3 : 10));
    }
}

if (only.Contains("explorer"))
{
    await ExplorerBench.HubAsync(bench);
}
if (only.Contains("lookthrough"))
{
    await LookThroughBench.RunAsync(bench);
}

var header = $"DealLedger benchmarks — {DateTime.UtcNow:yyyy-MM-dd HH:mm}Z, {Environment.ProcessorCount} cores, load average at the end {LoadAverage()}, " +
             $"median of {runs} runs each, {watch.Elapsed.TotalMinutes:F1} min in all{(quick ? ", --quick" : "")}";
Console.WriteLine();
Console.WriteLine(Report.Table(bench.Results, header));
await File.WriteAllTextAsync(Path.Combine(output, "results.csv"), Report.Csv(bench.Results));
await File.WriteAllTextAsync(Path.Combine(output, "results.txt"), Report.Table(bench.Results, header));
ScalingChart.Write(Path.Combine(output, "scaling.png"), bench.Results);
Console.WriteLine($"wrote {Path.Combine(output, "results.csv")}, results.txt and scaling.png");
return 0;

static async Task<bool> DatabaseExistsAsync(Bench bench, long size) =>
    await Bench.ScalarAsync<long>(bench.Server, $"select count(*) from pg_database where datname = 'dealledger_bench_{size}'") > 0;

int Arg(string name, int fallback) => Text(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

string? Text(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

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
