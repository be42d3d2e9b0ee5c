using System.Diagnostics;
using System.Globalization;
using DealLedger.Importing;
using DealLedger.Storage;

namespace DealLedger.Benchmarks;

/// <summary>
/// Single writes as the API and the CLI make them (one entry through the import's one write path), on
/// the ledger the import built: a 10-fact deal on existing pairs, and a one-fact write to the
/// 2,000-event pair beside the same write to pairs of 20 events (history-length independence of writes).
/// Each invocation registers a source of its own, so a ledger can be measured again.
/// </summary>
public static class WriteBench
{
    public static async Task RunAsync(Bench bench, long size, string cs)
    {
        var writes = bench.Quick ? 40 : int.TryParse(Environment.GetEnvironmentVariable("DEALLEDGER_BENCH_WRITES"), out var n) ? n : 200;
        await using var ledger = Ledger.Connect(cs);
        var tag = Guid.NewGuid().ToString("N")[..8];
        var source = $"bench-write-{tag}";
        var pairs = (await QueryBench.PairsAsync(cs)).Where(p => p.Holder != HistoryGenerator.LongHolder && p.Holder != HistoryGenerator.ShortHolder).ToList();
        var random = new Random(7);
        var deal = await DealsAsync(ledger, tag, source, random);

        var before = CpuTime.Now();
        var tenFacts = await Bench.TimesAsync(bench, "10-fact deal", writes, _ => deal(Enumerable.Range(0, 10).Select(_ => pairs[random.Next(pairs.Count)]).ToList()), warmUp: 5);
        var spent = CpuTime.Now() - before;
        var calls = writes * bench.Runs + 5;
        var commit = await Bench.TimesAsync(bench, "a bare commit", writes, _ => BareCommitAsync(cs), warmUp: 5);
        var waiting = await WaitingAsync(writes, () => deal(Enumerable.Range(0, 10).Select(_ => pairs[random.Next(pairs.Count)]).ToList()));
        bench.Add(new Measurement("single write: 10-fact deal, p50", size, "ms", tenFacts.P50, "≤ 5 ms", tenFacts.P50 <= 5, bench.Runs,
            Note: string.Create(CultureInfo.InvariantCulture,
                $"p99 {tenFacts.P99:F2} ms; one entry through the import (as POST /api/deals), stakes on existing pairs. Per write on average: {spent.Wall.TotalMilliseconds / calls:F2} ms, " +
                $"of it CPU of this process {spent.Ours.TotalMilliseconds / calls:F2} ms and of PostgreSQL's processes {spent.Server.TotalMilliseconds / calls:F2} ms; " +
                $"this process allocated {spent.Allocated / 1024.0 / calls:F0} KB a write ({spent.Collections} collections in {calls} writes, paused {spent.Paused.TotalMilliseconds:F0} ms in all); " +
                $"PostgreSQL alone committing a transaction that wrote (its WAL flushed to the disk): p50 {commit.P50:F2} ms; " +
                $"in {writes} more deals, their statements' round trips (sent to answered, as Npgsql traces them; the commit not among them) p50 {waiting.P50:F2} ms of a write's p50 {waiting.Write:F2} ms")));

        // What the deal waits on PostgreSQL for, at least: its statements, sent to answered, and a commit. Below the
        // target only when PostgreSQL does less per write, whatever this process does.
        var postgres = waiting.P50 + commit.P50;
        bench.Add(new Measurement("single write limit: PostgreSQL's side of a 10-fact deal", size, "ms", postgres, "—", null, bench.Runs,
            "10-fact deal p50", tenFacts.P50, tenFacts.P50 / postgres, "the deal ÷ PostgreSQL's side", null,
            string.Create(CultureInfo.InvariantCulture,
                $"the deal's statements' round trips p50 {waiting.P50:F2} ms (over {writes} more deals) + a bare commit p50 {commit.P50:F2} ms (the deal's own commit flushes more WAL)")));

        // The short side: pairs of 20 events made for this invocation, each written once before timing (as the long pair is
        // by the warm-up), then written in turn, so none grows past about 30 events (one reused pair would reach about 175 by the end of the third run).
        var shortPairs = await ShortPairsAsync(ledger, tag, source, count: 20);
        foreach (var pair in shortPairs)
        {
            await deal([pair]);
        }
        var longFacts = await Bench.ScalarAsync<long>(cs,
            $"select count(*) from {ProjectionTables.Name("fact_versions")} where holder = '{HistoryGenerator.LongHolder}' and upper_inf(recorded)");
        var longPair = await Bench.TimesAsync(bench, "one stake on the 2,000-event pair", writes / 4, _ => deal([(HistoryGenerator.LongHolder, HistoryGenerator.LongSubject)]), warmUp: 5);
        var turn = 0;
        var shortPair = await Bench.TimesAsync(bench, "one stake on a 20-event pair", writes / 4, _ => deal([shortPairs[turn++ % shortPairs.Count]]), warmUp: 0);
        var ratio = longPair.P50 / shortPair.P50;
        bench.Add(new Measurement("single write: 2,000-event pair ÷ 20-event pair, p50", size, "×", ratio, "≤ 2×", ratio <= 2, bench.Runs,
            Note: string.Create(CultureInfo.InvariantCulture,
                $"long pair p50 {longPair.P50:F2} ms ({longFacts:N0} stake facts before the run), short pairs p50 {shortPair.P50:F2} ms (20 facts each, one write each before timing, written in turn)")));
    }

