using System.Text.RegularExpressions;
using DealLedger.Deals;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Importing;

/// <summary>A value read from a document, with the node it came from for error messages.</summary>
internal sealed record Located<T>(T Value, DocumentNode Node);

/// <summary>
/// A ledger document (DESIGN §9) read and checked field by field: everything here is well-formed.
/// Whether it fits the ledger (known organizations, no contradictions) is the import's decision.
/// </summary>
internal sealed partial record LedgerDocument(
    IReadOnlyList<Located<OrganizationRegistered>> Organizations,
    IReadOnlyList<Located<SourceRegistered>> Sources,
    IReadOnlyList<Located<DealRecorded>> Deals,
    IReadOnlyList<Located<Fact>> Facts,
    IReadOnlyList<Located<SourceAddedToFact>> Claims,
    IReadOnlyList<Located<FactCorrected>> Corrections,
    IReadOnlyList<Located<FactRetracted>> Retractions,
    IReadOnlyList<Located<FactEnded>> Endings)
{
    /// <summary>The facts this document records or amends (claims, corrections, retractions, endings), by id.</summary>
    public IEnumerable<string> NamedFacts =>
        Facts.Select(f => f.Value.Id).Concat(Claims.Select(c => c.Value.Fact)).Concat(Corrections.Select(c => c.Value.Fact))
            .Concat(Retractions.Select(r => r.Value.Fact)).Concat(Endings.Select(e => e.Value.Fact));

    private static readonly string[] CommonFactFields = ["id", "type", "valid", "sources"];

    private static readonly Dictionary<FactType, string[]> FactFields = new()
    {
        [FactType.Stake] = ["holder", "subject", "share"],
        [FactType.Investment] = ["investor", "investee", "amount", "reportedEquivalent", "instrument", "scope"],
        [FactType.Partnership] = ["parties", "scope"],
        [FactType.BoardSeat] = ["holder", "subject", "role"],
        [FactType.Acquisition] = ["acquirer", "target", "amount"],
        [FactType.Announcement] = ["parties", "title", "scope"],
        [FactType.Control] = ["holder", "subject", "means", "share"],
    };

    public static LedgerDocument Read(DocumentNode root)
    {
        if (root is ScalarNode { Value: null })
        {
            throw LedgerException.Invalid($"{root.File}: the document is empty");
        }
        var top = Fields.Of(root, "organizations", "sources", "deals", "claims", "corrections", "retractions", "endings");
        var deals = new List<Located<DealRecorded>>();
        var facts = new List<Located<Fact>>();
        foreach (var node in top.List("deals"))
        {
            var d = Fields.Of(node, "id", "title", "announced", "parties", "facts");
            var id = d.Slug("id");
            deals.Add(new(new DealRecorded(id, d.OptionalText("title"), d.OptionalDate("announced"), d.SlugList("parties")), node));
            var factNodes = d.List("facts");
            if (factNodes.Count == 0)
            {
                throw node.Error("a deal needs at least one fact");
            }
            facts.AddRange(factNodes.Select(n => new Located<Fact>(ReadFact(n, id), n)));
        }
        return new LedgerDocument(
            top.List("organizations").Select(n => new Located<OrganizationRegistered>(ReadOrganization(n), n)).ToList(),
            top.List("sources").Select(n => new Located<SourceRegistered>(ReadSource(n), n)).ToList(),
            deals,
            facts,
            top.List("claims").Select(n =>
            {
                var f = Fields.Of(n, "id", "fact", "source", "claim", "attributedTo", "note");
                return new Located<SourceAddedToFact>(new SourceAddedToFact(f.Slug("fact"), ReadClaimFields(f), OptionalId(f)), n);
            }).ToList(),
            top.List("corrections").Select(n =>
            {
                var f = Fields.Of(n, "id", "fact", "set", "reason", "sources");
                return new Located<FactCorrected>(new FactCorrected(f.Slug("fact"), ReadAmendment(f.Get("set") ?? throw n.Missing("set", "the field 'set' is required")), f.Text("reason"), ReadClaims(f), OptionalId(f)), n);
            }).ToList(),
            top.List("retractions").Select(n =>
            {
                var f = Fields.Of(n, "id", "fact", "reason", "sources");
                return new Located<FactRetracted>(new FactRetracted(f.Slug("fact"), f.Text("reason"), ReadClaims(f), OptionalId(f)), n);
            }).ToList(),
            top.List("endings").Select(n =>
            {
                var f = Fields.Of(n, "id", "fact", "on", "reason", "sources");
                return new Located<FactEnded>(new FactEnded(f.Slug("fact"), f.Date("on"), f.OptionalText("reason"), ReadClaims(f), OptionalId(f)), n);
            }).ToList());
    }

    private static string? OptionalId(Fields f) => f.Get("id") is { } n ? Fields.SlugOf(n) : null;

    public static OrganizationRegistered ReadOrganization(DocumentNode node)
    {
        var f = Fields.Of(node, "id", "name", "aliases", "kind", "country", "identifiers");
        var country = f.OptionalText("country");
        if (country is not null && !CountryPattern().IsMatch(country))
        {
            throw f.Get("country")!.Error($"'{Fields.Clip(country)}' is not an ISO 3166-1 alpha-2 country code (e.g. FR)");
        }
        var identifiers = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (f.Get("identifiers") is { } ids)
        {
            var map = ids as MapNode ?? throw ids.Error("expected a mapping of identifier kinds to values (e.g. { wikidata: Q2283 })");
            foreach (var (key, value) in map.Fields)
            {
                if (!IdentifierKindPattern().IsMatch(key))
                {
                    throw value.Error($"'{Fields.Clip(key)}' is not an identifier kind: use lowercase letters, digits and hyphens (lei, wikidata, …)");
                }
                identifiers[key] = Fields.TextOf(value);
            }
        }
        return new OrganizationRegistered(f.Slug("id"), f.Text("name"), f.TextList("aliases"), f.Enum<OrganizationKind>("kind"), country, identifiers);
    }

    private static SourceRegistered ReadSource(DocumentNode node)
    {
        var f = Fields.Of(node, "id", "title", "publisher", "published", "language", "kind", "url", "contentHash");
        var language = f.OptionalText("language");
        if (language is not null && !LanguagePattern().IsMatch(language))
        {
            throw f.Get("language")!.Error($"'{Fields.Clip(language)}' is not a language tag (e.g. de, en, fr-CA)");
        }
        var url = f.OptionalText("url");
        if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            throw f.Get("url")!.Error($"'{Fields.Clip(url)}' is not an absolute http(s) URL");
        }
        var hash = f.OptionalText("contentHash");
        if (hash is not null && !HashPattern().IsMatch(hash))
        {
            throw f.Get("contentHash")!.Error("a content hash is 'sha256:' followed by 64 lowercase hex digits");
        }
        return new SourceRegistered(f.Slug("id"), f.Text("title"), f.OptionalText("publisher"), f.OptionalDate("published"),
            language, f.Enum<SourceKind>("kind"), url, hash);
    }

    private static Fact ReadFact(DocumentNode node, string deal)
    {
        var type = Fields.EnumOf<FactType>((node as MapNode)?.Fields.FirstOrDefault(x => x.Key == "type").Value
            ?? throw node.Missing("type", "a fact needs a 'type' (stake, investment, partnership, board-seat, acquisition, announcement, control)"));
        var f = Fields.Of(node, [.. CommonFactFields, .. FactFields[type]]);
        var fact = new Fact
        {
            Id = f.Slug("id"),
            Deal = deal,
            Type = type,
            Valid = ReadPeriod(f.Get("valid") ?? throw node.Missing("valid", "the field 'valid' is required (e.g. valid: { from: 2024-02 })")),
            Sources = ReadClaims(f),
        };
        fact = type switch
        {
            FactType.Stake => fact with { Holder = f.Slug("holder"), Subject = f.Slug("subject"), Share = f.Share("share") },
            FactType.Investment => fact with
            {
                Investor = f.Slug("investor"), Investee = f.Slug("investee"),
                Amount = f.Get("amount") is { } a ? ReadMoney(a) : null,
                ReportedEquivalent = f.Get("reportedEquivalent") is { } r ? ReadMoney(r) : null,
                Instrument = f.OptionalEnum<Instrument>("instrument") ?? Instrument.Unknown,
                Scope = f.OptionalText("scope"),
            },
            FactType.Partnership => fact with { Parties = f.SlugList("parties", 2), Scope = f.Text("scope") },
            FactType.BoardSeat => fact with { Holder = f.Slug("holder"), Subject = f.Slug("subject"), Role = f.OptionalText("role") },
            FactType.Control => fact with
            {
                Holder = f.Slug("holder"), Subject = f.Slug("subject"), Means = f.Text("means"),
                Share = f.Get("share") is { } share ? Fields.ShareOf(share) : null,
            },
            FactType.Acquisition => fact with { Acquirer = f.Slug("acquirer"), Target = f.Slug("target"), Amount = f.Get("amount") is { } m ? ReadMoney(m) : null },
            _ => fact with { Parties = f.SlugList("parties", 1), Title = f.Text("title"), Scope = f.OptionalText("scope") },
        };
        if (fact.Sources.All(c => c.Kind == ClaimKind.Denied))
        {
            throw f.Get("sources")!.Error("no source asserts this fact (stated, attributed or claimed); a denial alone asserts nothing");
        }
        if (type == FactType.Stake && fact.Valid.OrEarlier)
        {
            throw f.Get("valid")!.At("by").Error("a stake needs the date it was acquired ('from'); 'by' is for other facts");
        }
        if (fact.Direction is { } d && d.From == d.To)
        {
            throw node.Find(d.To, "subject", "investee", "target").Error($"'{d.From}' cannot be on both sides of one {LedgerJson.Word(type)}");
        }
        return fact;
    }

    public static ValidPeriod ReadPeriod(DocumentNode node)
    {
        var f = Fields.Of(node, "from", "by", "to");
        if (f.Get("from") is not null == f.Get("by") is not null)
        {
            throw node.Error("a period starts either 'from' a date or, when its start is unknown, is known to hold 'by' a date");
        }
        var orEarlier = f.Get("by") is not null;
        var from = f.Date(orEarlier ? "by" : "from");
        var to = f.OptionalDate("to");
        if (to is { } t && t.CannotFollow(from))
        {
            throw node.At("to").Error($"the period ends ({t}) before or on the day it starts ({from})");
        }
        return new ValidPeriod(from, to, orEarlier);
    }

    private static Money ReadMoney(DocumentNode node)
    {
        var f = Fields.Of(node, "value", "currency");
        var value = f.Number("value");
        if (value < 0)
        {
            throw f.Get("value")!.Error("an amount cannot be negative");
        }
        var currency = f.Text("currency");
        if (!Currencies.IsKnown(currency))
        {
            throw f.Get("currency")!.Error($"'{Fields.Clip(currency)}' is not an ISO 4217 currency code (e.g. EUR, USD)");
        }
        return new Money(value, currency);
    }

    private static IReadOnlyList<Claim> ReadClaims(Fields f)
    {
        var nodes = f.List("sources");
        if (nodes.Count == 0)
        {
            throw f.Node.Missing("sources", "at least one source is required ('sources: [ { source: ID, claim: stated } ]')");
        }
        var claims = nodes.Select(n => ReadClaimFields(Fields.Of(n, "source", "claim", "attributedTo", "note"))).ToList();
        if (claims.GroupBy(c => c.Source).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw nodes[claims.FindLastIndex(c => c.Source == twice.Key)].Error($"the source '{twice.Key}' is listed twice");
        }
        return claims;
    }

    private static Claim ReadClaimFields(Fields f)
    {
        var kind = f.Enum<ClaimKind>("claim");
        var attributedTo = f.OptionalText("attributedTo");
        if (kind == ClaimKind.Attributed && attributedTo is null)
        {
            throw f.Node.Missing("attributedTo", "an 'attributed' claim names who reported it: attributedTo");
        }
        if (kind != ClaimKind.Attributed && attributedTo is not null)
        {
            throw f.Get("attributedTo")!.Error("attributedTo goes only with claim: attributed");
        }
        return new Claim(f.Slug("source"), kind, attributedTo, f.OptionalText("note"));
    }

    private static FactAmendment ReadAmendment(DocumentNode node)
    {
        var f = Fields.Of(node, "share", "valid", "amount", "reportedEquivalent", "instrument", "scope", "title", "role", "means");
        if (node is MapNode { Fields.Count: 0 })
        {
            throw node.Error("a correction sets at least one field");
        }
        return new FactAmendment
        {
            Share = f.Get("share") is { } s ? Fields.ShareOf(s) : null,
            Valid = f.Get("valid") is { } v ? ReadPeriod(v) : null,
            Amount = f.Get("amount") is { } a ? ReadMoney(a) : null,
            ReportedEquivalent = f.Get("reportedEquivalent") is { } r ? ReadMoney(r) : null,
            Instrument = f.OptionalEnum<Instrument>("instrument"),
            Scope = f.OptionalText("scope"),
            Title = f.OptionalText("title"),
            Role = f.OptionalText("role"),
            Means = f.OptionalText("means"),
        };
    }

    [GeneratedRegex("^[A-Z]{2}$")]
    private static partial Regex CountryPattern();

    [GeneratedRegex("^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    private static partial Regex LanguagePattern();

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex IdentifierKindPattern();

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex HashPattern();
}
