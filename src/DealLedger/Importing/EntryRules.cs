using DealLedger.Deals;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Importing;

/// <summary>
/// Rules that every write's decision shares: what an entry names must exist (in the ledger or earlier
/// in the same write), and an id names one content. They read the write's loaded state, never the database.
/// </summary>
internal static class EntryRules
{
    public static void RequireOrganization(this LedgerTransaction t, string id, DocumentNode node)
    {
        if (t.Organization(id) is null)
        {
            throw node.Error($"unknown organization '{id}': register it under 'organizations' first");
        }
    }

    /// <summary>A new fact names organizations by the records answers read: not one merged into another (its facts are the survivor's).</summary>
    public static void RequireUnmerged(this LedgerTransaction t, string id, DocumentNode node)
    {
        if (t.MergedInto(id) is { } into)
        {
            throw node.Error($"'{id}' is merged into '{into}' (the same organization): record the fact of '{into}', or undo the merge first");
        }
    }

    public static void RequireSource(this LedgerTransaction t, string id, DocumentNode node)
    {
        if (t.Source(id) is null)
        {
            throw node.Find(id, "source", "sources").Error($"unknown source '{id}': register it under 'sources' first");
        }
    }

    public static void RequireSources(this LedgerTransaction t, IEnumerable<Claim> claims, DocumentNode node)
    {
        foreach (var c in claims)
        {
            t.RequireSource(c.Source, node);
        }
    }

    public static FactState RequireFact(this LedgerTransaction t, string id, DocumentNode node) =>
        t.Fact(id) ?? throw node.At("fact").Error($"unknown fact '{id}'");

    /// <summary>
    /// A registration (an organization, a source, a deal): the same content under its id again is already
    /// known (null: nothing to record); other content under it is a clash, described by <paramref name="clash"/>.
    /// </summary>
    public static T? Registering<T>(this LedgerTransaction t, T entry, T? known, string key, DocumentNode node, string what, Func<T, string> clash) where T : class
    {
        if (known is not null && LedgerJson.Canonical(known) != LedgerJson.Canonical(entry))
        {
            throw t.Clash(key, node, what, clash(known));
        }
        t.Seen.Add(key);
        return known is null ? entry : null;
    }

    /// <summary>True when an amendment with this id was already recorded with the same content; an id reused for other content is an error.</summary>
    public static bool KnownById(this LedgerTransaction t, FactState fact, object amendment, DocumentNode node)
    {
        if (AmendmentIds.Of(amendment) is not { } id)
        {
            return false;
        }
        if (!fact.Amendments.TryGetValue(id, out var content))
        {
            t.Seen.Add($"fact:{fact.Id}/{id}");
            return false;
        }
        return content == LedgerJson.Canonical(amendment)
            ? true
            : throw t.Clash($"fact:{fact.Id}/{id}", node.At("id"), $"'{id}'", $"is already recorded on fact '{fact.Id}' with different content");
    }

    /// <summary>An id that names other content: used twice in this write, the document contradicts itself (400); else the ledger holds it already (409).</summary>
    public static LedgerException Clash(this LedgerTransaction t, string key, DocumentNode node, string what, string clash) =>
        t.Seen.Contains(key)
            ? node.Error($"{what} appears twice in this import with different details")
            : node.Conflict($"{what} {clash}");
}
