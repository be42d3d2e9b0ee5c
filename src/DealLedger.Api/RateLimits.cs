using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace DealLedger.Api;

/// <summary>
/// Configuration (section DealLedger:RateLimit): a token bucket per API key — and per remote
/// address for requests without a (valid) key — holding <see cref="Burst"/> requests and refilled
/// at <see cref="PermitsPerSecond"/>. 0 permits turns the limit off (benchmarks only).
/// </summary>
public sealed class RateLimitOptions
{
    public int PermitsPerSecond { get; set; } = 100;
    public int Burst { get; set; } = 200;
}

/// <summary>
/// Per-key rate limiting with ASP.NET Core's limiter. It runs after authentication, so a key's
/// requests share the key's bucket whatever address they come from, and requests with no key or a
/// refused one (guessing keys) share their address's bucket. A refusal is 429 problem details with
/// Retry-After.
/// </summary>
public static class RateLimits
{
    public static void Add(IServiceCollection services, RateLimitOptions limit)
    {
        if (limit.PermitsPerSecond < 0 || limit.Burst < 1)
        {
            throw new InvalidOperationException(
                $"DealLedger:RateLimit needs PermitsPerSecond ≥ 0 (0: no limit) and Burst ≥ 1; got {limit.PermitsPerSecond} and {limit.Burst}");
        }
        services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(h =>
                limit.PermitsPerSecond == 0
                    ? RateLimitPartition.GetNoLimiter(Partition(h))
                    : RateLimitPartition.GetTokenBucketLimiter(Partition(h), _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = limit.Burst,
                        TokensPerPeriod = limit.PermitsPerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    }));
            o.OnRejected = (context, _) => RejectAsync(context);
        });
    }

    /// <summary>The key's name (never its secret), else the remote address.</summary>
    private static string Partition(HttpContext h) =>
        h.User.Identity is { IsAuthenticated: true, Name: { } key } ? "key:" + key : "address:" + (h.Connection.RemoteIpAddress ?? IPAddress.None);

    private static async ValueTask RejectAsync(OnRejectedContext context)
    {
        var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var who = context.HttpContext.User.Identity is { IsAuthenticated: true, Name: { } key } ? $"the key '{key}'" : "this address";
        await Problems.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, "Too many requests",
            $"Too many requests from {who}; try again in {seconds} s.");
    }
}
