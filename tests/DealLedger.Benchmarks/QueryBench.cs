using System.Diagnostics;
using DealLedger.Holdings;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>
/// The headline query in process (the core's HoldingAsync, as the CLI and the API call it): random
/// pairs at random dates, and the generator's 2,000-event and 20-event pairs, against Marten's live
/// aggregation of the same pair's events as of the same instant; plus what one query is made of.
/// </summary>
public static class QueryBench
{
    public static async Task RunAsync(Bench bench, long size, string cs)
    {
        var queries = bench.Quick ? 1_000 : 5_000;
        await using var ledger = Ledger.Connect(cs);
        var segments = await Bench.ScalarAsync<long>(cs, $"select count(*) from {ProjectionTables.Name("holding_segments")}");
        var pairs = await PairsAsync(cs);
        var random = new Random(1);
        var asked = Enumerable.Range(0, queries).Select(_ => (Pair: pairs[random.Next(pairs.Count)], Day: new DateOnly(1990, 1, 1).AddDays(random.Next(35 * 365)))).ToArray();

        // As a serving process is: it has answered for every pair once (at one date, untimed), so it keeps the sources
        // and events most findings cite, and PostgreSQL's cache holds the pairs' pages. Timed, that pass is the cold figure.
        var warming = Stopwatch.StartNew();
        foreach (var pair in pairs)
        {
            await ledger.HoldingAsync(pair.Holder, pair.Subject, HistoryGenerator.QueryDate);
        }
        var cold = warming.Elapsed.TotalMilliseconds / pairs.Count;
        Bench.Log($"one pass over the {pairs.Count:N0} pairs (untimed as a workload): {cold:F3} ms a query on average");
        var any = await Bench.TimesAsync(bench, "random pairs", queries, i => ledger.HoldingAsync(asked[i].Pair.Holder, asked[i].Pair.Subject, asked[i].Day));
        // Compared with the least a query can cost: a pooled connection and `select 1`, timed the same way.
        var pooled = await PooledSelectAsync(bench, cs, queries);
        bench.Add(new Measurement("headline query in process, p50", size, "ms", any.P50, "≤ 0.15 ms", any.P50 <= 0.15, bench.Runs,
            "pooled connection + select 1, p50", pooled, any.P50 / pooled, "≤ 2×", any.P50 / pooled <= 2,
            Note: $"{segments:N0} holding segments, {pairs.Count:N0} pairs; random pair and date per query, after one pass over every pair at one date " +
                $"({cold:F3} ms a query on average in that pass, by a process that had read nothing yet)"));
        bench.Add(new Measurement("headline query in process, p99", size, "ms", any.P99, "≤ 1 ms", any.P99 <= 1, bench.Runs));

        var longPair = await Bench.TimesAsync(bench, "2,000-event pair", queries, _ => ledger.HoldingAsync(HistoryGenerator.LongHolder, HistoryGenerator.LongSubject, HistoryGenerator.QueryDate));
        var shortPair = await Bench.TimesAsync(bench, "20-event pair", queries, _ => ledger.HoldingAsync(HistoryGenerator.ShortHolder, HistoryGenerator.ShortSubject, HistoryGenerator.QueryDate));
        var longEvents = await PairEventsAsync(cs, HistoryGenerator.LongHolder, HistoryGenerator.LongSubject);
        var shortEvents = await PairEventsAsync(cs, HistoryGenerator.ShortHolder, HistoryGenerator.ShortSubject);
        bench.Add(new Measurement("history-length independence (p50 long ÷ short)", size, "×", longPair.P50 / shortPair.P50, "≤ 1.2×", longPair.P50 / shortPair.P50 <= 1.2, bench.Runs,
            Note: $"{longEvents}-event pair p50 {longPair.P50:F3} ms, {shortEvents}-event pair p50 {shortPair.P50:F3} ms"));

        // Marten: the pair's fact events in one stream, aggregated live as of the same instant.
        var knownAt = DateTimeOffset.UtcNow;
        var (stream, events, _) = await MartenComparisons.PairStreamAsync(cs, HistoryGenerator.LongHolder, HistoryGenerator.LongSubject);
        var live = new List<double>();
        for (var run = 1; run <= bench.Runs; run++)
        {
            var times = await MartenComparisons.AggregateAsync(cs, stream, DateTimeOffset.UtcNow, bench.Quick ? 30 : 100);
            live.Add(Bench.Percentile(times, 0.5));
            Bench.Log($"Marten AggregateStreamAsync(timestamp), {events}-event stream: run {run}: p50 {live[^1]:F2} ms");
        }
        var martenP50 = Bench.Median(live);
        bench.Add(new Measurement("headline query vs Marten live aggregation", size, "ms", longPair.P50, "—", null, bench.Runs,
            $"AggregateStreamAsync(timestamp), the pair's {events} events in one stream (fold only, no timeline)", martenP50,
            martenP50 / longPair.P50, "≥ 50× faster", martenP50 / longPair.P50 >= 50));
        _ = knownAt;

        await BreakdownAsync(bench, size, cs, queries, pooled);
    }

