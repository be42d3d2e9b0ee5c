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
        // The body is read as text and checked by the core, like every write's: a wrong type or an unknown field gets a precise 400.
        admin.MapPost("", async (Ledger ledger, HttpContext h, CancellationToken ct) =>
            {
                var (name, role) = ApiKeys.ReadKeyRequest("body.json", await Writing.BodyAsync(h, Writing.MaxEntryBytes, ct));
                return TypedResults.Created($"/api/keys/{name}", await ledger.CreateKeyAsync(name, role, ApiKeyAuthentication.WriterOf(h), ct));
            })
            .WithSummary("Create a key: { name, role: reader|writer|admin }; the answer shows its secret, once").Accepts<NewKey>("application/json");
        admin.MapDelete("/{name}", async (Ledger ledger, ApiKeyCache cache, string name, CancellationToken ct) =>
            {
                var revoked = await ledger.RevokeKeyAsync(name, ct);
                // This node forgets it now; the others when the revocation's NOTIFY reaches them (within a second).
                cache.Forget(name);
                return revoked;
            })
            .WithSummary("Revoke a key: it stops working at once");
    }
}
