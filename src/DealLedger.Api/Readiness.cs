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

    /// <summary>
    /// Each standby's role and lag behind the primary. A standby down or behind only sends reads to the primary (they stay
    /// exact), so it makes the node degraded, never unready.
    /// </summary>
    public sealed class OfReplicas(Ledger ledger) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            long sequence;
            DateTimeOffset? recorded;
            try
            {
                await using var c = await ledger.Database.OpenConnectionAsync(cancellationToken);
                await using var cmd = new Npgsql.NpgsqlCommand($"select last_sequence, last_recorded_at from {ProjectionTables.Name("ledger_position")} where id = 1", c);
                await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
                (sequence, recorded) = await r.ReadAsync(cancellationToken) ? (r.GetInt64(0), r.GetFieldValue<DateTimeOffset>(1)) : (0L, (DateTimeOffset?)null);
            }
            catch (Exception e)
            {
                return HealthCheckResult.Degraded($"the primary is not usable, so the replicas' lag is unknown: {e.Message}");
            }
            var states = await ledger.Replicas!.StatesAsync(sequence, recorded, cancellationToken);
            var said = string.Join("; ", states.Select(s => s.Problem is { } problem
                ? $"{s.Host}: {s.Role} ({problem})"
                : $"{s.Host}: {s.Role}, {s.EventsBehind} events behind, last write replayed {s.RecordedBehind!.Value.TotalSeconds:0.###} s before the primary's"));
            return states.Any(s => s.Problem is not null) ? HealthCheckResult.Degraded(said) : HealthCheckResult.Healthy(said);
        }
    }
}
