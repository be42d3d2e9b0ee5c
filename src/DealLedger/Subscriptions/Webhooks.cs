using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using DealLedger.Feed;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;
using Wolverine;

namespace DealLedger.Subscriptions;

/// <summary>
/// "Deliver what subscription <paramref name="Subscription"/> has not had yet": sent through Wolverine's durable outbox with
/// each write (and by the sweep), and scheduled again, durably, for a retry. It names no write: the subscription's own
/// position says where delivery stands, so a message handled twice, late or out of turn delivers nothing twice or out of order.
/// </summary>
public sealed record WebhookDue(string Subscription);

/// <summary>Wolverine's handler of <see cref="WebhookDue"/>: delivers, and schedules the retry the delivery asks for.</summary>
public static class WebhookDueHandler
{
    public static async Task Handle(WebhookDue message, Webhooks webhooks, IMessageContext context, CancellationToken ct)
    {
        if (await webhooks.DeliverAsync(message.Subscription, ct) is { } retry)
        {
            await context.ScheduleAsync(message, retry);
        }
    }
}

/// <summary>What a receiver gets: one write's messages of the change feed, as the filtered feed gives them.</summary>
public sealed record WebhookBody(Guid Id, string Subscription, long After, long Sequence, IReadOnlyList<FeedMessage> Messages);

/// <summary>
/// Delivers the change feed to webhook subscriptions, one write at a time, in the feed's order, at least once. Each write
/// is delivered in a transaction of its own holding the subscription's row (so two nodes never deliver to one subscription
/// at once, and its position moves only past what its receiver took): the filtered feed after the subscription's position
/// gives the next write that names what it asks for; a receiver's 2xx moves the position past it. A failure records the
/// attempt and sets when the next is due, doubling the pause each time; after the last attempt the write is kept as a
/// failed delivery (an admin can replay it) and delivery goes on with the next. A crash between the receiver's answer
/// and the commit delivers that write again: receivers deduplicate by its id.
/// </summary>
public sealed class Webhooks : IDisposable
{
    public const string SignatureHeader = "DealLedger-Signature";
    public const string TimestampHeader = "DealLedger-Timestamp";
    public const string DeliveryHeader = "DealLedger-Delivery";

    private static readonly string Table = ProjectionTables.Of("webhook_subscriptions");
    private static readonly string Deliveries = ProjectionTables.Of("webhook_deliveries");

    private readonly Ledger ledger;
    private readonly HttpClient http;

