using DealLedger.Amounts;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;
using System.Text.Json.Serialization;
using Npgsql;

namespace DealLedger.Relationships;

public enum Direction { Outgoing, Incoming, Mutual }

/// <summary>Whether a tie was in force on the date asked, or the ledger cannot tell (an imprecise or unknown start or end).</summary>
public enum TieStatus { InForce, Uncertain }

/// <summary>
/// One tie of an organization at a date: a stake (as the holding timeline has it) or any other fact.
/// <paramref name="Share"/>: a stake's size as the timeline has it (null for other kinds, or a disputed size).
/// <paramref name="StartUnknown"/>: the sources only say the tie was in force by <paramref name="Since"/>.
/// </summary>
public sealed record Relationship(
    string Fact,
    FactType Type,
    Direction Direction,
    IReadOnlyList<string> Counterparties,
    TieStatus Status,
    Share? Share,
    DateWithPrecision? Since,
    bool StartUnknown,
    DateWithPrecision? Until,
    Confidence? Confidence,
    string Summary,
    IReadOnlyList<SourceCitation> Sources,
    IReadOnlyList<EventRef> Basis)
{
    /// <summary>
    /// The organizations this tie went to: the organization asked about had been succeeded on the date (succession facts in
    /// force, or perhaps so). The tie is shown as recorded; where it went is said beside it.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? WentTo { get; init; }

    /// <summary>
    /// The predecessor whose tie this is: the organization asked about succeeded it (renamed, merged, absorbed, or a plain
    /// succession) by the date, so holds it as its successor. The tie's words and direction are the predecessor's.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? InheritedFrom { get; init; }

    /// <summary>An investment's or acquisition's amount in the ledger's other currencies (<see cref="Ledger.Currencies"/>), by the rate of its date; null without an amount.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ConvertedAmount>? Converted { get; init; }
}

/// <summary>
/// An organization as named on the date asked (its legal name, aliases and identifiers then, as known then), and every name
/// the facts give it over time (<see cref="Names"/>; null when none, as for one never renamed).
/// </summary>
public sealed record OrganizationProfile(string Id, string Name, IReadOnlyList<string> Aliases, OrganizationKind Kind, string? Country, IReadOnlyDictionary<string, string> Identifiers)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<DatedName>? Names { get; init; }

    /// <summary>The organization this record is merged into (as known at knownAt; null: none): answers asked by this id are that one's.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MergedInto { get; init; }
}

public sealed record RelationshipsAnswer(OrganizationProfile Organization, string At, string KnownAt, IReadOnlyList<Relationship> Relationships)
{
    /// <summary>Which part of the organization's ties this answer lists (null: all of them, as in-process callers ask).</summary>
    public ListPage? Page { get; init; }

    /// <summary>The merges of duplicate records this answer reads (as known at knownAt; null: none): it is the survivor's.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Organizations.MergeNote>? Merges { get; init; }
}

/// <summary>An organization's profile and its ties of every kind, incoming and outgoing, at at/knownAt (DESIGN §5).</summary>
public static class RelationshipsQuery
{
    /// <summary>Ties a page lists when the caller does not say; a hub of a large ledger has thousands.</summary>
    public const int DefaultLimit = 200;

    public const int MaxLimit = 1_000;

    public static Task<RelationshipsAnswer> RelationshipsAsync(this Ledger ledger, string org, DateOnly? at = null, DateTimeOffset? knownAt = null, CancellationToken ct = default) =>
        ledger.AnswerAsync(org, at, knownAt, all => (all, null), ct);

    /// <summary>
    /// A page of the organization's ties, in the whole answer's order (what the API and the CLI give).
    /// With <paramref name="fact"/>, only the tie of that fact: one, or none when it is not in force then —
    /// however many ties come before it (a hub lists thousands of stakes before its first partnership).
    /// </summary>
    public static Task<RelationshipsAnswer> RelationshipsAsync(this Ledger ledger, string org, DateOnly? at, DateTimeOffset? knownAt, PageRequest page, string? fact = null, CancellationToken ct = default) =>
        ledger.AnswerAsync(org, at, knownAt, all => ListPage.Of(fact is null ? all : all.Where(t => t.Shape.Fact == fact).ToList(), page), ct);

