using System.Diagnostics;
using System.Globalization;
using System.Text;
using DealLedger.Auditing;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>
/// Figures for the auditors' tools on a generated history (database dealledger_audit_bench): the seeds
/// plus writes of 100 stake facts each over 20,000 pairs, with corrections, endings and retractions;
/// then `replay` at several moments (must report 0 differences) and `rebuild`.
/// Usage: eng/bench --audit EVENTS (e.g. 100000)
/// </summary>
public static class AuditBenchmark
{
    /// <param name="reuse">Measure again on the history a previous run generated.</param>
    public static async Task RunAsync(string server, string repo, int events, bool reuse)
    {
        const string database = "dealledger_audit_bench";
        var cs = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
        if (reuse)
        {
            await using var existing = Ledger.Connect(cs);
            await MeasureAsync(existing, await InstantsAsync(existing));
            return;
        }
        await using (var admin = new NpgsqlConnection(server))
        {
            await admin.OpenAsync();
            await new NpgsqlCommand($"drop database if exists {database} with (force)", admin).ExecuteNonQueryAsync();
            await new NpgsqlCommand($"create database {database}", admin).ExecuteNonQueryAsync();
        }
        await using var ledger = Ledger.Connect(cs);
        await ledger.ApplyAsync(Path.Combine(repo, "migrations"));
        await ledger.ImportFilesAsync(Directory.GetFiles(Path.Combine(repo, "seeds")).Order(StringComparer.Ordinal));

        var random = new Random(42);
        var organizations = Enumerable.Range(0, 500).Select(i => $"o{i:D3}").ToArray();
        var header = new StringBuilder("organizations:\n");
        foreach (var o in organizations)
        {
            header.Append(CultureInfo.InvariantCulture, $"  - {{ id: {o}, name: Org {o}, kind: company }}\n");
        }
        header.Append("sources:\n  - { id: b-press, title: Press, kind: third-party }\n  - { id: b-filing, title: Filing, kind: official-register }\n  - { id: b-release, title: Release, kind: self-declaration }\n");
        await ledger.ImportAsync([("orgs.yaml", header.ToString())]);

        string[] sources = ["b-press", "b-filing", "b-release"];
        var starts = new Dictionary<int, int>();
        var facts = new List<(string Id, int Month)>();
        var closed = new HashSet<string>();
        var instants = new List<DateTimeOffset>();
        var watch = Stopwatch.StartNew();
        var write = 0;
        while (await CountAsync(ledger) < events)
        {
            var doc = new StringBuilder($"deals:\n  - id: bench-{write}\n    parties: [o000, o001]\n    facts:\n");
            for (var f = 0; f < 100; f++)
            {
                var pair = random.Next(20_000);
                var (holder, subject) = (pair % 500, (pair / 500 + 1 + pair % 500) % 500);
                var month = starts[pair] = starts.GetValueOrDefault(pair) + 1 + random.Next(12);
                var id = $"f{write}-{f}";
                facts.Add((id, month));
                doc.Append(CultureInfo.InvariantCulture,
                    $"      - {{ id: {id}, type: stake, holder: {organizations[holder]}, subject: {organizations[subject]}, share: {{ exact: {random.Next(1, 40)} }}, " +
                    $"valid: {{ from: {Month(month)} }}, sources: [ {{ source: {sources[random.Next(3)]}, claim: stated }} ] }}\n");
            }
            if (write % 10 == 9)
            {
                var open = facts.Where(x => !closed.Contains(x.Id)).ToList();
                doc.Append("corrections:\n");
                foreach (var (id, _) in Pick(open, 10))
                {
                    doc.Append(CultureInfo.InvariantCulture, $"  - {{ fact: {id}, set: {{ share: {{ exact: {random.Next(1, 40)} }} }}, reason: audit, sources: [ {{ source: b-filing, claim: stated }} ] }}\n");
                }
                doc.Append("endings:\n");
                foreach (var (id, month) in Pick(open, 5))
                {
                    closed.Add(id);
                    doc.Append(CultureInfo.InvariantCulture, $"  - {{ fact: {id}, on: {Month(month + 6)}, sources: [ {{ source: b-press, claim: stated }} ] }}\n");
                }
                doc.Append("retractions:\n");
                foreach (var (id, _) in Pick(open, 3))
                {
                    closed.Add(id);
                    doc.Append(CultureInfo.InvariantCulture, $"  - {{ fact: {id}, reason: wrong, sources: [ {{ source: b-press, claim: denied }} ] }}\n");
                }
            }
            try
            {
                instants.Add((await ledger.ImportAsync([($"bench-{write}.yaml", doc.ToString())])).RecordedAt!.Value);
            }
            catch (LedgerException e)
            {
                Console.WriteLine($"write {write} refused: {e.Message}");
            }
            write++;
            if (write % 100 == 0)
            {
                Console.WriteLine($"  {write} writes, {await CountAsync(ledger)} events, {watch.Elapsed.TotalSeconds:F0} s");
            }
        }
        var total = await CountAsync(ledger);
        Console.WriteLine($"generated {total} events in {write} writes in {watch.Elapsed.TotalSeconds:F0} s ({total / watch.Elapsed.TotalSeconds:F0} events/s)");
        await MeasureAsync(ledger, instants);

        IEnumerable<(string Id, int Month)> Pick(List<(string Id, int Month)> from, int n)
        {
            var picked = new HashSet<int>();
            while (picked.Count < Math.Min(n, from.Count))
            {
                picked.Add(random.Next(from.Count));
            }
            return picked.Select(i => from[i]);
        }
    }

