using System.Text.Json;
using System.Text.Json.Nodes;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Storage;
using DealLedger.Time;
using DealLedger.Writing;

namespace DealLedger.Bods;

/// <summary>
/// Turns one BODS statement into a ledger document (DESIGN §9), reading what the ledger already
/// holds through the write's own transaction: a record's later statements become claims,
/// changes, corrections and endings of the facts its earlier ones recorded. The document then goes
/// through the ledger's one import, so every rule and natural key applies. What has no place in
/// the ledger is reported with its reason (docs/bods.md has the whole mapping).
/// </summary>
internal sealed class BodsTranslation(LedgerTransaction t)
{
    /// <summary>Interest types the ledger has a fact for: the kind, and the words of its means or role.</summary>
    private static readonly Dictionary<string, (FactType Kind, string Words)> Mapped = new()
    {
        ["shareholding"] = (FactType.Stake, "shareholding"),
        ["votingRights"] = (FactType.Control, "voting rights"),
        ["appointmentOfBoard"] = (FactType.Control, "the right to appoint the board"),
        ["otherInfluenceOrControl"] = (FactType.Control, "other influence or control"),
        ["seniorManagingOfficial"] = (FactType.Control, "senior management"),
        ["controlViaCompanyRulesOrArticles"] = (FactType.Control, "company rules or articles"),
        ["controlByLegalFramework"] = (FactType.Control, "a legal framework"),
        ["boardMember"] = (FactType.BoardSeat, "board member"),
        ["boardChair"] = (FactType.BoardSeat, "board chair"),
    };

    /// <summary>The BODS interest type of a control fact's means, or null when the means is not one of BODS's.</summary>
    public static string? InterestTypeOf(string? means) =>
        Mapped.Where(m => m.Value.Kind == FactType.Control && m.Value.Words == means).Select(m => m.Key).FirstOrDefault();

    private const string Kinds = "the ledger records stakes (direct shareholdings, and indirect ones as stated), board seats and control";

    /// <summary>Interest types with no counterpart among the ledger's facts, and why.</summary>
    private static readonly Dictionary<string, string> Unmappable = new()
    {
        ["settlor"] = $"a settlor's role in a trust or similar arrangement has no counterpart: {Kinds}",
        ["trustee"] = $"a trustee's role in a trust or similar arrangement has no counterpart: {Kinds}",
        ["protector"] = $"a protector's role in a trust or similar arrangement has no counterpart: {Kinds}",
        ["beneficiaryOfLegalArrangement"] = $"benefit from a trust or similar arrangement is neither a shareholding nor control: {Kinds}",
        ["rightsToSurplusAssetsOnDissolution"] = $"a right to surplus assets is an economic right, not a shareholding: {Kinds}",
        ["rightsToProfitOrIncome"] = $"a right to profit or income is an economic right, not a shareholding: {Kinds}",
        ["rightToProfitOrIncomeFromAssets"] = $"a right to profit or income from assets is an economic right, not a shareholding: {Kinds}",
        ["enjoymentAndUseOfAssets"] = $"use of an entity's assets is neither a shareholding nor control: {Kinds}",
        ["rightsGrantedByContract"] = $"rights granted by contract are of unstated nature: {Kinds}",
        ["conditionalRightsGrantedByContract"] = $"conditional contractual rights are of unstated nature: {Kinds}",
        ["nominee"] = $"acting for another (a nominee) is not itself a tie of the ledger's kinds: {Kinds}",
        ["nominator"] = $"instructing a nominee is not itself a tie of the ledger's kinds: {Kinds}",
        ["unknownInterest"] = $"the nature of the interest is unknown: {Kinds}, each of a known nature",
        ["unpublishedInterest"] = $"the nature of the interest is not published: {Kinds}, each of a known nature",
    };

    /// <summary>What the translation of one statement made, and what it could not place.</summary>
    public sealed class Draft(BodsStatement statement)
    {
        public BodsStatement Statement { get; } = statement;
        public JsonArray Organizations { get; } = [];
        public JsonArray Deals { get; } = [];
        public JsonArray Claims { get; } = [];
        public JsonArray Corrections { get; } = [];
        public JsonArray Endings { get; } = [];
        public JsonObject? Source { get; set; }

        /// <summary>The ledger holds this statement from an earlier import: its document is its source alone, known.</summary>
        public bool RecordedBefore { get; set; }
        public List<string> Maps { get; } = [];
        public List<string> Unmapped { get; } = [];
        public List<string> Notes { get; } = [];

        public bool CitesSource => Deals.Count + Claims.Count + Corrections.Count + Endings.Count > 0;

        public JsonObject Document()
        {
            var doc = new JsonObject();
            void Put(string name, JsonArray list)
            {
                if (list.Count > 0)
                {
                    doc[name] = list;
                }
            }
            Put("organizations", Organizations);
            if (Source is not null && (CitesSource || RecordedBefore))
            {
                doc["sources"] = new JsonArray(Source);
            }
            Put("deals", Deals);
            Put("claims", Claims);
            Put("corrections", Corrections);
            Put("endings", Endings);
            return doc;
        }
    }

