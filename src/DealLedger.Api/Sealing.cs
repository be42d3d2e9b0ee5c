using DealLedger.Auditing;
using DealLedger.Storage;

namespace DealLedger.Api;

/// <summary>
/// Seals the log continuously (DESIGN §8): shortly after each commit (woken by <see cref="LogSignal"/>)
/// and at least every few seconds, so the unsealed tail — the part tampering could still slip into
/// unseen — stays short. Sealing takes its own lock, never the write lock.
/// </summary>
public sealed class Sealing(Ledger ledger, LogSignal signal, ILogger<Sealing> log) : BackgroundService
{
    /// <summary>How long to let commits gather after a wake-up, so a burst of writes is sealed in one pass.</summary>
    private static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var result = await ledger.SealAsync(stoppingToken);
                // What this pass sealed was, until then, the unsealed tail.
                LedgerTelemetry.SealLag(result.Sealed);
                if (result.Sealed > 0)
                {
                    log.LogDebug("Sealed sequences {First}–{Last}; head {Head}", result.FirstSequence, result.LastSequence, result.HeadLink);
                }
                await Task.WhenAny(signal.NextAsync(), Task.Delay(Every, stoppingToken));
                await Task.Delay(Gather, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.LogWarning("Sealing failed ({Message}); retrying in 5 s", e.Message);
                try
                {
                    await Task.Delay(Every, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
