using System.Diagnostics;
using System.Globalization;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>One row of the results: a workload at a size, its median over the runs, and how it compares.</summary>
/// <param name="Target">The target as text ("≥ 60,000 events/s"); <paramref name="Met"/> says whether the measured value reaches it.</param>
/// <param name="Comparison">What the figure is measured against in the same run, and its value, or null.</param>
/// <param name="Ratio">Measured ÷ comparison (or the inverse where smaller is better, as the target says).</param>
public sealed record Measurement(
    string Workload, long Size, string Unit, double Measured, string Target, bool? Met, int Runs,
    string? Comparison = null, double? ComparisonValue = null, double? Ratio = null, string? RatioTarget = null, bool? RatioMet = null,
    string? Note = null)
{
    public bool? AllMet => Met is null && RatioMet is null ? null : (Met ?? true) && (RatioMet ?? true);
}

/// <summary>What every workload shares: the server, the template database, the run count, the results so far.</summary>
public sealed class Bench(string server, string repo, int runs, bool quick)
{
    public string Server { get; } = server;
    public string Repo { get; } = repo;
    public int Runs { get; } = runs;
    public bool Quick { get; } = quick;
    public List<Measurement> Results { get; } = [];
    public string Template => "dealledger_bench_template";

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder(Server) { Database = database }.ConnectionString;

    /// <summary>A database with migrations/ applied, made once per bench run; copies of it are cheap.</summary>
    public async Task PrepareTemplateAsync()
    {
        await AdminAsync($"drop database if exists {Template} with (force)");
        await AdminAsync($"create database {Template}");
        await using (var ledger = Ledger.Connect(new NpgsqlConnectionStringBuilder(ConnectionString(Template)) { Pooling = false }.ConnectionString))
        {
            await ledger.ApplyAsync(Path.Combine(Repo, "migrations"));
        }
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>A fresh, migrated, empty database.</summary>
    public async Task<string> FreshDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await AdminAsync($"drop database if exists {name} with (force)");
        await AdminAsync($"create database {name} template {Template}");
        return ConnectionString(name);
    }

    public async Task AdminAsync(string sql)
    {
        await using var admin = new NpgsqlConnection(Server);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, admin) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 0 };
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public static async Task ExecAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync();
    }

    public static Task<long> EventCountAsync(string cs) => ScalarAsync<long>(cs, $"select count(*) from {ProjectionTables.Name("mt_events")}");

    public void Add(Measurement m)
    {
        Results.Add(m);
        Console.WriteLine($"  → {Report.Line(m)}");
    }

    public static void Log(string text) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] {text}"));

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];

    public static async Task<TimeSpan> TimeAsync(Func<Task> work)
    {
        var watch = Stopwatch.StartNew();
        await work();
        return watch.Elapsed;
    }

    public sealed record Times(double P50, double P99);

    /// <summary>Times <paramref name="queries"/> calls per run (after <paramref name="warmUp"/> more, at most 200); medians of the runs' p50 and p99.</summary>
    public static async Task<Times> TimesAsync(Bench? bench, string what, int queries, Func<int, Task> query, int warmUp = 200)
    {
        for (var i = 0; i < Math.Min(warmUp, queries); i++)
        {
            await query(i);
        }
        var p50s = new List<double>();
        var p99s = new List<double>();
        for (var run = 1; run <= (bench?.Runs ?? 1); run++)
        {
            var times = new double[queries];
            for (var i = 0; i < queries; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await query(i);
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(times);
            p50s.Add(Percentile(times, 0.5));
            p99s.Add(Percentile(times, 0.99));
            Log($"{what}: run {run}: {queries:N0} calls, p50 {p50s[^1]:F3} ms, p99 {p99s[^1]:F3} ms");
        }
        return new Times(Median(p50s), Median(p99s));
    }
}