    public async Task<Draft> TranslateAsync(BodsStatement s, CancellationToken ct)
    {
        var d = new Draft(s);
        if (s.RecordType == "relationship")
        {
            await RelationshipAsync(s, d, ct);
        }
        else
        {
            await PartyAsync(s, d, ct);
        }
        return d;
    }

    // ---------------------------------------------------------------- entities and persons

    private async Task PartyAsync(BodsStatement s, Draft d, CancellationToken ct)
    {
        var org = BodsParties.Organization(s, d.Notes);
        var id = (string)org["id"]!;
        var known = await t.OrganizationAsync(id, ct);
        var mine = known is null || known.Identifiers.GetValueOrDefault(BodsParties.RecordIdentifier) == s.RecordId;
        if (known is not null && mine && LedgerJson.Canonical(known) != LedgerJson.Canonical(BodsParties.Registered(org)))
        {
            d.Maps.Add($"organization {id} (registered before)");
            await NamesChangedAsync(s, d, known, BodsParties.Registered(org), ct);
        }
        else
        {
            // A different record under the same slug is left to the import, which refuses it as a conflict.
            d.Organizations.Add(org);
            d.Maps.Add($"organization {id} ({LedgerJson.Word(BodsParties.Registered(org).Kind)}) \"{org["name"]}\"");
            // A later statement with the details it was registered with may name it so again after a change of name.
            if (known is not null && mine && s.RecordStatus != "new")
            {
                await NamesChangedAsync(s, d, known, BodsParties.Registered(org), ct);
            }
        }
        if (s.RecordStatus == "closed")
        {
            var death = BodsStatement.Text(s.Details, "deathDate") is { } dd ? $" (death date {dd} not recorded)" : "";
            d.Unmapped.Add($"the record is closed{death}: the ledger does not end organizations or persons; their relationships end through their own statements");
        }
        foreach (var a in BodsStatement.List(s.Json, "annotations"))
        {
            d.Unmapped.Add($"annotation at '{BodsStatement.Text(a, "statementPointerTarget")}' not kept: organizations carry no notes in the ledger");
        }
    }

    /// <summary>
    /// A later statement of a registered record with other details: a new name, new alternate names and changed identifiers
    /// become name and identifier facts in force by the statement's date (BODS does not date the change), unless the ledger
    /// already has them so; a kind or country changed is not recorded (an organization is registered once), and says so.
    /// </summary>
    private async Task NamesChangedAsync(BodsStatement s, Draft d, Organizations.OrganizationRegistered known, Organizations.OrganizationRegistered now, CancellationToken ct)
    {
        var deal = BodsIds.Deal(s.RecordId);
        var day = ValidDate.OfDay(s.StatementDate);
        var states = (await t.FactsOfDealAsync(deal, [known.Id], ct)).Where(f => !f.IsRetracted).ToList();
        var facts = states.Select(f => f.Current).ToList();
        var claim = BodsSources.Claim(s, null, null, []);
        var entries = new JsonArray();
        void Add(string word, JsonObject fields, string what)
        {
            var id = BodsIds.Fact(s.RecordId, word, day.ToString());
            if (facts.Any(f => f.Id == id))
            {
                d.Maps.Add($"{what}: recorded before as fact {id}");
                return;
            }
            fields["id"] = id;
            fields["subject"] = known.Id;
            fields["valid"] = new JsonObject { ["by"] = day.ToString() };
            fields["sources"] = new JsonArray(claim.DeepClone());
            entries.Add(fields);
            d.Maps.Add($"{what}: new fact {id}, in force by {day}");
        }
        var names = facts.OfType<OrganizationName>().ToList();
        // The legal name this record's statements give it on the statement's date (the registered one before any): a name
        // borne before, or the registered one, given again later is a change back, recorded as any other.
        var current = Organizations.DatedNames.LegalNameOn(known.Name, states.Where(f => f.Current is OrganizationName), day.Start);
        if (now.Name != current)
        {
            Add("name", new JsonObject { ["type"] = "name", ["name"] = now.Name, ["use"] = "legal" }, $"name \"{current}\" → \"{now.Name}\"");
        }
        foreach (var (alias, i) in now.Aliases.Except(known.Aliases).Where(a => !names.Any(n => n.Name == a)).Select((a, i) => (a, i)))
        {
            Add($"alias-{i + 1}", new JsonObject { ["type"] = "name", ["name"] = alias, ["use"] = "alias" }, $"alternate name \"{alias}\"");
        }
        var identifiers = facts.OfType<OrganizationIdentifier>().ToList();
        foreach (var (scheme, value) in now.Identifiers.Where(x => known.Identifiers.GetValueOrDefault(x.Key) != x.Value && !identifiers.Any(i => i.Scheme == x.Key && i.Value == x.Value)))
        {
            Add($"identifier-{scheme}", new JsonObject { ["type"] = "identifier", ["scheme"] = scheme, ["value"] = value }, $"identifier {scheme} {value}");
        }
        if (entries.Count > 0)
        {
            d.Source = BodsSources.Source(s, d.Notes);
            d.Deals.Add(new JsonObject
            {
                ["id"] = deal,
                ["title"] = Clip($"BODS entity record {s.RecordId}"),
                ["parties"] = new JsonArray(known.Id),
                ["facts"] = entries,
            });
        }
        var unrecorded = new List<string>();
        if (now.Kind != known.Kind) unrecorded.Add($"kind {LedgerJson.Word(known.Kind)} → {LedgerJson.Word(now.Kind)}");
        if (now.Country != known.Country) unrecorded.Add($"country {known.Country ?? "none"} → {now.Country ?? "none"}");
        if (unrecorded.Count > 0)
        {
            d.Unmapped.Add($"details differ from the organization registered for record {s.RecordId} ({string.Join(", ", unrecorded)}): " +
                "the ledger registers an organization once, so a change of kind or country is not recorded");
        }
    }

