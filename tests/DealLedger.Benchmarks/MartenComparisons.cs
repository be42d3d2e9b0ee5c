using System.Diagnostics;
using DealLedger.Deals;
using DealLedger.Storage;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>A fact as a plain Marten projection keeps it: one document per fact stream.</summary>
public sealed class FactSummary
{
    public string Id { get; set; } = "";
    public string Type { get; set; } = "";
    public int Events { get; set; }
    public int Sources { get; set; }
    public bool Retracted { get; set; }
    public string? EndedOn { get; set; }
}

/// <summary>The plain projection Marten's async daemon rebuilds for comparison.</summary>
public sealed partial class FactSummaryProjection : SingleStreamProjection<FactSummary, string>
{
    public static FactSummary Create(FactRecorded e) =>
        new() { Type = e.Fact.Type.ToString(), Events = 1, Sources = e.Fact.Sources.Count };

    public static void Apply(SourceAddedToFact e, FactSummary s) { s.Events++; s.Sources++; }

    public static void Apply(FactCorrected e, FactSummary s) { s.Events++; s.Sources += e.Sources.Count; }

    public static void Apply(FactRetracted e, FactSummary s) { s.Events++; s.Retracted = true; }

    public static void Apply(FactEnded e, FactSummary s) { s.Events++; s.EndedOn = e.On.ToString(); }
}

/// <summary>
/// A pair's stake facts folded from one stream holding all the pair's fact events: what Marten's
/// live aggregation (AggregateStreamAsync with a timestamp) does to answer "as known at" — the fold
/// only; the timeline the headline query's answer needs would come on top.
/// </summary>
public sealed class PairFacts
{
    public string Id { get; set; } = "";
    public Dictionary<string, FactState> Facts { get; set; } = [];
}

public sealed partial class PairFactsProjection : SingleStreamProjection<PairFacts, string>
{
    public static void Apply(IEvent<FactRecorded> e, PairFacts p) => Fold(e, p);
    public static void Apply(IEvent<SourceAddedToFact> e, PairFacts p) => Fold(e, p);
    public static void Apply(IEvent<FactCorrected> e, PairFacts p) => Fold(e, p);
    public static void Apply(IEvent<FactRetracted> e, PairFacts p) => Fold(e, p);
    public static void Apply(IEvent<FactEnded> e, PairFacts p) => Fold(e, p);

    private static void Fold(IEvent e, PairFacts p)
    {
        var id = FactState.FactIdOf(e.Data)!;
        p.Facts[id] = FactState.Next(p.Facts.GetValueOrDefault(id), e.Data, new EventRef(e.Id, e.Sequence, e.EventTypeName, e.Timestamp));
    }
}

/// <summary>
/// Marten's own paths, measured in the same run as the ledger's: the ledger's Marten configuration
/// (<see cref="LedgerStore.Configure"/>: string streams, Rich appends, metadata, the same JSON), in a
/// schema of its own (bench_marten) without the ledger's projection tables.
/// </summary>
public static class MartenComparisons
{
    public const string Schema = "bench_marten";

    /// <param name="daemon">With the plain projection the async daemon rebuilds.</param>
    public static DocumentStore Store(string cs, bool daemon = false) => DocumentStore.For(o =>
    {
        LedgerStore.Configure(o, NpgsqlDataSource.Create(cs), createSchema: true);
        o.Storage.ExtendedSchemaObjects.Clear();
        o.DatabaseSchemaName = Schema;
        o.Events.DatabaseSchemaName = Schema;
        if (daemon)
        {
            o.Projections.Add<FactSummaryProjection>(ProjectionLifecycle.Async);
        }
        o.Projections.Add<PairFactsProjection>(ProjectionLifecycle.Live);
    });

    /// <summary>The ledger's events (stream, data), in sequence order, up to a count.</summary>
    public static async Task<List<(string Stream, object Event)>> EventsAsync(string cs, int limit)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"select stream_id, type, data::text from {ProjectionTables.Name("mt_events")} order by seq_id limit $1", c)
        {
            Parameters = { new() { Value = limit } },
        };
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<(string, object)>();
        while (await r.ReadAsync())
        {
            list.Add((r.GetString(0), System.Text.Json.JsonSerializer.Deserialize(r.GetString(2), EventNames.TypeOf(r.GetString(1))!, LedgerJson.Options)!));
        }
        return list;
    }

    public static async Task ResetAsync(string cs) => await Bench.ExecAsync(cs, $"drop schema if exists {Schema} cascade");

    /// <summary>Appends the events with Marten, <paramref name="perSession"/> events a SaveChanges: events/s.</summary>
    public static async Task<double> AppendAsync(string cs, List<(string Stream, object Event)> events, int perSession = 1_000)
    {
        await ResetAsync(cs);
        await using var store = Store(cs);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var watch = Stopwatch.StartNew();
        foreach (var chunk in events.Chunk(perSession))
        {
            await using var session = store.LightweightSession();
            foreach (var (stream, e) in chunk)
            {
                session.Events.Append(stream, e);
            }
            await session.SaveChangesAsync();
        }
        return events.Count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Rebuilds the plain projection over the events appended: events/s.</summary>
    public static async Task<double> DaemonRebuildAsync(string cs, long events)
    {
        await using var store = Store(cs, daemon: true);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        using var daemon = await store.BuildProjectionDaemonAsync();
        var watch = Stopwatch.StartNew();
        await daemon.RebuildProjectionAsync<FactSummaryProjection>(TimeSpan.FromMinutes(30), CancellationToken.None);
        return events / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Puts the pair's fact events (as the ledger holds them) into one stream, for live aggregation.</summary>
    public static async Task<(string Stream, int Events, DateTimeOffset Last)> PairStreamAsync(string cs, string holder, string subject)
    {
        var stream = $"pair:{holder}:{subject}";
        var events = new List<object>();
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                $"select e.type, e.data::text from {ProjectionTables.Name("mt_events")} e where e.stream_id in " +
                $"(select 'fact:' || fact_id from {ProjectionTables.Name("fact_versions")} where holder = $1 and subject = $2 and upper_inf(recorded)) order by e.seq_id", c)
            {
                Parameters = { new() { Value = holder }, new() { Value = subject } },
            };
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                events.Add(System.Text.Json.JsonSerializer.Deserialize(r.GetString(1), EventNames.TypeOf(r.GetString(0))!, LedgerJson.Options)!);
            }
        }
        await using var store = Store(cs);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        foreach (var chunk in events.Chunk(500))
        {
            await using var session = store.LightweightSession();
            session.Events.Append(stream, chunk);
            await session.SaveChangesAsync();
        }
        return (stream, events.Count, DateTimeOffset.UtcNow);
    }

    /// <summary>Live aggregation of a stream as of an instant: per-call times in ms, sorted.</summary>
    public static async Task<double[]> AggregateAsync(string cs, string stream, DateTimeOffset knownAt, int calls)
    {
        await using var store = Store(cs);
        var times = new double[calls];
        for (var i = -Math.Min(20, calls); i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await using var session = store.QuerySession();
            var pair = await session.Events.AggregateStreamAsync<PairFacts>(stream, timestamp: knownAt);
            if (pair is null || pair.Facts.Count == 0)
            {
                throw new InvalidOperationException($"live aggregation of {stream} found nothing");
            }
            if (i >= 0)
            {
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
        Array.Sort(times);
        return times;
    }
}
