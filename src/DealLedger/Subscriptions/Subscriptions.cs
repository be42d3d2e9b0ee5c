using System.Security.Cryptography;
using DealLedger.Feed;
using DealLedger.Importing;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Subscriptions;

/// <summary>
/// A webhook subscription (DESIGN §12): where matching changes go, what they must match (the feed's filter) and how far
/// the feed has been delivered to it. Its secret signs every delivery and is never shown.
/// </summary>
public sealed record Subscription(string Id, string Url, string? Org, string? Pair, string? Kind, string CreatedAt, string CreatedBy, long DeliveredUpTo,
    string? NextAttemptAt, string? DeletedAt)
{
    internal FeedFilter Filter => FeedFilter.Parse(Org, Pair, Kind);
}

/// <summary>
/// One write delivered to a subscription: the feed's messages in (<paramref name="After"/>, <paramref name="Sequence"/>];
/// <paramref name="Status"/> delivered, retrying (its next attempt is due) or failed (every attempt failed: replay it).
/// </summary>
public sealed record Delivery(Guid Id, string Subscription, long After, long Sequence, string Status, int Attempts, string FirstAttemptAt, string LastAttemptAt,
    string? DeliveredAt, int? ResponseStatus, string? Error);

/// <summary>Creating, listing and removing webhook subscriptions, and their deliveries (admin).</summary>
public static class Subscriptions
{
    private static readonly string Table = ProjectionTables.Of("webhook_subscriptions");
    private static readonly string Deliveries = ProjectionTables.Of("webhook_deliveries");

    public const int MaxDeliveries = 1_000;

    private const string Columns = "id, url, org, holder, subject, kind, created_at, created_by, delivered_up_to, next_attempt_at, deleted_at";

    /// <summary>A subscription as a request body gives it: { url, secret, org?, pair?, kind? }.</summary>
    public static (string Url, string Secret, FeedFilter Filter) ReadRequest(string file, string text)
    {
        var f = Fields.Of(DocumentNode.Parse(file, text), "url", "secret", "org", "pair", "kind");
        var secret = f.Text("secret");
        if (secret.Length is < 16 or > 200 || secret.Any(char.IsControl))
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, "secret must be 16–200 characters, without control characters (a receiver checks signatures with it)") { Field = "secret" };
        }
        return (f.Text("url"), secret, FeedFilter.Parse(f.OptionalText("org"), f.OptionalText("pair"), f.OptionalText("kind")));
    }

    /// <summary>
    /// Subscribes <paramref name="url"/> to the changes <paramref name="filter"/> names, from now on: it is delivered every
    /// matching write committed after it was created. The URL must be a webhook target (<see cref="WebhookTargets"/>).
    /// </summary>
    public static async Task<Subscription> SubscribeAsync(this Ledger ledger, string url, string secret, FeedFilter filter, string createdBy, WebhookOptions options,
        CancellationToken ct = default)
    {
        var target = await WebhookTargets.CheckAsync(url, options, ct);
        var id = "sub-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        var rows = await Sql.ListAsync(c,
            $"insert into {Table} (id, url, secret, org, holder, subject, kind, created_at, created_by, delivered_up_to) " +
            $"values ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), $8, coalesce((select last_sequence from {ProjectionTables.Of("ledger_position")} where id = 1), 0)) returning {Columns}",
            Read, ct, id, target.AbsoluteUri, secret, filter.Organization, filter.Holder, filter.Subject, filter.Kind is { } k ? LedgerJson.Word(k) : null, createdBy);
        ledger.Subscribers.Forget();
        return rows[0];
    }

    /// <summary>The subscriptions not removed, oldest first.</summary>
    public static async Task<IReadOnlyList<Subscription>> SubscriptionsAsync(this Ledger ledger, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        return await Sql.ListAsync(c, $"select {Columns} from {Table} where deleted_at is null order by created_at, id", Read, ct);
    }

    /// <summary>A subscription, removed or not (a removed one says when: deletedAt).</summary>
    public static async Task<Subscription> SubscriptionAsync(this Ledger ledger, string id, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        return await FindAsync(c, id, ct, removed: true);
    }

    /// <summary>Removes a subscription: nothing more is delivered to it; it and its deliveries stay, for the record.</summary>
    public static async Task<Subscription> UnsubscribeAsync(this Ledger ledger, string id, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await Sql.ExecAsync(c, $"update {Table} set deleted_at = clock_timestamp() where id = $1 and deleted_at is null", ct, CheckId(id));
        ledger.Subscribers.Forget();
        return await FindAsync(c, id, ct, removed: true);
    }

    /// <summary>A subscription's deliveries, latest first; <paramref name="status"/> (delivered, retrying, failed) narrows them.</summary>
    public static async Task<IReadOnlyList<Delivery>> DeliveriesAsync(this Ledger ledger, string id, string? status, int limit, CancellationToken ct = default)
    {
        if (status is not (null or "delivered" or "retrying" or "failed"))
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, $"status '{QueryArguments.Shown(status)}' is not one of delivered, retrying, failed") { Field = "status" };
        }
        QueryArguments.Page(0, limit, MaxDeliveries);
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await FindAsync(c, id, ct, removed: true);
        return await Sql.ListAsync(c, $"select {DeliveryColumns} from {Deliveries} where subscription_id = $1 and ($2::text is null or status = $2) order by sequence desc limit $3",
            ReadDelivery, ct, id, status, limit);
    }

    internal const string DeliveryColumns = "id, subscription_id, after_sequence, sequence, status, attempts, first_attempt_at, last_attempt_at, delivered_at, response_status, error";

    internal static Delivery ReadDelivery(NpgsqlDataReader r) => new(r.GetGuid(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetString(4), r.GetInt32(5),
        Instant.Format(r.GetFieldValue<DateTimeOffset>(6)), Instant.Format(r.GetFieldValue<DateTimeOffset>(7)),
        r.IsDBNull(8) ? null : Instant.Format(r.GetFieldValue<DateTimeOffset>(8)), r.IsDBNull(9) ? null : r.GetInt32(9), r.IsDBNull(10) ? null : r.GetString(10));

    internal static async Task<Subscription> FindAsync(NpgsqlConnection c, string id, CancellationToken ct, bool removed = false, bool locked = false)
    {
        var rows = await Sql.ListAsync(c, $"select {Columns} from {Table} where id = $1 and ($2 or deleted_at is null){(locked ? " for update" : "")}", Read, ct, CheckId(id), removed);
        return rows.Count == 1 ? rows[0] : throw new LedgerException(LedgerErrorKind.NotFound, $"unknown subscription '{id}'") { Field = "subscription" };
    }

    private static string CheckId(string id) => QueryArguments.Id(id, "subscription");

    private static Subscription Read(NpgsqlDataReader r) => new(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2),
        r.IsDBNull(3) ? null : $"{r.GetString(3)}:{r.GetString(4)}", r.IsDBNull(5) ? null : r.GetString(5),
        Instant.Format(r.GetFieldValue<DateTimeOffset>(6)), r.GetString(7), r.GetInt64(8),
        r.IsDBNull(9) ? null : Instant.Format(r.GetFieldValue<DateTimeOffset>(9)), r.IsDBNull(10) ? null : Instant.Format(r.GetFieldValue<DateTimeOffset>(10)));
}
