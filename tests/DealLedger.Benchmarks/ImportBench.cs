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

        var (copyRate, floorRate, copyHow, floorRows) = await CeilingsAsync(bench, cs, events);
        bench.Add(new Measurement("bulk import (projections maintained)", size, "events/s", median, "≥ 40,000 events/s", median >= 40_000, bench.Runs,
            $"{copyHow} of the same mt_events rows", copyRate, median / copyRate, "≥ 0.4×", median / copyRate >= 0.4));

        bench.Add(new Measurement("bulk import vs PostgreSQL storing its rows", size, "events/s", median, "—", null, bench.Runs,
            $"PostgreSQL alone: every row the import stored, loaded into tables with the same indexes in one transaction ({floorRows} rows)",
            floorRate, median / floorRate, "—", null));

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
    /// The ceiling — COPY of the ledger's own event rows into an empty table with mt_events' columns and indexes, rows/s — and
    /// the floor under the import — PostgreSQL alone storing every row the import stored (the events, their streams and every
    /// projection table) with COPY into tables with the same indexes in one transaction, events/s: medians of the runs, from
    /// one dump (<see cref="StoredRows"/>).
    /// </summary>
    private static async Task<(double CopyRate, double StoredRate, string How, string Rows)> CeilingsAsync(Bench bench, string cs, long events)
    {
        string[] tables = ["mt_events", "mt_streams", .. ProjectionTables.Projections];
        var counts = new List<string>();
        foreach (var table in tables.Where(t => t != "ledger_position"))
        {
            counts.Add($"{table} {await Bench.ScalarAsync<long>(cs, $"select count(*) from {ProjectionTables.Name(table)}"):N0}");
        }
        var count = await Bench.EventCountAsync(cs);
        await using var rows = await StoredRows.DumpAsync(cs, tables);
        var copies = new List<double>();
        var stored = new List<double>();
        for (var run = 1; run <= bench.Runs; run++)
        {
            copies.Add(count / (await rows.AsWrittenAsync("mt_events")).TotalSeconds);
            Bench.Log($"COPY ceiling: run {run}: {count:N0} rows = {copies[^1]:N0} rows/s");
        }
        for (var run = 1; run <= bench.Runs; run++)
        {
            stored.Add(events / (await rows.AsWrittenAsync()).TotalSeconds);
            Bench.Log($"PostgreSQL alone storing the import's rows: run {run}: {stored[^1]:N0} events/s");
        }
        return (Bench.Median(copies), Bench.Median(stored), rows.How, $"{rows.How}: {string.Join(", ", counts)}");
    }
}
