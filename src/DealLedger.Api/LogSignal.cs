using Npgsql;

namespace DealLedger.Api;

/// <summary>
/// Wakes change-feed streams when a write commits: one LISTEN connection per process, not one per
/// follower. A missed notification (connection lost) costs only latency: it also pulses every 5 s.
/// </summary>
public sealed class LogSignal(Ledger ledger, ILogger<LogSignal> log) : BackgroundService
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
                c.Notification += (_, _) => Pulse();
                await using (var cmd = new NpgsqlCommand($"listen {Ledger.LogChannel}", c))
                {
                    await cmd.ExecuteNonQueryAsync(stoppingToken);
                }
                Pulse();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await c.WaitAsync(TimeSpan.FromSeconds(5), stoppingToken);
                    Pulse();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.LogWarning("Listening for commits failed ({Message}); retrying in 2 s", e.Message);
                Pulse();
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }
    }
}
