namespace DealLedger.Time;

/// <summary>
/// The clock Marten stamps events with. A write sets the instant it read from the database server
/// while holding the ledger's write lock, so recorded times follow commit order and never come
/// from a client or an application server's own clock.
/// </summary>
public sealed class RecordingClock : TimeProvider
{
    private static readonly AsyncLocal<DateTimeOffset?> Current = new();

    public override DateTimeOffset GetUtcNow() => Current.Value ?? base.GetUtcNow();

    internal static IDisposable Use(DateTimeOffset instant)
    {
        Current.Value = instant;
        return new Reset();
    }

    private sealed class Reset : IDisposable
    {
        public void Dispose() => Current.Value = null;
    }
}
