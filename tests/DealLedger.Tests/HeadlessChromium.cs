using Microsoft.Playwright;

namespace DealLedger.Tests;

/// <summary>
/// Debian's headless Chromium driven by Playwright — never a browser Playwright downloads: the one
/// eng/browser installs (eng/test runs it), at DEALLEDGER_CHROMIUM or /usr/bin/chromium. When it is
/// missing every browser test fails with one clear line; none is skipped.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    /// <summary>What Chromium needs to run headless as root here; Playwright adds a new, empty --user-data-dir of its own.</summary>
    public static readonly string[] Flags =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    private readonly IPlaywright playwright;

    private HeadlessChromium(IPlaywright playwright, IBrowser browser)
    {
        this.playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("DEALLEDGER_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static async Task<HeadlessChromium> LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"no headless Chromium at {ExecutablePath}: the browser tests need Debian's packages 'chromium' and 'chromium-driver'. " +
                "Run eng/browser (eng/test does) or set DEALLEDGER_CHROMIUM to a Chromium executable.");
        }
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                ChromiumSandbox = false,
                Args = Flags,
                Timeout = 60_000,
            });
            return new HeadlessChromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.CloseAsync();
        playwright.Dispose();
    }
}