    // ---------------------------------------------------------------- relationships

    /// <summary>One interest of a relationship statement, as the ledger would hold it.</summary>
    private sealed record Interest(int Index, string Type, FactType Kind, string Words, Share? Share, ValidDate? Start, bool StartBy, ValidDate? End, string? Note)
    {
        // A stated indirect shareholding is a fact apart from the record's direct one: its own id.
        public string Base(string recordId) => BodsIds.Fact(recordId, Kind == FactType.IndirectStake ? "indirect-shareholding" : BodsIds.Word(Type), Start?.ToString() ?? "undated");
    }

    private async Task RelationshipAsync(BodsStatement s, Draft d, CancellationToken ct)
    {
        var details = s.Details;
        if (BodsStatement.Get(details, "interestedParty") is { ValueKind: JsonValueKind.Object } unspecified)
        {
            await UndisclosedAsync(s, d, unspecified, ct);
            return;
        }
        var holder = await RelatedAsync(s, details, "interestedParty", d, ct);
        var subject = await RelatedAsync(s, details, "subject", d, ct);
        var annotations = BodsAnnotations.Of(s);
        if (holder is null || subject is null)
        {
            NotKept(d, annotations);
            return;
        }
        // An indirect relationship this ledger's export computed from its chains is a derivation, not a declaration: read
        // back as a stated claim it would only restate the chains, once more with every export and import.
        if (annotations.Any(a => a.Author == BodsExport.Publisher && a.Description?.StartsWith(BodsExport.ComputedText, StringComparison.Ordinal) == true))
        {
            d.Unmapped.Add($"an indirect relationship {BodsExport.Publisher} computed from the chains it lists (componentRecords), not a declaration: those chains' own statements are what is read");
            return;
        }
        if (holder == subject)
        {
            d.Unmapped.Add($"the interested party and the subject are the same record ({s.RecordId}): no one holds an interest in itself");
            return;
        }
        var deal = BodsIds.Deal(s.RecordId);
        if (await t.DealAsync(deal, ct) is { } knownDeal && !(await SurvivorsAsync(knownDeal.Parties, ct)).SequenceEqual([holder, subject]))
        {
            d.Unmapped.Add($"record {s.RecordId} first tied {string.Join(" and ", knownDeal.Parties)}; this statement names {holder} and {subject}: a record's parties cannot change");
            return;
        }
        var all = await t.FactsOfDealAsync(deal, [holder, subject], ct);
        var facts = all.Where(f => !f.IsRetracted).ToList();
        var claim = BodsSources.Claim(s, null, null, annotations);
        d.Source = BodsSources.Source(s, d.Notes);
        var source = BodsIds.Source(s.StatementId);
        // A statement the ledger holds was read when first imported; read again against what later
        // statements updated or corrected, it would take their difference for news (issue 20).
        d.RecordedBefore = await t.SourceAsync(source, ct) is { } held && held.ContentHash == (string?)d.Source["contentHash"];
        var day = ValidDate.OfDay(s.StatementDate);
        var newFacts = new JsonArray();
        var matched = new List<(FactState? Fact, string Id, Interest Interest, bool New)>();
        var endedHere = new HashSet<string>(StringComparer.Ordinal);
        var interests = BodsStatement.List(details, "interests").ToList();
        if (interests.Count == 0)
        {
            d.Unmapped.Add("the relationship states no interests: there is nothing to record");
        }
        for (var i = 0; i < interests.Count; i++)
        {
            if (Read(interests[i], i, annotations, d) is not { } interest)
            {
                continue;
            }
            var claimHere = BodsSources.Claim(s, interest.Index, interest.Note, annotations);
            var id = interest.Base(s.RecordId);
            if (matched.Any(m => m.Id == id || m.Interest.Base(s.RecordId) == id))
            {
                d.Unmapped.Add($"interests[{i}] ({interest.Type}): a second {interest.Type} interest starting {interest.Start?.ToString() ?? "undated"} in one statement; the ledger keeps one such fact per record and start");
                continue;
            }
            if (d.RecordedBefore)
            {
                var citing = Chain(all, id).Where(f => f.Current.Sources.Any(c => c.Source == source)).Select(f => f.Id).ToList();
                matched.Add((null, id, interest, false));
                d.Maps.Add($"{Describe(interest)}: recorded before" + (citing.Count == 0 ? "" : $" (cited by fact {string.Join(", ", citing)})"));
                continue;
            }
            var member = Current(facts, id, interest, day);
            if (member is null)
            {
                newFacts.Add(FactEntry(id, interest, holder, subject, interest.Start, interest.StartBy, interest.End, claimHere, day, d));
                matched.Add((null, id, interest, true));
                d.Maps.Add($"{Describe(interest)}: new fact {id}");
                continue;
            }
            if (Same(member.Current, interest))
            {
                matched.Add((member, member.Id, interest, false));
                d.Claims.Add(With(claimHere, "fact", member.Id));
                d.Maps.Add($"{Describe(interest)}: confirms fact {member.Id}");
                if (interest.End is { } end)
                {
                    EndWith(member, end, $"BODS statement {s.StatementId} gives the interest's end date", claimHere, d, endedHere);
                }
                else if (member.EndsOn is { } ended && ended.Start <= s.StatementDate)
                {
                    d.Notes.Add($"interests[{i}]: fact {member.Id} ends on {ended} in the ledger, before this statement's date, which declares it without an end; not changed");
                }
                continue;
            }
            if (BodsAnnotations.Correcting(annotations, i) is { } reason)
            {
                d.Corrections.Add(new JsonObject
                {
                    ["fact"] = member.Id,
                    ["set"] = SetOf(interest),
                    ["reason"] = Clip($"BODS statement {s.StatementId} corrects it: {reason}"),
                    ["sources"] = new JsonArray(claimHere),
                });
                matched.Add((member, member.Id, interest, false));
                d.Maps.Add($"{Describe(interest)}: corrects fact {member.Id}");
                continue;
            }
            if (day.CannotFollow(member.Current.Valid.From))
            {
                d.Corrections.Add(new JsonObject
                {
                    ["fact"] = member.Id,
                    ["set"] = SetOf(interest),
                    ["reason"] = $"BODS statement {s.StatementId} of {day} restates it, no later than its start, with other values",
                    ["sources"] = new JsonArray(claimHere),
                });
                matched.Add((member, member.Id, interest, false));
                d.Maps.Add($"{Describe(interest)}: corrects fact {member.Id} (restated no later than its start)");
                continue;
            }
            // A record's details are as declared on the statement date: a new size or means is a change by then.
            var next = $"{id}-from-{day}";
            newFacts.Add(FactEntry(next, interest, holder, subject, day, false, interest.End, claimHere, day, d));
            matched.Add((null, next, interest, true));
            d.Notes.Add($"interests[{i}]: the values changed from fact {member.Id}; BODS does not date the change, so the new state starts at the statement date ({day})");
            d.Maps.Add($"{Describe(interest)}: new fact {next} (changed by {day})");
            if (interest.Kind != FactType.Stake)
            {
                EndWith(member, day, $"changed by BODS statement {s.StatementId}: restated with other values from {day}", claimHere, d, endedHere);
            }
        }
        if (d.RecordedBefore)
        {
            // What it ended then stays ended; what began since is not its to end.
            foreach (var f in all.Where(f => f.Ending?.Sources.Any(c => c.Source == source) == true))
            {
                d.Maps.Add($"ends fact {f.Id} on {f.Ending!.On} (recorded before)");
            }
        }
        else
        {
            if (newFacts.Count > 0)
            {
                d.Deals.Add(new JsonObject
                {
                    ["id"] = deal,
                    ["title"] = Clip($"BODS relationship record {s.RecordId}"),
                    // As first recorded: a party merged since is read as its survivor, the deal stays as published.
                    ["parties"] = await PartiesAsync(deal, [holder, subject], ct),
                    ["facts"] = newFacts,
                });
            }
            EndUnlisted(s, facts, matched, claim, day, d, endedHere);
        }
        if (!d.CitesSource && d.Maps.Count == 0)
        {
            NotKept(d, annotations);
        }
    }

