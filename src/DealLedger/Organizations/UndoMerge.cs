using DealLedger.Importing;
using DealLedger.Writing;

namespace DealLedger.Organizations;

/// <summary>
/// Undoing a merge: a document's `unmerges` entry ({ duplicate, reason, into? }), POST /api/organizations/{duplicate}/unmerge, or
/// `dealledger unmerge`. From its recorded time on, the two records are read apart again; as known before it, merged.
/// </summary>
internal static class UndoMerge
{
    public static OrganizationMergeUndone Read(DocumentNode node)
    {
        var f = Fields.Of(node, "duplicate", "into", "reason");
        return new OrganizationMergeUndone(f.Slug("duplicate"), f.Get("into") is { } into ? Fields.SlugOf(into) : "", f.Text("reason"), Writer: "");
    }

    /// <returns>
    /// The event to record, naming the organization the duplicate was merged into, with the write's writer; null when the
    /// duplicate is not merged and this very undo (the same reason) was recorded before: importing a document again changes nothing.
    /// </returns>
    public static OrganizationMergeUndone? Decide(OrganizationMergeUndone entry, DocumentNode node, LedgerTransaction t)
    {
        MergeOrganizations.RequireRegistered(t, entry.Duplicate, node.At("duplicate"));
        if (t.MergedInto(entry.Duplicate) is null && t.KnownMerge(entry.Duplicate, entry.Into, entry.Reason, undo: true))
        {
            return null;
        }
        var merged = t.MergedInto(entry.Duplicate)
            ?? throw node.At("duplicate").Error($"'{entry.Duplicate}' is not merged into another organization: there is no merge to undo");
        if (entry.Into.Length > 0 && entry.Into != merged)
        {
            throw node.At("into").Error($"'{entry.Duplicate}' is merged into '{merged}', not '{entry.Into}'");
        }
        return entry with { Into = merged, Writer = t.Writer };
    }
}
