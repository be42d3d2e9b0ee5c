using DealLedger.Importing;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Deals;

/// <summary>Withdrawing a fact (it stays in the log and in explanations): a document's `retractions` entry, or POST /api/facts/{fact}/retractions.</summary>
internal static class RetractFact
{
    public static FactRetracted Read(DocumentNode node)
    {
        var f = Fields.Of(node, "id", "fact", "reason", "sources");
        return new FactRetracted(f.Slug("fact"), f.Text("reason"), LedgerDocument.ReadClaims(f), LedgerDocument.OptionalId(f));
    }

    /// <returns>The event to record, or null when it adds nothing to a retraction already recorded.</returns>
    public static FactRetracted? Decide(FactRetracted retraction, DocumentNode node, LedgerTransaction t)
    {
        var fact = t.RequireFact(retraction.Fact, node);
        t.RequireSources(retraction.Sources, node);
        // Retracting again is a no-op unless it brings a new source (or a new id).
        var known = t.KnownById(fact, retraction, node) || (retraction.Id is null && fact.Retraction is { } r
            && retraction.Sources.All(c => r.Sources.Any(x => x.Source == c.Source)));
        return known ? null : retraction;
    }
}