    /// <summary>
    /// What the statement no longer lists ends: a closed record ends everything still open (at its
    /// interests' end dates, or at the statement date, saying so); an updated record ends what it
    /// dropped. A stake is never ended for a later stake of the record: succession (DESIGN §3 rule 4) ends it.
    /// </summary>
    private static void EndUnlisted(BodsStatement s, List<FactState> facts, List<(FactState? Fact, string Id, Interest Interest, bool New)> matched,
        JsonObject claim, ValidDate day, Draft d, HashSet<string> endedHere)
    {
        var begun = facts.Where(f => f.Current.Valid.From.Start <= s.StatementDate).ToList();
        // The stake that stood at the statement date is the latest begun; earlier ones ended by succession.
        var stakeHead = begun.Where(f => f.Current.Type == FactType.Stake).MaxBy(f => f.Current.Valid.From.Start);
        var heads = begun.Where(f => (f.Current.Type != FactType.Stake || f == stakeHead) && f.EndsOn is null && !endedHere.Contains(f.Id)).ToList();
        var closed = s.RecordStatus == "closed";
        var stakeListed = matched.Any(m => m.Interest.Kind == FactType.Stake);
        foreach (var head in heads)
        {
            var listed = matched.FirstOrDefault(m => m.Fact == head);
            if (closed)
            {
                if (listed.Interest?.End is not null)
                {
                    continue; // ended at its own end date above
                }
                EndWith(head, day, $"BODS record {s.RecordId} was closed by statement {s.StatementId} on {day} without an end date: ended at the statement date", claim, d, endedHere);
                continue;
            }
            if (listed.Id is not null || (head.Current.Type == FactType.Stake && stakeListed))
            {
                continue;
            }
            var successor = matched.Where(m => m.New && m.Interest.Kind == head.Current.Type && WordsOf(m.Interest) == WordsOf(head.Current))
                .Select(m => m.Interest.Start).FirstOrDefault(x => x is { } st && !st.CannotFollow(head.Current.Valid.From));
            if (successor is { } from)
            {
                EndWith(head, from, $"restated from {from} by BODS statement {s.StatementId}", claim, d, endedHere);
            }
            else
            {
                EndWith(head, day, $"no longer declared in BODS statement {s.StatementId} (record {s.RecordId} updated on {day}): ended at the statement date", claim, d, endedHere);
            }
        }
    }

