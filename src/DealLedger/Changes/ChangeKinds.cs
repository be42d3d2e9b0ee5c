using System.Text.Json;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Sources;
using DealLedger.Storage;

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
    /// <summary>A pair, as known at two instants: its stretches (on the date asked, or over all valid time) before and after.</summary>
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
        var was = before.Select(s => s.Finding).ToList();
        var now = after.Select(s => s.Finding).ToList();
        var kinds = new SortedSet<ChangeKind>();
        if (after.Count == 0 || Added(was, now, f => f.Retractions ?? []) || (now.Any(f => f.Explanation is AllRetracted) && !was.Any(f => f.Explanation is AllRetracted)))
        {
            kinds.Add(ChangeKind.Retracted);
        }
        if (Added(was, now, Ends))
        {
            kinds.Add(ChangeKind.Ended);
        }
        if (now.Any(Disputed) && !was.Any(Disputed))
        {
            kinds.Add(ChangeKind.Disputed);
        }
        Differ(kinds, ChangeKind.Status, was, now, f => new[] { f.Status });
        Differ(kinds, ChangeKind.Share, was, now, f => new[] { Amount(f.Share) });
        Differ(kinds, ChangeKind.Confidence, was, now, f => new[] { f.Confidence });
        Differ(kinds, ChangeKind.Sources, was, now, f => f.Sources);
        if (!before.Select(s => (s.From, s.To)).SequenceEqual(after.Select(s => (s.From, s.To))) || Differs(was, now, f => new[] { f.Since, f.Until }))
        {
            kinds.Add(ChangeKind.Period);
        }
        if (kinds.Count == 0)
        {
            kinds.Add(ChangeKind.Grounds);
        }
        return [.. kinds];
    }

    /// <summary>A pair, on two dates: the stretch covering each (null: nothing recorded about it then).</summary>
    public static List<ChangeKind> Happened(Finding? before, Finding? after)
    {
        static bool Holds(Finding? f) => f?.Status is HoldingStatus.Held or HoldingStatus.Uncertain;
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

    /// <summary>A tie on two dates: whether it was in force (or may have been) on each.</summary>
    public static List<ChangeKind> Happened(TieStatus? before, TieStatus? after) =>
        before == after ? []
        : before is null ? [ChangeKind.Started]
        : after is null ? [ChangeKind.Ended]
        : [ChangeKind.Status];

    private static bool Disputed(Finding f) => f.Alternatives is { Count: > 0 } || f.Confidence == Confidence.Disputed || f.Explanation is ZeroDisputed;

    private static IEnumerable<object?> Ends(Finding f) =>
        f.Explanation switch
        {
            NoLongerHeld x => [f.Until, x.Date],
            EndedIn x => [f.Until, x.Date],
            _ => f.Until is null ? [] : [f.Until],
        };

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

    private static bool Added<T>(List<Finding> was, List<Finding> now, Func<Finding, IEnumerable<T>> values) =>
        now.SelectMany(values).Except(was.SelectMany(values)).Any();

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
