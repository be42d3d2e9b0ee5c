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

/// <summary>The sections of a ledger document; each entry of one can also be written on its own.</summary>
public enum DocumentSection { Organizations, Sources, Deals, Claims, Corrections, Retractions, Endings }

/// <summary>Who asks for a write (stored with its events), and the fact versions it read (If-Match): another writer's change in between is a conflict.</summary>
public sealed record WriteRequest(string? Writer = null, IReadOnlyDictionary<string, int>? ExpectedFactVersions = null);

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
            if (!File.Exists(path))
            {
                throw LedgerException.Invalid($"{path}: no such file");
            }
            documents.Add((path, DecodeUtf8(path, await File.ReadAllBytesAsync(path, ct))));
        }
        return await ledger.ImportAsync(documents, ct);
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

    public static Task<ImportReport> ImportAsync(this Ledger ledger, IReadOnlyList<(string Name, string Text)> documents, CancellationToken ct = default, WriteRequest? request = null)
    {
        if (documents.Count == 0)
        {
            throw LedgerException.Invalid("no documents to import");
        }
        return ledger.ImportAsync(documents.Select(d => DocumentNode.Parse(d.Name, d.Text)).ToList(), request ?? new WriteRequest(), ct);
    }

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
        return ledger.ImportAsync([document], request, ct);
    }

    private static Task<ImportReport> ImportAsync(this Ledger ledger, IReadOnlyList<DocumentNode> documents, WriteRequest request, CancellationToken ct) =>
        ledger.ImportAsync(documents.Select(LedgerDocument.Read).ToList(), request, null, ct);

    /// <param name="load">Null: decide entry by entry against the database. Else a set-based write (<see cref="BulkImport"/>).</param>
    internal static async Task<ImportReport> ImportAsync(this Ledger ledger, IReadOnlyList<LedgerDocument> parsed, WriteRequest request,
        Func<Npgsql.NpgsqlConnection, CancellationToken, Task<LedgerState>>? load, CancellationToken ct)
    {
        var tally = new Tally();
        var versions = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var result = await ledger.WriteAsync(load, async (t, token) =>
        {
            foreach (var (fact, expected) in request.ExpectedFactVersions ?? new Dictionary<string, int>())
            {
                var known = await t.FactAsync(fact, token) ?? throw LedgerException.NotFound($"unknown fact '{fact}'");
                if (known.Version != expected)
                {
                    throw LedgerException.Stale($"fact '{fact}' is at version {known.Version}, not {expected}: another writer changed it; read it again and retry");
                }
            }
            var factIds = new HashSet<string>(StringComparer.Ordinal);
            foreach (var doc in parsed)
            {
                await DecideAsync(t, doc, factIds, tally, token);
            }
            var named = parsed.SelectMany(d => d.Facts.Select(f => f.Value.Id).Concat(d.Claims.Select(c => c.Value.Fact)).Concat(d.Corrections.Select(c => c.Value.Fact))
                .Concat(d.Retractions.Select(r => r.Value.Fact)).Concat(d.Endings.Select(e => e.Value.Fact)));
            foreach (var id in named.Distinct().Order(StringComparer.Ordinal))
            {
                versions[id] = (await t.FactAsync(id, token))!.Version;
            }
        }, ct, request.Writer);
        return new ImportReport(parsed.Count, result.EventsAppended, result.LastSequence, result.RecordedAt, tally.Recorded, tally.Known, versions);
    }

    private sealed class Tally
    {
        public Dictionary<string, int> Recorded { get; } = [];
        public Dictionary<string, int> Known { get; } = [];
        public void Add(string what, bool recorded) => (recorded ? Recorded : Known)[what] = (recorded ? Recorded : Known).GetValueOrDefault(what) + 1;
    }

    private static async Task DecideAsync(LedgerTransaction t, LedgerDocument doc, HashSet<string> factIds, Tally tally, CancellationToken ct)
    {
        foreach (var (o, node) in doc.Organizations)
        {
            var known = await t.OrganizationAsync(o.Id, ct);
            if (known is not null && LedgerJson.Canonical(known) != LedgerJson.Canonical(o))
            {
                throw node.Conflict($"organization '{o.Id}' is already registered with different details (as \"{known.Name}\")");
            }
            Record(t, tally, "organizations", known is null ? o : null);
        }
        foreach (var (s, node) in doc.Sources)
        {
            var known = await t.SourceAsync(s.Id, ct);
            if (known is not null && LedgerJson.Canonical(known) != LedgerJson.Canonical(s))
            {
                throw node.Conflict($"source '{s.Id}' is already registered with different details (titled \"{known.Title}\")");
            }
            Record(t, tally, "sources", known is null ? s : null);
        }
        foreach (var (d, node) in doc.Deals)
        {
            foreach (var party in d.Parties)
            {
                await RequireOrganizationAsync(t, party, node, ct);
            }
            var known = await t.DealAsync(d.Id, ct);
            if (known is not null && LedgerJson.Canonical(known) != LedgerJson.Canonical(d))
            {
                throw node.Conflict($"deal '{d.Id}' is already recorded with different details");
            }
            Record(t, tally, "deals", known is null ? d : null);
        }
        foreach (var (fact, node) in doc.Facts)
        {
            if (!factIds.Add(fact.Id))
            {
                throw node.Error($"the fact id '{fact.Id}' is used twice in this import");
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
            if (KnownById(fact, claim, node))
            {
                Record(t, tally, "claims", null);
                continue;
            }
            var same = claim.Id is null && fact.Current.Sources.Any(c => c == claim.Claim);
            if (!same && fact.Current.Sources.Any(c => c.Source == claim.Claim.Source))
            {
                throw node.Conflict($"source '{claim.Claim.Source}' already speaks of fact '{claim.Fact}' with another claim");
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
                throw node.Error($"fact '{correction.Fact}' was retracted; a retracted fact cannot be corrected");
            }
            RequireAmendmentFits(fact.Current, correction.Set, node);
            foreach (var c in correction.Sources)
            {
                await RequireSourceAsync(t, c.Source, node, ct);
            }
            if (KnownById(fact, correction, node))
            {
                Record(t, tally, "corrections", null);
                continue;
            }
            // A correction of `valid` replaces the whole period; the corrected fact must still make sense.
            var corrected = FactState.Corrected(fact.Current, correction);
            if (corrected.Valid.To is { } to && to.CannotFollow(corrected.Valid.From))
            {
                throw node.Error($"after this correction fact '{fact.Id}' would end ({to}) before or on the day it starts ({corrected.Valid.From})");
            }
            if (fact.Ending is { } ended && ended.On.CannotFollow(corrected.Valid.From))
            {
                throw node.Error($"after this correction fact '{fact.Id}' would start ({corrected.Valid.From}) after its recorded ending ({ended.On})");
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
            var known = KnownById(fact, retraction, node) || (retraction.Id is null && fact.Retraction is { } r
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
                throw node.Error($"fact '{fact.Id}' cannot end ({ending.On}) before or on the day it starts ({fact.Current.Valid.From})");
            }
            if (fact.Ending is { } e && e.On != ending.On)
            {
                throw node.Conflict($"fact '{fact.Id}' already ended on {e.On}; correct or retract it instead");
            }
            // Ending again on the same date is a no-op unless it brings a new source (or a new id).
            var known = KnownById(fact, ending, node) || (ending.Id is null && fact.Ending is { } same
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
            throw node.Error($"unknown source '{id}': register it under 'sources' first");
        }
    }

    private static async Task<FactState> RequireFactAsync(LedgerTransaction t, string id, DocumentNode node, CancellationToken ct) =>
        await t.FactAsync(id, ct) ?? throw node.Error($"unknown fact '{id}'");

    private static async Task RequireFactFitsAsync(LedgerTransaction t, Fact fact, DocumentNode node, CancellationToken ct)
    {
        foreach (var org in fact.Organizations)
        {
            await RequireOrganizationAsync(t, org, node, ct);
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
    private static bool KnownById(FactState fact, object amendment, DocumentNode node)
    {
        if (AmendmentIds.Of(amendment) is not { } id || !fact.Amendments.TryGetValue(id, out var content))
        {
            return false;
        }
        return content == LedgerJson.Canonical(amendment)
            ? true
            : throw node.Conflict($"'{id}' is already recorded on fact '{fact.Id}' with different content");
    }

    private static void RequireAmendmentFits(Fact fact, FactAmendment set, DocumentNode node)
    {
        if (fact.Type == FactType.Stake && set.Valid is { OrEarlier: true })
        {
            throw node.Error("a stake needs the date it was acquired ('from'); 'by' is for other facts");
        }
        void Only(object? value, string field, params FactType[] types)
        {
            if (value is not null && !types.Contains(fact.Type))
            {
                throw node.Error($"'{field}' cannot be set on a {LedgerJson.Word(fact.Type)} fact");
            }
        }
        Only(set.Share, "share", FactType.Stake);
        Only(set.Amount, "amount", FactType.Investment, FactType.Acquisition);
        Only(set.ReportedEquivalent, "reportedEquivalent", FactType.Investment);
        Only(set.Instrument, "instrument", FactType.Investment);
        Only(set.Scope, "scope", FactType.Partnership, FactType.Announcement, FactType.Investment);
        Only(set.Title, "title", FactType.Announcement);
        Only(set.Role, "role", FactType.BoardSeat);
    }
}