    private static async Task<double> PooledSelectAsync(Bench bench, string cs, int queries)
    {
        await using var source = LedgerStore.DataSource(cs);
        return (await Bench.TimesAsync(bench, "pool: open, select 1, close", queries, async _ =>
        {
            await using var c = await source.OpenConnectionAsync();
            await using var cmd = new NpgsqlCommand("select 1", c);
            await cmd.ExecuteScalarAsync();
        })).P50;
    }

    /// <summary>What one query costs, piece by piece (one run each; for finding what dominates).</summary>
    /// <param name="pooled">A pooled connection and `select 1`, p50 (measured for the headline's comparison).</param>
    private static async Task BreakdownAsync(Bench bench, long size, string cs, int queries, double pooled)
    {
        var source = LedgerStore.DataSource(cs);
        await using var kept = await source.OpenConnectionAsync();
        var open = await Bench.TimesAsync(null, "open connection: select 1", queries, async _ =>
        {
            await using var cmd = new NpgsqlCommand("select 1", kept);
            await cmd.ExecuteScalarAsync();
        });
        var sql = $"select finding::text from {ProjectionTables.Of("holding_segments")} where {HoldingQuery.OfPair("$1", "$2")} and recorded @> $3::timestamptz and valid @> $4::date limit 1";
        string? json = null;
        var lookup = await Bench.TimesAsync(null, "open connection: the segment lookup", queries, async _ =>
        {
            await using var cmd = new NpgsqlCommand(sql, kept)
            {
                Parameters = { new() { Value = HistoryGenerator.LongHolder }, new() { Value = HistoryGenerator.LongSubject }, new() { Value = DateTimeOffset.UtcNow }, new() { Value = HistoryGenerator.QueryDate } },
            };
            json = (string?)await cmd.ExecuteScalarAsync();
        });
        // The headline's own statement (as captured from HoldingAsync) on an open connection: what the database part of a
        // headline costs, the rest being the pool and this process's work.
        var statements = await ApiBench.ProbeStatementsAsync(cs);
        var batch = statements is null ? null : await Bench.TimesAsync(null, "open connection: the headline's statement", queries,
            _ => ApiBench.SendProbeAsync(kept, statements, HistoryGenerator.LongHolder, HistoryGenerator.LongSubject, HistoryGenerator.QueryDate));
        var parse = await Bench.TimesAsync(null, "JSON: stored finding text to Finding", queries, _ =>
        {
            Finding.Parse(json!);
            return Task.CompletedTask;
        });
        bench.Add(new Measurement("query breakdown: pooled connection + select 1", size, "ms", pooled, "—", null, bench.Runs));
        bench.Add(new Measurement("query breakdown: open connection, select 1", size, "ms", open.P50, "—", null, 1));
        bench.Add(new Measurement("query breakdown: segment lookup on an open connection", size, "ms", lookup.P50, "—", null, 1));
        if (batch is not null)
        {
            bench.Add(new Measurement("query breakdown: the headline's statement on an open connection", size, "ms", batch.P50, "—", null, 1,
                Note: "the statement HoldingAsync sends, captured, for the 2,000-event pair"));
        }
        bench.Add(new Measurement("query breakdown: finding JSON → object", size, "ms", parse.P50, "—", null, 1,
            Note: $"finding of the 2,000-event pair: {json?.Length ?? 0:N0} characters"));
        await source.DisposeAsync();
    }

    public static async Task<List<(string Holder, string Subject)>> PairsAsync(string cs)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"select distinct holder, subject from {ProjectionTables.Name("holding_segments")}", c) { CommandTimeout = 0 };
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<(string, string)>();
        while (await r.ReadAsync())
        {
            list.Add((r.GetString(0), r.GetString(1)));
        }
        return list;
    }

    private static Task<long> PairEventsAsync(string cs, string holder, string subject) => Bench.ScalarAsync<long>(cs,
        $"select count(*) from {ProjectionTables.Name("mt_events")} where stream_id in (select 'fact:' || fact_id from {ProjectionTables.Name("fact_versions")} " +
        $"where holder = '{holder}' and subject = '{subject}' and upper_inf(recorded))");
}