    /// <summary>The answer with the ties <paramref name="shown"/> picks from all of them (ranked as data), only those put in words.</summary>
    private static Task<RelationshipsAnswer> AnswerAsync(this Ledger ledger, string org, DateOnly? at, DateTimeOffset? knownAt,
        Func<IReadOnlyList<Tie>, (IReadOnlyList<Tie> Ties, ListPage? Page)> shown, CancellationToken ct) =>
        ledger.ReadAsync(knownAt, async (c, k, token) =>
        {
            await OrganizationDirectory.RequireAsync(c, org, token, k);
            // A merged record is answered as its survivor; the answer lists the merges it rests on.
            var merges = await OrganizationMerges.AsKnownAsync(c, k, token);
            var day = at ?? ledger.Today;
            var (answer, ties, _) = await TiesAsync(c, merges.Survivor(org), day, k, token, merges: merges);
            var (page, where) = shown(ties);
            answer = answer with { Relationships = await InWordsAsync(c, ledger.Citations, page, day, k, ledger.Currencies, token), Page = where };
            return merges.Behind(org) is { Count: > 0 } notes ? answer with { Merges = notes } : answer;
        }, ct);

    /// <summary>
    /// The answer, every tie in words (amounts in no other currency). An organization unknown, or not yet registered at k, is
    /// not found, naming <paramref name="field"/>.
    /// </summary>
    /// <param name="merges">
    /// The merges in force at k (none: the records are read as recorded): the ties of every record merged into
    /// <paramref name="org"/> are its own, and each counterparty is named by the organization it is read as.
    /// </param>
    internal static async Task<RelationshipsAnswer> LoadAsync(NpgsqlConnection c, Citations citations, string org, DateOnly day, DateTimeOffset k, CancellationToken token,
        string field = "organization", KnownMerges? merges = null)
    {
        var (answer, ties, _) = await TiesAsync(c, org, day, k, token, field, merges: merges);
        return answer with { Relationships = await InWordsAsync(c, citations, ties, day, k, null, token) };
    }

    /// <summary>A tie as data: its shape (every field but its summary, sources and confidence) and what its words are made from.</summary>
    internal sealed record Tie(Relationship Shape, Words Words);

    /// <summary>
    /// What a tie's words are made from, and the organizations its summary may name (those of the facts it was read with):
    /// any other is shown by its id, as it always was.
    /// </summary>
    internal abstract record Words(IReadOnlySet<string> Named)
    {
        /// <summary>The organizations the summary names whose names are read.</summary>
        public abstract IEnumerable<string> Mentions { get; }

        /// <summary>A stake's: what its pair's finding reads.</summary>
        public sealed record OfStake(Reading Reading, string Holder, string Subject, IReadOnlySet<string> Named) : Words(Named)
        {
            public override IEnumerable<string> Mentions => new[] { Holder, Subject }.Where(Named.Contains);
        }

        /// <summary>Any other tie's: its fact.</summary>
        public sealed record OfFact(FactState Fact, IReadOnlySet<string> Named) : Words(Named)
        {
            public override IEnumerable<string> Mentions => Fact.Current.Organizations.Where(Named.Contains);
        }
    }

