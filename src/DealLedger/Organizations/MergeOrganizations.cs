using DealLedger.Importing;
using DealLedger.Writing;

namespace DealLedger.Organizations;

/// <summary>
/// Merging duplicate records: a document's `merges` entry ({ duplicate, into, reason }), POST /api/organizations/{duplicate}/merge,
/// or `dealledger merge`. From its recorded time on, answers read the duplicate's record as the one it is merged into.
/// </summary>
internal static class MergeOrganizations
{
    public static OrganizationsMerged Read(DocumentNode node)
    {
        var f = Fields.Of(node, "duplicate", "into", "reason");
        return new OrganizationsMerged(f.Slug("duplicate"), f.Slug("into"), f.Text("reason"), Writer: "");
    }

    /// <returns>
    /// The event to record (with the write's writer), or null when the duplicate is merged into that organization already, or
    /// this very merge (the same reason) was recorded before, even if undone since: importing a document again changes nothing.
    /// To merge again after an undo, give the reason anew.
    /// </returns>
    public static OrganizationsMerged? Decide(OrganizationsMerged entry, DocumentNode node, LedgerTransaction t)
    {
        if (entry.Duplicate == entry.Into)
        {
            throw node.At("into").Error($"'{entry.Duplicate}' cannot be merged with itself: name the other record of the organization");
        }
        RequireRegistered(t, entry.Duplicate, node.At("duplicate"));
        RequireRegistered(t, entry.Into, node.At("into"));
        if (t.MergedInto(entry.Duplicate) is { } merged)
        {
            return merged == entry.Into ? null
                : throw node.At("duplicate").Error($"'{entry.Duplicate}' is merged into '{merged}' already: undo that merge first");
        }
        if (t.KnownMerge(entry.Duplicate, entry.Into, entry.Reason))
        {
            return null;
        }
        if (t.MergedInto(entry.Into) is { } further)
        {
            var survivor = t.Survivor(further);
            throw node.At("into").Error(survivor == entry.Duplicate
                ? $"'{entry.Into}' is merged into '{entry.Duplicate}' already: they are one organization"
                : $"'{entry.Into}' is itself merged into '{further}': merge into '{survivor}'");
        }
        return entry with { Writer = t.Writer };
    }

    internal static void RequireRegistered(LedgerTransaction t, string id, DocumentNode node)
    {
        if (t.Organization(id) is null)
        {
            throw node.Error($"unknown organization '{id}'");
        }
    }
}
