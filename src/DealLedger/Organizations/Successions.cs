using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Sources;
using Npgsql;

namespace DealLedger.Organizations;

/// <summary>
/// A succession as an answer about one of its organizations shows it: who took whose place, from when, in words, and who
/// says so. <paramref name="Side"/> is which side of the answer (a holding's holder or subject) the predecessor is on.
/// </summary>
public sealed record SuccessionNote(string Fact, SuccessionForm Form, string Predecessor, string Successor, string Side, DateWithPrecision Since, bool StartUnknown,
    Confidence? Confidence, string Explanation, IReadOnlyList<SourceCitation> Sources);

/// <summary>The successions recorded of organizations (<see cref="Succession"/> facts), for answers that say where ties went.</summary>
internal static class Successions
{
    /// <summary>
    /// The successions, as known at <paramref name="knownAt"/> (retracted ones left out), whose predecessor is one of
    /// <paramref name="sides"/> (an organization and the name of its side in the answer), oldest first.
    /// </summary>
    public static async Task<IReadOnlyList<SuccessionNote>> OfPredecessorsAsync(NpgsqlConnection c, Citations citations, IReadOnlyList<(string Organization, string Side)> sides,
        DateTimeOffset knownAt, CancellationToken ct)
    {
        var orgs = sides.Select(s => s.Organization).Distinct().ToArray();
        var facts = (await FactVersions.OfTypesAmongAsync(c, [FactType.Succession], orgs, knownAt, ct))
            .Where(f => !f.IsRetracted && orgs.Contains(((Succession)f.Current).Predecessor)).ToList();
        if (facts.Count == 0)
        {
            return [];
        }
        var names = await OrganizationDirectory.NamesAsync(c, facts.SelectMany(f => f.Current.Organizations), ct);
        var sources = await citations.SourcesAsync(c, facts.SelectMany(SourceCatalog.CitedBy), ct);
        string Name(string id) => names.GetValueOrDefault(id, id);
        return [.. from f in facts
                   let x = (Succession)f.Current
                   from side in sides.Where(s => s.Organization == x.Predecessor)
                   orderby x.Valid.From.Start, f.Current.Id
                   select new SuccessionNote(x.Id, x.Form, x.Predecessor, x.Successor, side.Side, DateWithPrecision.Of(x.Valid.From)!, x.Valid.OrEarlier,
                       ConfidenceRules.Of(x.Sources, id => sources.TryGetValue(id, out var s) ? s.Kind : SourceKind.ThirdParty),
                       $"{(x.Valid.OrEarlier ? "By" : "From")} {x.Valid.From}, {FactWords.Summary(x, Name)}: {Consequence(x, side.Side, Name)}",
                       SourceCatalog.CitedBy(f).Distinct().Select(id => SourceCitation.Of(id, sources)).ToList())];
    }

    /// <summary>What a succession means for a holding whose holder or subject is the predecessor, in words; the periods stay as recorded.</summary>
    private static string Consequence(Succession x, string side, Func<string, string> name) => (x.Form, side) switch
    {
        (SuccessionForm.Renamed, _) => $"the same organization under a new id; this holding continues as {name(x.Successor)}'s.",
        (SuccessionForm.SplitInto, "holder") => $"part of {name(x.Predecessor)}'s holdings may have gone to {name(x.Successor)}; the ledger does not record which.",
        (SuccessionForm.SplitInto, _) => $"what the holders of {name(x.Predecessor)} hold in its parts is not recorded here.",
        (_, "holder") => $"the stake passed to {name(x.Successor)} with {name(x.Predecessor)}'s other holdings; the periods stay as recorded for {name(x.Predecessor)}.",
        _ => $"{name(x.Predecessor)} no longer exists as itself; what its holders hold in {name(x.Successor)} instead is not recorded here.",
    };
}
