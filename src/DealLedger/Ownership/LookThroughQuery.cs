using System.Globalization;
using System.Text.Json.Serialization;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Relationships;
using DealLedger.Sources;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Ownership;

/// <summary>How far chains are followed (stakes from the organization asked about), and the threshold owners are split by, if any.</summary>
public sealed record LookThroughRequest(int Depth = LookThroughRequest.DefaultDepth, decimal? Threshold = null)
{
    public const int DefaultDepth = 10;

    public const int MaxDepth = 20;

    /// <summary>
    /// The request as a query gives it (the API's parameters and the CLI's options, named as the caller spells them):
    /// null without <paramref name="through"/>, where depth and threshold have no meaning and are refused.
    /// </summary>
    public static LookThroughRequest? Parse(bool through, string? depth, string? threshold, string throughName = "through", string depthName = "depth", string thresholdName = "threshold")
    {
        if (!through)
        {
            return (depth, threshold) switch
            {
                (not null, _) => throw new LedgerException(LedgerErrorKind.InvalidInput, $"{depthName} needs {throughName}: it bounds the chains of stakes looked through") { Field = depthName },
                (_, not null) => throw new LedgerException(LedgerErrorKind.InvalidInput, $"{thresholdName} needs {throughName}: it splits owners by their look-through share") { Field = thresholdName },
                _ => null,
            };
        }
        var d = QueryArguments.Count(depth, depthName, DefaultDepth);
        if (d is < 1 or > MaxDepth)
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, $"{depthName} must be between 1 and {MaxDepth} stakes, got {d}") { Field = depthName };
        }
        decimal? t = null;
        if (threshold is not null)
        {
            if (!decimal.TryParse(threshold, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var p) || p <= 0m || p > 100m)
            {
                throw new LedgerException(LedgerErrorKind.InvalidInput,
                    $"{thresholdName} '{QueryArguments.Shown(threshold)}' is not a percentage above 0 and at most 100 (e.g. 25)") { Field = thresholdName };
            }
            t = p;
        }
        return new LookThroughRequest((int)d, t);
    }
}

/// <summary>
/// Who holds an organization through chains of stakes (<see cref="Owners"/>), or what it holds through them
/// (<see cref="Holdings"/>), at (at, knownAt): DESIGN §11. <see cref="AllChainsCounted"/> is false when there were more
/// chains than the walk counts (<see cref="ChainSums.ChainBudget"/>): the shares are whole, the chain counts lower bounds.
/// </summary>
public sealed record LookThroughAnswer(
    string Organization,
    string At,
    string KnownAt,
    int Depth,
    decimal? Threshold,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChainedStake>? Owners,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChainedStake>? Holdings,
    IReadOnlyList<CrossHolding> Cycles,
    IReadOnlyList<UnaccountedCapital> Unaccounted,
    IReadOnlyList<ControlChains> Control,
    IReadOnlyList<StatedIndirect> Stated,
    bool AllChainsCounted)
{
    /// <summary>The organizations reached (the one asked about among them) whose owners are recorded as not disclosed, and why: where chains stop.</summary>
    public IReadOnlyList<UndisclosedAlong> Undisclosed { get; init; } = [];

    /// <summary>The merges of duplicate records this answer reads (as known at knownAt; null: none): it is the survivor's.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Organizations.MergeNote>? Merges { get; init; }
}

/// <summary>An organization on the chains whose owners are not disclosed, with each statement saying so (<see cref="OwnersUndisclosed"/>).</summary>
public sealed record UndisclosedAlong(string Organization, string Name, IReadOnlyList<UndisclosedOwners> Statements);

/// <summary>
/// An owner (or, in an organization's holdings, a subject) reached through chains: its look-through share (a range
/// when any share on its chains is one), its direct stake if any, whether it is an ultimate owner (no owners of its
/// own recorded), where it lies against the threshold asked, whether an organization on its chains has capital no
/// recorded owner accounts for, and its strongest chains with how many there are.
/// </summary>
public sealed record ChainedStake(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Owner,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Subject,
    string Name,
    Share Share,
    Share? Direct,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Ultimate,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ThresholdSide? Threshold,
    bool Unaccounted,
    int PathCount,
    IReadOnlyList<OwnershipPath> Paths);

