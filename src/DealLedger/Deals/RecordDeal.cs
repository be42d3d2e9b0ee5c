using DealLedger.Amounts;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Deals;

/// <summary>Recording a deal and its facts: a document's `deals` entry, or POST /api/deals.</summary>
internal static class RecordDeal
{
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
        [FactType.IndirectStake] = ["holder", "subject", "share"],
        [FactType.OwnersUndisclosed] = ["subject", "reason", "details"],
        [FactType.Succession] = ["predecessor", "successor", "form"],
        [FactType.Name] = ["subject", "name", "use"],
        [FactType.Identifier] = ["subject", "scheme", "value"],
        [FactType.ExchangeRate] = ["base", "quote", "rate"],
    };

    /// <summary>The deal entry and its facts, checked field by field.</summary>
    public static (Located<DealRecorded> Deal, List<Located<Fact>> Facts) Read(DocumentNode node)
    {
        var d = Fields.Of(node, "id", "title", "announced", "parties", "facts");
        var id = d.Slug("id");
        var deal = new Located<DealRecorded>(new DealRecorded(id, d.OptionalText("title"), d.OptionalDate("announced"), d.SlugList("parties")), node);
        var factNodes = d.List("facts");
        if (factNodes.Count == 0)
        {
            throw node.Error("a deal needs at least one fact");
        }
        return (deal, factNodes.Select(n => new Located<Fact>(ReadFact(n, id), n)).ToList());
    }

    public static Fact ReadFact(DocumentNode node, string deal)
    {
        var type = Fields.EnumOf<FactType>((node as MapNode)?.Fields.FirstOrDefault(x => x.Key == "type").Value
            ?? throw node.Missing("type", "a fact needs a 'type' (stake, investment, partnership, board-seat, acquisition, announcement, control, indirect-stake, owners-undisclosed, succession, name, identifier, exchange-rate)"));
        var f = Fields.Of(node, [.. CommonFactFields, .. FactFields[type]]);
        var id = f.Slug("id");
        var valid = LedgerDocument.ReadPeriod(f.Get("valid") ?? throw node.Missing("valid", "the field 'valid' is required (e.g. valid: { from: 2024-02 })"));
        var sources = LedgerDocument.ReadClaims(f);
        Fact fact = type switch
        {
            FactType.Stake => new Stake { Id = id, Deal = deal, Valid = valid, Sources = sources, Holder = f.Slug("holder"), Subject = f.Slug("subject"), Share = f.Share("share") },
            FactType.IndirectStake => new IndirectStake { Id = id, Deal = deal, Valid = valid, Sources = sources, Holder = f.Slug("holder"), Subject = f.Slug("subject"), Share = f.Share("share") },
            FactType.Investment => new Investment
            {
                Id = id, Deal = deal, Valid = valid, Sources = sources,
                Investor = f.Slug("investor"), Investee = f.Slug("investee"),
                Amount = f.Get("amount") is { } a ? LedgerDocument.ReadMoney(a) : null,
                ReportedEquivalent = f.Get("reportedEquivalent") is { } r ? LedgerDocument.ReadMoney(r) : null,
                Instrument = f.OptionalEnum<Instrument>("instrument") ?? Instrument.Unknown,
                Scope = f.OptionalText("scope"),
            },
            FactType.Partnership => new Partnership { Id = id, Deal = deal, Valid = valid, Sources = sources, Parties = f.SlugList("parties", 2), Scope = f.Text("scope") },
            FactType.BoardSeat => new BoardSeat { Id = id, Deal = deal, Valid = valid, Sources = sources, Holder = f.Slug("holder"), Subject = f.Slug("subject"), Role = f.OptionalText("role") },
            FactType.Control => new Control
            {
                Id = id, Deal = deal, Valid = valid, Sources = sources,
                Holder = f.Slug("holder"), Subject = f.Slug("subject"), Means = f.Text("means"),
                Share = f.Get("share") is { } share ? Fields.ShareOf(share) : null,
            },
            FactType.Acquisition => new Acquisition
            {
                Id = id, Deal = deal, Valid = valid, Sources = sources,
                Acquirer = f.Slug("acquirer"), Target = f.Slug("target"), Amount = f.Get("amount") is { } m ? LedgerDocument.ReadMoney(m) : null,
            },
            FactType.OwnersUndisclosed => new OwnersUndisclosed
            {
                Id = id, Deal = deal, Valid = valid, Sources = sources,
                Subject = f.Slug("subject"), Reason = f.Enum<UndisclosedReason>("reason"), Details = f.OptionalText("details"),
            },
            FactType.Succession => new Succession
            {
                Id = id, Deal = deal, Valid = valid, Sources = sources,
                Predecessor = f.Slug("predecessor"), Successor = f.Slug("successor"), Form = f.Enum<SuccessionForm>("form"),
            },
            FactType.Name => new OrganizationName { Id = id, Deal = deal, Valid = valid, Sources = sources, Subject = f.Slug("subject"), Name = f.Text("name"), Use = f.Enum<NameUse>("use") },
            FactType.Identifier => new OrganizationIdentifier
            {
                Id = id, Deal = deal, Valid = valid, Sources = sources, Subject = f.Slug("subject"), Scheme = RegisterOrganization.Scheme(f), Value = f.Text("value"),
            },
            FactType.ExchangeRate => new ExchangeRate
            {
                Id = id, Deal = deal, Valid = valid, Sources = sources,
                Base = LedgerDocument.ReadCurrency(f, "base"), Quote = LedgerDocument.ReadCurrency(f, "quote"), Rate = LedgerDocument.ReadRate(f, "rate"),
            },
            _ => new Announcement { Id = id, Deal = deal, Valid = valid, Sources = sources, Parties = f.SlugList("parties", 1), Title = f.Text("title"), Scope = f.OptionalText("scope") },
        };
        if (fact.Sources.All(c => c.Kind == ClaimKind.Denied))
        {
            throw f.Get("sources")!.Error("no source asserts this fact (stated, attributed or claimed); a denial alone asserts nothing");
        }
        if (type == FactType.Stake && fact.Valid.OrEarlier)
        {
            throw f.Get("valid")!.At("by").Error("a stake needs the date it was acquired ('from'); 'by' is for other facts");
        }
        if (type == FactType.Succession && fact.Valid.To is not null)
        {
            throw f.Get("valid")!.At("to").Error(Succession.NoEnd);
        }
        if (fact is ExchangeRate { Base: var b, Quote: var q } && b == q)
        {
            throw f.Get("quote")!.Error($"a rate converts one currency into another, not {b} into itself");
        }
        if (fact.Direction is { } d && d.From == d.To)
        {
            throw node.Find(d.To, "subject", "investee", "target", "successor").Error($"'{d.From}' cannot be on both sides of one {LedgerJson.Word(type)}");
        }
        return fact;
    }

    /// <returns>The event to record, or null when the ledger already holds this very deal.</returns>
    public static DealRecorded? Decide(DealRecorded entry, DocumentNode node, LedgerTransaction t)
    {
        foreach (var party in entry.Parties)
        {
            t.RequireOrganization(party, node.Find(party, "parties"));
        }
        return t.Registering(entry, t.Deal(entry.Id), $"deal:{entry.Id}", node, $"deal '{entry.Id}'", _ => "is already recorded with different details");
    }

    /// <returns>The event to record, or null when the ledger already holds this very fact.</returns>
    public static FactRecorded? DecideFact(Fact fact, DocumentNode node, LedgerTransaction t)
    {
        if (!t.Seen.Add($"fact:{fact.Id}"))
        {
            throw node.At("id").Error($"the fact id '{fact.Id}' is used twice in this import");
        }
        var known = t.Fact(fact.Id);
        if (known is not null && !known.Original.SameAs(fact))
        {
            throw node.Conflict($"fact '{fact.Id}' is already recorded with different values; record a correction instead");
        }
        if (known is not null)
        {
            return null;
        }
        foreach (var org in fact.Organizations)
        {
            var where = node.Find(org, "holder", "subject", "investor", "investee", "acquirer", "target", "parties", "predecessor", "successor");
            t.RequireOrganization(org, where);
            t.RequireUnmerged(org, where);
        }
        t.RequireSources(fact.Sources, node);
        StakeContradiction.Refuse(t, fact, node);
        RateContradiction.Refuse(t, fact, node);
        return new FactRecorded(fact);
    }
}
