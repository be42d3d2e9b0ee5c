using DealLedger.Access;
using DealLedger.Amounts;
using System.Text;
using DealLedger.Auditing;
using DealLedger.Bods;
using DealLedger.Changes;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Organizations;
using DealLedger.Ownership;
using DealLedger.Deals;
using DealLedger.Relationships;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Cli;

/// <summary>Readable text for each answer; the JSON form is the answer itself.</summary>
internal static class Render
{
    public static string Holding(HoldingAnswer a)
    {
        var s = new StringBuilder();
        s.AppendLine($"{a.Holder} → {a.Subject} on {a.At} (as known at {a.KnownAt}): {Status(a.Status)}");
        if (a.Share is { } share)
        {
            s.AppendLine($"  share:      {share.ToReadable()}{(share.Wording is { } w ? $" (\"{w}\")" : "")}");
        }
        if (a.Since is { } since)
        {
            s.AppendLine($"  since:      {since.Date} ({LedgerJson.Word(since.Precision)} precision)");
        }
        if (a.Until is { } until)
        {
            s.AppendLine($"  until:      {until.Date} ({LedgerJson.Word(until.Precision)} precision)");
        }
        if (a.Confidence is { } c)
        {
            s.AppendLine($"  confidence: {LedgerJson.Word(c)}");
        }
        foreach (var alt in a.Alternatives ?? [])
        {
            s.AppendLine($"  disputed:   {alt.Share.ToReadable()} per fact {alt.Fact} ({string.Join(", ", alt.Sources)})");
        }
        s.AppendLine($"  why:        {a.Explanation}");
        foreach (var m in a.Merges ?? [])
        {
            s.AppendLine($"  merged:     {m.Explanation}");
        }
        Sources(s, a.Sources);
        Basis(s, a.Basis);
        return s.ToString().TrimEnd();
    }

