using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Organizations;
using DealLedger.Time;

namespace DealLedger.Holdings;

public sealed record Owner(string Holder, string Name, HoldingStatus Status, Share? Share, DateWithPrecision? Since, Confidence? Confidence, IReadOnlyList<SourceCitation> Sources);

/// <summary>The known owners' combined share: at least the sum of the held lower bounds, at most the sum of all upper bounds (capped at 100).</summary>
public sealed record OwnedTotal(decimal Min, decimal Max, string Explanation)
{
    /// <summary>The total of an organization's held and uncertain stakes at a date (a disputed size counts from 0 to 100).</summary>
    public static OwnedTotal Of(IReadOnlyCollection<(HoldingStatus Status, Share? Share)> stakes)
    {
        var min = stakes.Where(o => o.Status == HoldingStatus.Held).Sum(o => o.Share?.Lower ?? 0m);
        var max = Math.Min(100m, stakes.Sum(o => o.Share?.Upper ?? 100m));
        var text = stakes.Count == 0
            ? "No holder of a stake is recorded at this date."
            : $"Known holders together hold between {min} % and {max} %; holders the ledger does not know of may hold the rest.";
        return new OwnedTotal(min, max, text);
    }
}

public sealed record OwnersAnswer(string Subject, string At, string KnownAt, IReadOnlyList<Owner> Owners, OwnedTotal Total)
{
    /// <summary>The records whose owners these are: the organization's, and those merged into it (as known at knownAt).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    internal IReadOnlyList<string> Records { get; init; } = [];

    /// <summary>The merges of duplicate records this answer reads (as known at knownAt; null: none): it is the survivor's.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Organizations.MergeNote>? Merges { get; init; }
}

/// <summary>Who held stakes in an organization at a date, and the bounds of what they held together (DESIGN §5).</summary>
public static class OwnersQuery
{
    public static Task<OwnersAnswer> OwnersAsync(this Ledger ledger, string subject, DateOnly? at = null, DateTimeOffset? knownAt = null, CancellationToken ct = default) =>
        ledger.ReadAsync(knownAt, (c, k, token) => LoadAsync(c, ledger.Citations, subject, at ?? ledger.Today, k, token), ct);

    internal static async Task<OwnersAnswer> LoadAsync(Npgsql.NpgsqlConnection c, Citations citations, string subject, DateOnly day, DateTimeOffset k, CancellationToken token)
    {
        await OrganizationDirectory.RequireAsync(c, subject, token, k);
        var (asked, merges) = (subject, await OrganizationMerges.AsKnownAsync(c, k, token));
        subject = merges.Survivor(subject);
        var rows = await HoldingQuery.HeldAsync(c, citations, HoldingQuery.Side.Subject, subject, k, day, token);
        var names = await DatedNames.OnAsync(c, rows.Select(r => r.Holder), day, k, token);
        var owners = rows.Select(r => new Owner(r.Holder, names.GetValueOrDefault(r.Holder, r.Holder), r.Finding.Status, r.Finding.Share,
            r.Finding.Since, r.Finding.Confidence, r.Finding.Sources)).ToList();
        return new OwnersAnswer(asked, ValidDate.OfDay(day).ToString(), Instant.Format(k), owners, OwnedTotal.Of(owners.Select(o => (o.Status, o.Share)).ToList()))
        {
            Merges = merges.Behind(asked) is { Count: > 0 } notes ? notes : null,
            Records = merges.Members(subject),
        };
    }
}
