using DealLedger.Holdings;
using DealLedger.Ownership;
using DealLedger.Relationships;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Auditing;

/// <summary>One answer that differs between the live projections and the replay: what was asked, and both answers (JSON).</summary>
public sealed record ReplayDifference(string Question, string Live, string Replayed);

/// <summary>What a replay compared, and every difference it found.</summary>
public sealed record ReplayReport(string KnownAt, int Events, int Pairs, int Organizations, int Dates, int Comparisons, IReadOnlyList<ReplayDifference> Differences)
{
    public bool Agrees => Differences.Count == 0;
}

/// <summary>Progress of a long auditing run: a phase, and how far it is (of how many, when known).</summary>
public sealed record AuditProgress(string Phase, int Done, int? Total);

/// <summary>
/// DESIGN §8 replay: rebuilds every projection from the log truncated at knownAt into a scratch
/// schema (the same code the writes run), then asks both the live projections and the rebuilt ones
/// every question — each pair's holding on a spread of dates and its history, each organization's
/// relationships and owners, and its look-through owners on one date — as known at knownAt, and
/// reports every answer that differs.
/// </summary>
public static class Replay
{
    // Organizations are asked on a fixed spread of dates. A pair is asked for its whole history (every
    // segment over valid time, so every date's finding) and, through the headline query's own path,
    // on the first days its timeline changes on, the day before each, and one fixed date.
    private static readonly DateOnly[] Spread = [.. Enumerable.Range(0, 9).Select(i => new DateOnly(1990 + 5 * i, 1, 1)), new DateOnly(2024, 6, 1)];
    private const int ChangeDaysPerPair = 3;
    private static readonly DateOnly LookThroughDay = new(2024, 6, 1);

