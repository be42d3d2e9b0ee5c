using System.Diagnostics;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>
/// Bulk import of a generated history into a fresh ledger, measured against the raw ceiling (COPY of
/// the very event rows it stored into a table shaped like mt_events) and against Marten's own append
/// of the same events, in the same run.
/// </summary>
public static class ImportBench
{
    /// <returns>The connection string of the ledger the last run built (kept for the other workloads).</returns>
    /// <param name="measure">False: only build the ledger (once), for the other workloads.</param>
    public static async Task<string> RunAsync(Bench bench, long size, IReadOnlyList<HistoryBatch> history, bool measure = true)
    {
        var database = $"dealledger_bench_{size}";
        var events = history.Sum(b => (long)b.Events);
        var rates = new List<double>();
        string cs = "";
        for (var run = 1; run <= (measure ? bench.Runs : 1); run++)
        {
            cs = await bench.FreshDatabaseAsync(database);
            await using var ledger = Ledger.Connect(cs);
            await ledger.ImportAsync([("warm-up.json", """{ "organizations": [ { "id": "warm-up", "name": "Warm-up", "kind": "company" } ] }""")]);
            var watch = Stopwatch.StartNew();
            long stored = 0;
            foreach (var batch in history)
            {
                stored += (await ledger.ImportAsync(batch.Documents)).EventsAppended;
            }
            var elapsed = watch.Elapsed;
            if (stored != events)
            {
                throw new InvalidOperationException($"the bulk import stored {stored} events, the history has {events}");
            }
            rates.Add(events / elapsed.TotalSeconds);
            Bench.Log($"bulk import {size:N0}: run {run}: {events:N0} events in {history.Count} writes, {elapsed.TotalSeconds:F1} s = {rates[^1]:N0} events/s");
        }
        if (!measure)
        {
            return cs;
        }
        var median = Bench.Median(rates);

        var (copyRate, copyHow) = await CopyCeilingAsync(bench, cs);
        bench.Add(new Measurement("bulk import (projections maintained)", size, "events/s", median, "≥ 40,000 events/s", median >= 40_000, bench.Runs,
            $"{copyHow} of the same mt_events rows", copyRate, median / copyRate, "≥ 0.4×", median / copyRate >= 0.4));

        var sample = (int)Math.Min(events, bench.Quick ? 10_000 : 200_000);
        var all = await MartenComparisons.EventsAsync(cs, sample);
        var marten = new List<double>();
        for (var run = 1; run <= bench.Runs; run++)
        {
            marten.Add(await MartenComparisons.AppendAsync(cs, all));
            Bench.Log($"Marten append: run {run}: {all.Count:N0} events = {marten[^1]:N0} events/s");
        }
        var martenRate = Bench.Median(marten);
        bench.Add(new Measurement("bulk import vs Marten append", size, "events/s", median, "—", null, bench.Runs,
            $"Marten Rich append, 1,000 events a SaveChanges ({all.Count:N0} events)", martenRate, median / martenRate, "≥ 2×", median / martenRate >= 2));
        return cs;
    }

    /// <summary>
    /// The ceiling: COPY of the ledger's own event rows into an empty table with mt_events' columns and
    /// indexes — server-side from a file when the role may (superuser or pg_read_server_files), else
    /// from this client (binary). Rows/s, median of the runs.
    /// </summary>
    private static async Task<(double Rate, string How)> CopyCeilingAsync(Bench bench, string cs)
    {
        var file = Path.Combine(Path.GetTempPath(), $"dealledger-bench-{Environment.ProcessId}.copy");
        var events = ProjectionTables.Name("mt_events");
        var serverSide = await Bench.ScalarAsync<bool>(cs, "select rolsuper or pg_has_role(current_user, 'pg_read_server_files', 'member') and pg_has_role(current_user, 'pg_write_server_files', 'member') from pg_roles where rolname = current_user");
        byte[]? rows = null;
        if (serverSide)
        {
            await Bench.ExecAsync(cs, $"copy {events} to '{file}' (format binary)");
        }
        else
        {
            await using var c = new NpgsqlConnection(cs);
            await c.OpenAsync();
            await using var raw = await c.BeginRawBinaryCopyAsync($"copy {events} to stdout (format binary)");
            var buffer = new MemoryStream();
            await raw.CopyToAsync(buffer);
            rows = buffer.ToArray();
        }
        var count = await Bench.EventCountAsync(cs);
        var rates = new List<double>();
        try
        {
            for (var run = 1; run <= bench.Runs; run++)
            {
                await Bench.ExecAsync(cs, $"drop table if exists public.bench_copy; create table public.bench_copy (like {events} including all)");
                var watch = Stopwatch.StartNew();
                if (serverSide)
                {
                    await Bench.ExecAsync(cs, $"copy public.bench_copy from '{file}' (format binary)");
                }
                else
                {
                    await using var c = new NpgsqlConnection(cs);
                    await c.OpenAsync();
                    await using var raw = await c.BeginRawBinaryCopyAsync("copy public.bench_copy from stdin (format binary)");
                    await raw.WriteAsync(rows);
                }
                rates.Add(count / watch.Elapsed.TotalSeconds);
                Bench.Log($"COPY ceiling: run {run}: {count:N0} rows = {rates[^1]:N0} rows/s");
            }
        }
        finally
        {
            await Bench.ExecAsync(cs, "drop table if exists public.bench_copy");
            try
            {
                File.Delete(file);
            }
            catch (UnauthorizedAccessException)
            {
                Bench.Log($"could not remove {file} (written by the server's user)");
            }
        }
        return (Bench.Median(rates), serverSide ? "server-side COPY" : "client binary COPY");
    }
}