/// <summary>One chain: the organizations between its ends, the product of its shares, and each stake on it.</summary>
public sealed record OwnershipPath(IReadOnlyList<string> Via, Share Share, IReadOnlyList<ChainLink> Edges);

/// <summary>One stake of a chain, as the holding timeline has it then: its share as counted (an uncertain one from 0), the fact it rests on and its sources.</summary>
public sealed record ChainLink(string Holder, string Subject, HoldingStatus Status, Share Share, string? Fact, IReadOnlyList<SourceCitation> Sources);

/// <summary>Organizations holding each other in a cycle (cross-holdings); shares through them are the limit of the chain sums.</summary>
public sealed record CrossHolding(IReadOnlyList<string> Organizations);

/// <summary>An organization on the chains whose recorded owners may together hold less than all of it (the known total of `owners`).</summary>
public sealed record UnaccountedCapital(string Organization, OwnedTotal Known);

/// <summary>
/// A stake stated to be held through intermediaries (an <see cref="IndirectStake"/>, as BODS's indirect interests import)
/// into the organization asked about (or, for its holdings, out of it), set against the chains: the share stated, the
/// look-through share the chains of stakes give through intermediaries (the direct stake between the two left out; null
/// when no such chain within the depth reaches), whether a control chain joins them too (<see cref="Control"/>: its
/// economic share is not stated, so the chains may give up to all), and whether the chains allow what was stated
/// (<see cref="Allowed"/> false flags a claim no computed range allows; null when they do not and chains longer than
/// the depth asked were not followed, so the answer cannot tell). Never added to the shares above.
/// </summary>
public sealed record StatedIndirect(string Holder, string Subject, string Name, Share Stated, Share? Computed, bool Control, bool? Allowed, TieStatus Status,
    string Fact, IReadOnlyList<SourceCitation> Sources);

/// <summary>An organization that controls the one asked about (or that it controls) through control facts and majority-held intermediaries (> 50 %), apart from the ownership figures.</summary>
public sealed record ControlChains(string Organization, string Name, IReadOnlyList<ControlPath> Paths);

public sealed record ControlPath(IReadOnlyList<string> Via, IReadOnlyList<ControlLink> Edges);

/// <summary>A link of a control chain: a control fact (its means) or a majority stake (its share).</summary>
public sealed record ControlLink(string Holder, string Subject, FactType Kind, Share? Share, string? Means, TieStatus Status, string? Fact, IReadOnlyList<SourceCitation> Sources);

/// <summary>Look-through ownership (DESIGN §11): the walk over stored holdings, level by level, then the chain sums in memory.</summary>
public static class LookThroughQuery
{
    /// <summary>Every organization that holds <paramref name="org"/> directly or through chains of stakes.</summary>
    public static Task<LookThroughAnswer> OwnersThroughAsync(this Ledger ledger, string org, DateOnly? at, DateTimeOffset? knownAt, LookThroughRequest request, CancellationToken ct = default) =>
        ledger.ReadAsync(knownAt, (c, k, token) => AnswerAsync(c, ledger.Citations, org, at ?? ledger.Today, k, request, towardEnd: true, token), ct);

    /// <summary>As the other, reading through <paramref name="reads"/> (kept for its knownAt and day, which these must be).</summary>
    internal static Task<LookThroughAnswer> OwnersThroughAsync(this Ledger ledger, string org, DateOnly at, DateTimeOffset knownAt, LookThroughRequest request,
        LookThroughReads reads, CancellationToken ct) =>
        ledger.ReadAsync(knownAt, (c, k, token) => AnswerAsync(c, ledger.Citations, org, at, k, request, towardEnd: true, token, reads: reads), ct);

    /// <summary>Every organization <paramref name="org"/> holds directly or through chains of stakes (its portfolio through chains).</summary>
    public static Task<LookThroughAnswer> HoldingsThroughAsync(this Ledger ledger, string org, DateOnly? at, DateTimeOffset? knownAt, LookThroughRequest request, CancellationToken ct = default) =>
        ledger.ReadAsync(knownAt, (c, k, token) => AnswerAsync(c, ledger.Citations, org, at ?? ledger.Today, k, request, towardEnd: false, token), ct);

    /// <summary>A fact with its organizations read as the organizations they are now one of (in memory, for one answer; the fact stays as recorded).</summary>
    private static Fact AsSurvivors(Fact f, Func<string, string> survivor) => f switch
    {
        Tie t => t with { Holder = survivor(t.Holder), Subject = survivor(t.Subject) },
        OwnersUndisclosed u => u with { Subject = survivor(u.Subject) },
        _ => f,
    };

