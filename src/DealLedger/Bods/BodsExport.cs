using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using DealLedger.Auditing;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Ownership;
using DealLedger.Relationships;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Bods;

/// <summary>What a BODS export wrote.</summary>
public sealed record BodsExportResult(string File, string At, string KnownAt, int Statements, int Entities, int Persons, int Relationships, int Interests);

/// <summary>
/// The ledger's ties in force on a date, as known at an instant, written as BODS 0.4 statements
/// (docs/bods.md): each organization as an entity or person statement; each pair as one
/// relationship statement whose interests are its holding (as the headline query answers it) and
/// its board seats and control. Imprecise dates are rounded to their first day, as BODS asks, with
/// an annotation giving the precision (the import reads it back); sources become the statement's
/// source. Statement ids are hashes of their content, so the same export is the same file.
/// </summary>
public static class BodsExport
{
    public const string Publisher = "DealLedger";

    /// <summary>How the annotation of an indirect relationship the export computed begins (the import knows its own derivations by it).</summary>
    internal const string ComputedText = "Computed by DealLedger";

    /// <param name="indirect">Also write the indirect relationships the chains of stakes give (look-through), each with its component records.</param>
    public static async Task<BodsExportResult> ExportBodsAsync(this Ledger ledger, string path, DateOnly? at = null, DateTimeOffset? knownAt = null, bool indirect = false,
        CancellationToken ct = default)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw LedgerException.Invalid($"{path} is a folder: a BODS export is one JSON file");
        }
        if (Path.GetDirectoryName(full) is { } dir && !Directory.Exists(dir))
        {
            throw LedgerException.Invalid($"{path}: the folder {dir} does not exist");
        }
        var (statements, result) = await ledger.BodsStatementsAsync(at, knownAt, indirect, ct);
        await File.WriteAllTextAsync(full, statements.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n", ct);
        return result with { File = path };
    }

    public static Task<(JsonArray Statements, BodsExportResult Result)> BodsStatementsAsync(this Ledger ledger, DateOnly? at = null, DateTimeOffset? knownAt = null,
        bool indirect = false, CancellationToken ct = default) =>
        ledger.ReadAsync(knownAt, async (c, k, token) =>
        {
            var day = at ?? ledger.Today;
            var holdings = await HoldingQuery.AllHeldAsync(c, ledger.Citations, k, day, token);
            var ties = (await FactVersions.OfTypesAsync(c, k, [FactType.BoardSeat, FactType.Control, FactType.IndirectStake], token))
                .Where(f => !f.IsRetracted && RelationshipsQuery.StatusAt(f, day) is not null).ToList();
            var pairs = holdings.Select(h => (h.Holder, h.Subject)).Concat(ties.Select(f => (((Tie)f.Current).Holder, ((Tie)f.Current).Subject)))
                .Distinct().OrderBy(p => p.Item1, StringComparer.Ordinal).ThenBy(p => p.Item2, StringComparer.Ordinal).ToList();
            // Owners not disclosed: relationships whose interested party is not specified, for the reason recorded.
            var undisclosed = (await FactVersions.OfTypesAsync(c, k, [FactType.OwnersUndisclosed], token))
                .Where(f => !f.IsRetracted && RelationshipsQuery.StatusAt(f, day) is not null).ToList();
            var ids = pairs.SelectMany(p => new[] { p.Item1, p.Item2 }).Concat(undisclosed.Select(f => ((OwnersUndisclosed)f.Current).Subject)).Distinct().Order(StringComparer.Ordinal).ToList();
            // Each organization as named on the day: its legal name, aliases and identifiers then. In id order, as written.
            var named = await DatedNames.RegisteredOnAsync(c, ids, day, k, token);
            var orgs = ids.ToDictionary(id => id, id => named[id], StringComparer.Ordinal);
            var cited = holdings.SelectMany(h => h.Finding.Sources.Select(x => x.Id)).Concat(ties.SelectMany(SourceCatalog.CitedBy)).Concat(undisclosed.SelectMany(SourceCatalog.CitedBy));
            var sources = await ledger.Citations.SourcesAsync(c, cited, token);
            var date = Instant.Format(k)[..10];
            var writer = new Writer(date, orgs);

            var statements = new JsonArray();
            foreach (var org in orgs.Values)
            {
                statements.Add(writer.Party(org));
            }
            var interests = 0;
            foreach (var (holder, subject) in pairs)
            {
                var holding = holdings.Where(h => h.Holder == holder && h.Subject == subject).Select(h => h.Finding).FirstOrDefault();
                var facts = ties.Where(f => f.Current is Tie t && t.Holder == holder && t.Subject == subject).OrderBy(f => f.Id, StringComparer.Ordinal).ToList();
                var statement = writer.Relationship(holder, subject, holding, facts, sources, Instant.Format(k));
                interests += statement["recordDetails"]!["interests"]!.AsArray().Count;
                statements.Add(statement);
            }
            foreach (var f in undisclosed.OrderBy(f => f.Id, StringComparer.Ordinal))
            {
                statements.Add(writer.Undisclosed(f, sources));
            }
            var relationships = pairs.Count + undisclosed.Count;
            if (indirect)
            {
                var written = Indirect(writer, holdings, day);
                relationships += written.Count;
                interests += written.Count;
                // The relationships on their chains are components of them (BODS: isComponent).
                var components = written.SelectMany(s => s["recordDetails"]!["componentRecords"]!.AsArray().Select(r => r!.GetValue<string>())).ToHashSet(StringComparer.Ordinal);
                foreach (var s in statements.Where(s => components.Contains(s!["recordId"]!.GetValue<string>()) && s["recordType"]!.GetValue<string>() == "relationship"))
                {
                    s!["recordDetails"]!["isComponent"] = true;
                }
                foreach (var s in written)
                {
                    statements.Add(s);
                }
            }
            foreach (var s in statements)
            {
                Identify(s!.AsObject());
            }
            return (statements, new BodsExportResult("", ValidDate.OfDay(day).ToString(), Instant.Format(k), statements.Count,
                orgs.Values.Count(o => o.Kind != OrganizationKind.Person), orgs.Values.Count(o => o.Kind == OrganizationKind.Person), relationships, interests));
        }, ct);

    /// <summary>
    /// The indirect relationships the chains of stakes give on the day (look-through to the default depth): one for each
    /// organization and each holder that reaches it through intermediaries, its share what those chains give (the direct
    /// stake between them left out), its component records the intermediaries and relationships of its strongest chains.
    /// </summary>
    private static List<JsonObject> Indirect(Writer writer, List<(string Holder, string Subject, HoldingFinding Finding)> holdings, DateOnly day)
    {
        var links = holdings.Select(h => new Link(h.Holder, h.Subject, Bounds.Counted(h.Finding.Status, h.Finding.Share, h.Finding.Alternatives?.Select(a => a.Share)))).ToList();
        var written = new List<JsonObject>();
        foreach (var subject in holdings.Select(h => h.Subject).Distinct().Order(StringComparer.Ordinal))
        {
            foreach (var owner in ChainSums.Owners(links, subject, LookThroughRequest.DefaultDepth).Reached.Where(r => r.Strongest.Any(c => c.Links.Count > 1))
                         .OrderBy(r => r.Organization, StringComparer.Ordinal))
            {
                // With a direct stake too, the sums without it (whose chains index the stakes without it).
                var found = owner.Direct is null ? (owner, links) : ChainSums.Indirect(links, owner.Organization, subject, LookThroughRequest.DefaultDepth);
                if (found is not var (through, among))
                {
                    continue;
                }
                var chains = through.Strongest.Where(c => c.Links.Count > 1).Select(c => c.Links.Select(i => among[i]).ToList()).ToList();
                written.Add(writer.IndirectRelationship(owner.Organization, subject, through.Share.ToShare(), through.Chains, chains, day));
            }
        }
        return written;
    }

    /// <summary>A statement's id: the SHA-256 of its canonical content (64 hex digits, within BODS's 32–64).</summary>
    private static void Identify(JsonObject statement)
    {
        var buffer = new ArrayBufferWriter<byte>();
        CanonicalEvent.Json(buffer, statement.ToJsonString());
        var id = Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
        var copy = new JsonObject { ["statementId"] = id };
        foreach (var (key, value) in statement.ToList())
        {
            statement.Remove(key);
            copy[key] = value;
        }
        foreach (var (key, value) in copy.ToList())
        {
            copy.Remove(key);
            statement[key] = value;
        }
    }

    private sealed class Writer(string date, IReadOnlyDictionary<string, OrganizationRegistered> orgs)
    {
        /// <summary>The BODS recordId of an organization: the one it was imported under, else its ledger id.</summary>
        private string RecordOf(string id) => orgs[id].Identifiers.GetValueOrDefault(BodsParties.RecordIdentifier) ?? id;

        private JsonObject Statement(string recordId, string type, string subject, JsonObject details, JsonObject? source = null, JsonArray? annotations = null)
        {
            var s = new JsonObject
            {
                ["statementDate"] = date,
                ["declarationSubject"] = subject,
                ["recordId"] = recordId,
                ["recordType"] = type,
                ["recordStatus"] = "new",
                ["recordDetails"] = details,
                ["publicationDetails"] = new JsonObject
                {
                    ["publicationDate"] = date,
                    ["bodsVersion"] = "0.4",
                    ["publisher"] = new JsonObject { ["name"] = Publisher },
                },
            };
            if (source is not null)
            {
                s["source"] = source;
            }
            if (annotations is { Count: > 0 })
            {
                s["annotations"] = annotations;
            }
            return s;
        }

        public JsonObject Party(OrganizationRegistered o)
        {
            var record = RecordOf(o.Id);
            var identifiers = new JsonArray();
            foreach (var (kind, value) in o.Identifiers.Where(i => i.Key != BodsParties.RecordIdentifier).OrderBy(i => i.Key, StringComparer.Ordinal))
            {
                identifiers.Add(kind == "lei" ? new JsonObject { ["id"] = value, ["scheme"] = "XI-LEI" } : new JsonObject { ["id"] = value, ["schemeName"] = kind });
            }
            JsonObject details;
            if (o.Kind == OrganizationKind.Person)
            {
                var names = new JsonArray(new JsonObject { ["type"] = "legal", ["fullName"] = o.Name });
                foreach (var alias in o.Aliases)
                {
                    names.Add(new JsonObject { ["type"] = "alternative", ["fullName"] = alias });
                }
                details = new JsonObject { ["isComponent"] = false, ["personType"] = "knownPerson", ["names"] = names };
            }
            else
            {
                var type = o.Kind switch
                {
                    OrganizationKind.Government => "state",
                    OrganizationKind.PublicBody => "stateBody",
                    OrganizationKind.Fund => "legalEntity",
                    _ => "registeredEntity",
                };
                var entityType = new JsonObject { ["type"] = type };
                if (o.Kind == OrganizationKind.Fund)
                {
                    entityType["details"] = "fund";
                }
                details = new JsonObject { ["isComponent"] = false, ["entityType"] = entityType, ["name"] = o.Name };
                if (o.Aliases.Count > 0)
                {
                    details["alternateNames"] = new JsonArray(o.Aliases.Select(a => (JsonNode)a).ToArray());
                }
                if (o.Country is { } country)
                {
                    details["jurisdiction"] = new JsonObject { ["name"] = CountryName(country), ["code"] = country };
                }
            }
            if (identifiers.Count > 0)
            {
                details["identifiers"] = identifiers;
            }
            return Statement(record, o.Kind == OrganizationKind.Person ? "person" : "entity", record, details);
        }

        public JsonObject Relationship(string holder, string subject, HoldingFinding? holding, List<FactState> facts,
            IReadOnlyDictionary<string, SourceRegistered> sources, string knownAt)
        {
            var interests = new JsonArray();
            var annotations = new JsonArray();
            var cited = new List<string>();
            if (holding is not null)
            {
                var interest = new JsonObject { ["type"] = "shareholding", ["directOrIndirect"] = "direct" };
                if (holding.Share is { } share)
                {
                    Shareholding(interest, share);
                }
                Dates(interest, holding.Since, holding.Until, false, 0, annotations);
                var rating = holding.Status == HoldingStatus.Uncertain
                    ? $"As known at {knownAt}, the ledger cannot tell whether this stake was held on the date exported: {holding.Explanation}"
                    : holding.Confidence is Confidence.Claimed or Confidence.Disputed
                        ? $"As known at {knownAt}, the ledger rates this stake {LedgerJson.Word(holding.Confidence.Value)}: {holding.Explanation}"
                        : null;
                if (rating is not null)
                {
                    annotations.Add(Annotation("/recordDetails/interests/0", "commenting", BodsTranslation.Clip(rating)));
                }
                interests.Add(interest);
                cited.AddRange(holding.Sources.Select(x => x.Id));
            }
            foreach (var f in facts)
            {
                var fact = f.Current;
                var interest = new JsonObject { ["type"] = TypeOf(fact), ["directOrIndirect"] = fact is IndirectStake ? "indirect" : "direct" };
                if (fact is Control { Share: { } share })
                {
                    interest["share"] = ShareJson(share);
                }
                else if (fact is IndirectStake indirect)
                {
                    Shareholding(interest, indirect.Share);
                }
                if (DetailsOf(fact) is { } text)
                {
                    interest["details"] = text;
                }
                Dates(interest, DateWithPrecision.Of(fact.Valid.From), DateWithPrecision.Of(f.EndsOn), fact.Valid.OrEarlier, interests.Count, annotations);
                interests.Add(interest);
                cited.AddRange(SourceCatalog.CitedBy(f));
            }
            var details = new JsonObject
            {
                ["isComponent"] = false,
                ["subject"] = RecordOf(subject),
                ["interestedParty"] = RecordOf(holder),
                ["interests"] = interests,
            };
            return Statement($"{RecordOf(holder)}~{RecordOf(subject)}", "relationship", RecordOf(subject), details,
                SourceOf(cited.Distinct().Where(sources.ContainsKey).Select(id => sources[id]).ToList()), annotations);
        }

        /// <summary>
        /// Owners not disclosed, as a relationship whose interested party is not specified: BODS's reason (the one the fact
        /// was read from, when its details begin with it), and the details as its description.
        /// </summary>
        public JsonObject Undisclosed(FactState f, IReadOnlyDictionary<string, SourceRegistered> sources)
        {
            var u = (OwnersUndisclosed)f.Current;
            var read = u.Details?.Split(':', 2) is [var code, var rest] && UnspecifiedReasons.Contains(code) ? (Code: code, Text: rest.Trim()) : ((string Code, string Text)?)null;
            var reason = read?.Code ?? u.Reason switch
            {
                UndisclosedReason.Exempt or UndisclosedReason.Listed => "subjectExemptFromDisclosure",
                UndisclosedReason.NoController => "noBeneficialOwners",
                UndisclosedReason.RegisterNotPublic => "informationUnknownToPublisher",
                _ => "unknown",
            };
            var party = new JsonObject { ["reason"] = reason };
            if ((read?.Text ?? u.Details ?? (u.Reason == UndisclosedReason.Listed ? "a listed company" : null)) is { Length: > 0 } description)
            {
                party["description"] = description;
            }
            // Its dates go on an interest of unknown nature, as any interest's do (an "in force by" date as a note).
            var interest = new JsonObject { ["type"] = "unknownInterest", ["directOrIndirect"] = "unknown" };
            var annotations = new JsonArray();
            Dates(interest, DateWithPrecision.Of(u.Valid.From), DateWithPrecision.Of(f.EndsOn), u.Valid.OrEarlier, 0, annotations);
            var details = new JsonObject { ["isComponent"] = false, ["subject"] = RecordOf(u.Subject), ["interestedParty"] = party, ["interests"] = new JsonArray(interest) };
            return Statement(f.Id, "relationship", RecordOf(u.Subject), details,
                SourceOf(SourceCatalog.CitedBy(f).Distinct().Where(sources.ContainsKey).Select(id => sources[id]).ToList()), annotations);
        }

        private static readonly HashSet<string> UnspecifiedReasons =
        [
            "noBeneficialOwners", "subjectUnableToConfirmOrIdentifyBeneficialOwner", "interestedPartyHasNotProvidedInformation", "subjectExemptFromDisclosure",
            "interestedPartyExemptFromDisclosure", "unknown", "informationUnknownToPublisher",
        ];

        /// <summary>
        /// An indirect relationship the chains give: an indirect shareholding of the share they give, with the
        /// intermediaries and the relationships of its strongest chains as component records. The ledger states it
        /// as computed, not as declared: its annotation says so, and it has no source of its own.
        /// </summary>
        public JsonObject IndirectRelationship(string holder, string subject, Share share, int chainCount, List<List<Link>> chains, DateOnly day)
        {
            var components = new List<string>();
            foreach (var link in chains.SelectMany(c => c))
            {
                foreach (var record in new[] { link.Holder == holder ? null : RecordOf(link.Holder), $"{RecordOf(link.Holder)}~{RecordOf(link.Subject)}" })
                {
                    if (record is not null && !components.Contains(record))
                    {
                        components.Add(record);
                    }
                }
            }
            var interest = new JsonObject { ["type"] = "shareholding", ["directOrIndirect"] = "indirect", ["share"] = ShareJson(share) };
            var details = new JsonObject
            {
                ["isComponent"] = false,
                ["subject"] = RecordOf(subject),
                ["interestedParty"] = RecordOf(holder),
                ["interests"] = new JsonArray(interest),
                ["componentRecords"] = new JsonArray(components.Select(c => (JsonNode)c).ToArray()),
            };
            var text = $"{ComputedText} on {day:yyyy-MM-dd}: the sum over {chainCount} {(chainCount == 1 ? "chain" : "chains")} of stakes through intermediaries " +
                "of the product of the shares along each (look-through), the direct stake between the two left out; the strongest chains' records are its components.";
            return Statement($"{RecordOf(holder)}~{RecordOf(subject)}~indirect", "relationship", RecordOf(subject), details, null,
                new JsonArray(Annotation("/recordDetails/interests/0", "commenting", BodsTranslation.Clip(text))));
        }

        /// <summary>A shareholding's share, its wording as the interest's details (the import reads it back as a note).</summary>
        private static void Shareholding(JsonObject interest, Share share)
        {
            interest["share"] = ShareJson(share);
            if (share.Wording is { } w)
            {
                interest["details"] = w;
            }
        }

        /// <summary>Start and end as BODS days; a month or year is its first day, with an annotation of the export giving the precision.</summary>
        private static void Dates(JsonObject interest, DateWithPrecision? since, DateWithPrecision? until, bool startUnknown, int index, JsonArray annotations)
        {
            var pointer = $"/recordDetails/interests/{index}";
            if (since is { } s)
            {
                var from = ValidDate.Parse(s.Date);
                if (startUnknown)
                {
                    annotations.Add(Annotation(pointer, "commenting", BodsAnnotations.InForceText(from)));
                }
                else
                {
                    interest["startDate"] = from.Start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                    if (!from.IsExactDay)
                    {
                        annotations.Add(Annotation(pointer + "/startDate", "transformation", BodsAnnotations.RoundedText(from)));
                    }
                }
            }
            if (until is { } u)
            {
                var to = ValidDate.Parse(u.Date);
                interest["endDate"] = to.Start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                if (!to.IsExactDay)
                {
                    annotations.Add(Annotation(pointer + "/endDate", "transformation", BodsAnnotations.RoundedText(to)));
                }
            }
        }

        private static JsonObject Annotation(string pointer, string motivation, string description) => new()
        {
            ["statementPointerTarget"] = pointer,
            ["motivation"] = motivation,
            ["description"] = description,
            ["createdBy"] = new JsonObject { ["name"] = Publisher },
        };

        /// <summary>The ledger's sources of a relationship as one BODS source: their kinds, titles and the first URL.</summary>
        private static JsonObject? SourceOf(List<SourceRegistered> cited)
        {
            if (cited.Count == 0)
            {
                return null;
            }
            var types = cited.Select(s => s.Kind switch
            {
                SourceKind.SelfDeclaration => "selfDeclaration",
                SourceKind.OfficialRegister => "officialRegister",
                SourceKind.PrimaryResearch => "primaryResearch",
                _ => "thirdParty",
            }).Distinct().Order(StringComparer.Ordinal).Select(t => (JsonNode)t).ToArray();
            var source = new JsonObject
            {
                ["type"] = new JsonArray(types),
                ["description"] = BodsTranslation.Clip("As recorded in DealLedger from: " + string.Join("; ", cited.Select(s =>
                    $"{s.Title} [{s.Id}; {LedgerJson.Word(s.Kind)}{(s.Publisher is { } p ? $"; {p}" : "")}{(s.Published is { } d ? $"; {d}" : "")}]"))),
            };
            if (cited.Select(s => s.Url).FirstOrDefault(u => u is not null) is { } url)
            {
                source["url"] = url;
            }
            return source;
        }
    }

    /// <summary>A ledger share as BODS writes it: exact, or each bound as inclusive (minimum/maximum) or exclusive.</summary>
    public static JsonObject ShareJson(Share s)
    {
        if (s.Exact is { } e)
        {
            return new JsonObject { ["exact"] = e };
        }
        return new JsonObject
        {
            [s.MinInclusive ? "minimum" : "exclusiveMinimum"] = s.Min ?? 0m,
            [s.MaxInclusive ? "maximum" : "exclusiveMaximum"] = s.Max ?? 100m,
        };
    }

    /// <summary>The BODS interest type of a board seat, control or stated indirect stake (the reverse of the import's table).</summary>
    private static string TypeOf(Fact f) => f switch
    {
        IndirectStake => "shareholding",
        BoardSeat seat => seat.Role == "board chair" ? "boardChair" : "boardMember",
        Control c => BodsTranslation.InterestTypeOf(c.Means) ?? "otherInfluenceOrControl",
        _ => throw new ArgumentException($"a {f.Type} fact is not a BODS interest of its own", nameof(f)),
    };

    private static string? DetailsOf(Fact f) => f switch
    {
        BoardSeat seat => seat.Role is null or "board chair" or "board member" ? null : seat.Role,
        Control c => BodsTranslation.InterestTypeOf(c.Means) is null ? c.Means : null,
        _ => null,
    };

    private static string CountryName(string code)
    {
        try
        {
            return new RegionInfo(code).EnglishName;
        }
        catch (ArgumentException)
        {
            return code;
        }
    }
}
