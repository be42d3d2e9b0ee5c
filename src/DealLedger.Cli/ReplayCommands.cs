using System.CommandLine;
using DealLedger.Auditing;
using DealLedger.Storage;

namespace DealLedger.Cli;

/// <summary>`replay` and `rebuild` (DESIGN §8): parse, call the core's Auditing capability, render; a difference exits 1.</summary>
internal static class ReplayCommands
{
    public static IEnumerable<Command> Build(TextWriter o)
    {
        var replay = new Command("replay", "Rebuild every projection from the log as known at --known-at into a scratch schema and compare all answers with the live ones; exit 1 on any difference")
            { Commands.KnownAt, Commands.Json };
        replay.SetAction(async (p, ct) =>
        {
            await using var ledger = Commands.Open(p);
            var report = await ledger.ReplayAsync(Commands.ParseKnownAt(p), new ProgressLine(), ct);
            await o.WriteLineAsync(p.GetValue(Commands.Json) ? LedgerJson.Serialize(report, indented: true) : Render(report));
            if (!report.Agrees)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync($"dealledger: {report.Differences.Count} answer(s) differ between the live projections and the replay (first: {report.Differences[0].Question})");
                return 1;
            }
            return 0;
        });
        yield return replay;

        var projection = new Argument<string?>("projection") { Description = $"Only this projection ({string.Join(", ", Rebuild.Names.Keys)}); default: all", Arity = ArgumentArity.ZeroOrOne };
        var rebuild = new Command("rebuild", "Rebuild projections from the log into a shadow, then switch; queries keep answering. Prints a fingerprint before and after") { projection, Commands.Json };
        rebuild.SetAction(async (p, ct) =>
        {
            await using var ledger = Commands.Open(p);
            var report = await ledger.RebuildAsync(p.GetValue(projection), new ProgressLine(), ct);
            await o.WriteLineAsync(p.GetValue(Commands.Json) ? LedgerJson.Serialize(report, indented: true) : Render(report));
            // A changed state is not a failed rebuild: the old rows had drifted from what the log and
            // today's code give (an older version built them, or someone edited them). Say so plainly.
            if (!report.Unchanged)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("dealledger: warning: the rebuilt projections differ from the ones they replaced (see the fingerprints)");
            }
            return 0;
        });
        yield return rebuild;
    }

    private static string Render(ReplayReport r)
    {
        var lines = new List<string>
        {
            $"Replayed {r.Events} events recorded by {r.KnownAt} into a scratch schema and compared {r.Comparisons} answers " +
            $"({r.Pairs} pairs on {r.Dates} dates, with their histories; relationships and owners of {r.Organizations} organizations).",
            r.Agrees ? "No differences: the live projections answer as the log supports." : $"{r.Differences.Count} difference(s):",
        };
        foreach (var d in r.Differences)
        {
            lines.Add($"  {d.Question}\n    live:     {d.Live}\n    replayed: {d.Replayed}");
        }
        return string.Join('\n', lines);
    }

    private static string Render(RebuildReport r) =>
        (r.AbandonedShadowsDropped.Count == 0 ? "" : $"Dropped {r.AbandonedShadowsDropped.Count} shadow schema(s) left by interrupted runs: {string.Join(", ", r.AbandonedShadowsDropped)}.\n") +
        $"Rebuilt from {r.Events} events.\n" +
        string.Join('\n', r.Before.Zip(r.After, (b, a) => $"  {b.Projection,-17} before {b.Rows,8} rows {b.Hash[..16]}   after {a.Rows,8} rows {a.Hash[..16]}{(b == a ? "" : "   DIFFERENT")}")) +
        (r.Unchanged ? "\nState after equals state before." : "\nThe state changed: the old rows were not what the log gives today.");

    /// <summary>Progress on stderr: a bar redrawn in place on a terminal, a plain line every 10 % otherwise.</summary>
    private sealed class ProgressLine : IProgress<AuditProgress>
    {
        private readonly bool terminal = !Console.IsErrorRedirected;
        private string? phase;
        private int lastTenth = -1;

        public void Report(AuditProgress value)
        {
            var fraction = value.Total is > 0 and var t ? Math.Min(1.0, value.Done / (double)t) : 0;
            if (terminal)
            {
                var bar = new string('#', (int)(fraction * 30)).PadRight(30, '.');
                Console.Error.Write($"\r{value.Phase}: [{bar}] {value.Done}/{value.Total}   ");
                if (value.Done == value.Total)
                {
                    Console.Error.WriteLine();
                }
                return;
            }
            var tenth = (int)(fraction * 10);
            if (value.Phase != phase || tenth != lastTenth)
            {
                (phase, lastTenth) = (value.Phase, tenth);
                Console.Error.WriteLine($"{value.Phase}: {value.Done}/{value.Total}");
            }
        }
    }
}
