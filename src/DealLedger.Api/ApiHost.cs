using DealLedger.Access;
using DealLedger.Feed;
using Wolverine;
using Wolverine.Runtime;
using DealLedger.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Scalar.AspNetCore;

namespace DealLedger.Api;

/// <summary>
/// The API host's wiring in one place: configuration, the ledger, JSON, errors, access, OpenAPI,
/// health and limits. Endpoints live beside the capability they serve (Holdings, Feed, …).
/// </summary>
public static class ApiHost
{
    /// <summary>Bodies above this are refused with 413 (imports: <see cref="Writing.MaxDocumentBytes"/>).</summary>
    public const long MaxRequestBytes = 4 * 1024 * 1024;

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var connection = builder.Configuration.GetConnectionString("DealLedger");
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw new InvalidOperationException($"no database: set {LedgerStore.EnvironmentVariable}");
        }
        builder.Services.AddSingleton(s =>
        {
            var ledger = Ledger.Connect(connection);
            ledger.PublishThroughOutbox(s.GetRequiredService<IWolverineRuntime>(), builder.Configuration.GetValue<bool>("DealLedger:Testing:CrashAfterCommit"));
            return ledger;
        });
        builder.Host.UseWolverine(o => LedgerMessaging.Configure(o, connection, "dealledger-api"));
        builder.Services.AddSingleton<LogSignal>();
        builder.Services.AddHostedService(s => s.GetRequiredService<LogSignal>());
        builder.Services.AddHostedService<Sealing>();
        builder.Services.ConfigureHttpJsonOptions(o => LedgerJson.Configure(o.SerializerOptions));
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<Problems>();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxRequestBytes);

        builder.Services.Configure<AccessOptions>(builder.Configuration.GetSection("DealLedger"));
        builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        builder.Services.AddSingleton<IAuthorizationHandler, RoleRequirement.Handler>();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(nameof(Role.Reader), p => p.AddRequirements(new RoleRequirement(Role.Reader)))
            .AddPolicy(nameof(Role.Writer), p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(Role.Writer)))
            .AddPolicy(nameof(Role.Admin), p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(Role.Admin)));

        builder.Services.AddOpenApi(o => o.AddDocumentTransformer<ApiKeyAuthentication.OpenApiScheme>());
        builder.Services.AddHealthChecks().AddCheck<Readiness>("ledger", tags: ["ready"]);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        Page.Map(app);
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapOpenApi();
        app.MapScalarApiReference("/reference", o => o.WithTitle("DealLedger API"));
        Readiness.Map(app);

        var api = app.MapGroup("/api");
        Holdings.Map(api);
        Organizations.Map(api);
        Events.Map(api);
        Writing.Map(api);
        Keys.Map(api);
        return app;
    }
}
