using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DealLedger.Storage;

/// <summary>
/// The ledger's own traces and metrics, under one name ("DealLedger") for an ActivitySource and a Meter, as .NET libraries
/// publish theirs (Npgsql's, Marten's and Wolverine's sit beside them). A host exports them (OpenTelemetry: OTLP, and a
/// Prometheus scrape in the API); with no listener they cost next to nothing.
/// </summary>
public static class LedgerTelemetry
{
    public const string Name = "DealLedger";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Writes = Meter.CreateCounter<long>("dealledger.writes", "{write}", "Writes committed (a write that stored nothing is not one)");

    public static readonly Counter<long> Reads = Meter.CreateCounter<long>("dealledger.reads", "{read}",
        "Reads answered, by the database that answered (dealledger.database: primary or replica); counted only when replicas are set");

    public static readonly Counter<long> EventsAppended = Meter.CreateCounter<long>("dealledger.events.appended", "{event}", "Events appended to the log");

    /// <summary>From the write's start until its decision is made: its reads, the first of which waits for the write lock.</summary>
    public static readonly Histogram<double> Decide = Meter.CreateHistogram<double>("dealledger.write.decide.duration", "ms",
        "A write's reads and decision, with the wait for the write lock its first read takes");

    public static readonly Histogram<double> Fold = Meter.CreateHistogram<double>("dealledger.write.fold.duration", "ms",
        "A write's fold of the projections and the storing of its events and rows");

    public static readonly Histogram<double> Commit = Meter.CreateHistogram<double>("dealledger.write.commit.duration", "ms", "A write's commit");

    public static readonly UpDownCounter<long> FeedFollowers = Meter.CreateUpDownCounter<long>("dealledger.feed.followers", "{follower}",
        "Followers of the change feed's stream connected now");

    public static readonly Histogram<long> FeedFollowerLag = Meter.CreateHistogram<long>("dealledger.feed.follower.lag", "{event}",
        "How far behind the log's high-water mark a stream's follower was when its next page was read");

    private static long sealLag;
    private static long webhookLag;

    static LedgerTelemetry()
    {
        Meter.CreateObservableGauge("dealledger.seal.lag", () => Volatile.Read(ref sealLag), "{event}", "Events recorded and not yet sealed, at the last sealing pass");
        Meter.CreateObservableGauge("dealledger.webhooks.lag", () => Volatile.Read(ref webhookLag), "{event}",
            "How far the subscription furthest behind stands from the log's head, at the last sweep");
    }

    public static void SealLag(long events) => Volatile.Write(ref sealLag, events);

    public static void WebhookLag(long events) => Volatile.Write(ref webhookLag, events);

    /// <summary>Milliseconds since a <see cref="Stopwatch.GetTimestamp"/>.</summary>
    internal static double Since(long start) => Stopwatch.GetElapsedTime(start).TotalMilliseconds;
}

/// <summary>How every host of the ledger exports telemetry: the one place that wires OpenTelemetry (as eShop's ServiceDefaults).</summary>
public static class TelemetryWiring
{
    /// <summary>The activity sources and meters of the ledger and the libraries it builds on (Npgsql's come by its own call).</summary>
    private static readonly string[] Sources = [LedgerTelemetry.Name, "Wolverine", "Marten"];

    /// <summary>Whether OTLP export is asked for (the standard OTEL_EXPORTER_OTLP_ENDPOINT is set).</summary>
    public static bool Exporting => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));

    /// <summary>
    /// Metrics of the ledger itself, of messaging (Wolverine), of Marten and of the runtime; with <paramref name="perRequest"/>
    /// (or when exporting) also those measured at every request and statement (the database's, Npgsql; outgoing HTTP's; a
    /// host's own, through <paramref name="requestMetrics"/>); and, with <paramref name="traces"/> (or when exporting), traces.
    /// Exported over OTLP when <see cref="Exporting"/>. What is measured at every request is asked for, not on by default:
    /// on the 100k ledger it took about 7 % of the API's GET throughput (docs/benchmarks.md), which nobody may be reading.
    /// </summary>
    public static OpenTelemetryBuilder AddLedgerTelemetry(this IServiceCollection services, string serviceName, bool traces, bool perRequest = false,
        Action<TracerProviderBuilder>? tracing = null, Action<MeterProviderBuilder>? metrics = null, Action<MeterProviderBuilder>? requestMetrics = null)
    {
        var builder = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithMetrics(m =>
            {
                m.AddMeter(Sources).AddRuntimeInstrumentation();
                if (perRequest || Exporting)
                {
                    m.AddMeter("Npgsql").AddHttpClientInstrumentation();
                    requestMetrics?.Invoke(m);
                }
                metrics?.Invoke(m);
            });
        if (traces || Exporting)
        {
            builder.WithTracing(t =>
            {
                t.AddSource(Sources).AddNpgsql().AddHttpClientInstrumentation();
                tracing?.Invoke(t);
            });
        }
        if (Exporting)
        {
            builder.UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>
    /// For a process without a host (the CLI): when exporting, the same traces and metrics over OTLP for the process's life,
    /// under one span named <paramref name="operation"/>, so a long verb (an import, a rebuild, a replay) is one trace down to
    /// its SQL. Disposing ends the span and flushes what is left. Null (nothing at all) when not exporting.
    /// </summary>
    public static IDisposable? ExportFor(string serviceName, string operation)
    {
        if (!Exporting)
        {
            return null;
        }
        var resource = ResourceBuilder.CreateDefault().AddService(serviceName);
        var tracer = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource)
            .AddSource(Sources).AddNpgsql().AddHttpClientInstrumentation().AddOtlpExporter().Build();
        var meter = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource)
            .AddMeter([.. Sources, "Npgsql"]).AddRuntimeInstrumentation().AddOtlpExporter().Build();
        return new Exported(LedgerTelemetry.Source.StartActivity(operation), tracer, meter);
    }

    private sealed class Exported(Activity? operation, TracerProvider tracer, MeterProvider meter) : IDisposable
    {
        public void Dispose()
        {
            operation?.Dispose();
            tracer.Dispose();
            meter.Dispose();
        }
    }
}