    public static async Task<ReplayReport> ReplayAsync(this Ledger ledger, DateTimeOffset? knownAt, IProgress<AuditProgress>? progress = null, CancellationToken ct = default)
    {
        var k = await ledger.ReadAsync(knownAt, (_, resolved, _) => Task.FromResult(resolved), ct);
        await using var shadow = await ShadowProjections.CreateAsync(ledger, "replay", ct);
        var total = await ledger.ReadAsync(k, (c, _, token) => EventLogReader.CountAsync(c, k, token), ct);
        await shadow.CatchUpAsync(k, new Progress<int>(n => progress?.Report(new AuditProgress("rebuilding projections", n, total))), ct);

        var pairs = await ledger.ReadAsync(k, (c, _, token) => Sql.ListAsync(c,
            $"select holder, subject, array_agg(distinct lower(valid)) filter (where lower(valid) is not null) || array_agg(distinct upper(valid)) filter (where upper(valid) is not null) " +
            $"from {ProjectionTables.Of("holding_segments")} where lower(recorded) <= $1 group by holder, subject order by holder, subject",
            r => (Holder: r.GetString(0), Subject: r.GetString(1), Bounds: r.IsDBNull(2) ? [] : r.GetFieldValue<DateOnly[]>(2)), token, k), ct);
        var replayedPairs = await shadow.Ledger.ReadAsync(k, (c, _, token) => Sql.ListAsync(c,
            $"select distinct holder, subject from {ProjectionTables.Of("holding_segments")}", r => (r.GetString(0), r.GetString(1)), token), ct);
        var organizations = await ledger.ReadAsync(k, (c, _, token) => Sql.ListAsync(c,
            $"select id from {ProjectionTables.Of("organizations")} where recorded_at <= $1 order by id", r => r.GetString(0), token, k), ct);

        var differences = new List<ReplayDifference>();
        var comparisons = 0;
        var dates = new HashSet<DateOnly>(organizations.Count > 0 ? Spread : []);
        // Pairs the replay knows but the live projections do not (or the other way) are differences too.
        foreach (var (holder, subject) in replayedPairs.Except(pairs.Select(p => (p.Holder, p.Subject))))
        {
            differences.Add(new ReplayDifference($"holding {holder} {subject}", "(no such pair)", "(pair present)"));
        }
        var asked = 0;
        var questions = pairs.Count + organizations.Count;
        foreach (var (holder, subject, bounds) in pairs)
        {
            // A period from the calendar's first day has no day before it.
            var days = bounds.Order().Take(ChangeDaysPerPair).SelectMany(b => b == DateOnly.MinValue ? [b] : new[] { b, b.AddDays(-1) })
                .Append(new DateOnly(2024, 6, 1)).Distinct().Order().ToList();
            dates.UnionWith(days);
            foreach (var day in days)
            {
                comparisons++;
                await CompareAsync(differences, $"holding {holder} {subject} --at {day:yyyy-MM-dd}", l => l.HoldingAsync(holder, subject, day, k, ct), ledger, shadow.Ledger);
            }
            comparisons++;
            await CompareAsync(differences, $"history {holder} {subject}", l => l.HistoryAsync(holder, subject, k, ct), ledger, shadow.Ledger);
            progress?.Report(new AuditProgress("comparing answers", ++asked, questions));
        }
        // Every organization's look-through reads the same stakes of each ledger (a group's organizations share their chains): each read once.
        var (liveReads, replayedReads) = (new LookThroughReads(k, LookThroughDay), new LookThroughReads(k, LookThroughDay));
        foreach (var org in organizations)
        {
            foreach (var day in Spread)
            {
                comparisons += 2;
                await CompareAsync(differences, $"relationships {org} --at {day:yyyy-MM-dd}", l => l.RelationshipsAsync(org, day, k, ct), ledger, shadow.Ledger);
                await CompareAsync(differences, $"owners {org} --at {day:yyyy-MM-dd}", l => l.OwnersAsync(org, day, k, ct), ledger, shadow.Ledger);
            }
            // Look-through owners (DESIGN §11) on the fixed date: every chain of stakes up to the default depth.
            comparisons++;
            await CompareAsync(differences, $"owners {org} --through --at {LookThroughDay:yyyy-MM-dd}",
                l => l.OwnersThroughAsync(org, LookThroughDay, k, new LookThroughRequest(), l == ledger ? liveReads : replayedReads, ct), ledger, shadow.Ledger,
                LookThroughDigest.Of);
            progress?.Report(new AuditProgress("comparing answers", ++asked, questions));
        }
        return new ReplayReport(Instant.Format(k), shadow.EventsApplied, pairs.Count, organizations.Count, dates.Count, comparisons, differences);
    }

    /// <param name="digest">What is compared of an answer, when not its JSON: equal exactly when the JSON is (which a difference then shows).</param>
    private static async Task CompareAsync<T>(List<ReplayDifference> differences, string question, Func<Ledger, Task<T>> ask, Ledger live, Ledger replayed,
        Func<T, string>? digest = null)
    {
        // Both ledgers answer at once: each answer is built in this process (a look-through of a densely held group takes
        // seconds), so the two share the cores.
        var (asked, replayedAsked) = (Answer(ask, live, digest), Answer(ask, replayed, digest));
        var (a, b) = (await asked, await replayedAsked);
        if (a.Compared != b.Compared && (a.Whole(), b.Whole()) is var (liveJson, replayedJson) && liveJson != replayedJson)
        {
            differences.Add(new ReplayDifference(question, liveJson, replayedJson));
        }
    }

    private static async Task<(string Compared, Func<string> Whole)> Answer<T>(Func<Ledger, Task<T>> ask, Ledger ledger, Func<T, string>? digest)
    {
        try
        {
            var answer = await ask(ledger);
            if (digest is null)
            {
                var json = LedgerJson.Serialize(answer);
                return (json, () => json);
            }
            return (digest(answer), () => LedgerJson.Serialize(answer));
        }
        catch (LedgerException e)
        {
            var error = $"error: {e.Message}";
            return (error, () => error);
        }
    }
}
