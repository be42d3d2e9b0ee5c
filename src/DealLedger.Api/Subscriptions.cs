using DealLedger.Access;
using DealLedger.Subscriptions;
using DealLedger.Time;
using Wolverine;
using Wolverine.Runtime;
using Core = DealLedger.Subscriptions.Subscriptions;

namespace DealLedger.Api;

/// <summary>Webhook subscriptions (admin): parse, call the core, return its answer. Delivery runs beside (<see cref="WebhookSweep"/>, Wolverine's handler).</summary>
public static class Subscriptions
{
    public sealed record NewSubscription(string Url, string Secret, string? Org, string? Pair, string? Kind);

    public static void Map(RouteGroupBuilder api)
    {
        var admin = api.MapGroup("/subscriptions").RequireAuthorization(nameof(Role.Admin)).WithTags("Subscriptions");
        admin.MapPost("", async (Ledger ledger, WebhookOptions options, HttpContext h, CancellationToken ct) =>
            {
                var (url, secret, filter) = Core.ReadRequest("body.json", await Writing.BodyAsync(h, Writing.MaxEntryBytes, ct));
                var subscription = await ledger.SubscribeAsync(url, secret, filter, ApiKeyAuthentication.WriterOf(h), options, ct);
                return TypedResults.Created($"/api/subscriptions/{subscription.Id}", subscription);
            })
            .Accepts<NewSubscription>("application/json")
            .WithSummary("Subscribe a URL to the changes a filter names (org, pair HOLDER:SUBJECT, kind; none: every write), from now on: each matching write is POSTed to it, " +
                "signed with the secret (see the README), retried with backoff, in order");
        admin.MapGet("", (Ledger ledger, CancellationToken ct) => ledger.SubscriptionsAsync(ct)).WithSummary("The subscriptions (never their secrets)");
        admin.MapGet("/{subscription}", (Ledger ledger, string subscription, CancellationToken ct) => ledger.SubscriptionAsync(subscription, ct))
            .WithSummary("A subscription: its filter and how far the feed has been delivered to it");
        admin.MapDelete("/{subscription}", (Ledger ledger, string subscription, CancellationToken ct) => ledger.UnsubscribeAsync(subscription, ct))
            .WithSummary("Remove a subscription: nothing more is delivered to it");
        admin.MapGet("/{subscription}/deliveries", (Ledger ledger, string subscription, string? status, string? limit, CancellationToken ct) =>
                ledger.DeliveriesAsync(subscription, status, (int)Math.Min(int.MaxValue, QueryArguments.Count(limit, "limit", 100)), ct))
            .WithSummary($"A subscription's deliveries, latest first (at most {Core.MaxDeliveries}); status=delivered|retrying|failed narrows them");
        admin.MapPost("/{subscription}/deliveries/{delivery}/replay", (Webhooks webhooks, string subscription, string delivery, CancellationToken ct) =>
                webhooks.ReplayAsync(subscription, Guid.TryParse(delivery, out var id) ? id
                    : throw new LedgerException(LedgerErrorKind.InvalidInput, $"delivery '{QueryArguments.Shown(delivery)}' is not a delivery id") { Field = "delivery" }, ct))
            .WithSummary("Send a delivery again now (a failed one, after its receiver is fixed), with the same id and messages");
    }
}

/// <summary>
/// Every few seconds, a <see cref="WebhookDue"/> for each subscription behind the log whose next attempt is due: writes made
/// through another node or the CLI, and a retry a crash left unscheduled, are delivered all the same.
/// </summary>
public sealed class WebhookSweep(Webhooks webhooks, IWolverineRuntime runtime, ILogger<WebhookSweep> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var bus = new MessageBus(runtime);
        using var timer = new PeriodicTimer(webhooks.Options.SweepInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                foreach (var id in await webhooks.BehindAsync(stoppingToken))
                {
                    await bus.PublishAsync(new WebhookDue(id));
                }
                Storage.LedgerTelemetry.WebhookLag(await webhooks.LagAsync(stoppingToken));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The database may be away for a while; the next sweep tries again.
                log.LogWarning("webhook sweep: {Message}", e.Message);
            }
        }
    }
}
