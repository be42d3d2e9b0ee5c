using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using DealLedger.Subscriptions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DealLedger.Tests;

/// <summary>
/// A webhook receiver of the tests' own, on loopback: it records every request it is sent (path, delivery id, timestamp,
/// signature, body), answers 500 to the first <see cref="FailFirst"/> of each path, can be taken down (connections refused)
/// and brought up again, and can take its time answering.
/// </summary>
/// <remarks>
/// Kestrel, not HttpListener: taken down, Kestrel lets the requests it has begun finish (recorded and answered here) and
/// refuses the rest, where HttpListener's Close answers each request still in flight 200 — a delivery taken that no
/// receiver recorded, which once made the webhook test report a write lost that the ledger had delivered as told.
/// </remarks>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public sealed record Received(string Path, Guid Id, string Timestamp, string Signature, byte[] Body, int Answered, DateTime At)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
        public long Sequence => Json.GetProperty("sequence").GetInt64();
    }

    private readonly int port = ChildProcess.FreePort();
    private readonly ConcurrentDictionary<string, int> seen = new();
    private WebApplication? app;

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>How many of each path's first requests are answered 500.</summary>
    public int FailFirst { get; set; }

    /// <summary>Paths answered 500 while this is set.</summary>
    public ConcurrentDictionary<string, bool> Failing { get; } = new();

    public TimeSpan Delay { get; set; }

    public string Url(string path) => $"http://127.0.0.1:{port}/{path}";

    public static async Task<WebhookReceiver> StartAsync()
    {
        var r = new WebhookReceiver();
        await r.UpAsync();
        return r;
    }

    public async Task UpAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var server = builder.Build();
        server.Run(ReceiveAsync);
        await server.StartAsync();
        app = server;
    }

    /// <summary>Down: the requests begun are answered, and the port refuses connections until <see cref="UpAsync"/>.</summary>
    public async Task DownAsync()
    {
        if (app is { } server)
        {
            app = null;
            await server.StopAsync();
            await server.DisposeAsync();
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var path = context.Request.Path.Value!.Trim('/');
        var n = seen.AddOrUpdate(path, 1, (_, x) => x + 1);
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay);
        }
        var status = n <= FailFirst || Failing.ContainsKey(path) ? 500 : 204;
        Requests.Enqueue(new Received(path, Guid.Parse(context.Request.Headers[Webhooks.DeliveryHeader]!), context.Request.Headers[Webhooks.TimestampHeader]!,
            context.Request.Headers[Webhooks.SignatureHeader]!, body.ToArray(), status, DateTime.UtcNow));
        context.Response.StatusCode = status;
    }

    /// <summary>What a receiver does with its secret: the signature header equals HMAC-SHA256 of "timestamp.body", compared in constant time.</summary>
    public static bool Verify(Received r, string secret) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Webhooks.Sign(secret, r.Timestamp, r.Body)), Encoding.ASCII.GetBytes(r.Signature));

    public async ValueTask DisposeAsync() => await DownAsync();
}
