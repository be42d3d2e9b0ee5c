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
internal sealed record LedgerDocument(
    IReadOnlyList<Located<OrganizationRegistered>> Organizations,
    IReadOnlyList<Located<SourceRegistered>> Sources,
    IReadOnlyList<Located<DealRecorded>> Deals,
    IReadOnlyList<Located<Fact>> Facts,
    IReadOnlyList<Located<SourceAddedToFact>> Claims,
    IReadOnlyList<Located<FactCorrected>> Corrections,
    IReadOnlyList<Located<FactRetracted>> Retractions,
    IReadOnlyList<Located<FactEnded>> Endings,
    IReadOnlyList<Located<OrganizationsMerged>> Merges,
    IReadOnlyList<Located<OrganizationMergeUndone>> Unmerges)
{
    /// <summary>The facts this document records or amends (claims, corrections, retractions, endings), by id.</summary>
    public IEnumerable<string> NamedFacts =>
        Facts.Select(f => f.Value.Id).Concat(Claims.Select(c => c.Value.Fact)).Concat(Corrections.Select(c => c.Value.Fact))
            .Concat(Retractions.Select(r => r.Value.Fact)).Concat(Endings.Select(e => e.Value.Fact));

    public static LedgerDocument Read(DocumentNode root)
    {
        if (root is ScalarNode { Value: null })
        {
            throw LedgerException.Invalid($"{root.File}: the document is empty");
        }
        var top = Fields.Of(root, "organizations", "sources", "deals", "claims", "corrections", "retractions", "endings", "merges", "unmerges");
        var deals = new List<Located<DealRecorded>>();
        var facts = new List<Located<Fact>>();
        foreach (var node in top.List("deals"))
        {
            var (deal, dealFacts) = RecordDeal.Read(node);
            deals.Add(deal);
            facts.AddRange(dealFacts);
        }
        return new LedgerDocument(
            top.List("organizations").Select(n => new Located<OrganizationRegistered>(RegisterOrganization.Read(n), n)).ToList(),
            top.List("sources").Select(n => new Located<SourceRegistered>(RegisterSource.Read(n), n)).ToList(),
            deals,
            facts,
            top.List("claims").Select(n => new Located<SourceAddedToFact>(AddSource.Read(n), n)).ToList(),
            top.List("corrections").Select(n => new Located<FactCorrected>(CorrectFact.Read(n), n)).ToList(),
            top.List("retractions").Select(n => new Located<FactRetracted>(RetractFact.Read(n), n)).ToList(),
            top.List("endings").Select(n => new Located<FactEnded>(EndFact.Read(n), n)).ToList(),
            top.List("merges").Select(n => new Located<OrganizationsMerged>(MergeOrganizations.Read(n), n)).ToList(),
            top.List("unmerges").Select(n => new Located<OrganizationMergeUndone>(UndoMerge.Read(n), n)).ToList());
    }

    // The readers every entry shares; each entry's own fields are read by its write (RegisterOrganization.Read, RecordDeal.Read, …).

    public static string? OptionalId(Fields f) => f.Get("id") is { } n ? Fields.SlugOf(n) : null;

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

    public static Money ReadMoney(DocumentNode node)
    {
        var f = Fields.Of(node, "value", "currency");
        var value = f.Number("value");
        if (value < 0)
        {
            throw f.Get("value")!.Error("an amount cannot be negative");
        }
        return new Money(value, ReadCurrency(f, "currency"));
    }

    /// <summary>An ISO 4217 currency code from a field.</summary>
    public static string ReadCurrency(Fields f, string field)
    {
        var currency = f.Text(field);
        if (!Currencies.IsKnown(currency))
        {
            throw f.Get(field)!.Error($"'{Fields.Clip(currency)}' is not an ISO 4217 currency code (e.g. EUR, USD)");
        }
        return currency;
    }

    /// <summary>An exchange rate from a field: more than 0.</summary>
    public static decimal ReadRate(Fields f, string field)
    {
        var rate = f.Number(field);
        if (rate <= 0)
        {
            throw f.Get(field)!.Error($"a rate must be more than 0 (got {rate})");
        }
        return rate;
    }

    public static IReadOnlyList<Claim> ReadClaims(Fields f)
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

    public static Claim ReadClaimFields(Fields f)
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
}
