using System.Diagnostics;

namespace DealLedger.Tests;

/// <summary>
/// The API as a child process over one database, always on the same port: started (and waited for
/// until /health/ready answers), killed with SIGKILL, started again, and killed on dispose.
/// </summary>
/// <param name="settings">More of the API's settings (environment variables), for what a test is about.</param>
public sealed class ApiProcess(string connectionString, string name = "api", IReadOnlyDictionary<string, string?>? settings = null) : IAsyncDisposable
{
    public Uri Url { get; } = new($"http://127.0.0.1:{ChildProcess.FreePort()}/");

    /// <summary>The running process, if any.</summary>
    public ChildProcess? Process { get; private set; }

    /// <summary>How long each start took, until ready.</summary>
    public List<TimeSpan> Starts { get; } = [];

    /// <summary>Starts it unless it runs; returns when it is ready.</summary>
    public async Task<ChildProcess> StartAsync()
    {
        if (Process is not null)
        {
            return Process;
        }
        var started = Stopwatch.StartNew();
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__DealLedger"] = connectionString,
            ["ASPNETCORE_URLS"] = Url.AbsoluteUri.TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
            // While the database is down, Wolverine's and the health checks' retries would fill the log tail
            // a failing test shows; the API's own errors (a 500's exception) must stay in it.
            ["Logging__LogLevel__Wolverine"] = "None",
            ["Logging__LogLevel__JasperFx"] = "None",
            ["Logging__LogLevel__Microsoft.Extensions.Diagnostics.HealthChecks"] = "None",
            // The fault tests read and write as fast as they can with one key; admission is RateLimitTests' subject.
            ["DealLedger__RateLimit__PermitsPerSecond"] = "0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }
        Process = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Api"), [], environment, $"{name}#{Starts.Count + 1}");
        await Process.WaitForHttpAsync(new Uri(Url, "health/ready"), TimeSpan.FromSeconds(60));
        Starts.Add(started.Elapsed);
        return Process;
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (Process is { } p)
        {
            Process = null;
            await p.DisposeAsync();
        }
    }

    /// <summary>A client of this API sending <paramref name="key"/>.</summary>
    public HttpClient Client(string key, TimeSpan timeout)
    {
        var http = new HttpClient { BaseAddress = Url, Timeout = timeout };
        http.DefaultRequestHeaders.Add("X-Api-Key", key);
        return http;
    }

    public ValueTask DisposeAsync() => new(KillAsync());
}