    private static void EndWith(FactState fact, ValidDate on, string reason, JsonObject claim, Draft d, HashSet<string> endedHere)
    {
        if (fact.EndsOn is { } already)
        {
            if (already != on)
            {
                d.Notes.Add($"fact {fact.Id} ends on {already} in the ledger; this statement gives {on}; not changed");
            }
            return;
        }
        if (endedHere.Contains(fact.Id))
        {
            return;
        }
        if (on.CannotFollow(fact.Current.Valid.From))
        {
            d.Unmapped.Add($"fact {fact.Id} cannot end on {on}: it starts on {fact.Current.Valid.From}");
            return;
        }
        endedHere.Add(fact.Id);
        d.Endings.Add(new JsonObject { ["fact"] = fact.Id, ["on"] = on.ToString(), ["reason"] = Clip(reason), ["sources"] = new JsonArray(claim.DeepClone()) });
        d.Maps.Add($"ends fact {fact.Id} on {on}");
    }

    /// <summary>The fact of the record's chain for this interest that stood at the statement's date (its first, when none had begun).</summary>
    private static FactState? Current(List<FactState> facts, string id, Interest interest, ValidDate day)
    {
        var chain = Chain(facts, id).OrderBy(f => f.Current.Valid.From.Start).ToList();
        var by = interest.Start is { } st && st.Start > day.Start ? st.Start : day.Start;
        return chain.LastOrDefault(f => f.Current.Valid.From.Start <= by) ?? chain.FirstOrDefault();
    }

    /// <summary>The facts of one interest's chain: its first fact and its later states (…-from-…).</summary>
    private static IEnumerable<FactState> Chain(IEnumerable<FactState> facts, string id) =>
        facts.Where(f => f.Id == id || f.Id.StartsWith(id + "-from-", StringComparison.Ordinal));

    private static bool Same(Fact f, Interest i) => f.Type == i.Kind && ShareOf(f) == i.Share && WordsOf(f) == WordsOf(i);

    private static Share? ShareOf(Fact f) => f switch { Stake s => s.Share, IndirectStake s => s.Share, Control c => c.Share, _ => null };

    /// <summary>A control fact's means or a board seat's role; a stake has none.</summary>
    private static string? WordsOf(Fact f) => f switch { Control c => c.Means, BoardSeat b => b.Role, _ => null };

    private static string? WordsOf(Interest i) => i.Kind is FactType.Stake or FactType.IndirectStake ? null : i.Words;

    private static JsonObject SetOf(Interest i) => i.Kind switch
    {
        FactType.BoardSeat => new JsonObject { ["role"] = i.Words },
        FactType.Control => i.Share is { } c ? new JsonObject { ["means"] = i.Words, ["share"] = ShareJson(c) } : new JsonObject { ["means"] = i.Words },
        _ => new JsonObject { ["share"] = ShareJson(i.Share!) },
    };

    private static JsonObject FactEntry(string id, Interest i, string holder, string subject, ValidDate? start, bool startBy, ValidDate? end,
        JsonObject claim, ValidDate day, Draft d)
    {
        var fact = new JsonObject { ["id"] = id, ["type"] = LedgerJson.Word(i.Kind), ["holder"] = holder, ["subject"] = subject };
        switch (i.Kind)
        {
            case FactType.Stake or FactType.IndirectStake:
                fact["share"] = ShareJson(i.Share!);
                break;
            case FactType.Control:
                fact["means"] = i.Words;
                if (i.Share is { } c)
                {
                    fact["share"] = ShareJson(c);
                }
                break;
            default:
                fact["role"] = i.Words;
                break;
        }
        var valid = new JsonObject();
        if (start is { } from)
        {
            valid[startBy && i.Kind != FactType.Stake ? "by" : "from"] = from.ToString();
        }
        else if (i.Kind == FactType.Stake)
        {
            // A stake needs the day it began; the statement only shows it held by its date.
            valid["from"] = day.ToString();
            d.Notes.Add($"interests[{i.Index}]: no start date; the stake is dated from the statement date ({day}), when it is known to be held");
        }
        else
        {
            valid["by"] = day.ToString();
            d.Notes.Add($"interests[{i.Index}]: no start date; recorded as in force by the statement date ({day})");
        }
        var first = start ?? day;
        if (end is { } to)
        {
            if (to.CannotFollow(first))
            {
                d.Unmapped.Add($"interests[{i.Index}]: end date {to} is not after its start ({first}); the end is not recorded");
            }
            else
            {
                valid["to"] = to.ToString();
            }
        }
        fact["valid"] = valid;
        fact["sources"] = new JsonArray(claim.DeepClone());
        return fact;
    }