    public Webhooks(Ledger ledger, WebhookOptions options)
    {
        this.ledger = ledger;
        Options = options;
        http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            // A proxy would connect to the target itself, past the check of its addresses.
            UseProxy = false,
            ConnectCallback = (context, ct) => WebhookTargets.ConnectAsync(context, options, ct),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        })
        { Timeout = options.Timeout };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("DealLedger-Webhooks", "1"));
    }

    public WebhookOptions Options { get; }

    /// <summary>The id of a write's delivery to a subscription: the same however often it is sent.</summary>
    public static Guid IdOf(string subscription, long sequence) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes($"webhook|{subscription}|{sequence}"))[..16]);

    /// <summary>
    /// The signature a receiver checks: HMAC-SHA256, keyed by the subscription's secret, of the timestamp header, a dot and
    /// the body's bytes, as lowercase hex after "sha256=".
    /// </summary>
    public static string Sign(string secret, string timestamp, byte[] body)
    {
        var signed = Encoding.UTF8.GetBytes(timestamp + ".").Concat(body).ToArray();
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    /// <summary>Writes delivered in one turn; then the turn ends and is queued again, so one backlog never holds a worker long.</summary>
    private const int WritesPerTurn = 50;

    /// <summary>
    /// Delivers the subscription's pending writes in order until it has had all of them (null), or until one fails: then the
    /// instant its next attempt is due (the caller schedules it). Nothing is done while another node holds the subscription
    /// (it delivers, and looks again for writes committed meanwhile before it stops), or before a retry is due (its retry is
    /// scheduled). After <see cref="WritesPerTurn"/> writes, now: the caller queues the rest as a turn of its own.
    /// </summary>
    public async Task<DateTimeOffset?> DeliverAsync(string subscription, CancellationToken ct)
    {
        for (var turn = 0; ; turn++)
        {
            if (turn == WritesPerTurn)
            {
                return DateTimeOffset.UtcNow;
            }
            await using var c = await ledger.Database.OpenConnectionAsync(ct);
            await using var tx = await c.BeginTransactionAsync(ct);
            var rows = await Sql.ListAsync(c,
                $"select url, secret, org, holder, subject, kind, delivered_up_to, next_attempt_at, clock_timestamp() from {Table} " +
                "where id = $1 and deleted_at is null for update skip locked",
                r => (Url: r.GetString(0), Secret: r.GetString(1), Filter: FeedFilter.Parse(r.IsDBNull(2) ? null : r.GetString(2),
                        r.IsDBNull(3) ? null : $"{r.GetString(3)}:{r.GetString(4)}", r.IsDBNull(5) ? null : r.GetString(5)),
                    Position: r.GetInt64(6), Due: r.IsDBNull(7) ? (DateTimeOffset?)null : r.GetFieldValue<DateTimeOffset>(7), Now: r.GetFieldValue<DateTimeOffset>(8)),
                ct, subscription);
            if (rows is not [var s] || s.Due > s.Now)
            {
                return null;
            }
            // The next write that names what the subscription asks for (one write a page), or how far the log holds none.
            var page = await ledger.NextWriteAsync(s.Position, s.Filter, ct);
            if (page.Messages.Count == 0)
            {
                if (page.Next > s.Position)
                {
                    await Sql.ExecAsync(c, $"update {Table} set delivered_up_to = $2 where id = $1", ct, subscription, page.Next);
                }
                await tx.CommitAsync(ct);
                // A write committed meanwhile sent its word while this held the subscription, and that word was passed over:
                // look again before stopping.
                if (await Sql.ScalarAsync<long>(c, $"select last_sequence from {ProjectionTables.Of("ledger_position")} where id = 1", ct) > Math.Max(page.Next, s.Position))
                {
                    continue;
                }
                return null;
            }
            var id = IdOf(subscription, page.Next);
            var (status, error) = await PostAsync(s.Url, s.Secret, new WebhookBody(id, subscription, s.Position, page.Next, page.Messages), ct);
            var attempts = await Sql.ListAsync(c,
                $"insert into {Deliveries} (id, subscription_id, after_sequence, sequence, status, attempts, first_attempt_at, last_attempt_at, delivered_at, response_status, error) " +
                "values ($1, $2, $3, $4, $5, 1, clock_timestamp(), clock_timestamp(), case when $5 = 'delivered' then clock_timestamp() end, $6, $7) " +
                $"on conflict (id) do update set attempts = {Deliveries}.attempts + 1, status = excluded.status, last_attempt_at = excluded.last_attempt_at, " +
                "delivered_at = excluded.delivered_at, response_status = excluded.response_status, error = excluded.error returning attempts",
                r => r.GetInt32(0), ct, id, subscription, s.Position, page.Next, error is null ? "delivered" : "retrying", status, error);
            var failedFinally = error is not null && attempts[0] >= Options.MaxAttempts;
            if (error is null || failedFinally)
            {
                if (failedFinally)
                {
                    await Sql.ExecAsync(c, $"update {Deliveries} set status = 'failed' where id = $1", ct, id);
                }
                await Sql.ExecAsync(c, $"update {Table} set delivered_up_to = $2, next_attempt_at = null where id = $1", ct, subscription, page.Next);
                await tx.CommitAsync(ct);
                continue;
            }
            // Doubling, up to the longest pause (2^20 times the first is past any setting's cap, and never overflows).
            var pause = Options.FirstRetry * Math.Pow(2, Math.Min(attempts[0] - 1, 20));
            var due = s.Now + (pause < Options.MaxBackoff ? pause : Options.MaxBackoff);
            await Sql.ExecAsync(c, $"update {Table} set next_attempt_at = $2 where id = $1", ct, subscription, due);
            await tx.CommitAsync(ct);
            return due;
        }
    }

    /// <summary>
    /// Sends a failed delivery again, now, with the same id and messages; records how it went. Under the subscription's row,
    /// so it never crosses its delivery; not for a removed subscription, nor for a delivery still being retried (its own
    /// retry is due) or delivered.
    /// </summary>
    public async Task<Delivery> ReplayAsync(string subscription, Guid delivery, CancellationToken ct)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var s = await Subscriptions.FindAsync(c, subscription, ct, removed: true, locked: true);
        if (s.DeletedAt is not null)
        {
            throw new LedgerException(LedgerErrorKind.Conflict, $"subscription '{subscription}' was removed at {s.DeletedAt}: nothing is sent to it") { Field = "subscription" };
        }
        var found = await Sql.ListAsync(c, $"select {Subscriptions.DeliveryColumns} from {Deliveries} where id = $1 and subscription_id = $2", Subscriptions.ReadDelivery, ct, delivery, subscription);
        if (found is not [var d])
        {
            throw new LedgerException(LedgerErrorKind.NotFound, $"subscription '{subscription}' has no delivery '{delivery}'") { Field = "delivery" };
        }
        if (d.Status != "failed")
        {
            throw new LedgerException(LedgerErrorKind.Conflict, $"delivery '{delivery}' is {d.Status}: only a failed delivery is replayed") { Field = "delivery" };
        }
        var secret = (await Sql.ScalarAsync<string>(c, $"select secret from {Table} where id = $1", ct, subscription))!;
        // The write's messages again: the log never changes, so the page is the one first sent.
        var page = await ledger.NextWriteAsync(d.After, s.Filter, ct);
        var (status, error) = await PostAsync(s.Url, secret, new WebhookBody(delivery, subscription, d.After, d.Sequence, page.Messages), ct);
        var rows = await Sql.ListAsync(c,
            $"update {Deliveries} set attempts = attempts + 1, last_attempt_at = clock_timestamp(), response_status = $2, error = $3::text, " +
            $"status = case when $3::text is null then 'delivered' else status end, delivered_at = case when $3::text is null then clock_timestamp() else delivered_at end " +
            $"where id = $1 returning {Subscriptions.DeliveryColumns}",
            Subscriptions.ReadDelivery, ct, delivery, status, error);
        await tx.CommitAsync(ct);
        return rows[0];
    }

    /// <summary>One attempt: the receiver's status, and why it failed (null: a 2xx).</summary>
    private async Task<(int? Status, string? Error)> PostAsync(string url, string secret, WebhookBody body, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(LedgerJson.Serialize(body));
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(DeliveryHeader, body.Id.ToString());
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, Sign(secret, timestamp, bytes));
        try
        {
            // The status is the answer: the receiver's body is not read.
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var code = (int)response.StatusCode;
            return response.IsSuccessStatusCode ? (code, null) : (code, $"the receiver answered {code}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException { InnerException: TimeoutException } or IOException)
        {
            return (null, Importing.Fields.Clip(e.Message));
        }
    }

    /// <summary>Subscriptions behind the log whose next attempt (if any) is due: those a sweep sends a <see cref="WebhookDue"/> for.</summary>
    public async Task<IReadOnlyList<string>> BehindAsync(CancellationToken ct)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        return await Sql.ListAsync(c,
            $"select id from {Table} where deleted_at is null and delivered_up_to < coalesce((select last_sequence from {ProjectionTables.Of("ledger_position")} where id = 1), 0) " +
            "and (next_attempt_at is null or next_attempt_at <= clock_timestamp()) order by id", r => r.GetString(0), ct);
    }

    /// <summary>How far the subscription furthest behind stands from the log's head, in events (0 with none).</summary>
    public async Task<long> LagAsync(CancellationToken ct)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        return await Sql.ScalarAsync<long>(c,
            $"select coalesce(max((select last_sequence from {ProjectionTables.Of("ledger_position")} where id = 1) - delivered_up_to), 0)::bigint from {Table} where deleted_at is null", ct);
    }

    public void Dispose() => http.Dispose();
}
