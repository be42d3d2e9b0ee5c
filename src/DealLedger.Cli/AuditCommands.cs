using System.CommandLine;
using DealLedger.Auditing;
using DealLedger.Bods;
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

        var output = new Option<string>("--out") { Description = "The bundle: a new or empty folder; --format bods: the JSON file to write", Required = true };
        var format = new Option<string?>("--format") { Description = "bundle (default): the auditors' bundle; bods: BODS 0.4 statements of the ties in force at --at as known at --known-at (docs/bods.md)" };
        var indirect = new Option<bool>("--indirect") { Description = "--format bods: also write the indirect relationships the chains of stakes give (look-through), with their component records" };
        var export = new Command("export", "Seal, then write a bundle a third party can verify offline (events, seals, sources, manifest); or, with --format bods, BODS 0.4 statements")
        {
            output, format, Commands.At, Commands.KnownAt, indirect, Commands.Json,
        };
        export.SetAction(async (p, ct) =>
        {
            await using var ledger = Commands.Open(p);
            var json = p.GetValue(Commands.Json);
            switch (p.GetValue(format)?.ToLowerInvariant())
            {
                case "bods":
                    var bods = await ledger.ExportBodsAsync(p.GetValue(output)!, Commands.ParseAt(p), Commands.ParseKnownAt(p), p.GetValue(indirect), ct);
                    await o.WriteLineAsync(json ? LedgerJson.Serialize(bods, indented: true) : AuditRender.BodsExport(bods));
                    return 0;
                case null or "bundle":
                    if (p.GetValue(Commands.At) is not null || p.GetValue(Commands.KnownAt) is not null || p.GetValue(indirect))
                    {
                        throw LedgerException.Invalid("--at, --known-at and --indirect go with --format bods; the bundle holds the whole log");
                    }
                    var result = await ledger.ExportAsync(p.GetValue(output)!, ct);
                    await o.WriteLineAsync(json ? LedgerJson.Serialize(result, indented: true) : AuditRender.Export(result));
                    return await ExitAsync(p, result.Break);
                default:
                    throw LedgerException.Invalid($"format '{p.GetValue(format)}' is not one of: bundle, bods");
            }
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
