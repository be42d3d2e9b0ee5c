using System.CommandLine;
using DealLedger.Auditing;
using DealLedger.Storage;

namespace DealLedger.Cli;

/// <summary>The auditing verbs (DESIGN §8): parse, call the core's Auditing capability, render.</summary>
internal static class AuditCommands
{
    public static IEnumerable<Command> Build(TextWriter o)
    {
        var seal = new Command("seal", "Seal every committed event not yet sealed into the hash chain (the API also seals continuously)") { Commands.Json };
        Commands.Answers(seal, o, (l, _, ct) => l.SealAsync(ct), AuditRender.Seal);
        yield return seal;

        var bundle = new Option<string?>("--bundle") { Description = "Verify an export bundle (folder) offline, with no database" };
        var verify = new Command("verify", "Recompute the seal chain and name the first event changed, removed, inserted or moved behind the ledger's back (exit 1 if any)") { bundle, Commands.Json };
        verify.SetAction(async (p, ct) =>
        {
            VerifyReport report;
            if (p.GetValue(bundle) is { } dir)
            {
                report = Bundle.Verify(dir);
            }
            else
            {
                await using var ledger = Commands.Open(p);
                report = await ledger.VerifyAsync(ct);
            }
            await o.WriteLineAsync(p.GetValue(Commands.Json) ? LedgerJson.Serialize(report, indented: true) : AuditRender.Verify(report));
            return await ExitAsync(p, report.Break);
        });
        yield return verify;

        var output = new Option<string>("--out") { Description = "A new or empty folder to write the bundle into", Required = true };
        var export = new Command("export", "Seal, then write a bundle a third party can verify offline: events (canonical JSON Lines), seals, sources and a manifest") { output, Commands.Json };
        export.SetAction(async (p, ct) =>
        {
            await using var ledger = Commands.Open(p);
            var result = await ledger.ExportAsync(p.GetValue(output)!, ct);
            await o.WriteLineAsync(p.GetValue(Commands.Json) ? LedgerJson.Serialize(result, indented: true) : AuditRender.Export(result));
            return await ExitAsync(p, result.Break);
        });
        yield return export;
    }

    /// <summary>A broken chain exits 1 with its one-line reason on stderr (the report itself is on stdout).</summary>
    private static async Task<int> ExitAsync(ParseResult p, ChainBreak? broken)
    {
        if (broken is null)
        {
            return 0;
        }
        await (p.InvocationConfiguration.Error ?? Console.Error).WriteLineAsync($"dealledger: {broken.Summary}");
        return 1;
    }
}