    /// <summary>
    /// The answer without its ties, and its ties as data, in the answer's order: each tie's shape (what ranks, orders and pages
    /// ties) and what its words are made from (<see cref="InWordsAsync"/>). A hub has thousands of ties; a caller that shows a
    /// page of them (the graph's neighbourhood) puts only those in words. Also when each fact it was read from starts and
    /// ends (every fact of the organization as known at k, retracted ones left out): the days its ties may change.
    /// </summary>
    internal static async Task<(RelationshipsAnswer Answer, List<Tie> Ties, List<(ValidDate From, ValidDate? EndsOn)> Dates)> TiesAsync(NpgsqlConnection c, string org,
        DateOnly day, DateTimeOffset k, CancellationToken token, string field = "organization", HashSet<string>? followed = null, KnownMerges? merges = null)
    {
        merges ??= KnownMerges.None;
        followed ??= new HashSet<string>(StringComparer.Ordinal) { org };
        var o = await OrganizationDirectory.RequireAsync(c, org, token, k, field);
        var members = merges.Members(org);
        string As(string id) => merges.Survivor(id);
        // A tie between two records of the organization is no tie of it.
        bool Between(IReadOnlyList<string> organizations) => members.Count == 1 || organizations.Count < 2 || organizations.Any(x => As(x) != org);
        // Stake facts as marks: a stake's tie is its pair's finding, and a hub has thousands of stake facts.
        var facts = (await FactVersions.InvolvingAnyAsync(c, members, k, token, except: FactType.Stake))
            .Where(f => !f.IsRetracted && Between(f.Current.Organizations)).ToList();
        var stakeFacts = (await FactVersions.StakeMarksInvolvingAnyAsync(c, members, k, token)).Where(m => Between([m.Holder, m.Subject])).ToList();
        var named = facts.SelectMany(f => f.Current.Organizations).Concat(stakeFacts.SelectMany(m => new[] { m.Holder, m.Subject })).Append(org)
            .ToHashSet(StringComparer.Ordinal);

        var ties = new List<Tie>();
        // Stakes follow the holding timeline (succession, narrowing, disputes), not single facts. A tie shows the finding's
        // reading and citations, not its explanation: that is not even parsed.
        var stakes = (await HoldingQuery.HeldByAnyAsync(c, HoldingQuery.Side.Holder, [org], k, day, token))
            .Concat(await HoldingQuery.HeldByAnyAsync(c, HoldingQuery.Side.Subject, [org], k, day, token));
        // A pair's stake facts looked up once, not searched for per pair: a hub has thousands of pairs.
        var ofPair = stakeFacts.ToLookup(m => (As(m.Holder), As(m.Subject)));
        foreach (var (holder, subject, f) in stakes)
        {
            var other = holder == org ? subject : holder;
            var stakeFact = StakeFacts.RestingOn(ofPair[(holder, subject)], f.Basis.Select(b => b.Sequence));
            ties.Add(new Tie(new Relationship(stakeFact ?? $"{holder}→{subject}", FactType.Stake, holder == org ? Direction.Outgoing : Direction.Incoming,
                [other], f.Status == HoldingStatus.Held ? TieStatus.InForce : TieStatus.Uncertain, f.Share, f.Since, false, f.Until, f.Confidence,
                "", [], f.Basis), new Words.OfStake(f, holder, subject, named)));
        }
        // Names and identifiers are the organization's profile, not ties.
        // (The organization's own: a merged record's names are its record's, not the organization's.)
        var own = facts.Where(f => f.Current.Type is FactType.Name or FactType.Identifier && f.Current.Organizations.Contains(org)).ToList();
        foreach (var f in facts.Where(f => f.Current.Type is not (FactType.Stake or FactType.Name or FactType.Identifier)))
        {
            var status = StatusAt(f, day);
            if (status is null)
            {
                continue;
            }
            var fact = f.Current;
            var (direction, others) = fact.Direction is { } d
                ? (As(d.From) == org ? Direction.Outgoing : Direction.Incoming, new[] { As(As(d.From) == org ? d.To : d.From) })
                : (Direction.Mutual, fact.Organizations.Select(As).Where(x => x != org).Distinct().ToArray());
            ties.Add(new Tie(new Relationship(fact.Id, fact.Type, direction, others, status.Value, null,
                DateWithPrecision.Of(fact.Valid.From), fact.Valid.OrEarlier, DateWithPrecision.Of(f.EndsOn), null, "", [], f.Basis), new Words.OfFact(f, named)));
        }
        ties = await FollowSuccessionsAsync(c, org, day, k, token, facts, ties, followed);
        return (new RelationshipsAnswer(Profile(DatedNames.On(o, own, day)) with { Names = DatedNames.Names(own) }, ValidDate.OfDay(day).ToString(), Instant.Format(k), []),
            ties.OrderBy(t => t.Shape.Type).ThenBy(t => t.Shape.Fact, StringComparer.Ordinal).ThenBy(t => t.Shape.InheritedFrom, StringComparer.Ordinal).ToList(),
            facts.Select(f => (f.Current.Valid.From, f.EndsOn)).Concat(stakeFacts.Select(m => (m.From, m.EndsOn))).ToList());
    }

