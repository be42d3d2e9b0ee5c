using DealLedger.Access;
using DealLedger.Holdings;
using DealLedger.Time;

namespace DealLedger.Api;

/// <summary>Holdings endpoints: parse, call the core's query (the same the CLI calls), return its answer.</summary>
public static class Holdings
{
    public static void Map(RouteGroupBuilder api)
    {
        var holdings = api.MapGroup("/holdings").RequireAuthorization(nameof(Role.Reader)).WithTags("Holdings");
        holdings.MapGet("/{holder}/{subject}", (Ledger ledger, string holder, string subject, string? at, string? knownAt, CancellationToken ct) =>
                ledger.HoldingAsync(holder, subject, QueryArguments.Day(at, "at"), QueryArguments.KnownAt(knownAt, "knownAt"), ct))
            .WithSummary("What was HOLDER's stake in SUBJECT on a date, and how do we know? (DESIGN §4)");
        holdings.MapGet("/{holder}/{subject}/history", (Ledger ledger, string holder, string subject, string? knownAt, CancellationToken ct) =>
                ledger.HistoryAsync(holder, subject, QueryArguments.KnownAt(knownAt, "knownAt"), ct))
            .WithSummary("Every period of HOLDER's stake in SUBJECT over valid time, with sources, basis and corrections");
    }
}
