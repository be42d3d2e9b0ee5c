using DealLedger.Amounts;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Deals;

/// <summary>Another source speaks of a recorded fact: a document's `claims` entry, or POST /api/facts/{fact}/sources.</summary>
internal static class AddSource
{
    public static SourceAddedToFact Read(DocumentNode node)
    {
        var f = Fields.Of(node, "id", "fact", "source", "claim", "attributedTo", "note");
        return new SourceAddedToFact(f.Slug("fact"), LedgerDocument.ReadClaimFields(f), LedgerDocument.OptionalId(f));
    }

    /// <returns>The event to record, or null when the fact already carries this very claim.</returns>
    public static SourceAddedToFact? Decide(SourceAddedToFact claim, DocumentNode node, LedgerTransaction t)
    {
        var fact = t.RequireFact(claim.Fact, node);
        t.RequireSource(claim.Claim.Source, node);
        if (t.KnownById(fact, claim, node))
        {
            return null;
        }
        var same = claim.Id is null && fact.Current.Sources.Any(c => c == claim.Claim);
        if (!same && fact.Current.Sources.Any(c => c.Source == claim.Claim.Source))
        {
            throw node.At("source").Conflict($"source '{claim.Claim.Source}' already speaks of fact '{claim.Fact}' with another claim");
        }
        if (same)
        {
            return null;
        }
        var claimed = fact.Current with { Sources = [.. fact.Current.Sources, claim.Claim] };
        StakeContradiction.Refuse(t, claimed, node);
        RateContradiction.Refuse(t, claimed, node);
        return claim;
    }
}