    private static async Task<LookThroughAnswer> AnswerAsync(NpgsqlConnection c, Citations citations, string org, DateOnly day, DateTimeOffset k, LookThroughRequest request,
        bool towardEnd, CancellationToken ct, KnownMerges? resolved = null, LookThroughReads? reads = null)
    {
        await OrganizationDirectory.RequireAsync(c, QueryArguments.Id(org, "organization"), ct, k);
        // A merged record's chains are its survivor's (the holdings are kept under it).
        var merges = resolved ?? await OrganizationMerges.AsKnownAsync(c, k, ct);
        if (resolved is null && merges.Behind(org).Count > 0 && merges.Survivor(org) is var survivor)
        {
            var answer = await AnswerAsync(c, citations, survivor, day, k, request, towardEnd, ct, resolved: merges, reads: reads);
            return answer with { Merges = merges.Behind(org) };
        }
        reads?.Check(k, day);
        Task<List<(string Holder, string Subject, Reading Reading)>> HeldByAnyAsync(HoldingQuery.Side side, IReadOnlyCollection<string> orgs) =>
            reads is null ? HoldingQuery.HeldByAnyAsync(c, side, orgs, k, day, ct) : reads.HeldByAnyAsync(c, side, orgs, ct);
        // Facts of other kinds are recorded of records: each read as the organization it is (its survivor).
        string As(string id) => merges.Survivor(id);
        // Level by level, one statement a level: owners of the organizations reached (or their holdings). Owners are
        // read one level past the depth too, so each organization within it knows whether it has owners of its own.
        var stakes = new List<(string Holder, string Subject, Reading Reading)>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { org };
        var frontier = new List<string> { org };
        // Whether chains longer than the depth exist (owners: stakes found one level past it), or may (holdings: organizations
        // at its edge whose own stakes were not read): then a stated claim the chains within it do not give cannot be judged.
        var cutOff = false;
        for (var level = 0; level <= request.Depth && frontier.Count > 0; level++)
        {
            if (!towardEnd && level == request.Depth)
            {
                cutOff = true;
                break;
            }
            var found = await HeldByAnyAsync(towardEnd ? HoldingQuery.Side.Subject : HoldingQuery.Side.Holder, frontier);
            stakes.AddRange(found);
            cutOff = level == request.Depth && found.Count > 0;
            frontier = found.Select(s => towardEnd ? s.Holder : s.Subject).Where(seen.Add).ToList();
        }
        var links = stakes.Select(s => new Link(s.Holder, s.Subject, Bounds.Counted(s.Reading.Status, s.Reading.Share, s.Reading.Alternatives?.Select(a => a.Share)))).ToList();
        var walked = towardEnd ? ChainSums.Owners(links, org, request.Depth) : ChainSums.Holdings(links, org, request.Depth);

        // Each organization's recorded owners, for its known total: read already for owners; for holdings, read now.
        var intoOrg = (towardEnd ? stakes : stakes.Concat(await HeldByAnyAsync(HoldingQuery.Side.Subject, walked.Organizations.ToList()))
                .DistinctBy(s => (s.Holder, s.Subject)))
            .ToLookup(s => s.Subject, StringComparer.Ordinal);
        // The organizations on the chains: their subjects (the organization asked about is the last of every owner's chain).
        var subjects = walked.Reached.SelectMany(r => r.Strongest.SelectMany(ch => ch.Links.Select(i => links[i].Subject)))
            .Concat(towardEnd ? [org] : walked.Reached.Select(r => r.Organization)).ToHashSet(StringComparer.Ordinal);
        var unaccounted = subjects.Order(StringComparer.Ordinal)
            .Select(s => new UnaccountedCapital(s, OwnedTotal.Of(intoOrg[s].Select(x => (x.Reading.Status, x.Reading.Share)).ToList())))
            .Where(u => u.Known.Min < 100m).ToList();
        var shortOfOwners = unaccounted.Select(u => u.Organization).ToHashSet(StringComparer.Ordinal);

        // In one read: control facts, stated indirect stakes and owners not disclosed touching the organizations reached (the
        // one asked about among them).
        FactType[] tieTypes = [FactType.Control, FactType.IndirectStake, FactType.OwnersUndisclosed];
        List<string> tieOrgs = merges.Any ? [.. walked.Organizations.SelectMany(merges.Members)] : [.. walked.Organizations];
        var ties = (await (reads is null ? FactVersions.OfTypesAmongAsync(c, tieTypes, tieOrgs, k, ct) : reads.OfTypesAmongAsync(c, tieTypes, tieOrgs, ct)))
            .Where(f => !f.IsRetracted).Select(f => merges.Any ? f with { Current = AsSurvivors(f.Current, As) } : f).ToList();
        var undisclosed = ties.Where(f => f.Current is OwnersUndisclosed)
            .Select(f => (Fact: f, Status: RelationshipsQuery.StatusAt(f, day))).Where(f => f.Status is not null).ToList();

        // Control: control facts in force into (or out of) the organizations reached, with the majority stakes among them.
        var controls = ties.Where(f => f.Current is Control).Select(f => (Fact: f, Control: (Control)f.Current))
            .Where(f => walked.Organizations.Contains(towardEnd ? f.Control.Subject : f.Control.Holder))
            .Select(f => (f.Fact, f.Control, Status: RelationshipsQuery.StatusAt(f.Fact, day)))
            .Where(f => f.Status is not null).ToList();
        var controlLinks = links.Select(l => (l.Holder, l.Subject, Share: (Bounds?)l.Share))
            .Concat(controls.Select(f => (f.Control.Holder, f.Control.Subject, Share: (Bounds?)null))).ToList();
        var controlled = ChainSums.Control(controlLinks, org, request.Depth, towardEnd);

        // Stated indirect stakes into (or out of) the organization asked about, in force then: set against the chains, never added.
        var stated = ties.Where(f => f.Current is IndirectStake).Select(f => (Fact: f, Claim: (IndirectStake)f.Current))
            .Where(f => (towardEnd ? f.Claim.Subject : f.Claim.Holder) == org)
            .Select(f => (f.Fact, f.Claim, Status: RelationshipsQuery.StatusAt(f.Fact, day)))
            .Where(f => f.Status is not null).ToList();
        string Other(IndirectStake claim) => towardEnd ? claim.Holder : claim.Subject;

        // The facts and sources of the links the answer shows, read for those only.
        var shown = walked.Reached.SelectMany(r => r.Strongest.SelectMany(ch => ch.Links))
            .Concat(controlled.SelectMany(x => x.Chains.SelectMany(ch => ch.Where(i => i < links.Count)))).ToHashSet();
        var shownPairs = shown.Select(i => (links[i].Holder, links[i].Subject)).Distinct().ToList();
        var pairFacts = (await (reads is null ? FactVersions.StakeMarksOfPairsAsync(c, shownPairs, k, ct) : reads.StakeMarksOfPairsAsync(c, shownPairs, ct)))
            .ToLookup(f => (f.Holder, f.Subject));
        var sources = await citations.SourcesAsync(c, shown.SelectMany(i => stakes[i].Reading.Sources)
            .Concat(controls.SelectMany(f => SourceCatalog.CitedBy(f.Fact))).Concat(stated.SelectMany(f => SourceCatalog.CitedBy(f.Fact)))
            .Concat(undisclosed.SelectMany(f => SourceCatalog.CitedBy(f.Fact))), ct);
        var names = await DatedNames.OnAsync(c, walked.Reached.Select(r => r.Organization).Concat(controlled.Select(x => x.Organization))
            .Concat(stated.Select(f => Other(f.Claim))).Concat(undisclosed.Select(f => ((OwnersUndisclosed)f.Fact.Current).Subject)), day, k, ct);
        IReadOnlyList<SourceCitation> Cite(IEnumerable<string> ids) => ids.Distinct().Select(id => SourceCitation.Of(id, sources)).ToList();

        // A stake lies on many of the chains shown (on a densely held group, thousands): each is made once.
        var edges = new ChainLink?[links.Count];
        ChainLink Edge(int i)
        {
            if (edges[i] is { } made)
            {
                return made;
            }
            var (holder, subject, reading) = stakes[i];
            var fact = StakeFacts.RestingOn(pairFacts[(holder, subject)], reading.Basis.Select(e => e.Sequence));
            return edges[i] = new ChainLink(holder, subject, reading.Status, Shown(i), fact, Cite(reading.Sources));
        }

        // A stake as the timeline words it when held at a known size; else as counted (an uncertain one from 0, a disputed one by its cover).
        Share Shown(int i) => stakes[i].Reading is { Status: HoldingStatus.Held, Share: { } s } ? s : links[i].Share.ToShare();

        OwnershipPath Path(Chain chain) => new(
            chain.Links.Skip(1).Select(i => links[i].Holder).ToList(), chain.Share.ToShare(), chain.Links.Select(Edge).ToList());

        var entries = walked.Reached.Select(r => new ChainedStake(
            towardEnd ? r.Organization : null,
            towardEnd ? null : r.Organization,
            names.GetValueOrDefault(r.Organization, r.Organization),
            r.Share.ToShare(),
            r.Direct is { } d ? Shown(d) : null,
            towardEnd ? !intoOrg[r.Organization].Any() : null,
            request.Threshold is { } t ? r.Share.Side(t) : null,
            r.Strongest.Any(ch => ch.Links.Any(i => shortOfOwners.Contains(links[i].Subject))),
            r.Chains,
            r.Strongest.Select(Path).ToList())).ToList();

        ControlLink ControlEdge(int i)
        {
            if (i < links.Count)
            {
                var e = Edge(i);
                return new ControlLink(e.Holder, e.Subject, FactType.Stake, e.Share, null, TieStatus.InForce, e.Fact, e.Sources);
            }
            var (f, control, status) = controls[i - links.Count];
            return new ControlLink(control.Holder, control.Subject, FactType.Control, control.Share, control.Means, status!.Value, f.Id,
                Cite(SourceCatalog.CitedBy(f)));
        }

        var control = controlled.Select(x => new ControlChains(x.Organization, names.GetValueOrDefault(x.Organization, x.Organization),
            x.Chains.Select(ch => new ControlPath(ch.Skip(1).Select(i => controlLinks[i].Holder).ToList(), ch.Select(ControlEdge).ToList())).ToList())).ToList();

        var statedAnswers = stated.Select(f =>
        {
            var claimed = Bounds.Counted(HoldingStatus.Held, f.Claim.Share, null);
            // Not reached by any chain: the chains give it nothing, so only a claim that admits 0 % is allowed. Compared as
            // shown (to 6 decimal places of a percent, rounded outward), so a share the ledger shows is never refused.
            var computed = ChainSums.Indirect(links, f.Claim.Holder, f.Claim.Subject, request.Depth)?.Reach.Share;
            // A chain of control through intermediaries (a control fact straight to it is no chain through anyone).
            var byControl = controlled.Any(x => x.Organization == Other(f.Claim) && x.Chains.Any(ch => ch.Count > 1));
            var given = computed?.Shown() ?? Bounds.None;
            var allowed = claimed.Meets(byControl ? given with { Upper = 1m, UpperInclusive = true } : given);
            return new StatedIndirect(f.Claim.Holder, f.Claim.Subject, names.GetValueOrDefault(Other(f.Claim), Other(f.Claim)), f.Claim.Share, computed?.ToShare(), byControl,
                allowed ? true : cutOff ? null : false, f.Status!.Value, f.Fact.Id, Cite(SourceCatalog.CitedBy(f.Fact)));
        }).OrderBy(x => x.Allowed switch { false => 0, null => 1, true => 2 }).ThenBy(x => towardEnd ? x.Holder : x.Subject, StringComparer.Ordinal)
            .ThenBy(x => x.Fact, StringComparer.Ordinal).ToList();

        return new LookThroughAnswer(org, ValidDate.OfDay(day).ToString(), Instant.Format(k), request.Depth, request.Threshold,
            towardEnd ? entries : null, towardEnd ? null : entries,
            walked.Cycles.Select(x => new CrossHolding(x)).ToList(), unaccounted, control, statedAnswers, walked.AllChainsCounted)
        {
            Undisclosed = [.. undisclosed.GroupBy(f => ((OwnersUndisclosed)f.Fact.Current).Subject, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new UndisclosedAlong(g.Key, names.GetValueOrDefault(g.Key, g.Key),
                    g.OrderBy(f => f.Fact.Id, StringComparer.Ordinal).Select(f => OwnersPaging.Of(f.Fact, f.Status!.Value, sources)).ToList()))],
        };
    }
}
