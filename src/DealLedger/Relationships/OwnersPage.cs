using DealLedger.Holdings;

namespace DealLedger.Relationships;

/// <summary>
/// A page of an organization's owners. <paramref name="Total"/> is still the bounds of what all known
/// owners hold together, not only those on the page: the bounds are the answer, the list its evidence.
/// </summary>
public sealed record OwnersPageAnswer(string Subject, string At, string KnownAt, IReadOnlyList<Owner> Owners, OwnedTotal Total, ListPage Page);

/// <summary>The owners query (<see cref="OwnersQuery"/>) answered a page at a time, as the API and the CLI give it.</summary>
public static class OwnersPaging
{
    public const int DefaultLimit = 200;

    public const int MaxLimit = 1_000;

    public static async Task<OwnersPageAnswer> OwnersAsync(this Ledger ledger, string subject, DateOnly? at, DateTimeOffset? knownAt, PageRequest page, CancellationToken ct = default)
    {
        var all = await ledger.OwnersAsync(subject, at, knownAt, ct);
        var (owners, where) = ListPage.Of(all.Owners, page);
        return new OwnersPageAnswer(all.Subject, all.At, all.KnownAt, owners, all.Total, where);
    }
}