    private static async Task<List<DateTimeOffset>> InstantsAsync(Ledger ledger)
    {
        await using var c = await ledger.Database.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand($"select distinct timestamp from {ProjectionTables.Name("mt_events")} order by 1", c);
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<DateTimeOffset>();
        while (await r.ReadAsync())
        {
            list.Add(r.GetFieldValue<DateTimeOffset>(0));
        }
        return list;
    }

    private static async Task MeasureAsync(Ledger ledger, List<DateTimeOffset> instants)
    {
        var watch = Stopwatch.StartNew();

        foreach (var knownAt in new[] { instants[instants.Count / 4], instants[instants.Count * 3 / 5], DateTimeOffset.UtcNow })
        {
            watch.Restart();
            var built = TimeSpan.Zero;
            var report = await ledger.ReplayAsync(knownAt, new Phases(phase => { if (phase == "comparing answers" && built == TimeSpan.Zero) { built = watch.Elapsed; } }));
            var total = watch.Elapsed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"replay --known-at {report.KnownAt}: rebuilt {report.Events} events in {built.TotalSeconds:F1} s ({report.Events / built.TotalSeconds:F0} events/s), " +
                $"compared {report.Comparisons} answers ({report.Pairs} pairs, {report.Organizations} organizations) in {(total - built).TotalSeconds:F1} s " +
                $"({report.Comparisons / (total - built).TotalSeconds:F0} comparisons/s): {report.Differences.Count} differences"));
            foreach (var d in report.Differences.Take(3))
            {
                Console.WriteLine($"  {d.Question}\n    live     {d.Live}\n    replayed {d.Replayed}");
            }
        }
        watch.Restart();
        var rebuild = await ledger.RebuildAsync();
        Console.WriteLine($"rebuild: {rebuild.Events} events in {watch.Elapsed.TotalSeconds:F1} s ({rebuild.Events / watch.Elapsed.TotalSeconds:F0} events/s), state unchanged: {rebuild.Unchanged}");
    }

    /// <summary>Calls back synchronously (unlike Progress&lt;T&gt;), so phase times are exact.</summary>
    private sealed class Phases(Action<string> seen) : IProgress<AuditProgress>
    {
        public void Report(AuditProgress value) => seen(value.Phase);
    }

    private static string Month(int month) => $"{2000 + month / 12:D4}-{month % 12 + 1:D2}";

    private static async Task<long> CountAsync(Ledger ledger)
    {
        await using var c = await ledger.Database.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand($"select count(*) from {ProjectionTables.Name("mt_events")}", c);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
