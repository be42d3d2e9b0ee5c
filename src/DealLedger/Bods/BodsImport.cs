using DealLedger.Importing;
using DealLedger.Storage;

namespace DealLedger.Bods;

public enum StatementMapping { Mapped, PartlyMapped, NotMapped }

/// <summary>
/// What became of one statement: what it maps to in the ledger, how much of that this import
/// recorded (the rest the ledger held already), what could not be placed and why, and the notes on
/// how it was read (a close without an end date, a stake dated from its statement …).
/// </summary>
public sealed record BodsStatementReport(int Index, string StatementId, string RecordType, string? RecordStatus, string RecordId,
    StatementMapping Mapping, int FactsCreated, IReadOnlyList<string> Maps, IReadOnlyDictionary<string, int> Recorded,
    IReadOnlyDictionary<string, int> AlreadyKnown, IReadOnlyList<string> Unmapped, IReadOnlyList<string> Notes);

public sealed record BodsPackageReport(string File, int Statements, int Mapped, int PartlyMapped, int NotMapped, int FactsCreated,
    IReadOnlyList<BodsStatementReport> StatementReports);

/// <summary>A BODS import: the ledger import's own report, and each package's statements.</summary>
public sealed record BodsImportReport(ImportReport Import, IReadOnlyList<BodsPackageReport> Packages);

/// <summary>
/// Imports BODS 0.4 packages through the ledger's one import (docs/bods.md). Entities and persons
/// come first, then relationships in the order of their statement dates, so a record's story is
/// told in order whatever the packages' order; all of it is one write — all or nothing — and
/// importing the same packages again changes nothing.
/// </summary>
public static class BodsImport
{
    public static async Task<BodsImportReport> ImportBodsFilesAsync(this Ledger ledger, IEnumerable<string> paths, CancellationToken ct = default, WriteRequest? request = null)
    {
        var packages = new List<(string, string)>();
        foreach (var path in paths)
        {
            if (!File.Exists(path))
            {
                throw LedgerException.Invalid($"{path}: no such file");
            }
            packages.Add((path, Import.DecodeUtf8(path, await File.ReadAllBytesAsync(path, ct))));
        }
        return await ledger.ImportBodsAsync(packages, ct, request);
    }

    public static async Task<BodsImportReport> ImportBodsAsync(this Ledger ledger, IReadOnlyList<(string Name, string Text)> packages, CancellationToken ct = default, WriteRequest? request = null)
    {
        if (packages.Count == 0)
        {
            throw LedgerException.Invalid("no BODS packages to import");
        }
        var read = packages.Select(p => (p.Name, Statements: BodsPackage.Read(p.Name, p.Text))).ToList();
        var all = read.SelectMany(p => p.Statements).ToList();
        // Parties before the relationships that name them; relationships in the order they were declared.
        var order = all.Where(s => s.RecordType != "relationship")
            .Concat(all.Where(s => s.RecordType == "relationship").OrderBy(s => s.StatementDate)).ToList();
        var reports = new Dictionary<BodsStatement, BodsStatementReport>();
        var import = await ledger.ImportTranslatedAsync(packages.Count, async (t, decide, token) =>
        {
            var translation = new BodsTranslation(t);
            foreach (var s in order)
            {
                var draft = await translation.TranslateAsync(s, token);
                var document = draft.Document();
                var outcome = document.Count == 0
                    ? new DocumentOutcome(new Dictionary<string, int>(), new Dictionary<string, int>())
                    : await decide(DocumentNode.Parse(s.Where, document.ToJsonString()));
                reports[s] = ReportOf(draft, outcome);
            }
        }, request ?? new WriteRequest(), ct);
        return new BodsImportReport(import, read.Select(p =>
        {
            var list = p.Statements.Select(s => reports[s]).ToList();
            return new BodsPackageReport(p.Name, list.Count, list.Count(r => r.Mapping == StatementMapping.Mapped),
                list.Count(r => r.Mapping == StatementMapping.PartlyMapped), list.Count(r => r.Mapping == StatementMapping.NotMapped),
                list.Sum(r => r.FactsCreated), list);
        }).ToList());
    }

    private static BodsStatementReport ReportOf(BodsTranslation.Draft d, DocumentOutcome outcome)
    {
        var s = d.Statement;
        var mapping = d.Unmapped.Count == 0 && d.Maps.Count > 0 ? StatementMapping.Mapped
            : d.Maps.Count > 0 ? StatementMapping.PartlyMapped
            : StatementMapping.NotMapped;
        return new BodsStatementReport(s.Index, s.StatementId, s.RecordType, s.RecordStatus, s.RecordId, mapping,
            outcome.Recorded.GetValueOrDefault("facts"), d.Maps, outcome.Recorded, outcome.Known, d.Unmapped, d.Notes.Distinct().ToList());
    }

    /// <summary>The import's format, from the CLI's --format or the API's ?format=.</summary>
    public static bool IsBods(string? format) => format?.ToLowerInvariant() switch
    {
        null or "" or "ledger" => false,
        "bods" => true,
        _ => throw LedgerException.Invalid($"format '{format}' is not one of: ledger, bods"),
    };
}
