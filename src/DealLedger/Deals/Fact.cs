using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Storage;
using System.Text.Json;
using System.Text.Json.Serialization;
using DealLedger.Time;

namespace DealLedger.Deals;

/// <summary>
/// The kinds of fact. <see cref="Control"/> is control of the subject that is not ownership (voting rights, the
/// right to appoint the board, senior management …): it never counts as a stake, so holdings and owners' totals stay about shares.
/// <see cref="IndirectStake"/> is a share stated to be held through intermediaries: compared with the chain of stakes, never added to it.
/// </summary>
public enum FactType { Stake, Investment, Partnership, BoardSeat, Acquisition, Announcement, Control, IndirectStake, OwnersUndisclosed, Succession, Name, Identifier, ExchangeRate }

/// <summary>
/// Why an organization's owners are not known: it is exempt from disclosing them, it is listed (its shareholders are not
/// registered by name), the register that holds them is not public, it has no controlling owner, or the sources do not say.
/// </summary>
public enum UndisclosedReason { Exempt, Listed, RegisterNotPublic, NoController, Unknown }

/// <summary>
/// How a successor took an organization's place: it was renamed (a new id for the same body), merged into the successor,
/// acquired and absorbed by it, split (the successor is one of its parts), or is its successor by another route.
/// </summary>
public enum SuccessionForm { Renamed, MergedInto, Absorbed, SplitInto, Succeeded }

/// <summary>How a name is used: the organization's legal name, or another name it is known by (a trading or short name).</summary>
public enum NameUse { Legal, Alias }

public enum Instrument { Equity, ConvertibleNote, Loan, Grant, Unknown }

/// <summary>
/// One claim about the world with a valid period. Each kind is a type of its own, with the fields that kind has: a stake,
/// a board seat and control tie a holder to a subject (<see cref="Tie"/>), an investment an investor to an investee, an
/// acquisition an acquirer to a target, a partnership and an announcement their parties. Stored and shown in one JSON
/// shape for every kind (<see cref="FactJson"/>), the one the ledger has always written.
/// </summary>
[JsonConverter(typeof(FactJson))]
public abstract record Fact
{
    public required string Id { get; init; }
    public required string Deal { get; init; }
    public required ValidPeriod Valid { get; init; }
    public required IReadOnlyList<Claim> Sources { get; init; }

    public abstract FactType Type { get; }

    /// <summary>The directed edge for kinds that have one (holder → subject), else null.</summary>
    public virtual (string From, string To)? Direction => null;

    /// <summary>Every organization the fact ties together.</summary>
    public virtual IReadOnlyList<string> Organizations => Direction is { } d ? [d.From, d.To] : [];

    /// <summary>Same content, list by list (records compare lists by reference).</summary>
    public bool SameAs(Fact other) => LedgerJson.Canonical(this) == LedgerJson.Canonical(other);

    /// <summary>The type whose JSON is every fact's JSON (<see cref="FactJson"/>): what a schema of the API describes a fact by.</summary>
    public static Type JsonShape => typeof(FactJson.Shape);
}

/// <summary>A fact that ties a holder to a subject: a stake, a board seat, control.</summary>
public abstract record Tie : Fact
{
    public required string Holder { get; init; }
    public required string Subject { get; init; }

    public override (string From, string To)? Direction => (Holder, Subject);
}

/// <summary>The holder owns a share of the subject.</summary>
public sealed record Stake : Tie
{
    public required Share Share { get; init; }

    public override FactType Type => FactType.Stake;

    /// <summary>The pair whose holding this stake speaks of.</summary>
    public (string Holder, string Subject) Pair => (Holder, Subject);
}

/// <summary>The holder has a seat on the subject's board (in a role, when known).</summary>
public sealed record BoardSeat : Tie
{
    public string? Role { get; init; }

    public override FactType Type => FactType.BoardSeat;
}

/// <summary>The holder controls the subject by a means that is not ownership (voting rights …), with a share of it when one is stated.</summary>
public sealed record Control : Tie
{
    public required string Means { get; init; }
    public Share? Share { get; init; }

    public override FactType Type => FactType.Control;
}

/// <summary>
/// The holder is stated to hold a share of the subject through intermediaries (BODS's `directOrIndirect: indirect`): a
/// claim about a chain, kept as said. Holdings and owners' totals count direct stakes only, so it is never counted twice
/// with the chain's own stakes; look-through compares it with the share the chain gives.
/// </summary>
public sealed record IndirectStake : Tie
{
    public required Share Share { get; init; }

    public override FactType Type => FactType.IndirectStake;
}

