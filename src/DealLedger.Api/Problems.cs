using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace DealLedger.Api;

/// <summary>
/// The one mapping from failures to RFC 9457 problem details: 400 bad input (naming the field),
/// 404 unknown ids, 409 conflicts, 412 stale If-Match, 413 too large, 503 database unreachable
/// (with Retry-After: the request may simply be sent again). Never a stack trace.
/// </summary>
public sealed class Problems(IProblemDetailsService problems, ILogger<Problems> log) : IExceptionHandler
{
    /// <summary>What a 503 asks the client to wait: a restarting PostgreSQL is usually back within seconds.</summary>
    public const int RetryAfterSeconds = 2;

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            LedgerException { Kind: LedgerErrorKind.InvalidInput } e => (400, "Invalid input", e.Message),
            LedgerException { Kind: LedgerErrorKind.NotFound } e => (404, "Not found", e.Message),
            LedgerException { Kind: LedgerErrorKind.Conflict } e => (409, "Conflict", e.Message),
            LedgerException { Kind: LedgerErrorKind.Stale } e => (412, "Precondition failed", e.Message),
            BodyTooLargeException e => (413, "Request too large", e.Message),
            BadHttpRequestException { StatusCode: 413 } => (413, "Request too large", $"The body is larger than the {ApiHost.MaxRequestBytes / 1024 / 1024} MiB this API accepts."),
            BadHttpRequestException e => (e.StatusCode, "Bad request", e.Message),
            PostgresException { SqlState: "42P01" } => (503, "Ledger not ready", "The ledger's schema is missing: run 'dealledger migrate'."),
            OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "Client closed request", "The request was cancelled."),
            _ when Unavailable(exception) is not null => (503, "Database unavailable", "The ledger's database cannot be reached just now; send the request again shortly (a write sent again is stored once)."),
            _ => (500, "Internal error", "The ledger failed to answer; the error is logged on the server."),
        };
        if (status == 503)
        {
            // Expected while PostgreSQL restarts: one line, not a stack trace per request.
            log.LogWarning("Request {Method} {Path}: {Title} ({Message})", context.Request.Method, context.Request.Path, title, (Unavailable(exception) ?? exception).Message);
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (status >= 500)
        {
            log.LogError(exception, "Request {Method} {Path} failed", context.Request.Method, context.Request.Path);
        }
        context.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (exception is LedgerException { Field: { } field })
        {
            problem.Extensions["field"] = field;
        }
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>
    /// What the framework answers by itself (no such route, a method or a media type the route does
    /// not take) gets a sentence too, so no error is a bare status.
    /// </summary>
    public static void Describe(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Detail is not null)
        {
            return;
        }
        var request = context.HttpContext.Request;
        problem.Detail = problem.Status switch
        {
            404 => $"There is no {request.Method} {request.Path}; the API's routes are listed at /openapi/v1.json.",
            405 => $"{request.Path} does not take {request.Method}; the API's routes are listed at /openapi/v1.json.",
            415 => $"{request.Method} {request.Path} does not take a body of type '{request.ContentType ?? "(none)"}': send application/json"
                + (request.Path.StartsWithSegments("/api/import") ? " or application/yaml." : "."),
            400 => "The request could not be read.",
            _ => null,
        };
    }

    /// <summary>
    /// The database failure, if that is what this is, that a retry may cure: PostgreSQL down, restarting
    /// or out of connections, the connection lost. Marten and Wolverine may wrap it, so inner exceptions
    /// count too. Npgsql decides what is transient; a failing statement (a bug) stays a 500.
    /// </summary>
    public static NpgsqlException? Unavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException { IsTransient: true } transient)
            {
                return transient;
            }
            // The server shutting down or starting (57P01–57P03) or the connection failing (class 08):
            // a retry will find it back, whatever Npgsql's own list says.
            // A standby (25006: read-only) took a write: the primary was demoted meanwhile (a failover).
            if (e is PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "25006" or ['0', '8', ..] } going)
            {
                return going;
            }
            // A multi-host connection string none of whose hosts is the primary just now: the old one is down and the
            // standby is being promoted, or Npgsql has not yet looked again at a host it saw as a standby (Host Recheck
            // Seconds). Npgsql gives it no type or code of its own, only this message.
            if (e is NpgsqlException { InnerException: null } and not PostgresException && e.Message.StartsWith("No suitable host", StringComparison.Ordinal))
            {
                return (NpgsqlException)e;
            }
            if (e is AggregateException { InnerExceptions: var inner })
            {
                return inner.Select(Unavailable).FirstOrDefault(x => x is not null);
            }
        }
        return null;
    }

    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        var service = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await service.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail } });
    }
}