    public static string History(HoldingHistory h)
    {
        var s = new StringBuilder($"{h.Holder} → {h.Subject}, as known at {h.KnownAt}:\n");
        if (h.Periods.Count == 0)
        {
            s.AppendLine("  no stake facts recorded.");
        }
        foreach (var p in h.Periods)
        {
            var f = p.Finding;
            s.AppendLine($"  {p.From ?? "…",-10} to {p.To ?? "…",-10}  {Status(f.Status),-10} {f.Share?.ToReadable() ?? ""}{(f.Confidence is { } c ? $"  [{LedgerJson.Word(c)}]" : "")}");
            s.AppendLine($"      {f.Explanation}");
            if (f.Sources.Count > 0)
            {
                s.AppendLine($"      sources: {string.Join(", ", f.Sources.Select(x => x.Id))}; events: {string.Join(", ", f.Basis.Select(b => $"#{b.Sequence}"))}");
            }
            foreach (var corr in p.Corrections)
            {
                s.AppendLine($"      amended by #{corr.Sequence} {corr.Type} recorded {Instant.Format(corr.RecordedAt)}");
            }
            foreach (var v in p.Supersedes)
            {
                s.AppendLine($"      supersedes: {v.From ?? "…"} to {v.To ?? "…"} {Status(v.Status)}{(v.Share is { } share ? $" {share.ToReadable()}" : "")}, known {v.KnownFrom} until {v.KnownUntil}, " +
                    $"replaced by {string.Join(", ", v.ReplacedBy.Select(b => $"#{b.Sequence} {b.Type}"))}" +
                    (v.Sources.Count > 0 ? $" on {string.Join(", ", v.Sources.Select(x => x.Id))}" : ""));
            }
        }
        foreach (var (org, names) in h.Names ?? new Dictionary<string, IReadOnlyList<DatedName>>())
        {
            s.AppendLine($"  names of {org}: {NamesOverTime(names)}");
        }
        foreach (var n in h.Successions ?? [])
        {
            s.AppendLine($"  succession: {n.Explanation} ({n.Fact}; sources: {string.Join(", ", n.Sources.Select(x => x.Id))})");
        }
        return s.ToString().TrimEnd();
    }

    public static string Changes(ChangesAnswer a)
    {
        var s = new StringBuilder(a.Question == ChangeQuestion.Knowledge
            ? $"What the ledger learned after {a.KnownFrom} up to {a.KnownTo}{(a.At is { } at ? $", about {at}" : "")}"
            : $"What changed between {a.At} and {a.ToAt}, as known at {a.KnownAt}");
        s.AppendLine($"{(a.Organization is { } org ? $" (only {org})" : "")}:");
        if (a.Holdings.Count == 0 && a.Ties.Count == 0)
        {
            s.AppendLine("  nothing changed.");
        }
        static string Kinds(IReadOnlyList<ChangeKind> kinds) => string.Join(", ", kinds.Select(LedgerJson.Word));
        static string Stretch(PeriodFinding p) =>
            $"{p.From ?? "…"} to {p.To ?? "…"} {Status(p.Finding.Status)}{(p.Finding.Share is { } share ? $" {share.ToReadable()}" : "")}" +
            (p.Finding.Confidence is { } c ? $" [{LedgerJson.Word(c)}]" : "");
        static string Tie(TieState? t) => t is null ? "none"
            : $"{(t.Status is { } x ? LedgerJson.Word(x) + ", " : "")}{(t.Fact.Current.Valid.OrEarlier ? "by" : "from")} {t.Fact.Current.Valid.From}" +
                (t.Fact.EndsOn is { } end ? $" to {end}" : "") + (t.Fact.IsRetracted ? ", retracted" : "");
        void Events(IReadOnlyList<ChangeEvent>? events)
        {
            foreach (var e in events ?? [])
            {
                s.AppendLine($"      #{e.Event.Sequence} {e.Event.Type} recorded {e.Event.RecordedAt}{(e.Event.Writer is { } w ? $" by {w}" : "")}" +
                    (e.Sources.Count > 0 ? $" on {string.Join(", ", e.Sources.Select(x => x.Id))}" : ""));
            }
        }
        foreach (var h in a.Holdings)
        {
            s.AppendLine($"  {h.Holder} → {h.Subject} ({h.Summary}): {Kinds(h.Kinds)}");
            s.AppendLine($"      before: {(h.Before.Count == 0 ? "none" : string.Join("; ", h.Before.Select(Stretch)))}");
            s.AppendLine($"      after:  {(h.After.Count == 0 ? "none" : string.Join("; ", h.After.Select(Stretch)))}");
            Events(h.Events);
        }
        foreach (var t in a.Ties)
        {
            s.AppendLine($"  {t.Fact} ({t.Summary}): {Kinds(t.Kinds)}");
            s.AppendLine($"      before: {Tie(t.Before)}");
            s.AppendLine($"      after:  {Tie(t.After)}");
            Events(t.Events);
        }
        if (a.Page.Next is { } next)
        {
            // With the instants this page answered: a later page asked "now" would compare with a later one.
            s.AppendLine($"  more: ask again with --after {next} " +
                (a.Question == ChangeQuestion.Knowledge ? $"--known-to {a.KnownTo}" : $"--known-at {a.KnownAt}"));
        }
        return s.ToString().TrimEnd();
    }

    public static string Relationships(RelationshipsAnswer a)
    {
        var o = a.Organization;
        var s = new StringBuilder($"{o.Name} ({o.Id}; {LedgerJson.Word(o.Kind)}{(o.Country is { } c ? $", {c}" : "")})");
        if (o.Aliases.Count > 0)
        {
            s.Append($", also {string.Join(", ", o.Aliases)}");
        }
        if (o.Names is { } names)
        {
            s.Append($"\n  names over time: {NamesOverTime(names)}");
        }
        s.AppendLine($"\nRelationships on {a.At} (as known at {a.KnownAt}):");
        if (a.Relationships.Count == 0)
        {
            s.AppendLine("  none recorded.");
        }
        foreach (var r in a.Relationships)
        {
            var when = r.Since is { } since ? (r.StartUnknown ? $" (in force by {since.Date})" : $" since {since.Date}") : "";
            s.AppendLine($"  [{LedgerJson.Word(r.Type)}, {LedgerJson.Word(r.Direction)}] {r.Summary}{when}" +
                $" — {LedgerJson.Word(r.Status)}{(r.Confidence is { } conf ? $", {LedgerJson.Word(conf)}" : "")} ({r.Fact}; sources: {string.Join(", ", r.Sources.Select(x => x.Id))})");
            if (r.InheritedFrom is { } from)
            {
                s.AppendLine($"      inherited: held as the successor of {from}");
            }
            if (r.WentTo is { } to)
            {
                s.AppendLine($"      went to: {string.Join(", ", to)} (successions recorded by this date)");
            }
            foreach (var x in r.Converted ?? [])
            {
                s.AppendLine($"      {x.Explanation}");
            }
        }
        s.Append(More(a.Page, "ties", a.KnownAt));
        return s.ToString().TrimEnd();
    }

    /// <summary>An organization's names over time in one line: each name, how it was used, and when.</summary>
    private static string NamesOverTime(IEnumerable<DatedName> names) =>
        string.Join("; ", names.Select(n => $"\"{n.Name}\" ({LedgerJson.Word(n.Use)}) {(n.StartUnknown ? "by" : "from")} {n.From.Date}{(n.Until is { } u ? $" until {u.Date}" : "")}"));

    public static string Investments(InvestmentsAnswer a)
    {
        var s = new StringBuilder($"Investments of {a.Investor.Name} ({a.Investor.Id}) dated from {a.From ?? "the start"} {(a.To is { } to ? $"to {to} (exclusive)" : "on")} (as known at {a.KnownAt}):\n");
        if (a.Investments.Count == 0)
        {
            s.AppendLine("  none recorded.");
        }
        foreach (var i in a.Investments)
        {
            s.AppendLine($"  {(i.StartUnknown ? "by " : "")}{i.Date.Date}{(i.Within == TieStatus.Uncertain ? " (perhaps in the period)" : "")}: {i.Summary}" +
                $" — {(i.Confidence is { } c ? LedgerJson.Word(c) : "no confidence")} ({i.Fact}; sources: {string.Join(", ", i.Sources.Select(x => x.Id))})");
            foreach (var x in i.Converted)
            {
                s.AppendLine($"      {x.Explanation}");
            }
        }
        foreach (var t in a.Totals)
        {
            s.AppendLine($"  total in {t.Currency}: {t.Explanation}");
        }
        return s.ToString().TrimEnd();
    }

    public static string Owners(OwnersPageAnswer a)
    {
        var s = new StringBuilder($"Owners of {a.Subject} on {a.At} (as known at {a.KnownAt}):\n");
        foreach (var o in a.Owners)
        {
            s.AppendLine($"  {o.Name} ({o.Holder}): {o.Share?.ToReadable() ?? "disputed size"} — {Status(o.Status)}{(o.Confidence is { } c ? $", {LedgerJson.Word(c)}" : "")}");
        }
        s.Append(More(a.Page, "owners", a.KnownAt));
        s.AppendLine($"  total known: {a.Total.Min} % to {a.Total.Max} %. {a.Total.Explanation}");
        foreach (var u in a.Undisclosed)
        {
            s.AppendLine($"  owners not disclosed{(u.Status == TieStatus.Uncertain ? " (perhaps, on this date)" : "")}: {u.Explanation}{(u.Details is { } d ? $" ({d})" : "")} — {string.Join(", ", u.Sources.Select(x => x.Title))}");
        }
        return s.ToString().TrimEnd();
    }

    public static string LookThrough(LookThroughAnswer a)
    {
        var owners = a.Owners is not null;
        var scope = a.Depth == 1 ? "directly" : $"directly and through chains of at most {a.Depth} stakes";
        var s = new StringBuilder($"{(owners ? "Owners of" : "Holdings of")} {a.Organization} {scope} on {a.At} (as known at {a.KnownAt}):\n");
        var entries = a.Owners ?? a.Holdings ?? [];
        if (entries.Count == 0)
        {
            s.AppendLine(owners ? "  no holder of a stake is recorded." : "  no stake is recorded.");
        }
        foreach (var x in entries)
        {
            var notes = new List<string>();
            if (x.Direct is { } direct)
            {
                notes.Add($"directly {direct.ToReadable()}");
            }
            if (x.Ultimate == true)
            {
                notes.Add("ultimate owner");
            }
            if (x.Threshold is { } side && a.Threshold is { } t)
            {
                notes.Add(side switch
                {
                    ThresholdSide.AtOrAbove => $"certainly at or above {t} %",
                    ThresholdSide.Possibly => $"possibly at or above {t} %",
                    _ => $"below {t} %",
                });
            }
            if (x.Unaccounted)
            {
                notes.Add("capital on its chains unaccounted for");
            }
            s.AppendLine($"  {x.Name} ({x.Owner ?? x.Subject}): {x.Share.ToReadable()}{(notes.Count > 0 ? $" — {string.Join("; ", notes)}" : "")}");
            foreach (var path in x.Paths)
            {
                s.AppendLine($"    {string.Join(" → ", path.Edges.Select(e => e.Holder).Append(path.Edges[^1].Subject))}: {path.Share.ToReadable()} " +
                    $"({string.Join("; ", path.Edges.Select(e => $"{e.Share.ToReadable()}, {e.Fact ?? "no single fact"}{(e.Status == HoldingStatus.Uncertain ? ", uncertain" : "")}"))})");
            }
            if (x.PathCount > x.Paths.Count)
            {
                s.AppendLine($"    … {x.PathCount - x.Paths.Count} weaker chains");
            }
        }
        foreach (var c in a.Cycles)
        {
            s.AppendLine($"  cross-holding: {string.Join(" ⇄ ", c.Organizations)} (shares through it are the limit of the chains' sums)");
        }
        foreach (var u in a.Unaccounted)
        {
            s.AppendLine($"  unaccounted: {u.Organization}'s recorded owners hold {u.Known.Min} % to {u.Known.Max} % of it");
        }
        foreach (var u in a.Undisclosed)
        {
            foreach (var x in u.Statements)
            {
                s.AppendLine($"  owners not disclosed: {u.Name} ({u.Organization}){(x.Status == TieStatus.Uncertain ? " (perhaps, on this date)" : "")} — {x.Explanation}{(x.Details is { } d ? $" ({d})" : "")} ({x.Fact})");
            }
        }
        foreach (var c in a.Control)
        {
            foreach (var path in c.Paths)
            {
                s.AppendLine($"  control: {c.Name} ({c.Organization}) — {string.Join(", ", path.Edges.Select(e => e.Kind == FactType.Control
                    ? $"{e.Holder} controls {e.Subject} through {e.Means ?? "control rights"} ({e.Fact})"
                    : $"{e.Holder} holds {e.Share?.ToReadable()} of {e.Subject}"))}");
            }
        }
        foreach (var x in a.Stated)
        {
            var through = (x.Computed is { } computed ? $"the chains of stakes through intermediaries give {computed.ToReadable()}" : "no chain of stakes through intermediaries reaches") +
                (x.Control ? ", and a control chain (of unstated share) joins them" : "");
            s.AppendLine($"  stated indirect: {x.Name} ({(owners ? x.Holder : x.Subject)}) {x.Stated.ToReadable()} ({x.Fact}) — {through}" +
                (x.Allowed switch { false => "; the chains do not allow what is stated", null => "; not checked: chains longer than the depth asked were not followed", _ => "" }));
        }
        if (!a.AllChainsCounted)
        {
            s.AppendLine("  (more chains than counted: chain counts are lower bounds; the shares are whole)");
        }
        return s.ToString().TrimEnd();
    }

    /// <summary>Where a page ends, when it is not the whole list: how to ask for the next one.</summary>
    private static string More(ListPage? page, string what, string knownAt) =>
        page is { Next: { } next }
            ? $"  … {page.Total - next} more {what} (of {page.Total}): ask again with --after {next} --known-at {knownAt}\n"
            : "";

    public static string Graph(GraphAnswer a)
    {
        var names = a.Organizations.ToDictionary(o => o.Id, o => o.Name);
        string Name(string id) => names.GetValueOrDefault(id, id);
        var s = new StringBuilder(a.Around is { } around
            ? $"Around {Name(around)} ({around}), {a.Hops} {(a.Hops == 1 ? "hop" : "hops")}, on {a.At} (as known at {a.KnownAt}):\n"
            : $"The graph on {a.At} (as known at {a.KnownAt}), organizations {a.Page.After + 1}–{a.Page.Next ?? a.Page.Total} of {a.Page.Total} in id order, with the ties they start:\n");
        foreach (var hop in a.Organizations.GroupBy(o => o.Hop).Where(g => g.Key is > 0))
        {
            s.AppendLine($"  hop {hop.Key}: {string.Join(", ", hop.Select(o => $"{o.Name} ({o.Id})"))}");
        }
        if (a.Edges.Count == 0)
        {
            s.AppendLine("  no tie.");
        }
        foreach (var e in a.Edges)
        {
            s.AppendLine($"  [{LedgerJson.Word(e.Type)}] {e.Summary} — {LedgerJson.Word(e.Status)}{(e.Confidence is { } c ? $", {LedgerJson.Word(c)}" : "")} ({e.Fact})");
        }
        foreach (var r in a.Rest)
        {
            s.AppendLine($"  and {r.Organizations} more at hop {r.Hop} by {LedgerJson.Word(r.Type)} ({LedgerJson.Word(r.Direction)})" +
                (r.LargestShare is { } share ? $", none above {share} %" : ""));
        }
        s.Append(More(a.Page, a.Around is null ? "organizations" : "neighbours", a.KnownAt));
        return s.ToString().TrimEnd();
    }

    public static string Organizations(OrganizationSearchAnswer a)
    {
        var s = new StringBuilder($"Organizations matching '{a.Query}' (as known at {a.KnownAt}):\n");
        if (a.Organizations.Count == 0)
        {
            s.AppendLine("  none.");
        }
        foreach (var o in a.Organizations)
        {
            s.AppendLine($"  {o.Name} ({o.Id}; {LedgerJson.Word(o.Kind)}{(o.Country is { } c ? $", {c}" : "")}){(o.Aliases.Count > 0 ? $", also {string.Join(", ", o.Aliases)}" : "")}");
        }
        s.Append(More(a.Page, "organizations", a.KnownAt));
        return s.ToString().TrimEnd();
    }

    public static string Import(ImportReport r)
    {
        string List(IReadOnlyDictionary<string, int> d) => d.Count == 0 ? "nothing" : string.Join(", ", d.OrderBy(x => x.Key).Select(x => $"{x.Value} {x.Key}"));
        return r.EventsAppended == 0
            ? $"Nothing new: the ledger already holds all of it ({List(r.AlreadyKnown)})."
            : $"Recorded {List(r.Recorded)} as {r.EventsAppended} events (up to #{r.LastSequence}, at {(r.RecordedAt is { } t ? Instant.Format(t) : "")}); already known: {List(r.AlreadyKnown)}.";
    }

    /// <summary>Per package and per statement: what it maps to, what was new, and what could not be placed and why.</summary>
    public static string BodsImport(BodsImportReport r)
    {
        var s = new StringBuilder();
        s.AppendLine(Import(r.Import));
        foreach (var p in r.Packages)
        {
            s.AppendLine($"{p.File}: {p.Statements} statements read — {p.Mapped} mapped, {p.PartlyMapped} partly mapped, {p.NotMapped} not mapped; {p.FactsCreated} facts created");
            foreach (var st in p.StatementReports)
            {
                s.AppendLine($"  {st.Index,3}. {st.RecordType} {st.RecordStatus ?? "-"} {st.RecordId} ({st.StatementId}): {LedgerJson.Word(st.Mapping)}" +
                    (st.FactsCreated > 0 ? $", {st.FactsCreated} facts created" : ""));
                foreach (var m in st.Maps)
                {
                    s.AppendLine($"       → {m}");
                }
                foreach (var u in st.Unmapped)
                {
                    s.AppendLine($"       ✗ not mapped: {u}");
                }
                foreach (var n in st.Notes)
                {
                    s.AppendLine($"       · {n}");
                }
            }
        }
        return s.ToString().TrimEnd();
    }

    public static string Events(IReadOnlyList<LogEntry> list)
    {
        var s = new StringBuilder();
        foreach (var e in list)
        {
            s.AppendLine($"#{e.Sequence,-6} {e.RecordedAt}  {e.Type,-22} {e.Stream} v{e.Version}{(e.Writer is { Length: > 0 } w ? $"  by {w}" : "")}");
        }
        return list.Count == 0 ? "No events." : s.ToString().TrimEnd();
    }

    public static string CreatedKey(CreatedKey k) =>
        $"Created {LedgerJson.Word(k.Role)} key '{k.Name}'. Its secret is shown only now; send it in the X-Api-Key header:\n{k.Key}";

    public static string Keys(IReadOnlyList<ApiKey> keys) => keys.Count == 0
        ? "No API keys."
        : string.Join("\n", keys.Select(k => $"{k.Name,-24} {LedgerJson.Word(k.Role),-7} created {k.CreatedAt} by {k.CreatedBy}" +
            (k.RevokedAt is { } r ? $", REVOKED {r}" : "")));

    private static string Status(HoldingStatus status) => LedgerJson.Word(status).ToUpperInvariant();

    private static void Sources(StringBuilder s, IReadOnlyList<SourceCitation> sources)
    {
        foreach (var src in sources)
        {
            s.AppendLine($"  source:     {src.Title} [{LedgerJson.Word(src.Kind)}]" +
                $"{(src.Publisher is { } p ? $", {p}" : "")}{(src.Published is { } d ? $", {d}" : "")} ({src.Id}){(src.Url is { } u ? $" {u}" : "")}");
        }
    }

    private static void Basis(StringBuilder s, IReadOnlyList<EventRef> basis)
    {
        foreach (var b in basis)
        {
            s.AppendLine($"  event:      #{b.Sequence} {b.Type} recorded {Instant.Format(b.RecordedAt)} ({b.EventId})");
        }
    }
}
