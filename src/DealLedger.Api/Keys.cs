using DealLedger.Access;

namespace DealLedger.Api;

/// <summary>API key administration (admin role). The CLI's `keys` verbs do the same on the database directly.</summary>
public static class Keys
{
    public sealed record NewKey(string Name, string Role);

    public static void Map(RouteGroupBuilder api)
    {
        var admin = api.MapGroup("/keys").RequireAuthorization(nameof(Role.Admin)).WithTags("Access");
        admin.MapGet("", (Ledger ledger, CancellationToken ct) => ledger.KeysAsync(ct)).WithSummary("The API keys (never their secrets)");
        admin.MapPost("", async (Ledger ledger, NewKey body, HttpContext h, CancellationToken ct) =>
                TypedResults.Created($"/api/keys/{body.Name}", await ledger.CreateKeyAsync(body.Name, ApiKeys.ParseRole(body.Role), ApiKeyAuthentication.WriterOf(h), ct)))
            .WithSummary("Create a key: { name, role: reader|writer|admin }; the answer shows its secret, once");
        admin.MapDelete("/{name}", (Ledger ledger, string name, CancellationToken ct) => ledger.RevokeKeyAsync(name, ct))
            .WithSummary("Revoke a key: it stops working at once");
    }
}
