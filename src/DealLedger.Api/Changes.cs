using DealLedger.Access;
using DealLedger.Changes;

namespace DealLedger.Api;

/// <summary>The "what changed" endpoint: parse, call the core's query (the one the CLI calls), return its answer.</summary>
public static class Changes
{
    public static void Map(RouteGroupBuilder api)
    {
        var reader = api.MapGroup("").RequireAuthorization(nameof(Role.Reader)).WithTags("Changes");
        reader.MapGet("/changes", (Ledger ledger, string? knownFrom, string? knownTo, string? at, string? toAt, string? knownAt, string? org, string? limit, string? after,
                CancellationToken ct) => ledger.ChangesAsync(ChangesRequest.Parse(knownFrom, knownTo, at, toAt, knownAt, org, limit, after, cli: false), ct))
            .WithSummary("What changed (DESIGN §12). knownFrom=T1[&knownTo=T2]: every pair and tie whose answer as known at T2 (default now) differs from the answer as known at T1 " +
                "(on the date at, or over the whole history), before and after, what kind of change, and the events recorded in between that caused it, with their sources. " +
                "at=D1&toAt=D2[&knownAt=T]: every pair and tie that started, ended or changed between the two dates, as known at T. org=ID narrows both; " +
                $"a page looks at {ChangesRequest.DefaultLimit} pairs and ties unless limit says (at most {ChangesRequest.MaxLimit}): limit counts those looked at, not those listed, " +
                "so a page may list fewer (even none) and still have a next; page.next is the after of the next page, asked with the same knownTo or knownAt the answer echoes");
    }
}