/// <summary>
/// The subject's owners are not disclosed, for a reason: where a chain of ownership stops, and why (BODS's unspecified
/// owners). It ties no second organization; owners answers and look-through show it beside the owners that are known.
/// </summary>
public sealed record OwnersUndisclosed : Fact
{
    public required string Subject { get; init; }
    public required UndisclosedReason Reason { get; init; }
    public string? Details { get; init; }

    public override FactType Type => FactType.OwnersUndisclosed;
    public override IReadOnlyList<string> Organizations => [Subject];
}

/// <summary>
/// The successor took the predecessor's place from a date: a renaming under a new id, a merger, an absorption, a split, or
/// a succession by another route. Relationships follow it: a predecessor's ties say where they went, and a successor by
/// renaming, merger, absorption or plain succession lists its predecessors' ties as inherited — never rewritten as its own.
/// </summary>
public sealed record Succession : Fact
{
    public required string Predecessor { get; init; }
    public required string Successor { get; init; }
    public required SuccessionForm Form { get; init; }

    public override FactType Type => FactType.Succession;
    public override (string From, string To)? Direction => (Predecessor, Successor);

    /// <summary>Whether everything the predecessor held and owed passed to this successor (a split divides it, and the ledger cannot say how).</summary>
    public bool Universal => Form != SuccessionForm.SplitInto;

    /// <summary>Why a succession has no end: what took place stays so; a later change (a demerger …) is a succession of its own.</summary>
    internal const string NoEnd = "a succession takes effect from a date and does not end; a later change (a demerger …) is a succession of its own";
}

/// <summary>
/// A name the subject bore over a valid period (a former name ends): answers name an organization by its legal name in force on
/// the date asked, as known then, and search finds every name it bore. The name it was registered under stays its name
/// where no legal name is in force.
/// </summary>
public sealed record OrganizationName : Fact
{
    public required string Subject { get; init; }
    public required string Name { get; init; }
    public required NameUse Use { get; init; }

    public override FactType Type => FactType.Name;
    public override IReadOnlyList<string> Organizations => [Subject];
}

/// <summary>An identifier of the subject in a scheme (lei, wikidata, a registry's number) over a valid period.</summary>
public sealed record OrganizationIdentifier : Fact
{
    public required string Subject { get; init; }
    public required string Scheme { get; init; }
    public required string Value { get; init; }

    public override FactType Type => FactType.Identifier;
    public override IReadOnlyList<string> Organizations => [Subject];
}

/// <summary>
/// One unit of <see cref="Base"/> was worth <see cref="Rate"/> units of <see cref="Quote"/> over the valid period (a day's
/// reference rate, or a period's average): what answers convert amounts by, citing it. It ties no organization.
/// </summary>
public sealed record ExchangeRate : Fact
{
    public required string Base { get; init; }
    public required string Quote { get; init; }
    public required decimal Rate { get; init; }

    public override FactType Type => FactType.ExchangeRate;

    /// <summary>The currency pair, as rates are found by it ("EUR/USD").</summary>
    public string Pair => Key(Base, Quote);

    public static string Key(string @base, string quote) => $"{@base}/{quote}";
}

/// <summary>Money the investor put into the investee.</summary>
public sealed record Investment : Fact
{
    public required string Investor { get; init; }
    public required string Investee { get; init; }
    public Money? Amount { get; init; }
    public Money? ReportedEquivalent { get; init; }
    public Instrument Instrument { get; init; } = Instrument.Unknown;
    public string? Scope { get; init; }

    public override FactType Type => FactType.Investment;
    public override (string From, string To)? Direction => (Investor, Investee);
}

/// <summary>The acquirer took over the target (for an amount, when known).</summary>
public sealed record Acquisition : Fact
{
    public required string Acquirer { get; init; }
    public required string Target { get; init; }
    public Money? Amount { get; init; }

    public override FactType Type => FactType.Acquisition;
    public override (string From, string To)? Direction => (Acquirer, Target);
}

/// <summary>Two or more parties work together in a scope.</summary>
public sealed record Partnership : Fact
{
    public required IReadOnlyList<string> Parties { get; init; }
    public required string Scope { get; init; }

    public override FactType Type => FactType.Partnership;
    public override IReadOnlyList<string> Organizations => Parties;
}

/// <summary>Parties announced something (its title), in a scope when stated.</summary>
public sealed record Announcement : Fact
{
    public required IReadOnlyList<string> Parties { get; init; }
    public required string Title { get; init; }
    public string? Scope { get; init; }

    public override FactType Type => FactType.Announcement;
    public override IReadOnlyList<string> Organizations => Parties;
}

