using DealLedger.Amounts;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Deals;

/// <summary>Correcting a fact's values (the original stays in the log): a document's `corrections` entry, or POST /api/facts/{fact}/corrections.</summary>
internal static class CorrectFact
{
    public static FactCorrected Read(DocumentNode node)
    {
        var f = Fields.Of(node, "id", "fact", "set", "reason", "sources");
        return new FactCorrected(f.Slug("fact"), ReadAmendment(f.Get("set") ?? throw node.Missing("set", "the field 'set' is required")), f.Text("reason"),
            LedgerDocument.ReadClaims(f), LedgerDocument.OptionalId(f));
    }

    private static FactAmendment ReadAmendment(DocumentNode node)
    {
        var f = Fields.Of(node, "share", "valid", "amount", "reportedEquivalent", "instrument", "scope", "title", "role", "means", "reason", "details", "form", "name", "use", "value", "rate");
        if (node is MapNode { Fields.Count: 0 })
        {
            throw node.Error("a correction sets at least one field");
        }
        return new FactAmendment
        {
            Share = f.Get("share") is { } s ? Fields.ShareOf(s) : null,
            Valid = f.Get("valid") is { } v ? LedgerDocument.ReadPeriod(v) : null,
            Amount = f.Get("amount") is { } a ? LedgerDocument.ReadMoney(a) : null,
            ReportedEquivalent = f.Get("reportedEquivalent") is { } r ? LedgerDocument.ReadMoney(r) : null,
            Instrument = f.OptionalEnum<Instrument>("instrument"),
            Scope = f.OptionalText("scope"),
            Title = f.OptionalText("title"),
            Role = f.OptionalText("role"),
            Means = f.OptionalText("means"),
            Reason = f.OptionalEnum<UndisclosedReason>("reason"),
            Details = f.OptionalText("details"),
            Form = f.OptionalEnum<SuccessionForm>("form"),
            Name = f.OptionalText("name"),
            Use = f.OptionalEnum<NameUse>("use"),
            Value = f.OptionalText("value"),
            Rate = f.Get("rate") is null ? null : LedgerDocument.ReadRate(f, "rate"),
        };
    }

    /// <returns>The event to record, or null when the fact already carries this very correction.</returns>
    public static FactCorrected? Decide(FactCorrected correction, DocumentNode node, LedgerTransaction t)
    {
        var fact = t.RequireFact(correction.Fact, node);
        if (fact.IsRetracted)
        {
            throw node.At("fact").Error($"fact '{correction.Fact}' was retracted; a retracted fact cannot be corrected");
        }
        RequireAmendmentFits(fact.Current, correction.Set, node.At("set"));
        t.RequireSources(correction.Sources, node);
        if (t.KnownById(fact, correction, node))
        {
            return null;
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
        if (same)
        {
            return null;
        }
        StakeContradiction.Refuse(t, corrected, node);
        RateContradiction.Refuse(t, corrected, node);
        return correction;
    }

    private static void RequireAmendmentFits(Fact fact, FactAmendment set, DocumentNode node)
    {
        if (fact.Type == FactType.Stake && set.Valid is { OrEarlier: true })
        {
            throw node.At("valid").Error("a stake needs the date it was acquired ('from'); 'by' is for other facts");
        }
        if (fact.Type == FactType.Succession && set.Valid is { To: not null })
        {
            throw node.At("valid").At("to").Error(Succession.NoEnd);
        }
        void Only(object? value, string field, params FactType[] types)
        {
            if (value is not null && !types.Contains(fact.Type))
            {
                throw node.At(field).Error($"'{field}' cannot be set on {(LedgerJson.Word(fact.Type)[0] is 'a' or 'i' or 'o' ? "an" : "a")} {LedgerJson.Word(fact.Type)} fact");
            }
        }
        Only(set.Share, "share", FactType.Stake, FactType.Control, FactType.IndirectStake);
        Only(set.Amount, "amount", FactType.Investment, FactType.Acquisition);
        Only(set.ReportedEquivalent, "reportedEquivalent", FactType.Investment);
        Only(set.Instrument, "instrument", FactType.Investment);
        Only(set.Scope, "scope", FactType.Partnership, FactType.Announcement, FactType.Investment);
        Only(set.Title, "title", FactType.Announcement);
        Only(set.Role, "role", FactType.BoardSeat);
        Only(set.Means, "means", FactType.Control);
        Only(set.Reason, "reason", FactType.OwnersUndisclosed);
        Only(set.Details, "details", FactType.OwnersUndisclosed);
        Only(set.Form, "form", FactType.Succession);
        Only(set.Name, "name", FactType.Name);
        Only(set.Use, "use", FactType.Name);
        Only(set.Value, "value", FactType.Identifier);
        Only(set.Rate, "rate", FactType.ExchangeRate);
    }
}
