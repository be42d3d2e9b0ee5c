using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Deals;

/// <summary>A fact as the ledger holds it now: its values after corrections, what touched it, and its version (for If-Match).</summary>
public static class FactQuery
{
    public static Task<FactState> FactAsync(this Ledger ledger, string id, CancellationToken ct = default) =>
        ledger.ReadAsync(null, async (c, _, token) =>
            await FactVersions.CurrentAsync(c, QueryArguments.Id(id, "fact"), token)
                ?? throw new LedgerException(LedgerErrorKind.NotFound, $"unknown fact '{id}'") { Field = "fact" }, ct);
}
