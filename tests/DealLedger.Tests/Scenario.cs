using DealLedger.Holdings;

namespace DealLedger.Tests;

/// <summary>A fresh ledger (with the basic organizations and sources, unless asked without), for one test's story; dropped when disposed.</summary>
public sealed class Scenario : IAsyncDisposable
{
    private TestDatabase db = null!;

    public Ledger Ledger { get; private set; } = null!;
    public TestDatabase Database => db;

    /// <param name="basics">Without them: an empty ledger (an import that must bring everything it names).</param>
    public static async Task<Scenario> StartAsync(bool basics = true)
    {
        var s = new Scenario { db = await TestDatabase.CreateAsync() };
        s.Ledger = s.db.Connect();
        if (basics)
        {
            await s.Ledger.ImportYamlAsync(Seeds.Basics);
        }
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
