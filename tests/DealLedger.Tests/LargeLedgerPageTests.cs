using System.Globalization;
using System.Text.Json;
using DealLedger.Benchmarks;
using DealLedger.Importing;
using DealLedger.Storage;
using Microsoft.Playwright;
using Npgsql;
using static Microsoft.Playwright.Assertions;

namespace DealLedger.Tests;

/// <summary>
/// A generated ledger (the benchmarks' history) served by the API as eng/run serves it, and Debian's
/// headless Chromium. Its size comes from DEALLEDGER_PAGE_EVENTS: 10,000 events by default, so the
/// suite stays quick; .ci/run asks for 100,000 (the import then takes about a minute on two cores).
/// </summary>
public sealed class LargeLedgerHost : IAsyncLifetime
{
    public const string SizeVariable = "DEALLEDGER_PAGE_EVENTS";

    private readonly TestDatabase db = new();
    private ChildProcess? api;
    private HeadlessChromium? chromium;

    public static int Events => int.TryParse(Environment.GetEnvironmentVariable(SizeVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 10_000;

    public Uri Root { get; private set; } = null!;
    public IBrowser Browser => chromium!.Browser;

    /// <summary>The organization with the most ties (as the benchmark's neighbourhood figure takes it), and the instant the history was recorded by.</summary>
    public string Hub { get; private set; } = "";
    public string KnownAt { get; private set; } = "";
    public long Stored { get; private set; }

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(60_000);
        chromium = await HeadlessChromium.LaunchAsync();
        await db.InitializeAsync();
        await using (var ledger = db.Connect())
        {
            var generator = new HistoryGenerator(Events, batches: Math.Max(2, Events / 10_000));
            foreach (var batch in generator.Generate())
            {
                var written = await ledger.ImportAsync(batch.Documents);
                Stored += written.EventsAppended;
                KnownAt = Time.Instant.Format(written.RecordedAt!.Value);
            }
        }
        await using (var c = new NpgsqlConnection(db.ConnectionString))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                $"select o from {ProjectionTables.Name("fact_versions")}, unnest(orgs) o, unnest(orgs) p where upper_inf(recorded) and p <> o " +
                "group by o order by count(distinct p) desc, o limit 1", c);
            Hub = (string)(await cmd.ExecuteScalarAsync())!;
        }
        (api, Root) = await PageHost.StartApiAsync(db.ConnectionString, anonymousReads: true);
        Directory.CreateDirectory(PageHost.Screenshots);
    }

    public async Task DisposeAsync()
    {
        if (chromium is not null)
        {
            await chromium.DisposeAsync();
        }
        if (api is not null)
        {
            await api.DisposeAsync();
        }
        await db.DisposeAsync();
    }
}

/// <summary>
/// The explorer on a large ledger: the first view appears (a search, not the whole graph), the
/// organization with the most ties draws a bounded neighbourhood, a second hop expands it, the time
/// control changes the drawing; labels never overlap and the WCAG check holds. Screenshots:
/// artifacts/screenshots/large-*.png.
/// </summary>
[Collection(ChildProcess.Collection)]
public sealed class LargeLedgerPageTests(LargeLedgerHost host) : IClassFixture<LargeLedgerHost>
{
    [Fact]
    public async Task on_a_large_ledger_the_page_starts_from_a_search_and_draws_a_bounded_neighbourhood_a_second_hop_and_another_date()
    {
        Assert.True(host.Stored >= LargeLedgerHost.Events * 0.95, $"the history stored {host.Stored} events");
        var start = $"/?at={HistoryGenerator.QueryDate:yyyy-MM-dd}&knownAt={Uri.EscapeDataString(host.KnownAt)}";
        await using var s = await PageSession.OpenAsync(host.Browser, host.Root, start);

        // The first view: where to start, not every tie of the ledger.
        await Expect(s.Page.Locator("#start")).ToBeVisibleAsync();
        await Expect(s.Page.Locator("#graph-svg")).ToHaveCountAsync(0);
        await s.ScreenshotAsync("large-first-view");

        // Found by its id, the organization with the most ties is drawn with at most 20 neighbours; the rest is counted.
        await s.Page.FocusAsync("#search");
        await s.Page.Keyboard.TypeAsync(host.Hub);
        await Expect(s.Page.Locator($"#search-results [data-org='{host.Hub}']")).ToHaveCountAsync(1);
        await s.AfterAsync(() => s.Page.ClickAsync($"#search-results [data-org='{host.Hub}']"));
        await Expect(s.Page.Locator("#graph .node.centre")).ToHaveAttributeAsync("data-org", host.Hub);
        var first = await s.Page.Locator("#graph .node[data-hop='1']").CountAsync();
        Assert.InRange(first, 1, 20);
        using var http = new HttpClient { BaseAddress = host.Root };
        var answer = JsonDocument.Parse(await http.GetStringAsync($"/api/graph?around={host.Hub}&at={HistoryGenerator.QueryDate:yyyy-MM-dd}&knownAt={Uri.EscapeDataString(host.KnownAt)}&limit=20")).RootElement;
        var total = answer.GetProperty("page").GetProperty("total").GetInt64();
        Assert.Equal(Math.Min(total, 20), first);
        await ShowMoreAsync(total);
        await Expect(s.Page.Locator("#hood-summary")).ToContainTextAsync($"{total} organizations tied to it");
        Assert.Contains($"around={host.Hub}", await s.AddressAsync());
        await s.ScreenshotAsync("large-neighbourhood");
        await s.AssertLabelsApartAsync();
        await s.AssertWcagAsync();

        // A second hop, bounded the same way.
        await s.AfterAsync(() => s.Page.ClickAsync("#second-hop"));
        var second = await s.Page.Locator("#graph .node[data-hop='2']").CountAsync();
        Assert.InRange(second, 1, 20);
        Assert.Contains("hops=2", await s.AddressAsync());
        await s.AssertLabelsApartAsync();
        await s.ScreenshotAsync("large-second-hop");

        // The time control: to the first day any of its ties changes, the drawing changes, the page stays.
        await s.Page.EvaluateAsync("() => { window.stillTheSamePage = true; }");
        var before = await TiesAsync(s.Page);
        await s.AfterAsync(async () =>
        {
            await s.Page.FocusAsync("#time-range");
            await s.Page.Keyboard.PressAsync("Home");
        });
        var at = await s.Page.InputValueAsync("#at");
        Assert.True(string.CompareOrdinal(at, $"{HistoryGenerator.QueryDate:yyyy-MM-dd}") < 0, at);
        Assert.NotEqual(before, await TiesAsync(s.Page));
        Assert.True(await s.Page.EvaluateAsync<bool>("() => window.stillTheSamePage === true"), "the page was reloaded");
        await s.AssertLabelsApartAsync();
        await s.ScreenshotAsync("large-time-moved");
        s.AssertNothingWentWrong();
    }

