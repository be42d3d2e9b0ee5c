using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using DealLedger.Access;
using DealLedger.Time;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace DealLedger.Tests;

/// <summary>
/// The API as eng/run serves it — its own build output in a process of its own, anonymous reads
/// on — over the seeds, and Debian's headless Chromium to look at its page.
/// </summary>
public sealed class PageHost : IAsyncLifetime
{
    private readonly TestDatabase db = new();
    private ChildProcess? api;
    private HeadlessChromium? chromium;

    public Uri Root { get; private set; } = null!;
    public DateTimeOffset Seeded { get; private set; }
    public string ReaderKey { get; private set; } = "";
    public string WriterKey { get; private set; } = "";
    public IBrowser Browser => chromium!.Browser;

    /// <summary>Where the tests leave their screenshots (git-ignored).</summary>
    public static string Screenshots => Path.Combine(TestDatabase.RepoRoot, "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(30_000);
        // The browser first: without one, every test fails at once, saying why.
        chromium = await HeadlessChromium.LaunchAsync();
        await db.InitializeAsync();
        await using (var ledger = db.Connect())
        {
            Seeded = (await Seeds.LoadAsync(ledger)).RecordedAt!.Value;
            ReaderKey = (await ledger.CreateKeyAsync("page-reader", Role.Reader, "tests")).Key;
            WriterKey = (await ledger.CreateKeyAsync("page-writer", Role.Writer, "tests")).Key;
        }
        (api, Root) = await StartApiAsync(anonymousReads: true);
        Directory.CreateDirectory(Screenshots);
    }

    /// <summary>Another API process on the same ledger (e.g. one that needs keys for reads), on a free port or the one given.</summary>
    public Task<(ChildProcess Process, Uri Root)> StartApiAsync(bool anonymousReads, int? port = null) => StartApiAsync(db.ConnectionString, anonymousReads, port);

    /// <summary>The API as eng/run serves it, on a ledger's database, in a process of its own.</summary>
    public static async Task<(ChildProcess Process, Uri Root)> StartApiAsync(string connectionString, bool anonymousReads, int? port = null)
    {
        var root = new Uri($"http://127.0.0.1:{port ?? ChildProcess.FreePort()}/");
        var process = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Api"), [], new Dictionary<string, string?>
        {
            ["ConnectionStrings__DealLedger"] = connectionString,
            ["DealLedger__AnonymousReads"] = anonymousReads ? "true" : "false",
            ["ASPNETCORE_URLS"] = root.AbsoluteUri.TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
        }, anonymousReads ? "api" : "api (keys needed)");
        try
        {
            await process.WaitForHttpAsync(new Uri(root, "health/ready"), TimeSpan.FromSeconds(60));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return (process, root);
    }

    public HttpClient Http(string? key = null)
    {
        var client = new HttpClient { BaseAddress = Root, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }
        return client;
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
/// A browser tab of its own (fresh storage) on the page, noting what must never happen: a script
/// error, or a request to anywhere but the API that served the page.
/// </summary>
public sealed class PageSession : IAsyncDisposable
{
    private readonly IBrowserContext context;
    private readonly List<string> problems = [];

    private PageSession(IBrowserContext context, IPage page, Uri root)
    {
        this.context = context;
        Page = page;
        page.PageError += (_, e) => problems.Add($"script error: {e}");
        page.Request += (_, r) =>
        {
            if (!r.Url.StartsWith(root.AbsoluteUri, StringComparison.Ordinal) && !r.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                problems.Add($"request to elsewhere: {r.Url}");
            }
        };
    }

    public IPage Page { get; }

    /// <summary>Opens <paramref name="address"/> (path and query) and, unless told not to, waits until the view is shown.</summary>
    public static Task<PageSession> OpenAsync(PageHost host, string address, Uri? root = null, bool waitForView = true) =>
        OpenAsync(host.Browser, root ?? host.Root, address, waitForView);

    public static async Task<PageSession> OpenAsync(IBrowser browser, Uri root, string address, bool waitForView = true)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = root.AbsoluteUri,
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(45_000);
        var session = new PageSession(context, await context.NewPageAsync(), root);
        await session.Page.GotoAsync(address);
        if (waitForView)
        {
            await session.Page.WaitForFunctionAsync("() => Number(document.body.dataset.loads ?? 0) >= 1");
        }
        return session;
    }

    public Task<int> LoadsAsync() => Page.EvaluateAsync<int>("() => Number(document.body.dataset.loads ?? 0)");

    /// <summary>Does <paramref name="action"/>, then waits until the page has shown its view again.</summary>
    public async Task AfterAsync(Func<Task> action)
    {
        var before = await LoadsAsync();
        await action();
        try
        {
            await Page.WaitForFunctionAsync("n => Number(document.body.dataset.loads ?? 0) > n && document.body.dataset.state === 'ready'", before);
        }
        catch (TimeoutException e)
        {
            var state = await Page.EvaluateAsync<string>("() => `state ${document.body.dataset.state}, loads ${document.body.dataset.loads}, error '${document.getElementById('error').textContent}', live ${document.getElementById('live').dataset.state}`");
            throw new TimeoutException($"the page showed no new view ({state}); problems so far: {string.Join("; ", problems)}", e);
        }
    }

    public ILocator Edge(string fact) => Page.Locator($"#graph [data-fact='{fact}']");

    public Task<string> AddressAsync() => Page.EvaluateAsync<string>("() => location.pathname + location.search");

    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(PageHost.Screenshots, $"{name}.png"), FullPage = true });

    /// <summary>
    /// No label shown in the drawing lies on another label or on an organization: each shown label's
    /// backdrop (its visible box) against every other one and every organization's shape, on screen.
    /// </summary>
    public async Task AssertLabelsApartAsync()
    {
        var clashes = await Page.EvaluateAsync<string[]>("""
            () => {
              const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).display !== 'none';
              const boxes = [...document.querySelectorAll('#graph .label-bg')].filter(shown)
                .map((e) => ({ what: 'label ' + (e.nextElementSibling?.textContent ?? ''), r: e.getBoundingClientRect(), of: e.closest('.node')?.dataset.org }));
              const dots = [...document.querySelectorAll('#graph .node .dot')]
                .map((e) => ({ what: 'organization ' + e.closest('.node').dataset.org, r: e.getBoundingClientRect(), of: e.closest('.node').dataset.org }));
              const apart = (a, b) => a.right <= b.left + 0.5 || b.right <= a.left + 0.5 || a.bottom <= b.top + 0.5 || b.bottom <= a.top + 0.5;
              const clashes = [];
              boxes.forEach((a, i) => {
                boxes.slice(i + 1).forEach((b) => { if (!apart(a.r, b.r)) clashes.push(`${a.what} / ${b.what}`); });
                dots.forEach((d) => { if (!apart(a.r, d.r)) clashes.push(`${a.what} / ${d.what}`); });
              });
              return clashes;
            }
            """);
        Assert.True(clashes.Length == 0, "labels overlap: " + string.Join("; ", clashes.Take(10)));
        Assert.NotEqual(0, await Page.Locator("#graph .node-label:not(.label-hidden)").CountAsync());
    }

    /// <summary>axe-core finds nothing against WCAG 2.0/2.1 A and AA in what the page shows now.</summary>
    public async Task AssertWcagAsync()
    {
        var result = await Page.RunAxe(new AxeRunOptions
        {
            RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        });
        Assert.True(result.Violations.Length == 0, string.Join('\n', result.Violations.Select(v =>
            $"{v.Id}: {v.Help} — {string.Join(" | ", v.Nodes.Take(5).Select(n => $"{n.Html} ({string.Join("; ", n.Any.Concat(n.All).Select(c => c.Message))})"))}")));
        Assert.NotEmpty(result.Passes);
    }

    public void AssertNothingWentWrong() => Assert.True(problems.Count == 0, string.Join('\n', problems));

    public async ValueTask DisposeAsync() => await context.CloseAsync();
}

