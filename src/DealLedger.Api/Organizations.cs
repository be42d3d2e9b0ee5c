using DealLedger.Access;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Time;

namespace DealLedger.Api;

/// <summary>
/// Organization and graph endpoints over the core's relationship queries. Every list is a page
/// (limit, after; the answer's page.next is the after of the next one), bounded when the caller does not say.
/// </summary>
public static class Organizations
{
    public static void Map(RouteGroupBuilder api)
    {
        var reader = api.MapGroup("").RequireAuthorization(nameof(Role.Reader)).WithTags("Organizations");
        reader.MapGet("/organizations", (Ledger ledger, string? q, string? knownAt, string? limit, string? after, CancellationToken ct) =>
                ledger.SearchOrganizationsAsync(q, QueryArguments.KnownAt(knownAt, "knownAt"),
                    PageRequest.Parse(limit, after, OrganizationSearch.DefaultLimit, OrganizationSearch.MaxLimit), ct))
            .WithSummary($"Organizations whose name, alias or id contains q (case-insensitive), names beginning with it first; {OrganizationSearch.DefaultLimit} a page unless limit says (at most {OrganizationSearch.MaxLimit})");
        reader.MapGet("/organizations/{organization}/relationships", (Ledger ledger, string organization, string? at, string? knownAt, string? limit, string? after, string? fact, CancellationToken ct) =>
                ledger.RelationshipsAsync(organization, QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"),
                    PageRequest.Parse(limit, after, RelationshipsQuery.DefaultLimit, RelationshipsQuery.MaxLimit), QueryArguments.Id(fact, "fact"), ct))
            .WithSummary($"An organization's profile and its relationships of every kind on a date, incoming and outgoing; {RelationshipsQuery.DefaultLimit} a page unless limit says (at most {RelationshipsQuery.MaxLimit}); " +
                "fact=ID gives only that fact's tie (none when it is not in force then)");
        reader.MapGet("/organizations/{organization}/owners", (Ledger ledger, string organization, string? at, string? knownAt, string? limit, string? after, CancellationToken ct) =>
                ledger.OwnersAsync(organization, QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"),
                    PageRequest.Parse(limit, after, OwnersPaging.DefaultLimit, OwnersPaging.MaxLimit), ct))
            .WithSummary($"Who held stakes in an organization on a date (a page of them) and the bounds of what all of them held together; {OwnersPaging.DefaultLimit} a page unless limit says");
        reader.MapGet("/graph", (Ledger ledger, string? around, string? hops, string? at, string? knownAt, string? limit, string? after, CancellationToken ct) =>
                ledger.GraphAsync(QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"), GraphRequest.Parse(around, hops, limit, after), ct))
            .WithSummary($"The relationship graph on a date, a bounded part at a time: around=ORG&hops=1|2 gives an organization's neighbourhood " +
                $"({GraphQuery.DefaultLimit} neighbours a page unless limit says, at most {GraphQuery.MaxLimit}; the rest counted in rest); without around, a page of organizations " +
                $"in id order ({GraphQuery.WholeDefaultLimit} unless limit says) with the ties they start; page.next is the after of the next page (ask it with the answer's knownAt)");
    }
}