    /// <summary>A share as a document writes it: { exact } or the full range with both ends' inclusivity.</summary>
    public static JsonObject ShareJson(Share s) => s.Exact is { } e
        ? new JsonObject { ["exact"] = e }
        : new JsonObject { ["min"] = s.Min ?? 0m, ["minInclusive"] = s.MinInclusive, ["max"] = s.Max ?? 100m, ["maxInclusive"] = s.MaxInclusive };

    private static string Describe(Interest i) =>
        $"interests[{i.Index}] {i.Type}{(i.Share is { } s ? " " + s.ToReadable() : "")}{(i.Start is { } st ? $" from {st}" : "")}{(i.End is { } e ? $" to {e}" : "")}";

    private static JsonObject With(JsonObject claim, string key, string value)
    {
        var copy = (JsonObject)claim.DeepClone();
        copy[key] = value;
        return copy;
    }

    private static void NotKept(Draft d, IReadOnlyList<BodsAnnotations.Annotation> annotations)
    {
        foreach (var a in annotations)
        {
            d.Unmapped.Add($"annotation at '{a.Pointer}' not kept: nothing of this statement was recorded to carry it");
        }
    }

    /// <summary>BODS's reasons an interested party is not specified, as the ledger's reasons owners are not disclosed.</summary>
    private static readonly Dictionary<string, UndisclosedReason> Reasons = new(StringComparer.Ordinal)
    {
        ["noBeneficialOwners"] = UndisclosedReason.NoController,
        ["subjectExemptFromDisclosure"] = UndisclosedReason.Exempt,
        ["interestedPartyExemptFromDisclosure"] = UndisclosedReason.Exempt,
    };

    /// <summary>
    /// A relationship whose interested party is not specified: the subject's owners are not disclosed, for the reason given
    /// (an owners-undisclosed fact; its BODS reason and description are its details). Undated, it holds by the statement date;
    /// a closed record ends it then.
    /// </summary>
    private async Task UndisclosedAsync(BodsStatement s, Draft d, JsonElement unspecified, CancellationToken ct)
    {
        var annotations = BodsAnnotations.Of(s);
        if (await RelatedAsync(s, s.Details, "subject", d, ct) is not { } subject)
        {
            NotKept(d, annotations);
            return;
        }
        var code = BodsStatement.Text(unspecified, "reason") ?? "unknown";
        var reason = Reasons.GetValueOrDefault(code, UndisclosedReason.Unknown);
        var details = Clip(code + (BodsStatement.Text(unspecified, "description") is { } text ? $": {text}" : ""));
        var deal = BodsIds.Deal(s.RecordId);
        if (await t.DealAsync(deal, ct) is { } knownDeal && !(await SurvivorsAsync(knownDeal.Parties, ct)).SequenceEqual([subject]))
        {
            d.Unmapped.Add($"record {s.RecordId} first tied {string.Join(" and ", knownDeal.Parties)}; this statement names {subject} alone: a record's parties cannot change");
            return;
        }
        d.Source = BodsSources.Source(s, d.Notes);
        var source = BodsIds.Source(s.StatementId);
        d.RecordedBefore = await t.SourceAsync(source, ct) is { } held && held.ContentHash == (string?)d.Source["contentHash"];
        var day = ValidDate.OfDay(s.StatementDate);
        // The dates of its interests (of unknown nature, or any other): the first start, as any interest's is read, and its end.
        var dated = BodsStatement.List(s.Details, "interests").Select((e, i) =>
                (Start: Date(e, "startDate", i, annotations, $"interests[{i}]", d, out var by), By: by, End: Date(e, "endDate", i, annotations, $"interests[{i}]", d, out _)))
            .Where(x => x.Start is not null).OrderBy(x => x.Start!.Value.Start).FirstOrDefault();
        var start = dated.Start;
        var id = BodsIds.Fact(s.RecordId, "owners-undisclosed", start?.ToString() ?? "undated");
        var claim = BodsSources.Claim(s, null, null, annotations);
        var known = (await t.FactsOfDealAsync(deal, [subject], ct)).FirstOrDefault(f => f.Id == id && !f.IsRetracted);
        var words = $"owners of {subject} not disclosed ({LedgerJson.Word(reason)}; BODS {code})";
        if (d.RecordedBefore)
        {
            d.Maps.Add($"{words}: recorded before");
        }
        else if (known is null)
        {
            var valid = start is { } from ? new JsonObject { [dated.By ? "by" : "from"] = from.ToString() } : new JsonObject { ["by"] = day.ToString() };
            if (dated.End is { } end && !end.CannotFollow(start ?? day))
            {
                valid["to"] = end.ToString();
            }
            if (start is null)
            {
                d.Notes.Add($"no start date; recorded as in force by the statement date ({day})");
            }
            d.Deals.Add(new JsonObject
            {
                ["id"] = deal,
                ["title"] = Clip($"BODS relationship record {s.RecordId}"),
                ["parties"] = await PartiesAsync(deal, [subject], ct),
                ["facts"] = new JsonArray(new JsonObject
                {
                    ["id"] = id, ["type"] = LedgerJson.Word(FactType.OwnersUndisclosed), ["subject"] = subject, ["reason"] = LedgerJson.Word(reason),
                    ["details"] = details, ["valid"] = valid, ["sources"] = new JsonArray(claim.DeepClone()),
                }),
            });
            d.Maps.Add($"{words}: new fact {id}");
        }
        else if (known.Current is OwnersUndisclosed u && u.Reason == reason && u.Details == details)
        {
            d.Claims.Add(With(claim, "fact", id));
            d.Maps.Add($"{words}: confirms fact {id}");
        }
        else
        {
            d.Corrections.Add(new JsonObject
            {
                ["fact"] = id, ["set"] = new JsonObject { ["reason"] = LedgerJson.Word(reason), ["details"] = details },
                ["reason"] = Clip($"BODS statement {s.StatementId} gives another reason"), ["sources"] = new JsonArray(claim.DeepClone()),
            });
            d.Maps.Add($"{words}: corrects fact {id}");
        }
        if (s.RecordStatus == "closed" && known is not null && !d.RecordedBefore)
        {
            EndWith(known, day, $"BODS record {s.RecordId} closed by statement {s.StatementId}", claim, d, []);
        }
        if (!d.CitesSource && d.Maps.Count == 0)
        {
            NotKept(d, annotations);
        }
    }

