using System.Text.Json;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Changes;

/// <summary>A stretch of a pair's holding as stored: its valid bounds (null: unbounded) and its finding, as data.</summary>
internal sealed record Stretch(DateOnly? From, DateOnly? To, string Text)
{
    public Finding Finding { get; } = Finding.Parse(Text);
}

/// <summary>
/// What kind of change tells a before from an after (pure: answers in, kinds out). Nothing is listed whose kinds are none:
/// a knowledge diff names at least <see cref="ChangeKind.Grounds"/> for any answer that differs at all.
/// </summary>
internal static class ChangeKinds
{
    /// <summary>
    /// A pair, as known at two instants: its stretches (on the date asked, or over all valid time) before and after. Each
    /// after-stretch is told from the before-stretches it overlaps in valid time, and the kinds found are put together: a
    /// whole history's other periods never decide what one period's change is.
    /// </summary>
    public static List<ChangeKind> Learned(IReadOnlyList<Stretch> before, IReadOnlyList<Stretch> after)
    {
        if (before.Select(s => (s.From, s.To, s.Text)).SequenceEqual(after.Select(s => (s.From, s.To, s.Text))))
        {
            return [];
        }
        if (before.Count == 0)
        {
            return [ChangeKind.New];
        }
        // Never none after when some before: once a stake of the pair is recorded its stretches cover all valid time, and a
        // retraction leaves a stretch that says so.
        var kinds = new SortedSet<ChangeKind>();
        foreach (var now in after)
        {
            foreach (var was in before.Where(b => Overlap(b, now)))
            {
                TellApart(kinds, was, now);
            }
        }
        if (kinds.Count == 0)
        {
            kinds.Add(ChangeKind.Grounds);
        }
        return [.. kinds];
    }

    /// <summary>What tells one after-stretch from one before-stretch it overlaps.</summary>
    private static void TellApart(SortedSet<ChangeKind> kinds, Stretch before, Stretch after)
    {
        var (was, now) = (before.Finding, after.Finding);
        if (now.Explanation is AllRetracted && was.Explanation is not AllRetracted)
        {
            // Every stake of the pair withdrawn: there is no status, share or period left to compare.
            kinds.Add(ChangeKind.Retracted);
            return;
        }
        if ((now.Retractions ?? []).Except(was.Retractions ?? []).Any())
        {
            kinds.Add(ChangeKind.Retracted);
        }
        var ended = EndOf(now) is { } end && EndOf(was) != end;
        if (ended)
        {
            kinds.Add(ChangeKind.Ended);
        }
        if (Disputed(now) && !Disputed(was))
        {
            kinds.Add(ChangeKind.Disputed);
        }
        // A new ending is why the status and the grounds differ; another status is why the share, confidence and sources do.
        if (!ended && was.Status != now.Status)
        {
            kinds.Add(ChangeKind.Status);
        }
        else if (!ended)
        {
            Differ(kinds, ChangeKind.Share, [was], [now], f => new[] { Amount(f.Share) });
            Differ(kinds, ChangeKind.Confidence, [was], [now], f => new[] { f.Confidence });
            Differ(kinds, ChangeKind.Sources, [was], [now], f => f.Sources);
        }
        if ((before.From, before.To) != (after.From, after.To) || was.Since != now.Since || was.Until != now.Until)
        {
            kinds.Add(ChangeKind.Period);
        }
    }

    /// <summary>
    /// A pair, on two dates: the stretch covering each (null: nothing recorded about it then), and whether it was held (or
    /// may have been) on some day strictly between them.
    /// </summary>
    public static List<ChangeKind> Happened(Finding? before, Finding? after, bool heldBetween)
    {
        static bool Holds(Finding? f) => f?.Status is HoldingStatus.Held or HoldingStatus.Uncertain;
        if (!Holds(before) && !Holds(after) && heldBetween)
        {
            return [ChangeKind.Started, ChangeKind.Ended];
        }
        if (!Holds(before) && Holds(after))
        {
            return [ChangeKind.Started];
        }
        if (Holds(before) && !Holds(after))
        {
            return [ChangeKind.Ended];
        }
        if (before is null || after is null)
        {
            return [];
        }
        var kinds = new SortedSet<ChangeKind>();
        if (Disputed(after) && !Disputed(before))
        {
            kinds.Add(ChangeKind.Disputed);
        }
        Differ(kinds, ChangeKind.Status, [before], [after], f => new[] { f.Status });
        Differ(kinds, ChangeKind.Share, [before], [after], f => new[] { Amount(f.Share) });
        Differ(kinds, ChangeKind.Confidence, [before], [after], f => new[] { f.Confidence });
        Differ(kinds, ChangeKind.Sources, [before], [after], f => f.Sources);
        return [.. kinds];
    }

