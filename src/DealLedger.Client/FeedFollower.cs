namespace DealLedger.Client;

/// <summary>
/// A view a downstream app keeps of the ledger, with the checkpoint it stands at: the sequence of
/// the last feed message it applied. Exactly-once rests on one rule: <see cref="ApplyAsync"/> stores
/// the message's changes and moves the checkpoint to <see cref="FeedMessage.Sequence"/> in the same
/// transaction, and refuses a message at or below its checkpoint. A crash then leaves the view
/// either before the message (it is applied again on restart) or after it (it is not fetched again).
/// </summary>
public interface IDownstreamView
{
    /// <summary>The sequence of the last message applied (0 for a new view), as durably stored.</summary>
    Task<long> CheckpointAsync(CancellationToken ct);

    /// <summary>Applies one message and stores its sequence as the checkpoint, all or nothing.</summary>
    Task ApplyAsync(FeedMessage message, CancellationToken ct);
}

public sealed record FeedFollowerOptions
{
    /// <summary>Messages asked for per page (1–1000).</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>Only the writes that changed this organization's ties (the filtered feed); null: every write.</summary>
    public string? Organization { get; init; }

    /// <summary>The pause after a page that did not fill up (the follower has caught up).</summary>
    public TimeSpan IdleDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The first pause after a transient failure; it doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Which failures of the view are worth retrying (a dropped database connection); by default
    /// none: the view's failures end the follower. HTTP and network failures are always retried,
    /// except a refusal that will not change by waiting (400, 401, 403, 404).
    /// </summary>
    public Func<Exception, bool> IsTransientViewFailure { get; init; } = _ => false;
}

/// <summary>
/// Follows the change feed into a <see cref="IDownstreamView"/> from the view's own durable
/// checkpoint: reads a page after the checkpoint, applies its messages one by one in sequence
/// order, and goes on until cancelled. It never skips or repeats a sequence: it asks the feed for
/// what follows the last message applied (the feed shows nothing above its high-water mark, so no
/// later commit can slip in below a sequence already shown), checks that every message lies above
/// the one before, and after any failure re-reads the checkpoint from the view rather than trusting
/// its own memory (a commit whose acknowledgement was lost has still moved it).
/// </summary>
public sealed class FeedFollower(LedgerClient client, IDownstreamView view, FeedFollowerOptions? options = null)
{
    private readonly FeedFollowerOptions options = Validate(options ?? new FeedFollowerOptions());

    /// <summary>Called after each page with messages was applied: the page and the checkpoint reached.</summary>
    public Action<FeedPage, long>? PageApplied { get; init; }

    /// <summary>Called before waiting out a transient failure: the failure and the pause.</summary>
    public Action<Exception, TimeSpan>? Retrying { get; init; }

    /// <summary>Follows until <paramref name="ct"/> is cancelled (then returns); a lasting failure is thrown.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var backoff = options.FirstBackoff;
        long? checkpoint = null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                checkpoint ??= await view.CheckpointAsync(ct);
                var page = await client.FeedAsync(checkpoint.Value, options.PageSize, options.Organization, ct);
                checkpoint = await ApplyAsync(page, checkpoint.Value, ct);
                backoff = options.FirstBackoff;
                if (options.Organization is null ? page.Messages.Count < options.PageSize : page.Next >= page.HighWaterMark)
                {
                    await Task.Delay(options.IdleDelay, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (IsTransient(e))
            {
                // Whatever happened, the view's own checkpoint is the truth.
                checkpoint = null;
                Retrying?.Invoke(e, backoff);
                try
                {
                    await Task.Delay(backoff, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));
            }
        }
    }

    /// <summary>Applies one page in order; returns the checkpoint reached.</summary>
    public async Task<long> ApplyAsync(FeedPage page, long checkpoint, CancellationToken ct)
    {
        if (page.After != checkpoint)
        {
            throw new FeedOrderException($"the feed answered for after={page.After}, but the checkpoint is {checkpoint}");
        }
        foreach (var message in page.Messages)
        {
            if (message.Sequence <= checkpoint)
            {
                throw new FeedOrderException($"the feed sent sequence {message.Sequence} after checkpoint {checkpoint}: out of order or repeated");
            }
            if (message.Sequence > page.HighWaterMark)
            {
                throw new FeedOrderException($"the feed sent sequence {message.Sequence} above its high-water mark {page.HighWaterMark}");
            }
            await view.ApplyAsync(message, ct);
            checkpoint = message.Sequence;
        }
        // A whole page ends at its last message; a filtered one may look past it, to the sequence it names as next.
        if (options.Organization is null ? page.Next != checkpoint : page.Next < checkpoint || page.Next > page.HighWaterMark)
        {
            throw new FeedOrderException($"the feed's next checkpoint is {page.Next}, but its last message is {checkpoint}");
        }
        if (page.Messages.Count > 0)
        {
            PageApplied?.Invoke(page, checkpoint);
        }
        return page.Next;
    }

    private bool IsTransient(Exception e) => e switch
    {
        FeedOrderException => false,
        LedgerApiException api => api.IsTransient,
        HttpRequestException or IOException => true,
        // HttpClient's own timeout (not our cancellation: that is handled before).
        TaskCanceledException { InnerException: TimeoutException } => true,
        _ => options.IsTransientViewFailure(e),
    };

    private static FeedFollowerOptions Validate(FeedFollowerOptions o) =>
        o.PageSize is < 1 or > 1000 ? throw new ArgumentOutOfRangeException(nameof(o), $"PageSize must be 1–1000, got {o.PageSize}")
        : o.FirstBackoff <= TimeSpan.Zero || o.MaxBackoff < o.FirstBackoff ? throw new ArgumentOutOfRangeException(nameof(o), "backoff must be positive and MaxBackoff ≥ FirstBackoff")
        : o;
}

/// <summary>The feed broke its promise of order (a repeated, out-of-order or unannounced sequence): following stops.</summary>
public sealed class FeedOrderException(string message) : Exception(message);