    /// <summary>
    /// A deal's parties as recorded, each read as its survivor (a record merged since is the organization it is now one of).
    /// One after another: the write has one connection.
    /// </summary>
    private async Task<List<string>> SurvivorsAsync(IEnumerable<string> parties, CancellationToken ct)
    {
        var survivors = new List<string>();
        foreach (var party in parties)
        {
            survivors.Add(await t.SurvivorAsync(party, ct));
        }
        return survivors;
    }

    /// <summary>A relationship record's deal's parties: as recorded when the deal is, else these.</summary>
    private async Task<JsonArray> PartiesAsync(string deal, string[] parties, CancellationToken ct) =>
        new([.. ((await t.DealAsync(deal, ct))?.Parties ?? parties).Select(p => (JsonNode)p)]);

    /// <summary>The organization a relationship names on one side, or null (with the reason) when it cannot be tied.</summary>
    private async Task<string?> RelatedAsync(BodsStatement s, JsonElement details, string side, Draft d, CancellationToken ct)
    {
        var party = BodsStatement.Get(details, side);
        if (party is { ValueKind: JsonValueKind.String } p)
        {
            var id = BodsIds.Organization(p.GetString()!);
            if (await t.OrganizationAsync(id, ct) is null)
            {
                d.Unmapped.Add($"the {Side(side)} (record {p.GetString()}) is neither in the imported packages nor in the ledger");
                return null;
            }
            // A record merged into another organization is that organization: new facts are recorded of it.
            var survivor = await t.SurvivorAsync(id, ct);
            if (survivor != id)
            {
                d.Notes.Add($"the {Side(side)} (record {p.GetString()}, organization '{id}') is merged into '{survivor}': recorded of '{survivor}'");
            }
            return survivor;
        }
        if (party is { ValueKind: JsonValueKind.Object } unspecified)
        {
            var reason = BodsStatement.Text(unspecified, "reason") ?? "unknown";
            var description = BodsStatement.Text(unspecified, "description") is { } text ? $": {text}" : "";
            d.Unmapped.Add($"the {Side(side)} is not specified ({reason}{description}): a tie needs both organizations");
            return null;
        }
        d.Unmapped.Add($"the {Side(side)} is missing");
        return null;
    }

    private static string Side(string side) => side == "subject" ? "subject" : "interested party";

