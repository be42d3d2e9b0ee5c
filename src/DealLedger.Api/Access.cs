using System.Security.Claims;
using System.Text.Encodings.Web;
using DealLedger.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace DealLedger.Api;

/// <summary>Configuration (section DealLedger): anonymous reads are off unless an operator turns them on.</summary>
public sealed class AccessOptions
{
    public bool AnonymousReads { get; set; }
}

/// <summary>
/// API keys sent in the X-Api-Key header. A request without a key is anonymous; an unknown or
/// revoked key is refused (401) rather than treated as anonymous, so a typo never silently downgrades.
/// </summary>
public sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Ledger ledger, ApiKeyCache keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "X-Api-Key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Header, out var values))
        {
            return AuthenticateResult.NoResult();
        }
        if (await keys.AuthenticateAsync(ledger, values.ToString(), Context.RequestAborted) is not { } key)
        {
            return AuthenticateResult.Fail("unknown or revoked API key");
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, key.Name), new Claim(ClaimTypes.Role, key.Role.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "Unauthorized",
            Request.Headers.ContainsKey(Header)
                ? "The API key is unknown or revoked."
                : $"This needs an API key in the {Header} header.");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.WriteAsync(Context, StatusCodes.Status403Forbidden, "Forbidden",
            $"The key '{Context.User.Identity?.Name}' may not do this: it needs the role '{Context.Items[RoleRequirement.Needed]}'.");

    /// <summary>The key's name as its writes are recorded ("key:NAME").</summary>
    public static string WriterOf(HttpContext context) => ApiKeys.WriterName(context.User.Identity!.Name!);

    /// <summary>Declares the header in the OpenAPI document so the reference UI can send it.</summary>
    public sealed class OpenApiScheme : IOpenApiDocumentTransformer
    {
        public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = Header,
                Description = "An API key (dealledger keys create --name N --role reader|writer|admin).",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, document)] = [] });
            return Task.CompletedTask;
        }
    }
}

/// <summary>A role at least this high; reads also pass anonymously when configured.</summary>
public sealed record RoleRequirement(Role Role) : IAuthorizationRequirement
{
    public const string Needed = "dealledger.role-needed";

    public sealed class Handler(IOptionsMonitor<AccessOptions> access) : AuthorizationHandler<RoleRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RoleRequirement requirement)
        {
            if (context.Resource is HttpContext h)
            {
                h.Items[Needed] = ApiKeysWord(requirement.Role);
            }
            var role = context.User.FindFirst(ClaimTypes.Role)?.Value;
            // A request that sent a key which failed is not anonymous: anonymous reads must not
            // answer a mistyped or revoked key as if it were fine.
            var sentKey = context.Resource is HttpContext { Request.Headers: var headers } && headers.ContainsKey(ApiKeyAuthentication.Header);
            var allowed = role is not null
                ? Enum.Parse<Role>(role).Allows(requirement.Role)
                : requirement.Role == Role.Reader && access.CurrentValue.AnonymousReads && !sentKey;
            if (allowed)
            {
                context.Succeed(requirement);
            }
            return Task.CompletedTask;
        }

        private static string ApiKeysWord(Role r) => DealLedger.Storage.LedgerJson.Word(r);
    }
}
