using DealLedger.Access;
using DealLedger.Amounts;
using DealLedger.Holdings;
using DealLedger.Ownership;
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
        reader.MapGet("/organizations/{organization}/owners", async Task<object> (Ledger ledger, string organization, string? at, string? knownAt, string? limit, string? after,
                string? through, string? depth, string? threshold, CancellationToken ct) =>
                LookThroughRequest.Parse(QueryArguments.Flag(through, "through"), depth, threshold) is { } request
                    ? limit is null && after is null
                        ? await ledger.OwnersThroughAsync(organization, QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"), request, ct)
                        : throw LedgerException.Invalid("limit and after page the direct owners: an answer with through=true is whole")
                    : await ledger.OwnersAsync(organization, QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"),
                        PageRequest.Parse(limit, after, OwnersPaging.DefaultLimit, OwnersPaging.MaxLimit), ct))
            .Produces<OwnersPageAnswer>().Produces<LookThroughAnswer>()
            .WithSummary($"Who held stakes in an organization on a date (a page of them) and the bounds of what all of them held together; {OwnersPaging.DefaultLimit} a page unless limit says. " +
                $"through=true: who held it directly or through chains of stakes (at most depth, 1–{LookThroughRequest.MaxDepth}, default {LookThroughRequest.DefaultDepth}), " +
                "each with its look-through share, chains and sources; threshold=25 splits them into certainly at or above, possibly, below");
        reader.MapGet("/organizations/{organization}/holdings", (Ledger ledger, string organization, string? at, string? knownAt, string? through, string? depth, string? threshold, CancellationToken ct) =>
                ledger.HoldingsThroughAsync(organization, QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"),
                    LookThroughRequest.Parse(QueryArguments.Flag(through, "through"), depth, threshold) ?? new LookThroughRequest(Depth: 1), ct))
            .WithSummary("What an organization held on a date, each stake with its share and sources; through=true: what it held through chains of stakes, with the same shape as owners?through=true");
        reader.MapGet("/organizations/{organization}/investments", (Ledger ledger, string organization, string? from, string? to, string? knownAt, CancellationToken ct) =>
                ledger.InvestmentsAsync(organization, QueryArguments.Day(from, "from"), QueryArguments.Day(to, "to"), QueryArguments.KnownAt(knownAt, "knownAt"), ct))
            .WithSummary("The investments an organization made dated in [from, to) (either may be left out), each with its amount as stated and converted into the ledger's " +
                "currencies by the rates recorded (with the rate and its source, or why not), and what they add up to in each: surely, perhaps, and what is not counted");
        reader.MapGet("/graph", (Ledger ledger, string? around, string? hops, string? at, string? knownAt, string? limit, string? after, CancellationToken ct) =>
                ledger.GraphAsync(QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"), GraphRequest.Parse(around, hops, limit, after), ct))
            .WithSummary($"The relationship graph on a date, a bounded part at a time: around=ORG&hops=1|2 gives an organization's neighbourhood " +
                $"({GraphQuery.DefaultLimit} neighbours a page unless limit says, at most {GraphQuery.MaxLimit}; the rest counted in rest); without around, a page of organizations " +
                $"in id order ({GraphQuery.WholeDefaultLimit} unless limit says) with the ties they start; page.next is the after of the next page (ask it with the answer's knownAt)");
    }
}
