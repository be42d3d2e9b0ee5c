using System.CommandLine;

namespace DealLedger.Cli;

/// <summary>The auditing verbs (DESIGN §8): parse, call the core's Auditing capability, render.</summary>
internal static class AuditCommands
{
    public static IEnumerable<Command> Build(TextWriter o)
    {
        yield break;
    }
}
