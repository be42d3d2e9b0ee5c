using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using DealLedger.Subscriptions;

namespace DealLedger.Tests;

/// <summary>
/// A webhook receiver of the tests' own, on loopback: it records every request it is sent (path, delivery id, timestamp,
/// signature, body), answers 500 to the first <see cref="FailFirst"/> of each path, can be taken down (connections refused)
/// and brought up again, and can take its time answering.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public sealed record Received(string Path, Guid Id, string Timestamp, string Signature, byte[] Body, int Answered, DateTime At)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
        public long Sequence => Json.GetProperty("sequence").GetInt64();
    }

    private readonly int port = ChildProcess.FreePort();
    private readonly ConcurrentDictionary<string, int> seen = new();
    private HttpListener? listener;
    private Task? serving;

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>How many of each path's first requests are answered 500.</summary>
    public int FailFirst { get; set; }

    /// <summary>Paths answered 500 while this is set.</summary>
    public ConcurrentDictionary<string, bool> Failing { get; } = new();

    public TimeSpan Delay { get; set; }

    public string Url(string path) => $"http://127.0.0.1:{port}/{path}";

    public static WebhookReceiver Start()
    {
        var r = new WebhookReceiver();
        r.Up();
        return r;
    }

    public void Up()
    {
        listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var l = listener;
        serving = Task.Run(() => ServeAsync(l));
    }

    /// <summary>Down: the port refuses connections until <see cref="Up"/>.</summary>
    public async Task DownAsync()
    {
        listener?.Stop();
        listener?.Close();
        if (serving is not null)
        {
            await serving;
        }
        listener = null;
    }

    private async Task ServeAsync(HttpListener l)
    {
        while (l.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await l.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                var path = context.Request.Url!.AbsolutePath.Trim('/');
                var n = seen.AddOrUpdate(path, 1, (_, x) => x + 1);
                if (Delay > TimeSpan.Zero)
                {
                    await Task.Delay(Delay);
                }
                var status = n <= FailFirst || Failing.ContainsKey(path) ? 500 : 204;
                Requests.Enqueue(new Received(path, Guid.Parse(context.Request.Headers[Webhooks.DeliveryHeader]!), context.Request.Headers[Webhooks.TimestampHeader]!,
                    context.Request.Headers[Webhooks.SignatureHeader]!, body.ToArray(), status, DateTime.UtcNow));
                context.Response.StatusCode = status;
                context.Response.Close();
            });
        }
    }

    /// <summary>What a receiver does with its secret: the signature header equals HMAC-SHA256 of "timestamp.body", compared in constant time.</summary>
    public static bool Verify(Received r, string secret) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Webhooks.Sign(secret, r.Timestamp, r.Body)), Encoding.ASCII.GetBytes(r.Signature));

    public async ValueTask DisposeAsync() => await DownAsync();
}
