using System.Diagnostics;
using System.Globalization;
using DealLedger.Importing;
using DealLedger.Storage;
using Microsoft.Playwright;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>
/// The explorer at scale (issue 17), on the API as its own process: an organization's neighbourhood
/// (hops=1) for the organization with the most ties, the largest answer any list endpoint gives when
/// the caller does not bound it, and the page's first view drawn in Debian's headless Chromium.
/// </summary>
public static class ExplorerBench
{
    public static async Task RunAsync(Bench bench, long size, string cs)
    {
        var hub = await HubAsync(cs);
        // A fixed instant after the whole history: every request below is answered the same way.
        var knownAt = Uri.EscapeDataString(Time.Instant.Format(DateTimeOffset.UtcNow));
        var day = $"{HistoryGenerator.QueryDate:yyyy-MM-dd}";
        var (api, address) = await ApiBench.StartedApiAsync(bench.Repo, cs, anonymousReads: true);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(120) };
            Bench.Log($"explorer {Report.Size(size)}: the organization with the most ties is {hub.Id} ({hub.Ties} organizations tied to it over all time)");

            // Dates spread over the history, so the database cannot answer one question from a warm page only.
            var times = await Bench.TimesAsync(bench, "GET /api/graph?around=HUB&hops=1", bench.Quick ? 100 : 300, async i =>
            {
                var at = HistoryGenerator.QueryDate.AddDays(i % 365 - 182);
                using var response = await http.GetAsync($"/api/graph?around={hub.Id}&hops=1&at={at:yyyy-MM-dd}&knownAt={knownAt}");
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsByteArrayAsync();
            }, warmUp: 20);
            bench.Add(new Measurement("explorer: neighbourhood (hops=1) of the organization with most ties, p50", size, "ms", times.P50, "≤ 50 ms", times.P50 <= 50, bench.Runs,
                Note: $"GET /api/graph?around={hub.Id} ({hub.Ties} organizations tied to it over all time), default limit, one client, dates spread over a year; p99 {times.P99:F1} ms"));

            string[] lists =
            [
                $"/api/graph?at={day}&knownAt={knownAt}",
                $"/api/graph?around={hub.Id}&at={day}&knownAt={knownAt}",
                $"/api/graph?around={hub.Id}&hops=2&at={day}&knownAt={knownAt}",
                $"/api/organizations/{hub.Id}/relationships?at={day}&knownAt={knownAt}",
                $"/api/organizations/{hub.Id}/owners?at={day}&knownAt={knownAt}",
                $"/api/organizations?q=org&knownAt={knownAt}",
                "/api/events",
                "/api/feed",
            ];
            var sizes = new List<(string Path, long Bytes, double Ms)>();
            foreach (var path in lists)
            {
                var watch = Stopwatch.StartNew();
                var body = await http.GetByteArrayAsync(path);
                sizes.Add((path, body.LongLength, watch.Elapsed.TotalMilliseconds));
                Bench.Log($"default answer: {path.Split('?')[0]}{(path.Contains("hops=2") ? " (hops=2)" : path.Contains("around") ? " (around)" : "")}: {body.LongLength:N0} bytes in {sizes[^1].Ms:F0} ms");
            }
            var largest = sizes.MaxBy(x => x.Bytes);
            bench.Add(new Measurement("explorer: largest API answer by default (no limit given)", size, "KB", largest.Bytes / 1024.0, "≤ 1,024 KB", largest.Bytes <= 1024 * 1024, 1,
                Note: $"{largest.Path.Split('&')[0]} of {lists.Length} list endpoints; the slowest of them took {sizes.Max(x => x.Ms):F0} ms"));

