using DealLedger.Access;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Time;

namespace DealLedger.Api;

/// <summary>Organization and graph endpoints over the core's relationship queries.</summary>
public static class Organizations
{
    public static void Map(RouteGroupBuilder api)
    {
        var reader = api.MapGroup("").RequireAuthorization(nameof(Role.Reader)).WithTags("Organizations");
        reader.MapGet("/organizations/{organization}/relationships", (Ledger ledger, string organization, string? at, string? knownAt, CancellationToken ct) =>
                ledger.RelationshipsAsync(organization, QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"), ct))
            .WithSummary("An organization's profile and its relationships of every kind on a date, incoming and outgoing");
        reader.MapGet("/organizations/{organization}/owners", (Ledger ledger, string organization, string? at, string? knownAt, CancellationToken ct) =>
                ledger.OwnersAsync(organization, QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"), ct))
            .WithSummary("Who held stakes in an organization on a date, and the bounds of their known total");
        reader.MapGet("/graph", (Ledger ledger, string? at, string? knownAt, CancellationToken ct) =>
                ledger.GraphAsync(QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"), ct))
            .WithSummary("The whole relationship graph on a date, for visual front ends");
    }
}
