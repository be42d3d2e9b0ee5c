using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using DealLedger.Storage;
using Npgsql;
using Wolverine;
using Wolverine.RDBMS;
using Wolverine.Runtime;

namespace DealLedger.Feed;

/// <summary>
/// Integration event: a write changed the holding timeline of a pair (the segments it closed and
/// opened, as in the change feed). <paramref name="Id"/> is derived from the write and the pair, so
/// it is the same whenever this change is told: consumers deduplicate by it.
/// </summary>
public sealed record HoldingChanged(Guid Id, string Holder, string Subject, long Sequence, DateTimeOffset RecordedAt,
    IReadOnlyList<long> Closed, IReadOnlyList<SegmentRow> Opened)
{
    public static Guid IdOf(long sequence, string holder, string subject) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes($"holding-changed|{sequence}|{holder}|{subject}"))[..16]);
}

/// <summary>
/// Publishes integration events through Wolverine's durable outbox: the outgoing messages are
/// stored in the write's own transaction (so they commit with the events or not at all) and sent
/// after the commit. If the process dies in between, Wolverine's durability agent sends them later.
/// </summary>
public static class IntegrationEvents
{
    private static readonly ConditionalWeakTable<LedgerCommit, MessageContext> Outboxes = new();

    /// <param name="crashAfterCommit">Fault injection for tests: die between the commit and the send.</param>
    /// <param name="holdAfterCommit">Fault injection for tests: this node never sends them itself; they wait in the outbox, owned by this
    /// node, until it dies and a live node takes them over (the widest window a crash can leave).</param>
    /// <param name="loseCommitReply">Fault injection for tests: every write that commits ends as if the reply to its commit was lost
    /// (the caller is told the database failed; it did commit), so this node never sends its messages itself.</param>
    public static void PublishThroughOutbox(this Ledger ledger, IWolverineRuntime runtime, bool crashAfterCommit = false, bool holdAfterCommit = false, bool loseCommitReply = false)
    {
        ledger.Committing = async (commit, ct) =>
        {
            // The pairs' holding changes, and to each webhook subscription a word that the log moved on (what, if anything,
            // it delivers is found from its own position: Subscriptions.Webhooks).
            var messages = (await HoldingChangesAsync(ledger, commit, ct)).Cast<object>()
                .Concat((await ledger.Subscribers.IdsAsync(commit.Connection, ct)).Select(id => new Subscriptions.WebhookDue(id))).ToList();
            if (messages.Count == 0)
            {
                return;
            }
            var outbox = new MessageContext(runtime);
            await outbox.EnlistInOutboxAsync(new DatabaseEnvelopeTransaction((IMessageDatabase)runtime.Storage, commit.Transaction));
            foreach (var m in messages)
            {
                await outbox.PublishAsync(m);
            }
            Outboxes.Add(commit, outbox);
        };
        ledger.Committed = async (commit, _) =>
        {
            if (!Outboxes.TryGetValue(commit, out var outbox))
            {
                return;
            }
            if (crashAfterCommit)
            {
                Environment.FailFast("DealLedger fault injection: crash after commit, before the outbox was sent");
            }
            if (holdAfterCommit)
            {
                return;
            }
            if (loseCommitReply)
            {
                ledger.CommitUncertain!(commit);
                throw new NpgsqlException("DealLedger fault injection: the reply to the commit was lost", new IOException("connection lost"));
            }
            await outbox.FlushOutgoingMessagesAsync();
        };
        ledger.CommitUncertain = commit =>
        {
            if (Outboxes.TryGetValue(commit, out var outbox))
            {
                _ = ReleaseAsync(ledger, outbox.Outstanding.Select(e => e.Id).ToArray(), runtime.Cancellation);
            }
        };
    }

    /// <summary>
    /// A write whose commit failed midway may have committed all the same: then its messages wait in the
    /// outbox owned by this node, which dropped them with the failed write and, being alive, is never
    /// taken over — they would wait until it stops. Marked unowned once the database answers, Wolverine's
    /// outbox recovery sends them; if the write did not commit, nothing matches.
    /// </summary>
    private static async Task ReleaseAsync(Ledger ledger, Guid[] envelopes, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                try
                {
                    await using var connection = await ledger.Database.OpenConnectionAsync(ct);
                    await Sql.ExecAsync(connection, $"update {LedgerMessaging.Schema}.wolverine_outgoing_envelopes set owner_id = 0 where id = any($1)", ct, (object)envelopes);
                    return;
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    // The database is not back yet.
                }
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
        catch (OperationCanceledException)
        {
            // The node is stopping: once it is gone, Wolverine hands what it owns to a live node.
        }
    }

    private static async Task<List<HoldingChanged>> HoldingChangesAsync(Ledger ledger, LedgerCommit commit, CancellationToken ct)
    {
        var last = commit.Events[^1].Ref;
        // Inside the write's transaction, which may yet roll back: nothing read here is kept.
        var changes = await ChangeFeed.WriteChangesAsync(commit.Connection, ledger.Citations, [last.Sequence], ct, keep: false);
        return changes.GetValueOrDefault(last.Sequence, []).Where(c => c.Projection == "holdings")
            .Select(c => new HoldingChanged(HoldingChanged.IdOf(last.Sequence, c.Holder!, c.Subject!), c.Holder!, c.Subject!, last.Sequence, last.RecordedAt,
                c.Closed!, c.Opened!))
            .ToList();
    }
}