/// <summary>
/// The explorer page at / in a real browser: the graph at a date, the answer panel, the timeline,
/// dates and search in the address, live updates from the change feed, keys, keyboard and contrast.
/// Screenshots: artifacts/screenshots/*.png.
/// </summary>
[Collection(ChildProcess.Collection)]
public sealed class PageTests(PageHost host) : IClassFixture<PageHost>
{
    private const string Stake = "microsoft-mistral-stake";

    [Fact]
    public async Task first_opened_the_page_shows_today_as_known_now_and_follows_the_ledger()
    {
        await using var s = await PageSession.OpenAsync(host, "/");

        var address = await s.AddressAsync();
        // The seeds' ledger opens on its headline pair: around Mistral AI, Microsoft's stake drawn.
        var at = Assert.Single(Regex.Matches(address, @"^/\?at=(\d{4}-\d{2}-\d{2})&around=mistral-ai$")).Groups[1].Value;
        Assert.InRange(DateOnly.Parse(at, System.Globalization.CultureInfo.InvariantCulture),
            DateOnly.FromDateTime(DateTime.UtcNow.AddDays(-1)), DateOnly.FromDateTime(DateTime.UtcNow.AddDays(1)));
        await Expect(s.Page.Locator("#at")).ToHaveValueAsync(at);
        await Expect(s.Page.Locator("#knownAt")).ToHaveValueAsync("");
        await Expect(s.Page.Locator("#graph-title")).ToHaveTextAsync($"Relationships on {at}");
        await Expect(s.Page.Locator("#as-of")).ToContainTextAsync("now: the view follows the ledger");
        await Expect(s.Page.Locator("#live")).ToHaveAttributeAsync("data-state", "connected");
        await Expect(s.Edge(Stake)).ToHaveCountAsync(1);
        await s.ScreenshotAsync("first-open");
        s.AssertNothingWentWrong();
    }

