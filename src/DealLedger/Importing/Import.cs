using System.Text;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Storage;

namespace DealLedger.Importing;

/// <summary>What an import did: counts of what was new and what the ledger already held.</summary>
/// <param name="FactVersions">The version of every fact the documents name, as this import left it (the ETag for If-Match).</param>
public sealed record ImportReport(int Documents, int EventsAppended, long? LastSequence, DateTimeOffset? RecordedAt,
    IReadOnlyDictionary<string, int> Recorded, IReadOnlyDictionary<string, int> AlreadyKnown, IReadOnlyDictionary<string, int> FactVersions);

/// <summary>What deciding one document did: per section, how many entries were new and how many the ledger already held.</summary>
public sealed record DocumentOutcome(IReadOnlyDictionary<string, int> Recorded, IReadOnlyDictionary<string, int> Known);

/// <summary>The sections of a ledger document; each entry of one can also be written on its own.</summary>
public enum DocumentSection { Organizations, Sources, Deals, Claims, Corrections, Retractions, Endings }

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
        var report = await ledger.ImportAsync(parsed, request ?? new WriteRequest(), (c, token) => BulkImport.LoadAsync(c, parsed, token), ct);
        if (report.EventsAppended >= BulkImport.AnalyzeAfter)
        {
            await using var c = await ledger.Database.OpenConnectionAsync(ct);
            await Projections.AnalyzeAsync(c, ProjectionTables.Projections, ct);
        }
        return report;
    }

    /// <summary>The same documents written entry by entry against the database: what the set-based import is compared with.</summary>
    internal static Task<ImportReport> ImportEntryByEntryAsync(this Ledger ledger, IReadOnlyList<(string Name, string Text)> documents, CancellationToken ct = default) =>
        ledger.ImportAsync(documents.Select(d => DocumentNode.Parse(d.Name, d.Text)).ToList(), new WriteRequest(), ct);

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

    private static Task<ImportReport> ImportAsync(this Ledger ledger, IReadOnlyList<DocumentNode> documents, WriteRequest request, CancellationToken ct) =>
        // Every document is read and checked before the write begins.
        ledger.ImportAsync(documents.Select(LedgerDocument.Read).ToList(), request, null, ct);

    /// <param name="load">Null: decide entry by entry against the database. Else a set-based write (<see cref="BulkImport"/>).</param>
    internal static Task<ImportReport> ImportAsync(this Ledger ledger, IReadOnlyList<LedgerDocument> parsed, WriteRequest request,
        Func<Npgsql.NpgsqlConnection, CancellationToken, Task<LedgerState>>? load, CancellationToken ct) =>
        ledger.WriteDocumentsAsync(parsed.Count, load, async (_, decide, _) =>
        {
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
        ledger.WriteDocumentsAsync(sources, null, (t, decide, token) => translate(t, async node =>
        {
            var doc = LedgerDocument.Read(node);
            var before = decide.Tally.Snapshot();
            await decide.Invoke(doc);
            return decide.Tally.Since(before);
        }, token), request, ct);

    private static async Task<ImportReport> WriteDocumentsAsync(this Ledger ledger, int count, Func<Npgsql.NpgsqlConnection, CancellationToken, Task<LedgerState>>? load,
        Func<LedgerTransaction, Decider, CancellationToken, Task> produce, WriteRequest request, CancellationToken ct)
    {
        var tally = new Tally();
        var versions = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var result = await ledger.WriteAsync(load, async (t, token) =>
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
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var decided = new List<LedgerDocument>();
            var decide = new Decider(tally, async doc =>
            {
                await DecideAsync(t, doc, seen, tally, token);
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

    /// <param name="seen">The ids this import has written so far ("fact:ID", "organization:ID", "fact:ID/AMENDMENT"): one id used twice in one import is the document's mistake (400), not another writer's (409).</param>
    private static async Task DecideAsync(LedgerTransaction t, LedgerDocument doc, HashSet<string> seen, Tally tally, CancellationToken ct)
    {
        foreach (var (o, node) in doc.Organizations)
        {
            var known = await t.OrganizationAsync(o.Id, ct);
            if (known is not null && LedgerJson.Canonical(known) != LedgerJson.Canonical(o))
            {
                throw Clash(seen, $"organization:{o.Id}", node, $"organization '{o.Id}'", $"is already registered with different details (as \"{known.Name}\")");
            }
            seen.Add($"organization:{o.Id}");
            Record(t, tally, "organizations", known is null ? o : null);
        }
        foreach (var (s, node) in doc.Sources)
        {
            var known = await t.SourceAsync(s.Id, ct);
            if (known is not null && LedgerJson.Canonical(known) != LedgerJson.Canonical(s))
            {
                throw Clash(seen, $"source:{s.Id}", node, $"source '{s.Id}'", $"is already registered with different details (titled \"{known.Title}\")");
            }
            seen.Add($"source:{s.Id}");
            Record(t, tally, "sources", known is null ? s : null);
        }
        foreach (var (d, node) in doc.Deals)
        {
            foreach (var party in d.Parties)
            {
                await RequireOrganizationAsync(t, party, node.Find(party, "parties"), ct);
            }
            var known = await t.DealAsync(d.Id, ct);
            if (known is not null && LedgerJson.Canonical(known) != LedgerJson.Canonical(d))
            {
                throw Clash(seen, $"deal:{d.Id}", node, $"deal '{d.Id}'", "is already recorded with different details");
            }
            seen.Add($"deal:{d.Id}");
            Record(t, tally, "deals", known is null ? d : null);
        }
        foreach (var (fact, node) in doc.Facts)
        {
            if (!seen.Add($"fact:{fact.Id}"))
            {
                throw node.At("id").Error($"the fact id '{fact.Id}' is used twice in this import");
            }
            var known = await t.FactAsync(fact.Id, ct);
            if (known is not null && !known.Original.SameAs(fact))
            {
                throw node.Conflict($"fact '{fact.Id}' is already recorded with different values; record a correction instead");
            }
            if (known is null)
            {
                await RequireFactFitsAsync(t, fact, node, ct);
            }
            Record(t, tally, "facts", known is null ? new FactRecorded(fact) : null);
        }
        foreach (var (claim, node) in doc.Claims)
        {
            var fact = await RequireFactAsync(t, claim.Fact, node, ct);
            await RequireSourceAsync(t, claim.Claim.Source, node, ct);
            if (KnownById(fact, claim, node, seen))
            {
                Record(t, tally, "claims", null);
                continue;
            }
            var same = claim.Id is null && fact.Current.Sources.Any(c => c == claim.Claim);
            if (!same && fact.Current.Sources.Any(c => c.Source == claim.Claim.Source))
            {
                throw node.At("source").Conflict($"source '{claim.Claim.Source}' already speaks of fact '{claim.Fact}' with another claim");
            }
            if (!same)
            {
                await RequireNoContradictionAsync(t, fact.Current with { Sources = [.. fact.Current.Sources, claim.Claim] }, node, ct);
            }
            Record(t, tally, "claims", same ? null : claim);
        }
        foreach (var (correction, node) in doc.Corrections)
        {
            var fact = await RequireFactAsync(t, correction.Fact, node, ct);
            if (fact.IsRetracted)
            {
                throw node.At("fact").Error($"fact '{correction.Fact}' was retracted; a retracted fact cannot be corrected");
            }
            RequireAmendmentFits(fact.Current, correction.Set, node.At("set"));
            foreach (var c in correction.Sources)
            {
                await RequireSourceAsync(t, c.Source, node, ct);
            }
            if (KnownById(fact, correction, node, seen))
            {
                Record(t, tally, "corrections", null);
                continue;
            }
            // A correction of `valid` replaces the whole period; the corrected fact must still make sense.
            var corrected = FactState.Corrected(fact.Current, correction);
            if (corrected.Valid.To is { } to && to.CannotFollow(corrected.Valid.From))
            {
                throw node.At("set").Error($"after this correction fact '{fact.Id}' would end ({to}) before or on the day it starts ({corrected.Valid.From})");
            }
            if (fact.Ending is { } ended && ended.On.CannotFollow(corrected.Valid.From))
            {
                throw node.At("set").Error($"after this correction fact '{fact.Id}' would start ({corrected.Valid.From}) after its recorded ending ({ended.On})");
            }
            var same = correction.Id is null && fact.Corrections.Any(c => LedgerJson.Canonical(c.Set) == LedgerJson.Canonical(correction.Set)
                && c.Reason == correction.Reason && LedgerJson.Canonical(c.Sources) == LedgerJson.Canonical(correction.Sources));
            if (!same)
            {
                await RequireNoContradictionAsync(t, corrected, node, ct);
            }
            Record(t, tally, "corrections", same ? null : correction);
        }
        foreach (var (retraction, node) in doc.Retractions)
        {
            var fact = await RequireFactAsync(t, retraction.Fact, node, ct);
            foreach (var c in retraction.Sources)
            {
                await RequireSourceAsync(t, c.Source, node, ct);
            }
            // Retracting again is a no-op unless it brings a new source (or a new id).
            var known = KnownById(fact, retraction, node, seen) || (retraction.Id is null && fact.Retraction is { } r
                && retraction.Sources.All(c => r.Sources.Any(x => x.Source == c.Source)));
            Record(t, tally, "retractions", known ? null : retraction);
        }
        foreach (var (ending, node) in doc.Endings)
        {
            var fact = await RequireFactAsync(t, ending.Fact, node, ct);
            foreach (var c in ending.Sources)
            {
                await RequireSourceAsync(t, c.Source, node, ct);
            }
            if (ending.On.CannotFollow(fact.Current.Valid.From))
            {
                throw node.At("on").Error($"fact '{fact.Id}' cannot end ({ending.On}) before or on the day it starts ({fact.Current.Valid.From})");
            }
            if (fact.Ending is { } e && e.On != ending.On)
            {
                throw Clash(seen, $"fact:{fact.Id}/ending", node.At("on"), $"the ending of fact '{fact.Id}'", $"is already recorded on {e.On}; correct or retract the fact instead");
            }
            if (fact.Ending is null)
            {
                seen.Add($"fact:{fact.Id}/ending");
            }
            // Ending again on the same date is a no-op unless it brings a new source (or a new id).
            var known = KnownById(fact, ending, node, seen) || (ending.Id is null && fact.Ending is { } same
                && ending.Sources.All(c => same.Sources.Any(x => x.Source == c.Source)));
            Record(t, tally, "endings", known ? null : ending);
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

    private static async Task RequireOrganizationAsync(LedgerTransaction t, string id, DocumentNode node, CancellationToken ct)
    {
        if (await t.OrganizationAsync(id, ct) is null)
        {
            throw node.Error($"unknown organization '{id}': register it under 'organizations' first");
        }
    }

    private static async Task RequireSourceAsync(LedgerTransaction t, string id, DocumentNode node, CancellationToken ct)
    {
        if (await t.SourceAsync(id, ct) is null)
        {
            throw node.Find(id, "source", "sources").Error($"unknown source '{id}': register it under 'sources' first");
        }
    }

    private static async Task<FactState> RequireFactAsync(LedgerTransaction t, string id, DocumentNode node, CancellationToken ct) =>
        await t.FactAsync(id, ct) ?? throw node.At("fact").Error($"unknown fact '{id}'");

    private static async Task RequireFactFitsAsync(LedgerTransaction t, Fact fact, DocumentNode node, CancellationToken ct)
    {
        foreach (var org in fact.Organizations)
        {
            await RequireOrganizationAsync(t, org, node.Find(org, "holder", "subject", "investor", "investee", "acquirer", "target", "parties"), ct);
        }
        foreach (var claim in fact.Sources)
        {
            await RequireSourceAsync(t, claim.Source, node, ct);
        }
        await RequireNoContradictionAsync(t, fact, node, ct);
    }

    /// <summary>DESIGN §6: the same source cannot tell two incompatible sizes of one stake for overlapping periods.</summary>
    private static async Task RequireNoContradictionAsync(LedgerTransaction t, Fact fact, DocumentNode node, CancellationToken ct)
    {
        if (fact.Type != FactType.Stake)
        {
            return;
        }
        foreach (var other in await t.StakesAsync(fact.Holder!, fact.Subject!, ct))
        {
            if (other.Id == fact.Id || other.IsRetracted || !Overlap(fact, other.Current) || fact.Share!.Intersect(other.Current.Share!) is not null)
            {
                continue;
            }
            var shared = fact.Sources.Where(c => c.Kind != ClaimKind.Denied).Select(c => c.Source)
                .Intersect(other.Current.Sources.Where(c => c.Kind != ClaimKind.Denied).Select(c => c.Source)).FirstOrDefault();
            if (shared is not null)
            {
                throw node.Error($"stake '{fact.Id}' ({fact.Share.ToReadable()}) contradicts stake '{other.Id}' ({other.Current.Share!.ToReadable()}) " +
                    $"from the same source '{shared}' over an overlapping period");
            }
        }
    }

    /// <summary>Two stake facts describe the same stretch of time when neither ends before the other starts.</summary>
    private static bool Overlap(Fact a, Fact b)
    {
        var aEnd = a.Valid.To?.End ?? DateOnly.MaxValue;
        var bEnd = b.Valid.To?.End ?? DateOnly.MaxValue;
        // Successive states (different starts) do not contradict: a later one is a change (rule 4).
        return a.Valid.From.Coincides(b.Valid.From) && a.Valid.From.Start < bEnd && b.Valid.From.Start < aEnd;
    }

    /// <summary>True when an amendment with this id was already recorded with the same content; an id reused for other content is an error.</summary>
    private static bool KnownById(FactState fact, object amendment, DocumentNode node, HashSet<string> seen)
    {
        if (AmendmentIds.Of(amendment) is not { } id)
        {
            return false;
        }
        if (!fact.Amendments.TryGetValue(id, out var content))
        {
            seen.Add($"fact:{fact.Id}/{id}");
            return false;
        }
        return content == LedgerJson.Canonical(amendment)
            ? true
            : throw Clash(seen, $"fact:{fact.Id}/{id}", node.At("id"), $"'{id}'", $"is already recorded on fact '{fact.Id}' with different content");
    }

    /// <summary>An id that names other content: used twice in this import, the document contradicts itself (400); else the ledger holds it already (409).</summary>
    private static LedgerException Clash(HashSet<string> seen, string key, DocumentNode node, string what, string clash) =>
        seen.Contains(key)
            ? node.Error($"{what} appears twice in this import with different details")
            : node.Conflict($"{what} {clash}");

    private static void RequireAmendmentFits(Fact fact, FactAmendment set, DocumentNode node)
    {
        if (fact.Type == FactType.Stake && set.Valid is { OrEarlier: true })
        {
            throw node.At("valid").Error("a stake needs the date it was acquired ('from'); 'by' is for other facts");
        }
        void Only(object? value, string field, params FactType[] types)
        {
            if (value is not null && !types.Contains(fact.Type))
            {
                throw node.At(field).Error($"'{field}' cannot be set on a {LedgerJson.Word(fact.Type)} fact");
            }
        }
        Only(set.Share, "share", FactType.Stake, FactType.Control);
        Only(set.Amount, "amount", FactType.Investment, FactType.Acquisition);
        Only(set.ReportedEquivalent, "reportedEquivalent", FactType.Investment);
        Only(set.Instrument, "instrument", FactType.Investment);
        Only(set.Scope, "scope", FactType.Partnership, FactType.Announcement, FactType.Investment);
        Only(set.Title, "title", FactType.Announcement);
        Only(set.Role, "role", FactType.BoardSeat);
        Only(set.Means, "means", FactType.Control);
    }
}
