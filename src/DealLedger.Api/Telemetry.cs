using DealLedger.Access;
using DealLedger.Storage;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace DealLedger.Api;

/// <summary>
/// The API's telemetry: the ledger's (TelemetryWiring) and ASP.NET Core's metrics, and traces with DealLedger:Telemetry:Traces; exported over OTLP when
/// OTEL_EXPORTER_OTLP_ENDPOINT is set, and a Prometheus scrape at /metrics for admin keys. Logs as JSON lines with
/// DealLedger:Logging:Json (keys never reach a log: KeysInLogsTests).
/// </summary>
public static class Telemetry
{
    public static void Add(WebApplicationBuilder builder)
    {
        builder.Services.AddLedgerTelemetry("dealledger-api", builder.Configuration.GetValue<bool>("DealLedger:Telemetry:Traces"),
            builder.Configuration.GetValue<bool>("DealLedger:Telemetry:RequestMetrics"),
            tracing: t => t.AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/metrics")),
            metrics: m => m.AddPrometheusExporter(),
            requestMetrics: m => m.AddAspNetCoreInstrumentation());
        if (builder.Configuration.GetValue<bool>("DealLedger:Logging:Json"))
        {
            builder.Logging.AddJsonConsole();
        }
    }

    public static void Map(WebApplication app) =>
        app.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(nameof(Role.Admin));
}