    /// <summary>
    /// Registers a source of this run's own and gives what writes a deal of stakes on the pairs given (one entry through the
    /// import's one write path, as POST /api/deals), from days drawn from <paramref name="random"/>; callers may write at once.
    /// </summary>
    internal static async Task<Func<IReadOnlyList<(string Holder, string Subject)>, Task>> DealsAsync(Ledger ledger, string tag, string source, Random random)
    {
        await ledger.ImportEntryAsync(DocumentSection.Sources, "source.json",
            $$"""{ "id": "{{source}}", "title": "Write benchmark {{tag}}", "kind": "third-party" }""", new WriteRequest("bench"));
        var next = 0;
        // One size for every stake of the run: its one source may then speak of a pair twice on the same day
        // without contradicting itself (random pairs and days do meet), so the run never refuses its own write.
        string Stake(string id, (string Holder, string Subject) pair, DateOnly from) => $$"""
            { "id": "{{id}}", "type": "stake", "holder": "{{pair.Holder}}", "subject": "{{pair.Subject}}", "share": { "exact": 10 },
              "valid": { "from": "{{from:yyyy-MM-dd}}" }, "sources": [ { "source": "{{source}}", "claim": "attributed", "attributedTo": "bench" } ] }
            """;
        return factPairs =>
        {
            var id = $"bench-{tag}-{Interlocked.Increment(ref next) - 1}";
            List<DateOnly> days;
            lock (random)
            {
                days = [.. factPairs.Select(_ => new DateOnly(1990, 1, 1).AddDays(random.Next(12_000)))];
            }
            var facts = factPairs.Select((p, i) => Stake($"{id}-f{i}", p, days[i]));
            var parties = factPairs.SelectMany(p => new[] { p.Holder, p.Subject }).Distinct().Select(p => $"\"{p}\"");
            return ledger.ImportEntryAsync(DocumentSection.Deals, "deal.json",
                $$"""{ "id": "{{id}}", "parties": [{{string.Join(", ", parties)}}], "facts": [{{string.Join(", ", facts)}}] }""", new WriteRequest("bench"));
        };
    }

    /// <summary>
    /// Writes made one after another, each timed whole and by the time its statements took from being sent to being answered
    /// (every Npgsql command or batch of the write, as Npgsql's tracing times it): the p50 of each.
    /// </summary>
    private static async Task<(double P50, double Write)> WaitingAsync(int writes, Func<Task> write)
    {
        long waited = 0;
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => Interlocked.Add(ref waited, a.Duration.Ticks),
        };
        ActivitySource.AddActivityListener(listener);
        var statements = new List<double>();
        var whole = new List<double>();
        for (var i = 0; i < writes; i++)
        {
            Interlocked.Exchange(ref waited, 0);
            var watch = Stopwatch.StartNew();
            await write();
            whole.Add(watch.Elapsed.TotalMilliseconds);
            statements.Add(TimeSpan.FromTicks(Interlocked.Read(ref waited)).TotalMilliseconds);
        }
        listener.ActivityStopped = null;
        return (Bench.Percentile([.. statements.Order()], 0.5), Bench.Percentile([.. whole.Order()], 0.5));
    }

    /// <summary>What every commit of a write waits for: a transaction that wrote (it took a transaction id), committed, its WAL flushed.</summary>
    private static async Task BareCommitAsync(string cs)
    {
        await using var c = new Npgsql.NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await using (var cmd = new Npgsql.NpgsqlCommand("select pg_current_xact_id()", c, tx))
        {
            await cmd.ExecuteScalarAsync();
        }
        await tx.CommitAsync();
    }

    /// <summary>Pairs with 20 stake facts (20 events) each, imported in one document.</summary>
    private static async Task<List<(string Holder, string Subject)>> ShortPairsAsync(Ledger ledger, string tag, string source, int count)
    {
        var pairs = Enumerable.Range(0, count).Select(i => ($"short-{tag}-{i}-holder", $"short-{tag}-{i}-subject")).ToList();
        var organizations = pairs.SelectMany(p => new[] { p.Item1, p.Item2 }).Select(id => $$"""{ "id": "{{id}}", "name": "{{id}}", "kind": "company" }""");
        var deals = pairs.Select((p, i) => $$"""
            { "id": "short-{{tag}}-{{i}}", "parties": ["{{p.Item1}}", "{{p.Item2}}"], "facts": [{{string.Join(", ", Enumerable.Range(0, 20).Select(k => $$"""
                { "id": "short-{{tag}}-{{i}}-f{{k}}", "type": "stake", "holder": "{{p.Item1}}", "subject": "{{p.Item2}}", "share": { "exact": 10 },
                  "valid": { "from": "{{new DateOnly(1990, 1, 1).AddMonths(k * 18):yyyy-MM-dd}}" }, "sources": [ { "source": "{{source}}", "claim": "attributed", "attributedTo": "bench" } ] }
                """))}}] }
            """);
        await ledger.ImportAsync([("short-pairs.json", $$"""{ "organizations": [{{string.Join(", ", organizations)}}], "deals": [{{string.Join(", ", deals)}}] }""")]);
        return pairs;
    }
}
