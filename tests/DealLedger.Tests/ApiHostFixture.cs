using System.Net.Http.Headers;
using DealLedger.Access;
using DealLedger.Auditing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace DealLedger.Tests;

/// <summary>The API hosted in process over a database of its own, with the seeds (unless made <see cref="EmptyAsync"/>) and one key of each role.</summary>
public sealed class ApiHostFixture : IAsyncLifetime, IAsyncDisposable
{
    private readonly TestDatabase db = new();
    private readonly bool seeded;
    private readonly IReadOnlyDictionary<string, string>? settings;
    private WebApplicationFactory<Program> api = null!;

    public ApiHostFixture() : this(seeded: true)
    {
    }

    private ApiHostFixture(bool seeded, IReadOnlyDictionary<string, string>? settings = null) => (this.seeded, this.settings) = (seeded, settings);

    /// <summary>The API over an empty ledger of its own, for one test.</summary>
    /// <param name="settings">More configuration for its host (e.g. DealLedger:RateLimit:PermitsPerSecond).</param>
    public static async Task<ApiHostFixture> EmptyAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var fixture = new ApiHostFixture(seeded: false, settings);
        await fixture.InitializeAsync();
        return fixture;
    }

    public Ledger Ledger { get; private set; } = null!;
    public string ConnectionString => db.ConnectionString;
    public TestDatabase Database => db;
    public DateTimeOffset Seeded { get; private set; }
    public Dictionary<Role, string> Keys { get; } = [];

    public async Task InitializeAsync()
    {
        await db.InitializeAsync();
        Ledger = db.Connect();
        Seeded = seeded ? (await Seeds.LoadAsync(Ledger)).RecordedAt!.Value : default;
        foreach (var role in Enum.GetValues<Role>())
        {
            Keys[role] = (await Ledger.CreateKeyAsync($"test-{Storage.LedgerJson.Word(role)}", role, "tests")).Key;
        }
        // The host seals in the background; sealed now, the seeds cannot change the seals under a test's fingerprint.
        await Ledger.SealAsync();
        api = Host(anonymousReads: false, settings);
    }

    /// <param name="settings">More configuration (e.g. DealLedger:RateLimit:Burst), and the connection string to use instead of the owner's.</param>
    /// <param name="clock">The host's TimeProvider ("today"), instead of the system clock.</param>
    public WebApplicationFactory<Program> Host(bool anonymousReads, IReadOnlyDictionary<string, string>? settings = null, TimeProvider? clock = null) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("ConnectionStrings:DealLedger", db.ConnectionString)
             .UseSetting("DealLedger:AnonymousReads", anonymousReads ? "true" : "false");
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                b.UseSetting(key, value);
            }
            b.ConfigureTestServices(s =>
            {
                if (clock is not null)
                {
                    s.AddSingleton(clock);
                }
            });
        });

    /// <summary>A client sending the key of <paramref name="role"/>, or no key.</summary>
    public HttpClient Client(Role? role = null, string? key = null)
    {
        var client = api.CreateClient();
        if ((key ?? (role is { } r ? Keys[r] : null)) is { } k)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", k);
        }
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    public IServiceProvider Services => api.Services;

    /// <summary>A fingerprint of everything the ledger stores (<see cref="TestDatabase.FingerprintAsync"/>).</summary>
    public Task<string> FingerprintAsync() => db.FingerprintAsync();

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public async Task DisposeAsync()
    {
        await api.DisposeAsync();
        await Ledger.DisposeAsync();
        await db.DisposeAsync();
    }
}
