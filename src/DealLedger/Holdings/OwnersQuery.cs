using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Organizations;
using DealLedger.Time;

namespace DealLedger.Holdings;

public sealed record Owner(string Holder, string Name, HoldingStatus Status, Share? Share, DateWithPrecision? Since, Confidence? Confidence, IReadOnlyList<SourceCitation> Sources);

/// <summary>The known owners' combined share: at least the sum of the held lower bounds, at most the sum of all upper bounds (capped at 100).</summary>
public sealed record OwnedTotal(decimal Min, decimal Max, string Explanation);

public sealed record OwnersAnswer(string Subject, string At, string KnownAt, IReadOnlyList<Owner> Owners, OwnedTotal Total);

/// <summary>Who held stakes in an organization at a date, and the bounds of what they held together (DESIGN §5).</summary>
public static class OwnersQuery
{
    public static Task<OwnersAnswer> OwnersAsync(this Ledger ledger, string subject, DateOnly? at = null, DateTimeOffset? knownAt = null, CancellationToken ct = default) =>
        ledger.ReadAsync(knownAt, async (c, k, token) =>
        {
            var day = at ?? ledger.Today;
            await OrganizationDirectory.RequireAsync(c, subject, token, k);
            var rows = await HoldingQuery.HeldAsync(c, ledger.Citations, HoldingQuery.Side.Subject, subject, k, day, token);
            var names = await OrganizationDirectory.NamesAsync(c, rows.Select(r => r.Holder), token);
            var owners = rows.Select(r => new Owner(r.Holder, names.GetValueOrDefault(r.Holder, r.Holder), r.Finding.Status, r.Finding.Share,
                r.Finding.Since, r.Finding.Confidence, r.Finding.Sources)).ToList();
            var min = owners.Where(o => o.Status == HoldingStatus.Held).Sum(o => o.Share?.Lower ?? 0m);
            var max = Math.Min(100m, owners.Sum(o => o.Share?.Upper ?? 100m));
            var text = owners.Count == 0
                ? "No holder of a stake is recorded at this date."
                : $"Known holders together hold between {min} % and {max} %; holders the ledger does not know of may hold the rest.";
            return new OwnersAnswer(subject, ValidDate.OfDay(day).ToString(), Instant.Format(k), owners, new OwnedTotal(min, max, text));
        }, ct);
}