            await FirstViewAsync(bench, size, address, $"/?at={day}&knownAt={knownAt}&around={hub.Id}");
        }
        finally
        {
            await ApiBench.StopApiAsync(api);
        }
    }

    /// <summary>Holders of the hub ledger's one organization: far more ties than any the generator makes.</summary>
    public const int HubHolders = 2_000;

    /// <summary>
    /// The generated histories spread ties evenly (the busiest organization has a few dozen): a ledger of
    /// its own holds one organization with <see cref="HubHolders"/> holders and a partnership with each
    /// tenth of them (their shares together 80 %), so a hub's neighbourhood is measured too — once, whatever the sizes asked.
    /// </summary>
    public static async Task HubAsync(Bench bench)
    {
        var cs = await bench.FreshDatabaseAsync("dealledger_bench_hub");
        long events;
        await using (var ledger = Ledger.Connect(cs))
        {
            var doc = new System.Text.StringBuilder("""{ "organizations": [ { "id": "bench-hub", "name": "Bench Hub Holding AG", "kind": "company" }""");
            for (var i = 0; i < HubHolders; i++)
            {
                doc.Append(CultureInfo.InvariantCulture, $$""", { "id": "holder-{{i:D4}}", "name": "Holder {{i}} Capital Partners", "kind": "fund" }""");
            }
            doc.Append("""], "sources": [ { "id": "hub-register", "title": "Register of the hub's shareholders", "kind": "official-register" } ], "deals": [ { "id": "hub-shareholders", "parties": ["bench-hub"], "facts": [""");
            for (var i = 0; i < HubHolders; i++)
            {
                doc.Append(CultureInfo.InvariantCulture, $$"""{{(i > 0 ? "," : "")}} { "id": "hub-stake-{{i:D4}}", "type": "stake", "holder": "holder-{{i:D4}}", "subject": "bench-hub", "share": { "exact": {{0.00004m * (i + 1)}} }, "valid": { "from": "2010-{{1 + i % 12:D2}}" }, "sources": [ { "source": "hub-register", "claim": "stated" } ] }""");
                if (i % 10 == 0)
                {
                    doc.Append(CultureInfo.InvariantCulture, $$""", { "id": "hub-partnership-{{i:D4}}", "type": "partnership", "parties": ["bench-hub", "holder-{{i:D4}}"], "scope": "distribution", "valid": { "from": "2012" }, "sources": [ { "source": "hub-register", "claim": "stated" } ] }""");
                }
            }
            doc.Append("] } ] }");
            var written = await ledger.ImportAsync([("hub.json", doc.ToString())]);
            events = written.EventsAppended;
            Bench.Log($"hub ledger: {written.EventsAppended:N0} events, one organization with {HubHolders:N0} holders");
        }
        var (api, address) = await ApiBench.StartedApiAsync(bench.Repo, cs, anonymousReads: true);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(120) };
            var knownAt = Uri.EscapeDataString(Time.Instant.Format(DateTimeOffset.UtcNow));
            long bytes = 0;
            var times = await Bench.TimesAsync(bench, "GET /api/graph?around=bench-hub", bench.Quick ? 30 : 100, async i =>
            {
                var body = await http.GetByteArrayAsync($"/api/graph?around=bench-hub&at={2015 + i % 10}-06-15&knownAt={knownAt}");
                bytes = body.LongLength;
            }, warmUp: 10);
            bench.Add(new Measurement($"explorer: neighbourhood (hops=1) of a hub with {HubHolders:N0} holders, p50", events, "ms", times.P50, "≤ 50 ms", times.P50 <= 50, bench.Runs,
                Note: $"a ledger of its own (size: its events); the default page of 50 neighbours is {bytes / 1024.0:F0} KB; p99 {times.P99:F1} ms"));
        }
        finally
        {
            await ApiBench.StopApiAsync(api);
        }
    }

    /// <summary>The organization tied to the most others over all time (as the page test picks it too).</summary>
    private static async Task<(string Id, long Ties)> HubAsync(string cs)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            $"select o, count(distinct p) from {ProjectionTables.Name("fact_versions")}, unnest(orgs) o, unnest(orgs) p where upper_inf(recorded) and p <> o " +
            "group by o order by 2 desc, o limit 1", c) { CommandTimeout = 0 };
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetString(0), reader.GetInt64(1));
    }

    /// <summary>
    /// From navigation to the page's first view drawn (its performance mark 'dealledger-first-view'), in
    /// a fresh browser context each run: a shared address opened on the hub's neighbourhood.
    /// </summary>
    private static async Task FirstViewAsync(Bench bench, long size, string address, string path)
    {
        var chromium = Environment.GetEnvironmentVariable("DEALLEDGER_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";
        if (!File.Exists(chromium))
        {
            Bench.Log($"no headless Chromium at {chromium} (eng/browser installs it): the first view is not measured");
            return;
        }
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            ChromiumSandbox = false,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var drawn = new List<double>();
        for (var run = 0; run <= bench.Runs; run++)
        {
            await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
                Locale = "en-GB",
                TimezoneId = "UTC",
            });
            var page = await context.NewPageAsync();
            await page.GotoAsync(address + path);
            await page.WaitForFunctionAsync("() => performance.getEntriesByName('dealledger-first-view').length > 0", null, new PageWaitForFunctionOptions { Timeout = 120_000 });
            var ms = await page.EvaluateAsync<double>("() => performance.getEntriesByName('dealledger-first-view')[0].startTime");
            var nodes = await page.Locator("#graph .node").CountAsync();
            if (run == 0)
            {
                // The first run fills the API's pools and the database's cache; it is not counted.
                continue;
            }
            drawn.Add(ms);
            Bench.Log(string.Create(CultureInfo.InvariantCulture, $"first view drawn: run {run}: {ms:F0} ms after navigation, {nodes} organizations drawn"));
        }
        var median = Bench.Median(drawn);
        bench.Add(new Measurement("explorer: first view drawn after navigation (headless Chromium)", size, "ms", median, "≤ 1,500 ms", median <= 1500, bench.Runs,
            Note: "the address of the hub's neighbourhood opened in a fresh context; Debian's chromium, same machine as the API and PostgreSQL"));
    }
}
