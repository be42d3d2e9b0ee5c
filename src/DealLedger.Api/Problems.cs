using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace DealLedger.Api;

/// <summary>
/// The one mapping from failures to RFC 9457 problem details: 400 bad input (naming the field),
/// 404 unknown ids, 409 conflicts, 412 stale If-Match, 413 too large, 503 database unreachable.
/// Never a stack trace.
/// </summary>
public sealed class Problems(IProblemDetailsService problems, ILogger<Problems> log) : IExceptionHandler
{
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
            // Only what a retry can cure is 503: the connection, the server going away or short of resources,
            // a serialization failure. Any other PostgreSQL error is the ledger's own fault (500), never "try again".
            PostgresException p when !Retryable(p) => (500, "Internal error", "The ledger failed to answer; the error is logged on the server."),
            NpgsqlException => (503, "Database unavailable", "The ledger's database cannot be reached; try again shortly."),
            OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "Client closed request", "The request was cancelled."),
            _ => (500, "Internal error", "The ledger failed to answer; the error is logged on the server."),
        };
        if (status >= 500)
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

    private static bool Retryable(PostgresException p) =>
        p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("53", StringComparison.Ordinal)
        || p.SqlState.StartsWith("57P", StringComparison.Ordinal) || p.SqlState is "40001" or "40P01";

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

    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        var service = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await service.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail } });
    }
}