/// <summary>
/// Every kind of fact in the one JSON shape the ledger has always stored, sent and hashed: every field of every kind, in
/// one order, null where a kind lacks it. Events, fact states and answers written before the kinds were types read and
/// write the same bytes (a test holds each kind's JSON).
/// </summary>
internal sealed class FactJson : JsonConverter<Fact>
{
    public override Fact Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var f = JsonSerializer.Deserialize<Shape>(ref reader, options) ?? throw new JsonException("a fact is null");
        T Need<T>(T? value, string field) where T : class => value ?? throw new JsonException($"a {LedgerJson.Word(f.Type)} fact without '{field}'");
        return f.Type switch
        {
            FactType.Stake => new Stake { Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Holder = Need(f.Holder, "holder"), Subject = Need(f.Subject, "subject"), Share = Need(f.Share, "share") },
            FactType.IndirectStake => new IndirectStake { Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Holder = Need(f.Holder, "holder"), Subject = Need(f.Subject, "subject"), Share = Need(f.Share, "share") },
            FactType.BoardSeat => new BoardSeat { Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Holder = Need(f.Holder, "holder"), Subject = Need(f.Subject, "subject"), Role = f.Role },
            FactType.Control => new Control
            {
                Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Holder = Need(f.Holder, "holder"), Subject = Need(f.Subject, "subject"), Means = Need(f.Means, "means"), Share = f.Share,
            },
            FactType.Investment => new Investment
            {
                Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Investor = Need(f.Investor, "investor"), Investee = Need(f.Investee, "investee"),
                Amount = f.Amount, ReportedEquivalent = f.ReportedEquivalent, Instrument = f.Instrument ?? Instrument.Unknown, Scope = f.Scope,
            },
            FactType.Acquisition => new Acquisition { Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Acquirer = Need(f.Acquirer, "acquirer"), Target = Need(f.Target, "target"), Amount = f.Amount },
            FactType.Partnership => new Partnership { Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Parties = Need(f.Parties, "parties"), Scope = Need(f.Scope, "scope") },
            FactType.Announcement => new Announcement { Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Parties = Need(f.Parties, "parties"), Title = Need(f.Title, "title"), Scope = f.Scope },
            FactType.OwnersUndisclosed => new OwnersUndisclosed
            {
                Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Subject = Need(f.Subject, "subject"),
                Reason = f.Reason ?? throw new JsonException("an owners-undisclosed fact without 'reason'"), Details = f.Details,
            },
            FactType.Succession => new Succession
            {
                Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Predecessor = Need(f.Predecessor, "predecessor"), Successor = Need(f.Successor, "successor"),
                Form = f.Form ?? throw new JsonException("a succession fact without 'form'"),
            },
            FactType.Name => new OrganizationName
            {
                Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Subject = Need(f.Subject, "subject"), Name = Need(f.Name, "name"),
                Use = f.Use ?? throw new JsonException("a name fact without 'use'"),
            },
            FactType.Identifier => new OrganizationIdentifier
            {
                Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Subject = Need(f.Subject, "subject"), Scheme = Need(f.Scheme, "scheme"), Value = Need(f.Value, "value"),
            },
            FactType.ExchangeRate => new ExchangeRate
            {
                Id = f.Id, Deal = f.Deal, Valid = f.Valid, Sources = f.Sources, Base = Need(f.Base, "base"), Quote = Need(f.Quote, "quote"),
                Rate = f.Rate ?? throw new JsonException("an exchange-rate fact without 'rate'"),
            },
            _ => throw new JsonException($"no kind of fact is '{f.Type}'"),
        };
    }

    public override void Write(Utf8JsonWriter writer, Fact value, JsonSerializerOptions options)
    {
        var f = new Shape
        {
            Id = value.Id, Deal = value.Deal, Type = value.Type, Valid = value.Valid, Sources = value.Sources,
            Direction = value.Direction, Organizations = value.Organizations,
        };
        f = value switch
        {
            Stake s => f with { Holder = s.Holder, Subject = s.Subject, Share = s.Share },
            IndirectStake s => f with { Holder = s.Holder, Subject = s.Subject, Share = s.Share },
            BoardSeat b => f with { Holder = b.Holder, Subject = b.Subject, Role = b.Role },
            Control c => f with { Holder = c.Holder, Subject = c.Subject, Share = c.Share, Means = c.Means },
            Investment i => f with { Investor = i.Investor, Investee = i.Investee, Amount = i.Amount, ReportedEquivalent = i.ReportedEquivalent, Instrument = i.Instrument, Scope = i.Scope },
            Acquisition a => f with { Acquirer = a.Acquirer, Target = a.Target, Amount = a.Amount },
            Partnership p => f with { Parties = p.Parties, Scope = p.Scope },
            Announcement n => f with { Parties = n.Parties, Title = n.Title, Scope = n.Scope },
            OwnersUndisclosed u => f with { Subject = u.Subject, Reason = u.Reason, Details = u.Details },
            Succession x => f with { Predecessor = x.Predecessor, Successor = x.Successor, Form = x.Form },
            OrganizationName n => f with { Subject = n.Subject, Name = n.Name, Use = n.Use },
            OrganizationIdentifier i => f with { Subject = i.Subject, Scheme = i.Scheme, Value = i.Value },
            ExchangeRate r => f with { Base = r.Base, Quote = r.Quote, Rate = r.Rate },
            _ => throw new JsonException($"no JSON form for {value.GetType().Name}"),
        };
        JsonSerializer.Serialize(writer, f, options);
    }

    /// <summary>The stored shape: the fields of every kind in their one order (as the single record of before declared them).</summary>
    internal sealed record Shape
    {
        public required string Id { get; init; }
        public required string Deal { get; init; }
        public required FactType Type { get; init; }
        public required ValidPeriod Valid { get; init; }
        public required IReadOnlyList<Claim> Sources { get; init; }
        public string? Holder { get; init; }
        public string? Subject { get; init; }
        public Share? Share { get; init; }
        public string? Role { get; init; }
        public string? Investor { get; init; }
        public string? Investee { get; init; }
        public Money? Amount { get; init; }
        public Money? ReportedEquivalent { get; init; }
        public Instrument? Instrument { get; init; }
        public string? Acquirer { get; init; }
        public string? Target { get; init; }
        public IReadOnlyList<string>? Parties { get; init; }
        public string? Scope { get; init; }
        public string? Title { get; init; }

        // Left out when null, so facts recorded before control existed keep their exact form.
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Means { get; init; }

        // Likewise, for facts recorded before owners-undisclosed existed.
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public UndisclosedReason? Reason { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Details { get; init; }

        // Likewise, for facts recorded before successions existed.
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Predecessor { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Successor { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public SuccessionForm? Form { get; init; }

        // Likewise, for facts recorded before names and identifiers existed.
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Name { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public NameUse? Use { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Scheme { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Value { get; init; }

        // Likewise, for facts recorded before exchange rates existed.
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Base { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Quote { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public decimal? Rate { get; init; }

        // Derived, written as before and never read back (a setter that is not public is not read).
        public (string From, string To)? Direction { get; internal init; }

        public IReadOnlyList<string> Organizations { get; internal init; } = [];
    }
}

/// <summary>The values a correction sets on a fact; unset fields keep their value.</summary>
public sealed record FactAmendment
{
    public Share? Share { get; init; }
    public ValidPeriod? Valid { get; init; }
    public Money? Amount { get; init; }
    public Money? ReportedEquivalent { get; init; }
    public Instrument? Instrument { get; init; }
    public string? Scope { get; init; }
    public string? Title { get; init; }
    public string? Role { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Means { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public UndisclosedReason? Reason { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Details { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SuccessionForm? Form { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public NameUse? Use { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Value { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public decimal? Rate { get; init; }

    /// <summary>The fact with the values set that its kind has (a correction names only those: <see cref="CorrectFact"/>).</summary>
    public Fact ApplyTo(Fact fact) => (fact switch
    {
        Stake s => s with { Share = Share ?? s.Share },
        IndirectStake s => s with { Share = Share ?? s.Share },
        Control c => c with { Share = Share ?? c.Share, Means = Means ?? c.Means },
        BoardSeat b => b with { Role = Role ?? b.Role },
        Investment i => i with
        {
            Amount = Amount ?? i.Amount,
            ReportedEquivalent = ReportedEquivalent ?? i.ReportedEquivalent,
            Instrument = Instrument ?? i.Instrument,
            Scope = Scope ?? i.Scope,
        },
        Acquisition a => a with { Amount = Amount ?? a.Amount },
        Partnership p => p with { Scope = Scope ?? p.Scope },
        Announcement n => n with { Title = Title ?? n.Title, Scope = Scope ?? n.Scope },
        OwnersUndisclosed u => u with { Reason = Reason ?? u.Reason, Details = Details ?? u.Details },
        Succession x => x with { Form = Form ?? x.Form },
        OrganizationName n => n with { Name = Name ?? n.Name, Use = Use ?? n.Use },
        OrganizationIdentifier i => i with { Value = Value ?? i.Value },
        ExchangeRate r => r with { Rate = Rate ?? r.Rate },
        _ => fact,
    }) with { Valid = Valid ?? fact.Valid };
}