    /// <summary>
    /// Ties of <see cref="TiesAsync"/> in words, in the order given: each summary naming organizations as named on the day,
    /// the sources cited and the confidence they give, and amounts in <paramref name="currencies"/> too. The names, sources
    /// and rates are read for these ties only, and each tie's words are what they are among all of its organization's.
    /// </summary>
    internal static async Task<List<Relationship>> InWordsAsync(NpgsqlConnection c, Citations citations, IReadOnlyList<Tie> ties,
        DateOnly day, DateTimeOffset k, IReadOnlyList<string>? currencies, CancellationToken token)
    {
        var names = await DatedNames.OnAsync(c, ties.SelectMany(t => t.Words.Mentions), day, k, token);
        var facts = ties.Select(t => t.Words).OfType<Words.OfFact>().Select(w => w.Fact).ToList();
        var sources = await citations.SourcesAsync(c, facts.SelectMany(SourceCatalog.CitedBy)
            .Concat(ties.Select(t => t.Words).OfType<Words.OfStake>().SelectMany(w => w.Reading.Sources)), token);
        var amounts = facts.Select(f => Amount(f.Current)).OfType<Money>().Select(m => m.Currency).ToList();
        var conversions = currencies is { Count: > 0 } && amounts.Count > 0 ? await Conversions.LoadAsync(c, citations, currencies, amounts, k, token) : null;
        return ties.Select(t =>
        {
            var (r, w) = (t.Shape, t.Words);
            string Name(string id) => w.Named.Contains(id) ? names.GetValueOrDefault(id, id) : id;
            if (w is Words.OfStake stake)
            {
                return r with { Summary = $"{Name(stake.Holder)} holds {Share.Phrase(stake.Reading.Share)} in {Name(stake.Subject)}", Sources = FindingWords.Citations(stake.Reading.Sources, sources) };
            }
            var state = ((Words.OfFact)w).Fact;
            var fact = state.Current;
            return r with
            {
                Confidence = ConfidenceRules.Of(fact.Sources, id => sources.TryGetValue(id, out var s) ? s.Kind : SourceKind.ThirdParty),
                Summary = FactWords.Summary(fact, Name),
                Sources = SourceCatalog.CitedBy(state).Distinct().Select(id => SourceCitation.Of(id, sources)).ToList(),
                Converted = conversions is not null && Amount(fact) is { } amount ? conversions.Of(amount, fact.Valid) : null,
            };
        }).ToList();
    }

    /// <summary>
    /// Where ties went across successions in force (or perhaps so) on the day. What passes is what the predecessor held and
    /// did (its outgoing and mutual ties); what others held in it passes only with a renaming (the same body under a new id):
    /// after a merger, what its owners hold instead is not recorded. A predecessor's ties that passed name their successors
    /// (<see cref="Relationship.WentTo"/>); a successor other than a split's part lists them, and its predecessors' along a
    /// chain, as inherited (never those with itself). A split's parts inherit nothing: which part took which tie is not
    /// recorded. Only what the facts say: no tie is made up or rewritten.
    /// </summary>
    private static async Task<List<Tie>> FollowSuccessionsAsync(NpgsqlConnection c, string org, DateOnly day, DateTimeOffset k,
        CancellationToken token, List<FactState> facts, List<Tie> ties, HashSet<string> followed)
    {
        var successions = facts.Where(f => f.Current is Succession).Select(f => (Fact: (Succession)f.Current, Status: StatusAt(f, day)))
            .Where(x => x.Status is not null).ToList();
        if (successions.Count == 0)
        {
            return ties;
        }
        var succeeded = successions.Where(x => x.Fact.Predecessor == org).Select(x => x.Fact).ToList();
        var result = ties.Select(t => succeeded.Where(x => Passes(x, t.Shape)).Select(x => x.Successor).Distinct().Order(StringComparer.Ordinal).ToList() is { Count: > 0 } to
            ? t with { Shape = t.Shape with { WentTo = to } } : t).ToList();
        foreach (var (succession, status) in successions.Where(x => x.Fact.Successor == org && x.Fact.Universal).OrderBy(x => x.Fact.Predecessor, StringComparer.Ordinal))
        {
            if (!followed.Add(succession.Predecessor))
            {
                continue;
            }
            var (_, before, _) = await TiesAsync(c, succession.Predecessor, day, k, token, "organization", followed);
            result.AddRange(before
                .Where(t => Passes(succession, t.Shape) && !t.Shape.Counterparties.Contains(org))
                .Select(t => t with
                {
                    Shape = t.Shape with
                    {
                        Status = status == TieStatus.Uncertain ? TieStatus.Uncertain : t.Shape.Status,
                        WentTo = null,
                        InheritedFrom = t.Shape.InheritedFrom ?? succession.Predecessor,
                    },
                }));
        }
        return result;
    }

    /// <summary>An investment's or an acquisition's amount, when stated.</summary>
    internal static Money? Amount(Fact fact) => fact switch
    {
        Investment i => i.Amount,
        Acquisition a => a.Amount,
        _ => null,
    };

    /// <summary>Whether a tie of the predecessor passes to the successor: not a succession; not what others hold in it, unless it was only renamed.</summary>
    private static bool Passes(Succession succession, Relationship tie) =>
        tie.Type != FactType.Succession && (succession.Form == SuccessionForm.Renamed || tie.Direction != Direction.Incoming);

