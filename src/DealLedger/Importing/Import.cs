using System.Text;
using DealLedger.Deals;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Importing;

/// <summary>What an import did: counts of what was new and what the ledger already held.</summary>
/// <param name="FactVersions">The version of every fact the documents name, as this import left it (the ETag for If-Match).</param>
public sealed record ImportReport(int Documents, int EventsAppended, long? LastSequence, DateTimeOffset? RecordedAt,
    IReadOnlyDictionary<string, int> Recorded, IReadOnlyDictionary<string, int> AlreadyKnown, IReadOnlyDictionary<string, int> FactVersions);

/// <summary>What deciding one document did: per section, how many entries were new and how many the ledger already held.</summary>
public sealed record DocumentOutcome(IReadOnlyDictionary<string, int> Recorded, IReadOnlyDictionary<string, int> Known);

/// <summary>The sections of a ledger document; each entry of one can also be written on its own.</summary>
public enum DocumentSection { Organizations, Sources, Deals, Claims, Corrections, Retractions, Endings, Merges, Unmerges }

/// <summary>Who asks for a write (stored with its events), and the fact versions it read (If-Match): another writer's change in between is a conflict.</summary>
public sealed record WriteRequest(string? Writer = null, IReadOnlyDictionary<string, int>? ExpectedFactVersions = null)
{
    /// <summary>Facts named by the request's address (POST /api/facts/{fact}/…): unknown, they are not found (404), not bad input.</summary>
    public IReadOnlyList<string> AddressedFacts { get; init; } = [];
}

