using DealLedger.Holdings;
using DealLedger.Time;

namespace DealLedger.Tests;

/// <summary>DESIGN §5 history with supersession chains: which version was replaced, when, by which event, on which source.</summary>
public sealed class HistoryTests
{
    [Fact]
    public async Task a_corrected_stake_shows_the_version_it_superseded_with_the_correcting_event_and_its_source()
    {
        await using var s = await Scenario.StartAsync();
        var seeded = (await Seeds.LoadAsync(s.Ledger)).RecordedAt!.Value;
        var corrected = (await s.Ledger.ImportYamlAsync("""
            corrections:
              - { fact: microsoft-mistral-stake, set: { share: { exact: 0.8 } }, reason: "the filing gives the exact share", sources: [ { source: ai-for-citizens-article-de, claim: stated } ] }
            """)).RecordedAt!.Value;

        var history = await s.Ledger.HistoryAsync("microsoft", "mistral-ai");
        var held = history.Periods.Single(p => p.Finding.Status == HoldingStatus.Held);
        var superseded = held.Supersedes.Single(v => v.Status == HoldingStatus.Held);

        Assert.Equal(0.8m, held.Finding.Share!.Exact);
        Assert.Equal(50m, superseded.Share!.Max);
        Assert.Equal(Instant.Format(seeded), superseded.KnownFrom);
        Assert.Equal(Instant.Format(corrected), superseded.KnownUntil);
        Assert.Equal("fact_corrected", Assert.Single(superseded.ReplacedBy).Type);
        Assert.Equal("ai-for-citizens-article-de", Assert.Single(superseded.Sources).Id);
        Assert.Contains(held.Corrections, c => c.Type == "fact_corrected");

        var before = await s.Ledger.HistoryAsync("microsoft", "mistral-ai", seeded);
        Assert.All(before.Periods, p => Assert.Empty(p.Supersedes));
        var (code, text, _) = await HeadlineTests.RunCliAsync(["history", "microsoft", "mistral-ai", "--connection", s.Database.ConnectionString]);
        Assert.Equal(0, code);
        Assert.True(text.Contains("supersedes: 2024-02-29 to … HELD more than 0 % and less than 50 %"), text);
        Assert.Contains("fact_corrected on ai-for-citizens-article-de", text);
    }
}
