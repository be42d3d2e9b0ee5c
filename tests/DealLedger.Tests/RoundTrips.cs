using System.Diagnostics;

namespace DealLedger.Tests;

/// <summary>
/// Counts the round trips to one database: Npgsql traces each command or batch it sends (one round trip
/// each), naming the database. Counts from its creation or the last <see cref="Reset"/>.
/// </summary>
internal sealed class RoundTrips : IDisposable
{
    private readonly ActivityListener listener;
    private int sent;

    public RoundTrips(string database)
    {
        listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a =>
            {
                if (a.GetTagItem("db.namespace") as string == database)
                {
                    Interlocked.Increment(ref sent);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    public int Count => Volatile.Read(ref sent);

    public void Reset() => Interlocked.Exchange(ref sent, 0);

    public void Dispose() => listener.Dispose();
}