    /// <summary>
    /// A tie, as known at two instants: its state then (null: none, or — for a date asked — not in force on it), whether the
    /// fact was recorded at all by the first, and each state's confidence.
    /// </summary>
    public static List<ChangeKind> Learned(TieState? before, TieState? after, bool knownBefore, Func<FactState, Confidence> confidence)
    {
        if (before is null && after is null)
        {
            return [];
        }
        if (before is null)
        {
            return [knownBefore ? ChangeKind.Period : ChangeKind.New];
        }
        if (after is null)
        {
            return [];
        }
        var (was, now) = (before.Fact, after.Fact);
        var kinds = new SortedSet<ChangeKind>();
        if (now.IsRetracted && !was.IsRetracted)
        {
            kinds.Add(ChangeKind.Retracted);
        }
        if (now.Ending is not null && was.Ending is null)
        {
            kinds.Add(ChangeKind.Ended);
        }
        var (c1, c2) = (confidence(was), confidence(now));
        if (c2 == Confidence.Disputed && c1 != Confidence.Disputed)
        {
            kinds.Add(ChangeKind.Disputed);
        }
        else if (c1 != c2)
        {
            kinds.Add(ChangeKind.Confidence);
        }
        if (before.Status != after.Status)
        {
            kinds.Add(ChangeKind.Status);
        }
        if (was.Current.Valid != now.Current.Valid)
        {
            kinds.Add(ChangeKind.Period);
        }
        if (Amount(ShareOf(was.Current)) != Amount(ShareOf(now.Current)))
        {
            kinds.Add(ChangeKind.Share);
        }
        if (!SourceCatalog.CitedBy(was).ToHashSet().SetEquals(SourceCatalog.CitedBy(now)))
        {
            kinds.Add(ChangeKind.Sources);
        }
        if (Terms(was.Current) != Terms(now.Current))
        {
            kinds.Add(ChangeKind.Terms);
        }
        if (kinds.Count == 0 && LedgerJson.Canonical(before) != LedgerJson.Canonical(after))
        {
            kinds.Add(ChangeKind.Grounds);
        }
        return [.. kinds];
    }

    /// <summary>Why a tie gone from the answer on a date asked is gone: retracted, ended, or its period moved away.</summary>
    public static List<ChangeKind> Gone(FactState was, FactState now) =>
        now.IsRetracted && !was.IsRetracted ? [ChangeKind.Retracted]
        : now.Ending is not null && was.Ending is null ? [ChangeKind.Ended]
        : [ChangeKind.Period];

    /// <summary>A tie on two dates: whether it was in force (or may have been) on each, and on some day strictly between.</summary>
    public static List<ChangeKind> Happened(TieStatus? before, TieStatus? after, bool inForceBetween) =>
        before is null && after is null && inForceBetween ? [ChangeKind.Started, ChangeKind.Ended]
        : before == after ? []
        : before is null ? [ChangeKind.Started]
        : after is null ? [ChangeKind.Ended]
        : [ChangeKind.Status];

    private static bool Disputed(Finding f) => f.Alternatives is { Count: > 0 } || f.Confidence == Confidence.Disputed || f.Explanation is ZeroDisputed;

    /// <summary>
    /// The end of a holding a stretch tells of (null: none). Not any stretch's until: a held stretch also stops where the
    /// next stake starts, and the stretch before the first start where that start is.
    /// </summary>
    private static ValidDate? EndOf(Finding f) =>
        f.Explanation switch
        {
            NoLongerHeld x => x.Date,
            EndedIn x => x.Date,
            _ => null,
        };

    /// <summary>Half-open stretches of valid time (null: unbounded) that share at least one day.</summary>
    private static bool Overlap(Stretch a, Stretch b) =>
        (a.To is null || b.From is null || b.From < a.To) && (b.To is null || a.From is null || a.From < b.To);

    /// <summary>A share's amount (its bounds), not the words a source used for it.</summary>
    private static Share? Amount(Share? s) => s is null ? null : s with { Wording = null };

    private static Share? ShareOf(Fact f) => f switch
    {
        Stake s => s.Share,
        IndirectStake s => s.Share,
        Control c => c.Share,
        _ => null,
    };

    /// <summary>A fact's values other than its period, share and sources (a scope, an amount, a role …), as text to compare.</summary>
    private static string Terms(Fact f)
    {
        var node = JsonSerializer.SerializeToNode(f, LedgerJson.Options)!.AsObject();
        foreach (var name in new[] { "valid", "share", "sources" })
        {
            node.Remove(name);
        }
        return node.ToJsonString();
    }

    private static bool Differs<T>(List<Finding> was, List<Finding> now, Func<Finding, IEnumerable<T>> values) =>
        !was.SelectMany(values).ToHashSet().SetEquals(now.SelectMany(values));

    private static void Differ<T>(SortedSet<ChangeKind> kinds, ChangeKind kind, List<Finding> was, List<Finding> now, Func<Finding, IEnumerable<T>> values)
    {
        if (Differs(was, now, values))
        {
            kinds.Add(kind);
        }
    }
}
