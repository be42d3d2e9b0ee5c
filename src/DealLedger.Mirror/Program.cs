using System.Runtime.InteropServices;
using DealLedger.Client;
using DealLedger.Mirror;
using Npgsql;

// dealledger-mirror: follows the ledger's change feed into a table of current holdings in a
// database of its own, exactly once, resuming from its checkpoint after any crash.

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(MirrorArguments.Usage);
    return 0;
}
MirrorArguments settings;
try
{
    settings = MirrorArguments.Parse(args, Environment.GetEnvironmentVariable);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"mirror: {e.Message}");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

try
{
    await using var database = HoldingsMirror.Connect(settings.Database);
    var mirror = new HoldingsMirror(database);
    await mirror.CreateSchemaAsync(stop.Token, settings.Organization);
    using var client = new LedgerClient(settings.Api, settings.Key);
    var follower = new FeedFollower(client, mirror, new FeedFollowerOptions { PageSize = settings.PageSize, Organization = settings.Organization, IsTransientViewFailure = e => e is NpgsqlException { IsTransient: true } })
    {
        PageApplied = (page, checkpoint) => Console.WriteLine(
            $"mirror: applied {page.Messages.Count} message(s) {page.Messages[0].Sequence}–{checkpoint} " +
            $"(+{Count(page, c => c.Opened)} −{Count(page, c => c.Closed)} segments); high-water mark {page.HighWaterMark}"),
        Retrying = (e, pause) => Console.WriteLine($"mirror: {e.GetType().Name}: {e.Message}; retrying in {pause.TotalSeconds:0.#} s"),
    };
    Console.WriteLine($"mirror: following {settings.Api}{(settings.Organization is { } org ? $" (only {org})" : "")} from checkpoint {await mirror.CheckpointAsync(stop.Token)}");
    await follower.RunAsync(stop.Token);
    return 0;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 0;
}
catch (Exception e) when (e is MirrorIntegrityException or FeedOrderException or LedgerApiException or NpgsqlException)
{
    Console.Error.WriteLine($"mirror: {e.Message}");
    return 1;
}

static int Count<T>(FeedPage page, Func<ProjectionChange, IReadOnlyList<T>?> of) =>
    page.Messages.SelectMany(m => m.Changes).Where(c => c.Projection == ProjectionChange.Holdings).Sum(c => of(c)?.Count ?? 0);
