using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Subscriptions;

/// <summary>
/// The ids of the subscriptions in force, as a write reads them to send each a <see cref="WebhookDue"/> through the outbox:
/// read again at most every two seconds (and at once after this process changed them). A subscription made on another
/// node meanwhile misses no change: the sweep finds every subscription behind the log.
/// </summary>
internal sealed class Subscribers
{
    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(2);

    private sealed record Kept(DateTime ReadAt, string[] Ids);

    private volatile Kept? kept;

    public void Forget() => kept = null;

    public async Task<string[]> IdsAsync(NpgsqlConnection c, CancellationToken ct)
    {
        if (kept is { } k && DateTime.UtcNow - k.ReadAt < Fresh)
        {
            return k.Ids;
        }
        var ids = (await Sql.ListAsync(c, $"select id from {ProjectionTables.Of("webhook_subscriptions")} where deleted_at is null order by id", r => r.GetString(0), ct)).ToArray();
        kept = new Kept(DateTime.UtcNow, ids);
        return ids;
    }
}