    /// <summary>Imports a YAML document through the API, as a writer: the write's last sequence and instant.</summary>
    private async Task<(long Sequence, DateTimeOffset RecordedAt)> ImportAsync(string yaml)
    {
        using var http = host.Http(host.WriterKey);
        using var body = new StringContent(yaml, Encoding.UTF8, "application/yaml");
        var response = await http.PostAsync("/api/import", body);
        var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.StatusCode == HttpStatusCode.OK, report.ToString());
        return (report.GetProperty("lastSequence").GetInt64(), report.GetProperty("recordedAt").GetDateTimeOffset());
    }

    /// <summary>
    /// A document of <paramref name="count"/> organizations PREFIX-NNNN (named by <paramref name="name"/>), each
    /// at one end of a stake of <paramref name="share"/> % from 2020 (<paramref name="ends"/>: its holder and
    /// subject), stated by the official register PREFIX-register; with more <paramref name="organizations"/>
    /// and <paramref name="facts"/> (YAML list items, as indented in the document).
    /// </summary>
    private static string Crowd(string prefix, int count, Func<int, string> name, string kind, Func<string, (string Holder, string Subject)> ends,
        decimal share, string organizations, string facts)
    {
        var ids = Enumerable.Range(0, count).Select(i => (Id: $"{prefix}-{i:D4}", Name: name(i))).ToList();
        var yaml = new StringBuilder("organizations:\n").Append(organizations);
        ids.ForEach(o => yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $"  - {{ id: {o.Id}, name: {o.Name}, kind: {kind} }}\n"));
        yaml.Append(System.Globalization.CultureInfo.InvariantCulture,
            $"sources:\n  - {{ id: {prefix}-register, title: {prefix} register, kind: official-register }}\ndeals:\n  - id: {prefix}-deals\n    parties: [{ends(ids[0].Id).Holder}]\n    facts:\n");
        yaml.Append(facts);
        foreach (var (id, _) in ids)
        {
            var (holder, subject) = ends(id);
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"      - {{ id: {id}-stake, type: stake, holder: {holder}, subject: {subject}, share: {{ exact: {share} }}, valid: {{ from: 2020-01-01 }}, sources: [ {{ source: {prefix}-register, claim: stated }} ] }}\n");
        }
        return yaml.ToString();
    }

    [Fact]
    public async Task the_pair_timeline_marks_a_correction_and_a_retraction_where_they_were_recorded()
    {
        await ImportAsync("""
            organizations:
              - { id: globex-capital, name: Globex Capital, kind: fund }
            sources:
              - { id: globex-wire, title: "Wire: Globex Capital buys into OpenAI", kind: third-party }
              - { id: globex-statement, title: Globex Capital statement, kind: self-declaration }
            deals:
              - id: globex-openai-2023
                parties: [globex-capital, openai]
                facts:
                  - { id: globex-openai-stake, type: stake, holder: globex-capital, subject: openai, share: { exact: 5 },
                      valid: { from: 2023-05 }, sources: [ { source: globex-wire, claim: stated } ] }
            """);
        var corrected = await ImportAsync("""
            corrections:
              - { fact: globex-openai-stake, set: { share: { exact: 4.2 } }, reason: the wire rounded, sources: [ { source: globex-statement, claim: stated } ] }
            """);
        var retracted = await ImportAsync("""
            retractions:
              - { fact: globex-openai-stake, reason: Globex Capital denies any stake, sources: [ { source: globex-statement, claim: stated } ] }
            """);

        async Task<DateTimeOffset> RecordedAsync(ILocator mark) =>
            DateTimeOffset.Parse(Regex.Match(await mark.GetAttributeAsync("aria-label") ?? "", @"recorded (\S+ \S+) UTC").Groups[1].Value + "Z",
                System.Globalization.CultureInfo.InvariantCulture);
        async Task<DateTimeOffset> UntilAsync(ILocator row) =>
            DateTimeOffset.Parse((await row.First.GetAttributeAsync("data-until"))!, System.Globalization.CultureInfo.InvariantCulture);

        // Now: retracted, the pair is unknown again; both changes are marked where they were recorded.
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01&pair=globex-capital,openai");
        var timeline = s.Page.Locator("#timeline");
        await Expect(timeline.Locator(".period.status-unknown")).ToHaveCountAsync(1);
        var correction = timeline.Locator(".event[data-type='fact_corrected']");
        var retraction = timeline.Locator(".event[data-type='fact_retracted']");
        await Expect(correction).ToHaveAttributeAsync("aria-label", new Regex($"#{corrected.Sequence} correction"));
        await Expect(retraction).ToHaveAttributeAsync("aria-label", new Regex($"#{retracted.Sequence} retraction"));
        Assert.Equal(corrected.RecordedAt, await RecordedAsync(correction));
        Assert.Equal(retracted.RecordedAt, await RecordedAsync(retraction));
        // What the ledger said before each of them.
        var beforeCorrection = timeline.Locator(".superseded.status-held").Filter(new LocatorFilterOptions { HasText = "5 %" });
        var beforeRetraction = timeline.Locator(".superseded.status-held").Filter(new LocatorFilterOptions { HasText = "4.2 %" });
        Assert.Equal(corrected.RecordedAt, await UntilAsync(beforeCorrection));
        Assert.Equal(retracted.RecordedAt, await UntilAsync(beforeRetraction));
        await s.ScreenshotAsync("timeline-correction-and-retraction");
        await s.AssertWcagAsync();

        // As known between the two: the corrected share, and no retraction yet.
        await s.AfterAsync(async () =>
        {
            await s.Page.FillAsync("#knownAt", Instant.Format(corrected.RecordedAt));
            await s.Page.PressAsync("#knownAt", "Enter");
        });
        await Expect(timeline.Locator(".period.status-held .bar-label")).ToHaveTextAsync("4.2 %");
        await Expect(retraction).ToHaveCountAsync(0);
        await Expect(correction).ToHaveCountAsync(1);
        s.AssertNothingWentWrong();
    }

    /// <summary>Issue 19: a tie's timeline shows the names its organizations bore and where the holding went by succession.</summary>
    [Fact]
    public async Task the_pair_timeline_shows_a_former_name_and_the_succession_of_its_holder()
    {
        await ImportAsync("""
            organizations:
              - { id: umbra-labs, name: Umbra Labs, kind: company }
              - { id: penumbra, name: Penumbra, kind: company }
              - { id: eclipse-holdings, name: Eclipse Holdings, kind: company }
            sources:
              - { id: umbra-register, title: Umbra register filing, kind: official-register }
            deals:
              - id: umbra-penumbra
                parties: [umbra-labs, penumbra]
                facts:
                  - { id: umbra-penumbra-stake, type: stake, holder: umbra-labs, subject: penumbra, share: { exact: 30 }, valid: { from: 2019-01-01 }, sources: [ { source: umbra-register, claim: stated } ] }
                  - { id: penumbra-research, type: name, subject: penumbra, name: Penumbra Research, use: legal, valid: { from: 2015-01-01, to: 2021-01-01 }, sources: [ { source: umbra-register, claim: stated } ] }
                  - { id: umbra-into-eclipse, type: succession, predecessor: umbra-labs, successor: eclipse-holdings, form: merged-into, valid: { from: 2024-03-01 }, sources: [ { source: umbra-register, claim: stated } ] }
            """);
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01&pair=umbra-labs,penumbra");
        var timeline = s.Page.Locator("#timeline");
        var mark = timeline.Locator(".succession[data-fact='umbra-into-eclipse']");
        await Expect(mark).ToHaveCountAsync(1);
        await Expect(mark).ToHaveAttributeAsync("aria-label", new Regex("^From 2024-03-01, Umbra Labs merged into Eclipse Holdings: the stake passed to Eclipse Holdings"));
        await Expect(timeline.Locator("ul.successions li[data-fact='umbra-into-eclipse']")).ToContainTextAsync("merged into Eclipse Holdings");
        await Expect(timeline.Locator("ul.names li[data-fact='penumbra-research']")).ToContainTextAsync("“Penumbra Research” (legal name) from 2015-01-01 until 2021-01-01");
        await s.ScreenshotAsync("timeline-names-and-succession");
        await s.AssertWcagAsync();
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task on_2024_06_01_the_graph_shows_microsofts_stake_in_mistral_ai_and_selecting_it_shows_the_answer_and_its_evidence()
    {
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01");
        var edge = s.Edge(Stake);
        await Expect(edge).ToHaveCountAsync(1);
        await Expect(edge).ToHaveAttributeAsync("data-from", "microsoft");
        await Expect(edge).ToHaveAttributeAsync("data-to", "mistral-ai");
        await Expect(edge).ToHaveClassAsync(new Regex(@"\bkind-stake\b.*\bconf-reported\b.*\bstatus-in-force\b"));
        // One line for the three ties between them: the stake's, "+2" for the investment and the partnership.
        await Expect(edge.Locator(".edge-label")).ToHaveTextAsync("0–50 %, small minority stake +2");
        await Expect(edge).ToHaveAttributeAsync("data-facts", "microsoft-mistral-stake microsoft-mistral-investment microsoft-mistral-azure");

        await s.AfterAsync(() => edge.Locator(".edge-label").ClickAsync());

        var panel = s.Page.Locator("#panel");
        await Expect(panel).ToBeVisibleAsync();
        await Expect(panel.Locator("h2")).ToHaveTextAsync("Stake: Microsoft Corporation → Mistral AI");
        await Expect(panel.Locator(".status")).ToHaveTextAsync("HELD");
        await Expect(panel.Locator("dl")).ToContainTextAsync("0–50 %, small minority stake (more than 0 % and less than 50 %)");
        await Expect(panel.Locator("dl")).ToContainTextAsync("2024-02 (month precision)");
        await Expect(panel.Locator("dl")).ToContainTextAsync("reported");

        // The panel shows the API's own answer for the same dates: explanation, sources, basis.
        var knownAt = await s.Page.EvaluateAsync<string>("() => document.body.dataset.knownAt");
        using var http = host.Http();
        var answer = JsonDocument.Parse(await http.GetStringAsync($"/api/holdings/microsoft/mistral-ai?at=2024-06-01&knownAt={knownAt}")).RootElement;
        await Expect(panel.Locator(".explanation")).ToHaveTextAsync(answer.GetProperty("explanation").GetString()!);
        var sources = answer.GetProperty("sources").EnumerateArray().ToList();
        Assert.Equal(2, sources.Count);
        await Expect(panel.Locator(".sources li")).ToHaveCountAsync(2);
        foreach (var source in sources)
        {
            var item = panel.Locator($".sources li[data-source='{source.GetProperty("id").GetString()}']");
            await Expect(item.Locator("cite")).ToHaveTextAsync(source.GetProperty("title").GetString()!);
            await Expect(item).ToContainTextAsync("third-party");
            await Expect(item).ToContainTextAsync("no link");
        }
        var basis = answer.GetProperty("basis").EnumerateArray().Single();
        var row = panel.Locator($".basis tr[data-sequence='{basis.GetProperty("sequence").GetInt64()}']");
        await Expect(row).ToContainTextAsync($"#{basis.GetProperty("sequence").GetInt64()}");
        await Expect(row).ToContainTextAsync("fact recorded");
        await Expect(row).ToContainTextAsync(basis.GetProperty("recordedAt").GetString()!.Replace("T", " ").Replace("Z", " UTC"));

        // The pair's timeline: the month-precision start is a hatched span over February 2024.
        var timeline = s.Page.Locator("#timeline");
        await Expect(timeline).ToBeVisibleAsync();
        await Expect(timeline.Locator(".period.status-uncertain[data-from='2024-02-01'][data-to='2024-02-29']")).ToHaveCountAsync(1);
        await Expect(timeline.Locator(".period.status-held[data-from='2024-02-29'][data-to='']")).ToHaveCountAsync(1);
        await Expect(timeline).ToContainTextAsync("2024-02: month precision");

        // The other ties of the bundle are one click away.
        await Expect(panel.Locator(".also button")).ToHaveCountAsync(2);
        Assert.Equal("/?at=2024-06-01&around=mistral-ai&edge=microsoft-mistral-stake&pair=microsoft,mistral-ai", await s.AddressAsync());
        await s.ScreenshotAsync("stake-on-2024-06-01");
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task compared_with_an_earlier_date_the_graph_marks_the_ties_begun_since_and_lists_them()
    {
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01&compareAt=2024-01-15");
        var edge = s.Edge(Stake);
        await Expect(edge).ToHaveClassAsync(new Regex(@"\bcmp-added\b"));
        await Expect(edge.Locator(".edge-label")).ToHaveTextAsync("0–50 %, small minority stake +2 · new");
        await Expect(edge).ToHaveAttributeAsync("aria-label", new Regex("\\(new compared with 2024-01-15\\)$"));
        var compare = s.Page.Locator("#compare");
        // The stake, the investment and the partnership drawn; the announcement of Le Chat listed (announcements are not lines).
        await Expect(compare.Locator("h3")).ToHaveTextAsync("Compared with 2024-01-15: 4 added, 0 removed, 0 changed");
        await Expect(compare.Locator("li[data-mark='added'][data-key='mistral-le-chat-launch']")).ToHaveCountAsync(1);
        await Expect(compare.Locator("li[data-mark='added'][data-key='microsoft:mistral-ai']")).ToContainTextAsync("started");
        await Expect(compare.Locator("li[data-mark='added'][data-key='microsoft-mistral-azure']")).ToHaveCountAsync(1);
        Assert.Equal("/?at=2024-06-01&around=mistral-ai&compareAt=2024-01-15", await s.AddressAsync());
        await s.AssertWcagAsync();
        await s.ScreenshotAsync("compared-with-2024-01-15");

        // Compared the other way round (the view before the date compared with), the same ties are gone, not drawn.
        await s.AfterAsync(() => s.Page.FillAsync("#at", "2024-01-10"));
        await Expect(s.Edge(Stake)).ToHaveCountAsync(0);
        await Expect(compare.Locator("h3")).ToHaveTextAsync("Compared with 2024-01-15: 0 added, 0 removed, 0 changed");
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task compared_with_a_moment_before_the_seeds_every_tie_drawn_is_new_until_the_comparison_is_cleared()
    {
        var before = Instant.Format(host.Seeded.AddSeconds(-1));
        await using var s = await PageSession.OpenAsync(host, $"/?at=2024-06-01&compareKnownAt={Uri.EscapeDataString(before)}");
        var links = s.Page.Locator("#graph .link");
        await Expect(s.Edge(Stake)).ToHaveCountAsync(1);
        Assert.Equal(await links.CountAsync(), await s.Page.Locator("#graph .link.cmp-added").CountAsync());
        await Expect(s.Page.Locator("#compare h3")).ToContainTextAsync($"Compared with what the ledger knew at {before.Replace("T", " ").Replace("Z", " UTC")}");
        await Expect(s.Page.Locator("#compare li[data-mark='added'][data-key='microsoft:mistral-ai']")).ToContainTextAsync("new");
        await Expect(s.Page.Locator("#compare li[data-mark='removed']")).ToHaveCountAsync(0);

        await s.AfterAsync(async () =>
        {
            await s.Page.FillAsync("#compareKnownAt", "");
            await s.Page.PressAsync("#compareKnownAt", "Enter");
        });
        await Expect(s.Page.Locator("#graph .link.cmp-added")).ToHaveCountAsync(0);
        await Expect(s.Page.Locator("#compare")).ToBeHiddenAsync();
        Assert.Equal("/?at=2024-06-01&around=mistral-ai", await s.AddressAsync());
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task moving_at_to_2024_01_15_takes_the_stake_edge_away_and_the_answer_says_not_held()
    {
        await using var s = await PageSession.OpenAsync(host, $"/?at=2024-06-01&edge={Stake}&pair=microsoft,mistral-ai");
        await Expect(s.Edge(Stake)).ToHaveCountAsync(1);

        await s.AfterAsync(() => s.Page.FillAsync("#at", "2024-01-15"));

        await Expect(s.Edge(Stake)).ToHaveCountAsync(0);
        await Expect(s.Page.Locator("#graph-title")).ToHaveTextAsync("Relationships on 2024-01-15");
        await Expect(s.Page.Locator("#panel .status")).ToHaveTextAsync("NOT HELD");
        await Expect(s.Page.Locator("#timeline .marker.at")).ToContainTextAsync("on 2024-01-15");
        Assert.StartsWith("/?at=2024-01-15&", await s.AddressAsync());
        await s.ScreenshotAsync("stake-gone-on-2024-01-15");
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task known_at_before_the_seeds_were_loaded_shows_an_empty_graph_and_says_the_view_is_fixed()
    {
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01");
        await Expect(s.Edge(Stake)).ToHaveCountAsync(1);
        var before = Instant.Format(host.Seeded.AddSeconds(-1));

        await s.AfterAsync(async () =>
        {
            await s.Page.FillAsync("#knownAt", before);
            await s.Page.PressAsync("#knownAt", "Enter");
        });

        await Expect(s.Page.Locator("#graph-svg")).ToHaveCountAsync(0);
        await Expect(s.Page.Locator("#graph-empty")).ToBeVisibleAsync();
        await Expect(s.Page.Locator("#graph-empty")).ToContainTextAsync("recorded nothing");
        await Expect(s.Page.Locator("#live")).ToContainTextAsync("a past moment never changes");
        Assert.Equal($"/?at=2024-06-01&knownAt={Uri.EscapeDataString(before)}&around=mistral-ai", await s.AddressAsync());
        await s.ScreenshotAsync("known-at-before-the-seeds");
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task a_shared_address_reopens_exactly_the_same_view()
    {
        string address;
        string view;
        await using (var first = await PageSession.OpenAsync(host, "/?at=2024-06-01"))
        {
            await first.AfterAsync(() => first.Edge(Stake).Locator(".edge-label").ClickAsync());
            await first.AfterAsync(() => first.Page.ClickAsync("#freeze"));
            await first.Page.FillAsync("#search", "mistral");
            address = await first.AddressAsync();
            view = await ViewAsync(first.Page);
            first.AssertNothingWentWrong();
        }

        await using var second = await PageSession.OpenAsync(host, address);

        Assert.Matches(@"^/\?at=2024-06-01&knownAt=[^&]+&around=mistral-ai&edge=microsoft-mistral-stake&pair=microsoft,mistral-ai&q=mistral$", address);
        Assert.Equal(address, await second.AddressAsync());
        AssertSameView(view, await ViewAsync(second.Page));
        Assert.Contains("match", await second.Page.Locator("#graph [data-org='mistral-ai']").GetAttributeAsync("class"));
        await second.ScreenshotAsync("shared-address-reopened");
        second.AssertNothingWentWrong();
    }

    private static void AssertSameView(string expected, string actual)
    {
        var at = 0;
        while (at < Math.Min(expected.Length, actual.Length) && expected[at] == actual[at])
        {
            at++;
        }
        string Around(string text) => text.Substring(Math.Max(0, at - 150), Math.Min(300, text.Length - Math.Max(0, at - 150)));
        Assert.True(expected == actual, $"the views differ at {at}:\nfirst:  …{Around(expected)}…\nsecond: …{Around(actual)}…");
    }

    /// <summary>What the view shows: the dates, the graph, the answer and the timeline (focus aside).</summary>
    private static Task<string> ViewAsync(IPage page) => page.EvaluateAsync<string>("""
        () => [document.getElementById('at').value, document.getElementById('knownAt').value, document.getElementById('search').value,
               ...['graph', 'panel', 'timeline'].map(id => document.getElementById(id))
                 .map(e => e.hidden ? '' : e.outerHTML.replace(/ tabindex="-?\d+"/g, ''))].join('\n')
        """);

    [Fact]
    public async Task the_open_view_follows_a_new_write_without_a_reload_while_a_fixed_view_stays_as_it_was()
    {
        await using var live = await PageSession.OpenAsync(host, "/?at=2024-06-01");
        var moment = await live.Page.EvaluateAsync<string>("() => document.body.dataset.knownAt");
        await using var fixedView = await PageSession.OpenAsync(host, $"/?at=2024-06-01&knownAt={Uri.EscapeDataString(moment)}");
        await Expect(live.Page.Locator("#live")).ToHaveAttributeAsync("data-state", "connected");
        await Expect(fixedView.Page.Locator("#live")).ToHaveAttributeAsync("data-state", "connected");
        await live.Page.EvaluateAsync("() => { window.stillTheSamePage = true; }");

        using var http = host.Http(host.WriterKey);
        using var body = new StringContent("""
            organizations:
              - { id: acme-ventures, name: Acme Ventures, kind: fund, country: DE }
            sources:
              - { id: acme-ventures-filing, title: "Acme Ventures: annual filing 2024", publisher: Handelsregister, published: 2024-04-02,
                  kind: official-register, url: "https://example.org/filings/acme-ventures-2024" }
            deals:
              - id: acme-mistral-2024
                parties: [acme-ventures, mistral-ai]
                facts:
                  - { id: acme-mistral-stake, type: stake, holder: acme-ventures, subject: mistral-ai, share: { exact: 1.5 },
                      valid: { from: 2024-03-15 }, sources: [ { source: acme-ventures-filing, claim: stated } ] }
            """, Encoding.UTF8, "application/yaml");
        var write = await http.PostAsync("/api/import", body);
        Assert.Equal(HttpStatusCode.OK, write.StatusCode);
        var last = JsonDocument.Parse(await write.Content.ReadAsStringAsync()).RootElement.GetProperty("lastSequence").GetInt64();

        // The live view shows the new stake by itself, confirmed (an official register states it).
        var edge = live.Edge("acme-mistral-stake");
        await Expect(edge).ToHaveCountAsync(1);
        await Expect(edge).ToHaveClassAsync(new Regex(@"\bconf-confirmed\b"));
        await Expect(edge.Locator(".edge-label")).ToHaveTextAsync("1.5 %");
        await Expect(live.Page.Locator("#live")).ToHaveAttributeAsync("data-sequence", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(await live.Page.EvaluateAsync<bool>("() => window.stillTheSamePage === true"), "the page was reloaded");
        await live.AfterAsync(() => edge.Locator(".edge-label").ClickAsync());
        var source = live.Page.Locator("#panel .sources li[data-source='acme-ventures-filing']");
        await Expect(source.Locator("a")).ToHaveAttributeAsync("href", "https://example.org/filings/acme-ventures-2024");
        await Expect(source).ToContainTextAsync("Handelsregister · published 2024-04-02 · official-register");
        await live.ScreenshotAsync("live-after-a-write");

        // The view fixed at a past moment does not change; it says that the ledger has moved on.
        await Expect(fixedView.Page.Locator("#live")).ToContainTextAsync("been recorded since you opened it");
        await Expect(fixedView.Edge("acme-mistral-stake")).ToHaveCountAsync(0);
        await Expect(fixedView.Edge(Stake)).ToHaveCountAsync(1);
        await fixedView.ScreenshotAsync("fixed-view-after-a-write");
        live.AssertNothingWentWrong();
        fixedView.AssertNothingWentWrong();
    }

    [Fact]
    public async Task after_the_api_restarts_the_live_view_resumes_after_the_last_event_it_saw_and_shows_what_it_missed()
    {
        var port = ChildProcess.FreePort();
        var (first, root) = await host.StartApiAsync(anonymousReads: true, port);
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01&around=nvidia", root);
        var resumedFrom = new List<string>();
        s.Page.Request += (_, r) =>
        {
            if (r.Url.Contains("/api/feed/stream", StringComparison.Ordinal))
            {
                resumedFrom.Add(r.Headers.GetValueOrDefault("last-event-id") ?? "");
            }
        };
        await Expect(s.Page.Locator("#live")).ToHaveAttributeAsync("data-state", "connected");
        using var http = host.Http(host.WriterKey);
        var head = JsonDocument.Parse(await http.GetStringAsync("/api/feed?after=0&limit=1")).RootElement.GetProperty("highWaterMark").GetInt64();

        // The API the page follows dies; the ledger records a stake meanwhile (through another API).
        await first.KillAsync();
        await first.DisposeAsync();
        await Expect(s.Page.Locator("#live")).ToHaveAttributeAsync("data-state", "reconnecting");
        using var body = new StringContent("""
            organizations:
              - { id: initech-partners, name: Initech Partners, kind: fund }
            sources:
              - { id: initech-register, title: Initech Partners register entry, kind: official-register }
            deals:
              - id: initech-nvidia-2024
                parties: [initech-partners, nvidia]
                facts:
                  - { id: initech-nvidia-stake, type: stake, holder: initech-partners, subject: nvidia, share: { exact: 0.5 },
                      valid: { from: 2024-01-10 }, sources: [ { source: initech-register, claim: stated } ] }
            """, Encoding.UTF8, "application/yaml");
        var write = await http.PostAsync("/api/import", body);
        Assert.Equal(HttpStatusCode.OK, write.StatusCode);
        var last = JsonDocument.Parse(await write.Content.ReadAsStringAsync()).RootElement.GetProperty("lastSequence").GetInt64();

        // Back on the same address, the page reconnects from the last event it saw and catches up.
        var (second, _) = await host.StartApiAsync(anonymousReads: true, port);
        await using var restarted = second;
        await Expect(s.Edge("initech-nvidia-stake")).ToHaveCountAsync(1, new LocatorAssertionsToHaveCountOptions { Timeout = 60_000 });
        await Expect(s.Page.Locator("#live")).ToHaveAttributeAsync("data-sequence", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains(head.ToString(System.Globalization.CultureInfo.InvariantCulture), resumedFrom);
        await s.ScreenshotAsync("live-resumed-after-restart");
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task the_keyboard_alone_selects_a_tie_escape_closes_the_answer_and_search_finds_an_alias()
    {
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01");
        var keyboard = s.Page.Keyboard;
        async Task<string?> FocusedAsync(string attribute) =>
            await s.Page.EvaluateAsync<string?>("a => document.activeElement?.getAttribute(a) ?? null", attribute);

        // Tab to the skip link and follow it into the graph.
        await keyboard.PressAsync("Tab");
        Assert.Equal("#graph", await FocusedAsync("href"));
        await keyboard.PressAsync("Enter");
        Assert.NotNull(await FocusedAsync("data-key"));
        for (var i = 0; i < 60 && await FocusedAsync("data-fact") != Stake; i++)
        {
            await keyboard.PressAsync("ArrowRight");
        }
        Assert.Equal(Stake, await FocusedAsync("data-fact"));

        await s.AfterAsync(() => keyboard.PressAsync("Enter"));
        await Expect(s.Page.Locator("#panel")).ToBeFocusedAsync();
        await Expect(s.Page.Locator("#panel .status")).ToHaveTextAsync("HELD");
        await keyboard.PressAsync("Escape");
        await Expect(s.Page.Locator("#panel")).ToBeHiddenAsync();
        Assert.Equal(Stake, await FocusedAsync("data-fact"));
        Assert.DoesNotContain("edge=", await s.AddressAsync());

        // Search by an alias ("die Schweiz"), pick it with the arrow keys.
        await s.Page.FocusAsync("#search");
        await keyboard.TypeAsync("schweiz");
        await keyboard.PressAsync("ArrowDown");
        await Expect(s.Page.Locator("#search-results [aria-selected='true']")).ToContainTextAsync("Government and public bodies of Switzerland");
        await s.AfterAsync(() => keyboard.PressAsync("Enter"));
        await Expect(s.Page.Locator("#panel h2")).ToHaveTextAsync("Government and public bodies of Switzerland");
        await Expect(s.Page.Locator("#panel")).ToContainTextAsync("die Schweiz");
        // The stake's timeline stays open (Escape closed only the answer); the address says so too.
        // The organization found is now the middle of the view.
        Assert.Equal("/?at=2024-06-01&around=gov-switzerland&pair=microsoft,mistral-ai&org=gov-switzerland&q=schweiz", await s.AddressAsync());
        await Expect(s.Page.Locator("#graph .node.centre")).ToHaveAttributeAsync("data-org", "gov-switzerland");
        await s.ScreenshotAsync("keyboard-search-by-alias");
        await keyboard.PressAsync("Escape");
        await Expect(s.Page.Locator("#panel")).ToBeHiddenAsync();
        Assert.Equal("gov-switzerland", await FocusedAsync("data-org"));
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task when_the_api_needs_a_key_the_page_asks_for_one_and_sends_it_only_in_the_header()
    {
        var (process, root) = await host.StartApiAsync(anonymousReads: false);
        await using var api = process;
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01", root, waitForView: false);
        var sent = new List<(string Url, string? Key)>();
        s.Page.Request += (_, r) => sent.Add((r.Url, r.Headers.GetValueOrDefault("x-api-key")));
        await Expect(s.Page.Locator("#key-form")).ToBeVisibleAsync();
        await Expect(s.Page.Locator("#graph-svg")).ToHaveCountAsync(0);
        await s.ScreenshotAsync("api-key-asked");
        sent.Clear();

        await s.AfterAsync(async () =>
        {
            await s.Page.FillAsync("#key", host.ReaderKey);
            await s.Page.ClickAsync("#key-form button[type=submit]");
        });

        await Expect(s.Edge(Stake)).ToHaveCountAsync(1);
        await Expect(s.Page.Locator("#key-form")).ToBeHiddenAsync();
        await Expect(s.Page.Locator("#live")).ToHaveAttributeAsync("data-state", "connected");
        Assert.Equal(host.ReaderKey, await s.Page.EvaluateAsync<string>("() => sessionStorage.getItem('dealledger.apiKey')"));
        var toApi = sent.Where(x => new Uri(x.Url).AbsolutePath.StartsWith("/api/", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(toApi);
        Assert.All(toApi, x => Assert.Equal(host.ReaderKey, x.Key));
        Assert.All(sent, x => Assert.DoesNotContain(host.ReaderKey, x.Url));
        Assert.DoesNotContain(host.ReaderKey, s.Page.Url);

        // Forgotten, the key is gone from the tab: the page asks again.
        await s.Page.ClickAsync("#forget-key");
        await Expect(s.Page.Locator("#key-form")).ToBeVisibleAsync();
        Assert.Null(await s.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('dealledger.apiKey')"));
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task the_time_control_steps_to_the_days_the_ties_change_and_redraws_without_a_reload()
    {
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01&around=mistral-ai");
        await s.Page.EvaluateAsync("() => { window.stillTheSamePage = true; }");
        await Expect(s.Edge(Stake)).ToHaveCountAsync(1);
        await Expect(s.Page.Locator("#time-date")).ToHaveTextAsync("2024-06-01");

        // Back to the day before the stake's month began: no stake, no investment, no partnership with Microsoft.
        for (var i = 0; i < 10 && await s.Edge(Stake).CountAsync() > 0; i++)
        {
            await s.AfterAsync(() => s.Page.ClickAsync("#time-earlier"));
        }

        await Expect(s.Edge(Stake)).ToHaveCountAsync(0);
        var at = await s.Page.InputValueAsync("#at");
        Assert.True(string.CompareOrdinal(at, "2024-02-01") < 0, at);
        await Expect(s.Page.Locator("#time-date")).ToHaveTextAsync(at);
        await Expect(s.Page.Locator("#graph-title")).ToHaveTextAsync($"Relationships on {at}");
        Assert.StartsWith($"/?at={at}&around=mistral-ai", await s.AddressAsync());
        Assert.True(await s.Page.EvaluateAsync<bool>("() => window.stillTheSamePage === true"), "the page was reloaded");
        await s.ScreenshotAsync("time-control-before-the-stake");

        // The keyboard moves the slider too: End is the last day any tie of Mistral AI changes.
        await s.AfterAsync(async () =>
        {
            await s.Page.FocusAsync("#time-range");
            await s.Page.Keyboard.PressAsync("End");
        });
        Assert.True(string.CompareOrdinal(await s.Page.InputValueAsync("#at"), "2024-06-01") > 0);
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task a_second_hop_on_request_draws_the_ties_of_the_neighbours_and_the_address_keeps_it()
    {
        await using var s = await PageSession.OpenAsync(host, "/?at=2025-06-01&around=nvidia");
        var first = await s.Page.Locator("#graph .node[data-hop='1']").CountAsync();
        Assert.True(first > 0);
        await Expect(s.Page.Locator("#graph .node[data-hop='2']")).ToHaveCountAsync(0);
        await s.AssertLabelsApartAsync();

        await s.AfterAsync(() => s.Page.ClickAsync("#second-hop"));

        await Expect(s.Page.Locator("#second-hop")).ToHaveAttributeAsync("aria-pressed", "true");
        Assert.NotEqual(0, await s.Page.Locator("#graph .node[data-hop='2']").CountAsync());
        Assert.Equal("/?at=2025-06-01&around=nvidia&hops=2", await s.AddressAsync());
        await s.AssertLabelsApartAsync();
        await s.ScreenshotAsync("second-hop-around-nvidia");

        // Reopened from its address, the same view.
        await using var again = await PageSession.OpenAsync(host, await s.AddressAsync());
        Assert.Equal(await s.Page.Locator("#graph").InnerHTMLAsync(), await again.Page.Locator("#graph").InnerHTMLAsync());
        s.AssertNothingWentWrong();
        again.AssertNothingWentWrong();
    }

    /// <summary>
    /// A partnership of a hub with 1,000 stakes: the hub's ties list stakes first, so the partnership is
    /// not among its first 1,000 (the API's largest page). The panel asks for that one fact.
    /// </summary>
    [Fact]
    public async Task a_partnership_of_a_hub_with_a_thousand_stakes_opens_as_in_force()
    {
        var yaml = Crowd("tie", 1000, i => $"Tie Holder {i:D4}", "fund", other => (other, "tie-hub"), 0.05m,
            "  - { id: tie-hub, name: Tie Hub, kind: company }\n  - { id: tie-partner, name: Tie Partner, kind: company }\n",
            "      - { id: tie-hub-partnership, type: partnership, parties: [tie-hub, tie-partner], scope: research, valid: { from: 2021-01-01 }, sources: [ { source: tie-register, claim: stated } ] }\n");
        var knownAt = Uri.EscapeDataString(Instant.Format((await ImportAsync(yaml)).RecordedAt));

        await using var s = await PageSession.OpenAsync(host, $"/?at=2024-06-01&knownAt={knownAt}&around=tie-hub&edge=tie-hub-partnership");

        // The partner is not drawn (20 stakes come first), so the panel finds the tie by asking for it.
        await Expect(s.Edge("tie-hub-partnership")).ToHaveCountAsync(0);
        await Expect(s.Page.Locator("#panel")).ToHaveAttributeAsync("data-kind", "partnership");
        await Expect(s.Page.Locator("#panel .explanation")).ToContainTextAsync("Partnership of Tie Hub and Tie Partner");
        await s.ScreenshotAsync("partnership-of-a-hub-with-a-thousand-stakes");
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task an_organization_shows_its_owners_through_chains_and_marks_a_chain_in_the_graph()
    {
        var yaml = """
            organizations:
              - { id: chain-top, name: Chain Top Holdings, kind: fund }
              - { id: chain-mid, name: Chain Middle GmbH, kind: company }
              - { id: chain-end, name: Chain End SA, kind: company }
            sources:
              - { id: chain-register, title: Chain register, kind: official-register }
            deals:
              - id: chain-deals
                parties: [chain-top, chain-mid, chain-end]
                facts:
                  - { id: chain-top-mid, type: stake, holder: chain-top, subject: chain-mid, share: { exact: 60 }, valid: { from: 2020-01-01 }, sources: [ { source: chain-register, claim: stated } ] }
                  - { id: chain-mid-end, type: stake, holder: chain-mid, subject: chain-end, share: { exact: 30 }, valid: { from: 2020-01-01 }, sources: [ { source: chain-register, claim: stated } ] }
                  - { id: chain-top-end-said, type: indirect-stake, holder: chain-top, subject: chain-end, share: { exact: 18 }, valid: { from: 2020-01-01 }, sources: [ { source: chain-register, claim: stated } ] }
                  - { id: chain-top-end-more, type: indirect-stake, holder: chain-top, subject: chain-end, share: { min: 50, max: 100 }, valid: { from: 2020-01-01 }, sources: [ { source: chain-register, claim: stated } ] }
            """;
        var knownAt = Uri.EscapeDataString(Instant.Format((await ImportAsync(yaml)).RecordedAt));

        await using var s = await PageSession.OpenAsync(host, $"/?at=2024-06-01&knownAt={knownAt}&around=chain-end&hops=2&org=chain-end");

        var through = s.Page.Locator("#panel .through");
        await Expect(through.Locator("h3")).ToHaveTextAsync("Owners through chains of up to 3 stakes (2)");
        await Expect(through.Locator("li[data-owner='chain-mid']")).ToContainTextAsync("30 % through chains, 30 % directly");
        var top = through.Locator("li[data-owner='chain-top']");
        await Expect(top).ToContainTextAsync("18 % through chains; ultimate owner");
        // Stated indirect stakes: set against the chains, the one they do not allow marked.
        await Expect(through.Locator("h4")).ToHaveTextAsync("Stated to hold it indirectly (2)");
        await Expect(through.Locator(".stated-list li[data-fact='chain-top-end-said']")).ToHaveTextAsync("Chain Top Holdings — 18 % stated; the chains of stakes give 18 %");
        var flagged = through.Locator(".stated-list li.flagged");
        await Expect(flagged).ToHaveAttributeAsync("data-fact", "chain-top-end-more");
        await Expect(flagged).ToContainTextAsync(": the chains do not allow what is stated");
        await top.Locator("button").ClickAsync();

        await Expect(s.Page.Locator("#graph .node.on-chain")).ToHaveCountAsync(3);
        await Expect(s.Page.Locator("#graph .link.on-chain")).ToHaveCountAsync(2);
        await Expect(s.Edge("chain-mid-end")).ToHaveClassAsync(new Regex(@"\bon-chain\b"));
        await Expect(through.Locator(".chain-note")).ToHaveTextAsync("Chain marked in the graph: 3 of its 3 organizations are drawn in this view.");
        await s.AssertWcagAsync();
        await s.ScreenshotAsync("owners-through-chains");
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task labels_never_lie_on_each_other_or_on_an_organization()
    {
        await using var s = await PageSession.OpenAsync(host, "/?at=2024-06-01&around=mistral-ai&hops=2");
        await s.AssertLabelsApartAsync();
        await s.ScreenshotAsync("labels-apart-around-mistral-ai");
        s.AssertNothingWentWrong();

        // The seeds leave every label room. 40 long names on the second hop, all through one neighbour,
        // sit 60 px apart on their ring, nearer than their labels are wide: not every one has room.
        var crowd = Crowd("crowd", 40, i => $"Crowded Company {i:D2} International Investment Partners", "company", other => ("crowd-hub", other), 1m,
            "  - { id: crowd-centre, name: Crowd Centre, kind: company }\n  - { id: crowd-hub, name: Crowd Hub, kind: fund }\n",
            "      - { id: crowd-hub-stake, type: stake, holder: crowd-hub, subject: crowd-centre, share: { exact: 10 }, valid: { from: 2020-01-01 }, sources: [ { source: crowd-register, claim: stated } ] }\n");
        var knownAt = Uri.EscapeDataString(Instant.Format((await ImportAsync(crowd)).RecordedAt));
        await using var crowded = await PageSession.OpenAsync(host, $"/?at=2024-06-01&knownAt={knownAt}&around=crowd-centre&hops=2&shown=40");
        await crowded.AssertLabelsApartAsync();
        // A label that found no room is shown whole when its organization has the focus. If every label
        // had room, this would check nothing: that fails, rather than passing silently.
        var hidden = crowded.Page.Locator("#graph .node:has(.node-label.label-hidden)");
        Assert.True(await hidden.CountAsync() > 0, "no label is hidden among 40 long names on the second hop: the view no longer exercises labels shown on focus");
        await hidden.First.FocusAsync();
        await Expect(hidden.First.Locator(".node-label")).ToBeVisibleAsync();
        await crowded.ScreenshotAsync("labels-apart-in-a-crowd");
        crowded.AssertNothingWentWrong();
    }

    [Fact]
    public async Task the_page_with_an_answer_and_a_timeline_open_meets_wcag_2_aa()
    {
        await using var s = await PageSession.OpenAsync(host, $"/?at=2024-06-01&edge={Stake}&pair=microsoft,mistral-ai");
        await Expect(s.Page.Locator("#timeline .period")).Not.ToHaveCountAsync(0);

        await s.AssertWcagAsync();
        s.AssertNothingWentWrong();
    }

    [Fact]
    public async Task the_page_is_served_offline_from_the_api_and_every_other_address_still_answers()
    {
        using var http = host.Http();
        var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("http", string.Concat(Regex.Matches(html, @"(?:src|href)=""([^""]*)""").Select(m => m.Groups[1].Value)));
        foreach (var asset in new[] { "app.js", "api.js", "dom.js", "graph.js", "live.js", "panel.js", "timeline.js", "words.js" })
        {
            var response = await http.GetAsync(asset);
            Assert.True(response.StatusCode == HttpStatusCode.OK, asset);
            Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal("text/css", (await http.GetAsync("page.css")).Content.Headers.ContentType?.MediaType);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/reference")).StatusCode);
        Assert.Contains("\"paths\"", await http.GetStringAsync("/openapi/v1.json"));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/graph?at=2024-06-01")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/no-such-page.js")).StatusCode);
    }
}
