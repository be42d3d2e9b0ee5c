using System.Diagnostics;

namespace DealLedger.Tests;

/// <summary>
/// Counts the round trips to one database: Npgsql traces each command or batch it sends (one round trip
/// each), naming the database. Counts from its creation or the last <see cref="Reset"/>; a round trip counts when it
/// starts, so one whose answer is already in hand has been counted.
/// </summary>
internal sealed class RoundTrips : IDisposable
{
    private readonly ActivityListener listener;
    private readonly string database;
    private readonly System.Collections.Concurrent.ConcurrentQueue<Activity> started = new();

    public RoundTrips(string database)
    {
        this.database = database;
        listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            // Its tags are set after it starts: it is told by its database when counted.
            ActivityStarted = started.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
    }

    public int Count => started.Count(a => a.GetTagItem("db.namespace") as string == database);

    public void Reset() => started.Clear();

    public void Dispose() => listener.Dispose();
}
