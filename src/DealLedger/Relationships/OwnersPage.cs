using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Relationships;

/// <summary>
/// A page of an organization's owners. <paramref name="Total"/> is still the bounds of what all known
/// owners hold together, not only those on the page: the bounds are the answer, the list its evidence.
/// </summary>
/// <paramref name="Undisclosed"/>: where the ledger records that (some of) the owners are not disclosed, and why
/// (owners-undisclosed facts in force, or perhaps in force, on the date): where a chain of ownership stops.
public sealed record OwnersPageAnswer(string Subject, string At, string KnownAt, IReadOnlyList<Owner> Owners, OwnedTotal Total, ListPage Page)
{
    public IReadOnlyList<UndisclosedOwners> Undisclosed { get; init; } = [];

    /// <summary>The merges of duplicate records this answer reads (as known at knownAt; null: none): it is the survivor's.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Organizations.MergeNote>? Merges { get; init; }
}

/// <summary>A statement that an organization's owners are not disclosed: its reason in a word and in words, when, and who says so.</summary>
public sealed record UndisclosedOwners(string Fact, UndisclosedReason Reason, string Explanation, string? Details, TieStatus Status,
    DateWithPrecision? Since, DateWithPrecision? Until, Confidence? Confidence, IReadOnlyList<SourceCitation> Sources);

/// <summary>The owners query (<see cref="OwnersQuery"/>) answered a page at a time, as the API and the CLI give it.</summary>
public static class OwnersPaging
{
    public const int DefaultLimit = 200;

    public const int MaxLimit = 1_000;

    public static Task<OwnersPageAnswer> OwnersAsync(this Ledger ledger, string subject, DateOnly? at, DateTimeOffset? knownAt, PageRequest page, CancellationToken ct = default) =>
        ledger.ReadAsync(knownAt, async (c, k, token) =>
        {
            var day = at ?? ledger.Today;
            var all = await OwnersQuery.LoadAsync(c, ledger.Citations, subject, day, k, token);
            var (owners, where) = ListPage.Of(all.Owners, page);
            return new OwnersPageAnswer(all.Subject, all.At, all.KnownAt, owners, all.Total, where)
            {
                Undisclosed = await UndisclosedAsync(c, ledger.Citations, all.Records, day, k, token),
                Merges = all.Merges,
            };
        }, ct);

    /// <summary>The owners-undisclosed facts of the subject in force (or perhaps in force) on the day, as known at k.</summary>
    /// <param name="subjects">The records of the subject: itself, and those merged into it.</param>
    internal static async Task<IReadOnlyList<UndisclosedOwners>> UndisclosedAsync(NpgsqlConnection c, Citations citations, IReadOnlyList<string> subjects, DateOnly day, DateTimeOffset k, CancellationToken token)
    {
        var facts = (await FactVersions.OfTypesAmongAsync(c, [FactType.OwnersUndisclosed], subjects, k, token))
            .Where(f => !f.IsRetracted).ToList();
        if (facts.Count == 0)
        {
            return [];
        }
        var sources = await citations.SourcesAsync(c, facts.SelectMany(SourceCatalog.CitedBy), token);
        return [.. facts.Select(f => (State: f, Status: RelationshipsQuery.StatusAt(f, day))).Where(x => x.Status is not null).Select(x => Of(x.State, x.Status!.Value, sources))];
    }

    /// <summary>An owners-undisclosed fact as answers show it, with its status on the day asked and its sources (read already).</summary>
    internal static UndisclosedOwners Of(FactState state, TieStatus status, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        var u = (OwnersUndisclosed)state.Current;
        return new UndisclosedOwners(u.Id, u.Reason, FactWords.Why(u.Reason), u.Details, status, DateWithPrecision.Of(u.Valid.From), DateWithPrecision.Of(state.EndsOn),
            ConfidenceRules.Of(u.Sources, id => sources.TryGetValue(id, out var s) ? s.Kind : SourceKind.ThirdParty),
            SourceCatalog.CitedBy(state).Distinct().Select(id => SourceCitation.Of(id, sources)).ToList());
    }
}
