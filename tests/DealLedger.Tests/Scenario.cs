using DealLedger.Holdings;

namespace DealLedger.Tests;

/// <summary>A fresh ledger with the basic organizations and sources, for one test's story.</summary>
public sealed class Scenario : IAsyncDisposable
{
    private TestDatabase db = null!;

    public Ledger Ledger { get; private set; } = null!;
    public TestDatabase Database => db;

    public static async Task<Scenario> StartAsync()
    {
        var s = new Scenario { db = await TestDatabase.CreateAsync() };
        s.Ledger = s.db.Connect();
        await s.Ledger.ImportYamlAsync(Seeds.Basics);
        return s;
    }

    public async Task<WriteResult> ImportAsync(string yaml)
    {
        var report = await Ledger.ImportYamlAsync(yaml);
        return new WriteResult(report.EventsAppended, report.LastSequence, report.RecordedAt);
    }

    public Task<HoldingAnswer> AtAsync(string day, DateTimeOffset? knownAt = null) =>
        Ledger.HoldingAsync("acme", "globex", DateOnly.Parse(day), knownAt);

    public async ValueTask DisposeAsync()
    {
        await Ledger.DisposeAsync();
        await ((IAsyncDisposable)db).DisposeAsync();
    }
}
