using Microsoft.AspNetCore.Routing;
using DealLedger.Auditing;
using DealLedger.Feed;
using DealLedger.Storage;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DealLedger.Api;

/// <summary>
/// /health/live: the process answers. /health/ready: the database answers, the schema is there, and
/// the projections stand at the log's head (they are applied in each write's own transaction, so
/// anything else means events were appended behind the ledger's back); degraded when another version
/// of the fold built them (an upgrade that needs `rebuild`).
/// </summary>
public sealed class Readiness(Ledger ledger) : IHealthCheck
{
    public static void Map(WebApplication app)
    {
        // GET and HEAD only (health checks answer any method otherwise, a browser's preflight included).
        var probe = new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]);
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).WithMetadata(probe);
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResponseWriter = (context, report) => context.Response.WriteAsJsonAsync(new
            {
                status = report.Status.ToString(),
                checks = report.Entries.Select(e => new { name = e.Key, status = e.Value.Status.ToString(), description = e.Value.Description }),
            }),
        }).WithMetadata(probe);
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var c = await ledger.Database.OpenConnectionAsync(cancellationToken);
            var position = await ChangeFeed.HighWaterMarkAsync(c, cancellationToken);
            await using var cmd = new Npgsql.NpgsqlCommand($"select coalesce(max(seq_id), 0) from {ProjectionTables.Name("mt_events")} where type <> 'tombstone'", c);
            var head = (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
            if (head != position)
            {
                return HealthCheckResult.Unhealthy($"projections at sequence {position}, log at {head}");
            }
            // Answers still come, but may differ from a replay's until an operator rebuilds: degraded, not down.
            return await ledger.ProjectionsOutdatedAsync(cancellationToken) is { } outdated
                ? HealthCheckResult.Degraded($"projections at sequence {position}, but {outdated}")
                : HealthCheckResult.Healthy($"projections at sequence {position}");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy($"the ledger's database is not usable: {e.Message}");
        }
    }
}