/// <summary>
/// Imports ledger documents (DESIGN §9): every document is read and checked, then all of them are
/// decided and stored in one write — all or nothing. Ids are natural keys, so importing the same
/// documents again changes nothing; a different document under a known id is an error.
/// </summary>
public static class Import
{
    public static async Task<ImportReport> ImportFilesAsync(this Ledger ledger, IEnumerable<string> paths, CancellationToken ct = default)
    {
        var documents = new List<(string, string)>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                throw LedgerException.Invalid($"{path}: is a folder; name the documents in it (e.g. {Path.Combine(path, "*.yaml")})");
            }
            if (!File.Exists(path))
            {
                throw LedgerException.Invalid($"{path}: no such file");
            }
            documents.Add((path, DecodeUtf8(path, await ReadFileAsync(path, ct))));
        }
        return await ledger.ImportAsync(documents, ct);
    }

    /// <summary>The most a document file may hold: far above any real document, and a device such as /dev/zero is refused, not read until memory runs out.</summary>
    public const int MaxFileBytes = 64 * 1024 * 1024;

    private static async Task<byte[]> ReadFileAsync(string path, CancellationToken ct)
    {
        try
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            return await ReadAtMostAsync(file, MaxFileBytes,
                () => LedgerException.Invalid($"{path}: larger than {MaxFileBytes / 1024 / 1024} MiB (or never ends); split it into several documents"), ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw LedgerException.Invalid($"{path}: cannot be read: {e.Message}");
        }
    }

    /// <summary>
    /// A document's bytes (a file, a request body), read in chunks and refused with <paramref name="tooLarge"/>
    /// as soon as they pass <paramref name="limit"/>: a device or a body that never ends is not read until memory runs out.
    /// </summary>
    public static async Task<byte[]> ReadAtMostAsync(Stream stream, int limit, Func<Exception> tooLarge, CancellationToken ct)
    {
        using var bytes = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (bytes.Length + read > limit)
            {
                throw tooLarge();
            }
            bytes.Write(chunk, 0, read);
        }
        return bytes.ToArray();
    }

    public static string DecodeUtf8(string name, byte[] bytes)
    {
        try
        {
            var text = new UTF8Encoding(false, true).GetString(bytes);
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (DecoderFallbackException)
        {
            throw LedgerException.Invalid($"{name}: not valid UTF-8 text");
        }
    }

    /// <summary>
    /// Imports whole documents set-based (<see cref="BulkImport"/>): what they name is loaded in a few
    /// queries, decided in memory by the same rules, and stored with COPY — the stored state is that of
    /// the entry-by-entry write (a test compares every row).
    /// </summary>
    public static async Task<ImportReport> ImportAsync(this Ledger ledger, IReadOnlyList<(string Name, string Text)> documents, CancellationToken ct = default, WriteRequest? request = null)
    {
        if (documents.Count == 0)
        {
            throw LedgerException.Invalid("no documents to import");
        }
        var parsed = BulkImport.ReadAll(documents);
        var report = await ledger.ImportAsync(parsed, request ?? new WriteRequest(), loadFirst: true, ct);
        if (report.EventsAppended >= BulkImport.AnalyzeAfter)
        {
            await using var c = await ledger.Database.OpenConnectionAsync(ct);
            await Projections.AnalyzeAsync(c, ProjectionTables.Projections, ct);
        }
        return report;
    }

    /// <summary>
    /// The same documents with what each names loaded just before it is decided, as a translation (BODS)
    /// decides them: what the import that loads everything first is compared with (its loading must miss nothing).
    /// </summary>
    internal static Task<ImportReport> ImportDocumentByDocumentAsync(this Ledger ledger, IReadOnlyList<(string Name, string Text)> documents, CancellationToken ct = default) =>
        ledger.ImportAsync(documents.Select(d => LedgerDocument.Read(DocumentNode.Parse(d.Name, d.Text))).ToList(), new WriteRequest(), loadFirst: false, ct);

    /// <summary>
    /// One entry of a document's section (an organization, a deal, a correction …) sent on its own,
    /// as the API's write commands take it: checked and stored exactly as if imported in a document.
    /// Errors name the entry's own fields ("share.max"), not a place in a wrapping document.
    /// </summary>
    public static Task<ImportReport> ImportEntryAsync(this Ledger ledger, DocumentSection section, string name, string text,
        WriteRequest request, CancellationToken ct = default, IReadOnlyDictionary<string, string>? set = null)
    {
        var entry = DocumentNode.Parse(name, text);
        if (entry is not MapNode map)
        {
            throw entry.Error("expected an object");
        }
        foreach (var (field, value) in set ?? new Dictionary<string, string>())
        {
            if (map.Fields.FirstOrDefault(f => f.Key == field).Value is ScalarNode { Value: var given } && given != value)
            {
                throw entry.Error($"'{field}' is '{given}' here but '{value}' in the address; leave it out");
            }
            map = map with { Fields = [.. map.Fields.Where(f => f.Key != field), new(field, new ScalarNode(name, field, 0, value, true))] };
        }
        var key = LedgerJson.Word(section);
        var document = new MapNode(name, "$", 0, [new(key, new ListNode(name, "$", 0, [map]))]);
        return ledger.ImportAsync([document], set?.TryGetValue("fact", out var fact) == true ? request with { AddressedFacts = [fact] } : request, ct);
    }

    /// <summary>A single entry is a write of one document through the same set-based path as a whole import.</summary>
    private static Task<ImportReport> ImportAsync(this Ledger ledger, IReadOnlyList<DocumentNode> documents, WriteRequest request, CancellationToken ct)
    {
        // Every document is read and checked before the write begins.
        return ledger.ImportAsync(documents.Select(LedgerDocument.Read).ToList(), request, loadFirst: true, ct);
    }

    /// <param name="loadFirst">Load what all the documents name in one go before deciding any (else document by document).</param>
    private static Task<ImportReport> ImportAsync(this Ledger ledger, IReadOnlyList<LedgerDocument> parsed, WriteRequest request, bool loadFirst, CancellationToken ct) =>
        ledger.WriteDocumentsAsync(parsed.Count, async (t, decide, token) =>
        {
            if (loadFirst)
            {
                await BulkImport.LoadAsync(t, parsed, token);
            }
            foreach (var doc in parsed)
            {
                await decide.Invoke(doc);
            }
        }, request, ct);

    /// <summary>
    /// Imports documents that are made inside the write, one after another, each decided before the
    /// next is made, so a translation (BODS) can read what the ledger — and the documents before —
    /// already hold. Each goes through the same reading, rules and decisions as a written document.
    /// </summary>
    /// <param name="translate">Makes the documents: hands each to its second argument and gets back what deciding it recorded.</param>
    internal static Task<ImportReport> ImportTranslatedAsync(this Ledger ledger, int sources,
        Func<LedgerTransaction, Func<DocumentNode, Task<DocumentOutcome>>, CancellationToken, Task> translate, WriteRequest request, CancellationToken ct) =>
        ledger.WriteDocumentsAsync(sources, (t, decide, token) => translate(t, async node =>
        {
            var doc = LedgerDocument.Read(node);
            var before = decide.Tally.Snapshot();
            await decide.Invoke(doc);
            return decide.Tally.Since(before);
        }, token), request, ct);

    private static async Task<ImportReport> WriteDocumentsAsync(this Ledger ledger, int count,
        Func<LedgerTransaction, Decider, CancellationToken, Task> produce, WriteRequest request, CancellationToken ct)
    {
        var tally = new Tally();
        var versions = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var result = await ledger.WriteAsync(async (t, token) =>
        {
            foreach (var fact in request.AddressedFacts)
            {
                _ = await t.FactAsync(fact, token) ?? throw new LedgerException(LedgerErrorKind.NotFound, $"unknown fact '{fact}'") { Field = "fact" };
            }
            foreach (var (fact, expected) in request.ExpectedFactVersions ?? new Dictionary<string, int>())
            {
                var known = await t.FactAsync(fact, token) ?? throw new LedgerException(LedgerErrorKind.NotFound, $"unknown fact '{fact}'") { Field = "fact" };
                if (known.Version != expected)
                {
                    throw LedgerException.Stale($"fact '{fact}' is at version {known.Version}, not {expected}: another writer changed it; read it again and retry");
                }
            }
            var decided = new List<LedgerDocument>();
            var decide = new Decider(tally, async doc =>
            {
                // What the document names is loaded (nothing, when the write loaded it all first); then each entry is decided by its write, in memory.
                await BulkImport.LoadAsync(t, [doc], token);
                Decide(t, doc, tally);
                decided.Add(doc);
            });
            await produce(t, decide, token);
            foreach (var id in decided.SelectMany(d => d.NamedFacts).Distinct().Order(StringComparer.Ordinal))
            {
                versions[id] = (await t.FactAsync(id, token))!.Version;
            }
        }, ct, request.Writer);
        return new ImportReport(count, result.EventsAppended, result.LastSequence, result.RecordedAt, tally.Recorded, tally.Known, versions);
    }

    /// <summary>Decides one document within the write (and keeps the count of what all of them recorded).</summary>
    private sealed class Decider(Tally tally, Func<LedgerDocument, Task> decide)
    {
        public Tally Tally { get; } = tally;
        public Task Invoke(LedgerDocument doc) => decide(doc);
    }

    private sealed class Tally
    {
        public Dictionary<string, int> Recorded { get; } = [];
        public Dictionary<string, int> Known { get; } = [];
        public void Add(string what, bool recorded) => (recorded ? Recorded : Known)[what] = (recorded ? Recorded : Known).GetValueOrDefault(what) + 1;

        public (Dictionary<string, int> Recorded, Dictionary<string, int> Known) Snapshot() => (new(Recorded), new(Known));

        public DocumentOutcome Since((Dictionary<string, int> Recorded, Dictionary<string, int> Known) before)
        {
            static Dictionary<string, int> Delta(Dictionary<string, int> now, Dictionary<string, int> then) =>
                now.Where(x => x.Value > then.GetValueOrDefault(x.Key)).ToDictionary(x => x.Key, x => x.Value - then.GetValueOrDefault(x.Key));
            return new DocumentOutcome(Delta(Recorded, before.Recorded), Delta(Known, before.Known));
        }
    }

    /// <summary>Every entry of a document, section by section, decided by its write against what the write holds so far.</summary>
    private static void Decide(LedgerTransaction t, LedgerDocument doc, Tally tally)
    {
        foreach (var (o, node) in doc.Organizations)
        {
            Record(t, tally, "organizations", RegisterOrganization.Decide(o, node, t));
        }
        foreach (var (s, node) in doc.Sources)
        {
            Record(t, tally, "sources", RegisterSource.Decide(s, node, t));
        }
        foreach (var (d, node) in doc.Deals)
        {
            Record(t, tally, "deals", RecordDeal.Decide(d, node, t));
        }
        foreach (var (fact, node) in doc.Facts)
        {
            Record(t, tally, "facts", RecordDeal.DecideFact(fact, node, t));
        }
        foreach (var (claim, node) in doc.Claims)
        {
            Record(t, tally, "claims", AddSource.Decide(claim, node, t));
        }
        foreach (var (correction, node) in doc.Corrections)
        {
            Record(t, tally, "corrections", CorrectFact.Decide(correction, node, t));
        }
        foreach (var (retraction, node) in doc.Retractions)
        {
            Record(t, tally, "retractions", RetractFact.Decide(retraction, node, t));
        }
        foreach (var (ending, node) in doc.Endings)
        {
            Record(t, tally, "endings", EndFact.Decide(ending, node, t));
        }
        // Last: a document may register the records it merges, or amend facts before the merge moves them.
        foreach (var (merge, node) in doc.Merges)
        {
            Record(t, tally, "merges", MergeOrganizations.Decide(merge, node, t));
        }
        foreach (var (undo, node) in doc.Unmerges)
        {
            Record(t, tally, "unmerges", UndoMerge.Decide(undo, node, t));
        }
    }

    private static void Record(LedgerTransaction t, Tally tally, string what, object? e)
    {
        if (e is not null)
        {
            t.Record(e);
        }
        tally.Add(what, e is not null);
    }
}
