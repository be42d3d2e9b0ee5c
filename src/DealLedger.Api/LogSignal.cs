using DealLedger.Access;
using Npgsql;

namespace DealLedger.Api;

/// <summary>
/// The process's one LISTEN connection. It wakes change-feed streams when a write commits (not one
/// connection per follower; a missed notification costs only latency: it also pulses every 5 s), and
/// keeps the key cache honest: a key created or revoked is forgotten, and while the connection is
/// lost the cache keeps nothing.
/// </summary>
public sealed class LogSignal(Ledger ledger, ApiKeyCache keys, ILogger<LogSignal> log) : BackgroundService
{
    private TaskCompletionSource next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A task that completes at the next commit after this call.</summary>
    public Task NextAsync() => Volatile.Read(ref next).Task;

    public Task WaitAsync(Task wake, CancellationToken ct) => wake.WaitAsync(ct);

    private void Pulse() => Interlocked.Exchange(ref next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var c = await ledger.Database.OpenConnectionAsync(stoppingToken);
                c.Notification += (_, e) =>
                {
                    if (e.Channel == ApiKeys.Channel)
                    {
                        keys.Forget(e.Payload);
                    }
                    else
                    {
                        Pulse();
                    }
                };
                await using (var cmd = new NpgsqlCommand($"listen {Ledger.LogChannel}; listen {ApiKeys.Channel}", c))
                {
                    await cmd.ExecuteNonQueryAsync(stoppingToken);
                }
                try
                {
                    keys.Listening();
                    Pulse();
                    while (!stoppingToken.IsCancellationRequested)
                    {
                        await c.WaitAsync(TimeSpan.FromSeconds(5), stoppingToken);
                        Pulse();
                    }
                }
                finally
                {
                    // The pool does not reset a connection it takes back (LedgerStore.DataSource): stop listening before
                    // it goes back, unless it is broken (then the pool drops it).
                    if (c.FullState == System.Data.ConnectionState.Open)
                    {
                        await using var unlisten = new NpgsqlCommand("unlisten *", c);
                        await unlisten.ExecuteNonQueryAsync(CancellationToken.None);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                keys.Deaf();
                return;
            }
            catch (Exception e)
            {
                keys.Deaf();
                log.LogWarning("Listening for commits failed ({Message}); retrying in 2 s", e.Message);
                Pulse();
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }
    }
}
