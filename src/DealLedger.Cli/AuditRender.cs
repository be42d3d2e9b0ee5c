using System.Text;
using DealLedger.Auditing;
using DealLedger.Bods;

namespace DealLedger.Cli;

/// <summary>Readable text for the auditing verbs; the JSON form is the answer itself.</summary>
internal static class AuditRender
{
    public static string Seal(SealResult r) =>
        r.Sealed == 0
            ? $"Nothing new to seal: the chain's head is sequence {r.Head} (link {r.HeadLink})."
            : $"Sealed {r.Sealed} event(s), sequences {r.FirstSequence}–{r.LastSequence}; the chain's head is sequence {r.Head} (link {r.HeadLink}).";

    public static string Verify(VerifyReport r)
    {
        var s = new StringBuilder();
        var what = r.Subject == "ledger" ? "The ledger" : $"The bundle {r.Subject}";
        if (r.Ok)
        {
            s.AppendLine($"{what} verifies: {r.EventsChecked} sealed event(s) checked{Range(r.FirstSequence, r.SealedHead, r.EventsChecked)}; head link {r.HeadLink}.");
        }
        else
        {
            s.AppendLine($"{what} does NOT verify: {r.Break!.Summary}");
            s.AppendLine($"  intact before the break: {r.EventsChecked} event(s){(r.EventsChecked > 0 ? $" from sequence {r.FirstSequence}" : "")}{(r.Subject == "ledger" ? $"; sealed head: {r.SealedHead}" : "")}.");
        }
        if (r.Unsealed is { Count: > 0 } tail)
        {
            s.AppendLine($"  unsealed tail: {tail.Count} event(s), sequences {tail.FirstSequence}–{tail.LastSequence}, not yet sealed (run 'dealledger seal').");
            if (tail.AboveLastWrite > 0)
            {
                s.AppendLine($"  of which {tail.AboveLastWrite} lie above the last committed write: tombstones of failed appends, or rows the ledger did not write.");
            }
        }
        else if (r.Unsealed is not null && r.Subject == "ledger")
        {
            s.AppendLine("  unsealed tail: none.");
        }
        return s.ToString().TrimEnd();
    }

    public static string BodsExport(BodsExportResult r) =>
        $"Wrote {r.Statements} BODS 0.4 statements to {r.File}: {r.Entities} entities, {r.Persons} persons, {r.Relationships} relationships with {r.Interests} interests, " +
        $"in force on {r.At} as known at {r.KnownAt}.";

    public static string Export(ExportResult r)
    {
        if (r.Break is { } b)
        {
            return $"Nothing exported: the ledger does not verify: {b.Summary}";
        }
        var s = new StringBuilder($"Exported {r.Events} sealed event(s){Range(r.FirstSequence, r.LastSequence ?? 0, r.Events)}, their seals and {r.Sources} source(s) to {r.Directory}; head link {r.HeadLink}.\n");
        s.AppendLine($"  check it offline: dealledger verify --bundle {r.Directory}");
        if (r.Unsealed is { Count: > 0 } tail)
        {
            s.AppendLine($"  not exported: {tail.Count} event(s) above the last committed write (sequences {tail.FirstSequence}–{tail.LastSequence}).");
        }
        return s.ToString().TrimEnd();
    }

    private static string Range(long? first, long last, long count) => count == 0 ? "" : $" (sequences {first}–{last})";
}
