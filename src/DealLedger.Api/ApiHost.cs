using System.Reflection;
using DealLedger.Access;
using DealLedger.Feed;
using DealLedger.Subscriptions;
using Wolverine;
using Wolverine.Runtime;
using DealLedger.Storage;
using DealLedger.Time;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Scalar.AspNetCore;

namespace DealLedger.Api;

/// <summary>
/// The API host's wiring in one place: configuration, the ledger, JSON, errors, access, rate limits,
/// CORS, OpenAPI, health and limits. Endpoints live beside the capability they serve (Holdings, Feed, …).
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
        // "Today" (the default `at`) comes from the host's TimeProvider: the system clock, in UTC.
        builder.Services.TryAddSingleton(TimeProvider.System);
        // Hot standbys for reads: DealLedger:Replicas (one connection string, or a list), or the other hosts of a multi-host
        // connection string; checked here, so a bad setting stops the start-up with its reason.
        var replicaSetting = builder.Configuration.GetSection("DealLedger:Replicas");
        var replicas = Replicas.Of(connection, replicaSetting.Value is { Length: > 0 } one ? [one] : replicaSetting.Get<string[]>(),
            builder.Configuration.GetValue<TimeSpan?>("DealLedger:ReplicaWait"));
        // The currencies amounts are also given in: DealLedger:Currencies ("EUR,USD", or a list); checked here, as the replicas are.
        var currencySetting = builder.Configuration.GetSection("DealLedger:Currencies");
        var currencies = currencySetting.Value is { } list ? Ledger.CheckCurrencies(list.Split(','))
            : currencySetting.Get<string[]>() is { } many ? Ledger.CheckCurrencies(many) : null;
        builder.Services.AddSingleton(s =>
        {
            var ledger = Ledger.Connect(connection, clock: s.GetRequiredService<TimeProvider>(), replicas: replicas, currencies: currencies);
            ledger.PublishThroughOutbox(s.GetRequiredService<IWolverineRuntime>(),
                builder.Configuration.GetValue<bool>("DealLedger:Testing:CrashAfterCommit"), builder.Configuration.GetValue<bool>("DealLedger:Testing:HoldOutbox"),
                builder.Configuration.GetValue<bool>("DealLedger:Testing:LoseCommitReply"));
            return ledger;
        });
        var webhooks = (builder.Configuration.GetSection("DealLedger:Webhooks").Get<WebhookOptions>() ?? new WebhookOptions()).Checked();
        builder.Services.AddSingleton(webhooks);
        builder.Services.AddSingleton(s => new Webhooks(s.GetRequiredService<Ledger>(), webhooks));
        builder.Services.AddHostedService<WebhookSweep>();
        Telemetry.Add(builder);
        builder.Host.UseWolverine(o =>
        {
            LedgerMessaging.Configure(o, connection, "dealledger-api", typeof(ApiHost).Assembly, typeof(WebhookDueHandler));
            LedgerMessaging.DeliverWebhooks(o);
        });
        builder.Services.AddSingleton<ApiKeyCache>();
        builder.Services.AddSingleton<LogSignal>();
        builder.Services.AddHostedService(s => s.GetRequiredService<LogSignal>());
        builder.Services.AddHostedService<Sealing>();
        builder.Services.ConfigureHttpJsonOptions(o => LedgerJson.Configure(o.SerializerOptions));
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.Describe);
        builder.Services.AddExceptionHandler<Problems>();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxRequestBytes);

        builder.Services.Configure<AccessOptions>(builder.Configuration.GetSection("DealLedger"));
        builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        builder.Services.AddSingleton<IAuthorizationHandler, RoleRequirement.Handler>();
        RateLimits.Add(builder.Services, builder.Configuration.GetSection("DealLedger:RateLimit").Get<RateLimitOptions>() ?? new());
        var crossOrigin = CrossOrigin.Add(builder.Services, CrossOrigin.Origins(builder.Configuration));
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(nameof(Role.Reader), p => p.AddRequirements(new RoleRequirement(Role.Reader)))
            .AddPolicy(nameof(Role.Writer), p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(Role.Writer)))
            .AddPolicy(nameof(Role.Admin), p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(Role.Admin)));

        builder.Services.AddOpenApi(o => o.AddDocumentTransformer<ApiKeyAuthentication.OpenApiScheme>().AddSchemaTransformer<FactSchema>());
        var health = builder.Services.AddHealthChecks().AddCheck<Readiness>("ledger", tags: ["ready"]);
        if (replicas is not null)
        {
            health.AddCheck<Readiness.OfReplicas>("replicas", tags: ["ready"]);
        }

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        if (crossOrigin)
        {
            // Before authentication: a browser's preflight carries no key.
            app.UseCors();
        }
        Page.Map(app);
        app.UseAuthentication();
        // After authentication (buckets are per key), before authorization (refusals count too).
        app.UseRateLimiter();
        app.UseAuthorization();

        Telemetry.Map(app);
        app.MapOpenApi();
        app.MapScalarApiReference("/reference", o => o.WithTitle("DealLedger API"));
        Readiness.Map(app);

        var api = app.MapGroup("/api");
        api.AddEndpointFilter(RefuseUnknownQueryParameters);
        Holdings.Map(api);
        Organizations.Map(api);
        Changes.Map(api);
        Events.Map(api);
        Writing.Map(api);
        Keys.Map(api);
        Subscriptions.Map(api);
        return app;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<MethodInfo, List<string>> QueryParameters = new();

    /// <summary>
    /// A query parameter the route does not take is refused, as an unknown field of a document is:
    /// a misspelled knownAt must not silently answer as of now.
    /// </summary>
    private static ValueTask<object?> RefuseUnknownQueryParameters(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.Request.Query.Count > 0 && http.GetEndpoint() is RouteEndpoint { Metadata: var metadata } endpoint && metadata.GetMetadata<MethodInfo>() is { } handler)
        {
            // Read once per route, not per request: reflection on the hot path of every query.
            var taken = QueryParameters.GetOrAdd(handler, h => h.GetParameters()
                .Where(p => p.ParameterType == typeof(string) && endpoint.RoutePattern.GetParameter(p.Name!) is null && p.GetCustomAttribute<Microsoft.AspNetCore.Mvc.FromHeaderAttribute>() is null)
                .Select(p => p.Name!).ToList());
            if (http.Request.Query.Keys.FirstOrDefault(k => !taken.Contains(k, StringComparer.OrdinalIgnoreCase)) is { } unknown)
            {
                var allowed = taken.Count == 0 ? "this route takes none" : $"this route takes: {string.Join(", ", taken)}";
                throw new LedgerException(LedgerErrorKind.InvalidInput, $"unknown query parameter '{QueryArguments.Shown(unknown)}' ({allowed})") { Field = unknown };
            }
        }
        return next(context);
    }
}