    /// <summary>
    /// Back from an organization's view, with a pair's timeline open, to the start, which has no
    /// organization: nothing of the last view stays, the timeline neither. (The address keeps the pair:
    /// a shared address may hold one without an organization, and choosing an organization keeps it.)
    /// </summary>
    [Fact]
    public async Task going_back_to_the_start_takes_the_last_organizations_timeline_away()
    {
        var start = $"/?at={HistoryGenerator.QueryDate:yyyy-MM-dd}&knownAt={Uri.EscapeDataString(host.KnownAt)}&pair={HistoryGenerator.LongHolder},{HistoryGenerator.LongSubject}";
        await using var s = await PageSession.OpenAsync(host.Browser, host.Root, start);
        await Expect(s.Page.Locator("#start")).ToBeVisibleAsync();
        await Expect(s.Page.Locator("#timeline")).ToBeHiddenAsync();

        await s.Page.FocusAsync("#search");
        await s.Page.Keyboard.TypeAsync(host.Hub);
        await Expect(s.Page.Locator($"#search-results [data-org='{host.Hub}']")).ToHaveCountAsync(1);
        await s.AfterAsync(() => s.Page.ClickAsync($"#search-results [data-org='{host.Hub}']"));
        await Expect(s.Page.Locator("#graph .node.centre")).ToHaveAttributeAsync("data-org", host.Hub);
        await Expect(s.Page.Locator("#timeline .period")).Not.ToHaveCountAsync(0);

        await s.AfterAsync(() => s.Page.GoBackAsync());

        Assert.DoesNotContain("around=", await s.AddressAsync());
        await Expect(s.Page.Locator("#start")).ToBeVisibleAsync();
        await Expect(s.Page.Locator("#graph-title")).ToHaveTextAsync("Relationships");
        await Expect(s.Page.Locator("#timeline")).ToBeHiddenAsync();
        await Expect(s.Page.Locator("#panel")).ToBeHiddenAsync();
        await Expect(s.Page.Locator("#graph-svg")).ToHaveCountAsync(0);
        await s.ScreenshotAsync("large-back-to-the-start");
        s.AssertNothingWentWrong();
    }

    /// <summary>
    /// "Show more" and the rest counted, on a view of the hub that shows fewer neighbours than it has (the
    /// address keeps how many are shown; at 10,000 events the hub has no more than the first view's 20).
    /// A hub with no more than that would leave both unchecked: that fails, rather than passing silently.
    /// </summary>
    private async Task ShowMoreAsync(long total)
    {
        const int Fewer = 5;
        Assert.True(total > Fewer, $"the hub {host.Hub} has only {total} neighbours: the ledger no longer exercises \"Show more\"");
        var address = $"/?at={HistoryGenerator.QueryDate:yyyy-MM-dd}&knownAt={Uri.EscapeDataString(host.KnownAt)}&around={host.Hub}&shown={Fewer}";
        await using var s = await PageSession.OpenAsync(host.Browser, host.Root, address);
        await Expect(s.Page.Locator("#graph .node[data-hop='1']")).ToHaveCountAsync(Fewer);
        await Expect(s.Page.Locator("#more")).ToBeVisibleAsync();
        await Expect(s.Page.Locator("#rest li").First).ToContainTextAsync("more");

        await s.AfterAsync(() => s.Page.ClickAsync("#more"));

        await Expect(s.Page.Locator("#graph .node[data-hop='1']")).ToHaveCountAsync((int)Math.Min(total, Fewer + 20));
        Assert.Contains($"shown={Fewer + 20}", await s.AddressAsync());
        s.AssertNothingWentWrong();
    }

    /// <summary>The ties drawn, as their facts.</summary>
    private static Task<string> TiesAsync(IPage page) =>
        page.EvaluateAsync<string>("() => [...document.querySelectorAll('#graph .link')].map(l => l.dataset.facts).sort().join(' ')");
}