    /// <summary>An interest the ledger can hold, or null with the reason it cannot.</summary>
    private static Interest? Read(JsonElement e, int index, IReadOnlyList<BodsAnnotations.Annotation> annotations, Draft d)
    {
        var type = BodsStatement.Text(e, "type");
        var where = $"interests[{index}]";
        if (type is null)
        {
            d.Unmapped.Add($"{where}: the interest has no type");
            return null;
        }
        where += $" ({type})";
        if (Unmappable.TryGetValue(type, out var why))
        {
            d.Unmapped.Add($"{where}: {why}");
            return null;
        }
        if (!Mapped.TryGetValue(type, out var kind))
        {
            d.Unmapped.Add($"{where}: '{type}' is not an interest type of BODS 0.4");
            return null;
        }
        var direct = BodsStatement.Text(e, "directOrIndirect");
        if (kind.Kind == FactType.Stake && direct == "indirect")
        {
            // Held through intermediaries: a stated claim about a chain, compared with the chain the direct links give, never added to it.
            kind = (FactType.IndirectStake, kind.Words);
            where += " (indirect)";
        }
        Share? share = null;
        if (BodsStatement.Get(e, "share") is { ValueKind: JsonValueKind.Object } s)
        {
            if (kind.Kind == FactType.BoardSeat)
            {
                d.Notes.Add($"{where}: a share on a board interest is not kept (a board seat has no size)");
            }
            else if (ShareOf(s, out var problem) is { } read)
            {
                share = read;
            }
            else
            {
                d.Unmapped.Add($"{where}: {problem}");
                return null;
            }
        }
        if (kind.Kind is FactType.Stake or FactType.IndirectStake && share is null)
        {
            share = Share.Range(0m, false, 100m, true, "size not stated");
            d.Notes.Add($"{where}: no share given; recorded as a stake of unstated size (more than 0 %)");
        }
        var start = Date(e, "startDate", index, annotations, where, d, out var startBy);
        if (start is null && kind.Kind == FactType.Stake)
        {
            d.Notes.Add($"{where}: no start date; a stake without one is dated from the statement date that first declares it");
        }
        var end = Date(e, "endDate", index, annotations, where, d, out _);
        var notes = new List<string>();
        if (BodsStatement.Text(e, "details") is { } text)
        {
            notes.Add($"details: {text}");
        }
        if (direct == "indirect" && kind.Kind != FactType.IndirectStake)
        {
            notes.Add("exercised indirectly");
        }
        return new Interest(index, type, kind.Kind, kind.Words, share, start, startBy, end, notes.Count == 0 ? null : string.Join("; ", notes));
    }

    private static ValidDate? Date(JsonElement e, string name, int index, IReadOnlyList<BodsAnnotations.Annotation> annotations, string where, Draft d, out bool by)
    {
        by = false;
        var text = BodsStatement.Text(e, name);
        if (text is null)
        {
            // A date the ledger knew only as "in force by" was exported without a start and this note.
            if (name == "startDate" && BodsAnnotations.InForceBy(annotations, index) is { } byDate)
            {
                by = true;
                return byDate;
            }
            return null;
        }
        if (BodsStatement.DateOf(text) is not { } day || text.Length != 10)
        {
            d.Unmapped.Add($"{where}: {name} '{text}' is not a date (YYYY-MM-DD); left out");
            return null;
        }
        // An imprecise date rounded to its first day (as BODS asks) comes back at its own precision.
        return BodsAnnotations.Rounded(annotations, index, name, day) ?? ValidDate.OfDay(day);
    }

    /// <summary>A BODS share (exact, minimum/exclusiveMinimum, maximum/exclusiveMaximum) as a ledger share, ends kept as they are.</summary>
    private static Share? ShareOf(JsonElement s, out string problem)
    {
        problem = "";
        decimal? Number(string name) => BodsStatement.Get(s, name) is { ValueKind: JsonValueKind.Number } n ? n.GetDecimal() : null;
        var exact = Number("exact");
        var values = new[] { exact, Number("minimum"), Number("exclusiveMinimum"), Number("maximum"), Number("exclusiveMaximum") };
        if (values.Any(v => v is < 0 or > 100))
        {
            problem = "a share is a percentage from 0 to 100";
            return null;
        }
        if (exact is { } x)
        {
            return Share.OfExact(x);
        }
        var (min, minInc) = Lower(Number("minimum"), Number("exclusiveMinimum"));
        var (max, maxInc) = Upper(Number("maximum"), Number("exclusiveMaximum"));
        if (min is null && max is null)
        {
            problem = "the share gives no exact value and no bounds";
            return null;
        }
        var lo = min ?? 0m;
        var hi = max ?? 100m;
        var loInc = min is null || minInc;
        var hiInc = max is null || maxInc;
        if (lo > hi || (lo == hi && !(loInc && hiInc)))
        {
            problem = $"the share's range is empty ({lo} to {hi})";
            return null;
        }
        return lo == hi ? Share.OfExact(lo) : Share.Range(lo, loInc, hi, hiInc);
    }

    /// <summary>Of an inclusive and an exclusive lower bound, the stricter.</summary>
    private static (decimal?, bool) Lower(decimal? inclusive, decimal? exclusive) =>
        exclusive is { } e && (inclusive is null || e >= inclusive) ? (e, false) : (inclusive, true);

    private static (decimal?, bool) Upper(decimal? inclusive, decimal? exclusive) =>
        exclusive is { } e && (inclusive is null || e <= inclusive) ? (e, false) : (inclusive, true);

    public static string Clip(string text) => text.Length <= Importing.Fields.MaxText ? text : text[..(Importing.Fields.MaxText - 1)] + "…";
}
