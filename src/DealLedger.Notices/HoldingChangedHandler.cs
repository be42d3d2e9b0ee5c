using DealLedger.Feed;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace DealLedger.Notices;

/// <summary>
/// Records each HoldingChanged once. The id is the dedup key: a message told again (a retry, a
/// re-send after a crash) only counts another delivery, in the same transaction as the check.
/// </summary>
public static class HoldingChangedHandler
{
    public static async Task Handle(HoldingChanged message, NpgsqlDataSource database, CancellationToken ct)
    {
        await using var c = await database.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand(
            "insert into notices.holding_changes (message_id, holder, subject, sequence, recorded_at, closed, opened) values ($1, $2, $3, $4, $5, $6, $7) " +
            "on conflict (message_id) do update set deliveries = notices.holding_changes.deliveries + 1", c);
        cmd.Parameters.Add(new() { Value = message.Id });
        cmd.Parameters.Add(new() { Value = message.Holder });
        cmd.Parameters.Add(new() { Value = message.Subject });
        cmd.Parameters.Add(new() { Value = message.Sequence });
        cmd.Parameters.Add(new() { Value = message.RecordedAt });
        cmd.Parameters.Add(new() { Value = message.Closed.Count });
        cmd.Parameters.Add(new() { Value = message.Opened.Count });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

/// <summary>The app's own table (not the ledger's): created at start when missing.</summary>
public sealed class NoticeTable(NpgsqlDataSource database) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var cmd = database.CreateCommand(
            "create schema if not exists notices; " +
            "create table if not exists notices.holding_changes (message_id uuid primary key, holder text not null, subject text not null, " +
            "sequence bigint not null, recorded_at timestamptz not null, closed int not null, opened int not null, deliveries int not null default 1, " +
            "received_at timestamptz not null default clock_timestamp())");
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
