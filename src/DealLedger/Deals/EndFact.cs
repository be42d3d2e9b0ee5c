using DealLedger.Importing;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Deals;

/// <summary>A fact stopped being true on a date: a document's `endings` entry, or POST /api/facts/{fact}/endings.</summary>
internal static class EndFact
{
    public static FactEnded Read(DocumentNode node)
    {
        var f = Fields.Of(node, "id", "fact", "on", "reason", "sources");
        return new FactEnded(f.Slug("fact"), f.Date("on"), f.OptionalText("reason"), LedgerDocument.ReadClaims(f), LedgerDocument.OptionalId(f));
    }

    /// <returns>The event to record, or null when it adds nothing to the ending already recorded.</returns>
    public static FactEnded? Decide(FactEnded ending, DocumentNode node, LedgerTransaction t)
    {
        var fact = t.RequireFact(ending.Fact, node);
        t.RequireSources(ending.Sources, node);
        if (fact.Current is Succession)
        {
            throw node.At("fact").Error($"fact '{fact.Id}' is a succession: {Succession.NoEnd}");
        }
        if (ending.On.CannotFollow(fact.Current.Valid.From))
        {
            throw node.At("on").Error($"fact '{fact.Id}' cannot end ({ending.On}) before or on the day it starts ({fact.Current.Valid.From})");
        }
        if (fact.Ending is { } e && e.On != ending.On)
        {
            throw t.Clash($"fact:{fact.Id}/ending", node.At("on"), $"the ending of fact '{fact.Id}'", $"is already recorded on {e.On}; correct or retract the fact instead");
        }
        if (fact.Ending is null)
        {
            t.Seen.Add($"fact:{fact.Id}/ending");
        }
        // Ending again on the same date is a no-op unless it brings a new source (or a new id).
        var known = t.KnownById(fact, ending, node) || (ending.Id is null && fact.Ending is { } same
            && ending.Sources.All(c => same.Sources.Any(x => x.Source == c.Source)));
        return known ? null : ending;
    }
}