    internal static OrganizationProfile Profile(OrganizationRegistered o) => new(o.Id, o.Name, o.Aliases, o.Kind, o.Country, o.Identifiers);

    /// <summary>
    /// In force when surely so on the day, uncertain while its start or end may or may not have happened,
    /// null when not in force — by the rule stakes' timelines follow: a start or an end takes effect on
    /// its day, and happened by the last day its date can mean (<see cref="ValidDate.LastDay"/>).
    /// </summary>
    internal static TieStatus? StatusAt(FactState f, DateOnly day)
    {
        var from = f.Current.Valid.From;
        var end = f.EndsOn;
        // Half-open: a tie ended on a day is not in force that day. Before a 'by' date it may already have been.
        if ((day < from.Start && !f.Current.Valid.OrEarlier) || (end is { } e && day >= e.LastDay))
        {
            return null;
        }
        var unsure = day < from.LastDay || (end is { } x && day >= x.Start);
        return unsure ? TieStatus.Uncertain : TieStatus.InForce;
    }
}

/// <summary>A fact in one line a person can read.</summary>
public static class FactWords
{
    /// <summary>Why owners are not disclosed, in words.</summary>
    public static string Why(UndisclosedReason reason) => reason switch
    {
        UndisclosedReason.Exempt => "it is exempt from disclosing them",
        UndisclosedReason.Listed => "it is a listed company, whose shareholders are not registered by name",
        UndisclosedReason.RegisterNotPublic => "the register that holds them is not public",
        UndisclosedReason.NoController => "it has no owner that controls it",
        _ => "the sources do not say why",
    };

    public static string Summary(Fact f, Func<string, string> name) => f switch
    {
        Stake x => $"{name(x.Holder)} holds {Share.Phrase(x.Share)} in {name(x.Subject)}",
        IndirectStake x => $"{name(x.Holder)} is stated to hold {Share.Phrase(x.Share)} in {name(x.Subject)} through intermediaries",
        Investment x => $"{name(x.Investor)} invested {(x.Amount is { } a ? a.ToReadable() : "an undisclosed amount")}"
            + (x.ReportedEquivalent is { } eq ? $" (≈ {eq.ToReadable()})" : "")
            + $" in {name(x.Investee)}" + (x.Instrument is not Instrument.Unknown ? $" ({LedgerJson.Word(x.Instrument)})" : "")
            + (x.Scope is { Length: > 0 } purpose ? $" — {purpose}" : ""),
        Partnership x => $"Partnership of {string.Join(" and ", x.Parties.Select(name))}: {x.Scope}",
        BoardSeat x => $"{name(x.Holder)} holds a board seat at {name(x.Subject)}" + (x.Role is { Length: > 0 } r ? $" ({r})" : ""),
        Control x => $"{name(x.Holder)} controls {name(x.Subject)} through {x.Means}" + (x.Share is { } c ? $" ({c.ToReadable()})" : ""),
        Acquisition x => $"{name(x.Acquirer)} acquired {name(x.Target)}" + (x.Amount is { } m ? $" for {m.ToReadable()}" : ""),
        Announcement x => $"{string.Join(" and ", x.Parties.Select(name))} announced: {x.Title}" + (x.Scope is { Length: > 0 } s ? $" — {s}" : ""),
        OwnersUndisclosed x => $"The owners of {name(x.Subject)} are not disclosed: {Why(x.Reason)}" + (x.Details is { Length: > 0 } d ? $" ({d})" : ""),
        Succession x => x.Form switch
        {
            SuccessionForm.Renamed => $"{name(x.Predecessor)} was renamed {name(x.Successor)}",
            SuccessionForm.MergedInto => $"{name(x.Predecessor)} merged into {name(x.Successor)}",
            SuccessionForm.Absorbed => $"{name(x.Predecessor)} was acquired and absorbed by {name(x.Successor)}",
            SuccessionForm.SplitInto => $"{name(x.Predecessor)} was split up; {name(x.Successor)} is one of its successors",
            _ => $"{name(x.Successor)} succeeded {name(x.Predecessor)}",
        },
        OrganizationName x => x.Use == NameUse.Legal ? $"{name(x.Subject)} bears the legal name \"{x.Name}\"" : $"{name(x.Subject)} is also known as \"{x.Name}\"",
        OrganizationIdentifier x => $"{name(x.Subject)} is identified as {x.Value} ({x.Scheme})",
        _ => f.Id,
    };
}
