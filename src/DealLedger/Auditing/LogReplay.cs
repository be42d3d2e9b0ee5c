using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;

namespace DealLedger.Auditing;

/// <summary>
/// The ledger rebuilt in memory from its log truncated at knownAt, with no projection involved:
/// what auditors compare the projections' answers with (DESIGN §3 rule 1).
/// </summary>
public sealed class LogReplay
{
    private readonly Dictionary<string, OrganizationRegistered> organizations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SourceRegistered> sources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FactState> facts = new(StringComparer.Ordinal);

    private LogReplay(DateTimeOffset knownAt) => KnownAt = knownAt;

    public DateTimeOffset KnownAt { get; }

    public static Task<LogReplay> LoadAsync(Ledger ledger, DateTimeOffset knownAt, CancellationToken ct = default) =>
        ledger.ReadAsync(knownAt, async (c, k, token) =>
        {
            var replay = new LogReplay(k);
            foreach (var e in await EventLogReader.KnownAtAsync(c, k, token))
            {
                replay.Apply(e);
            }
            return replay;
        }, ct);

    private void Apply(LoggedEvent e)
    {
        switch (e.Data)
        {
            case OrganizationRegistered o: organizations[o.Id] = o; break;
            case SourceRegistered s: sources[s.Id] = s; break;
            case DealRecorded: break;
            // An in-memory replay of holdings by pair, as recorded: merges are read by the projections' answers only.
            case OrganizationsMerged or OrganizationMergeUndone: break;
            default:
                var id = FactState.FactIdOf(e.Data)!;
                facts[id] = FactState.Next(facts.GetValueOrDefault(id), e.Data, e.Ref);
                break;
        }
    }

    public HoldingAnswer Holding(string holder, string subject, DateOnly at)
    {
        string Name(string id) => organizations.TryGetValue(id, out var o) ? o.Name : id;
        var pair = facts.Values.Where(f => f.Current is Stake s && s.Holder == holder && s.Subject == subject)
            .OrderBy(f => f.Id, StringComparer.Ordinal).ToList();
        var segment = HoldingTimeline.Build(pair, sources)
            .FirstOrDefault(s => (s.From is null || s.From <= at) && (s.To is null || at < s.To));
        return HoldingAnswer.From(holder, subject, at, KnownAt, segment is null
            ? HoldingQuery.Unknown(Name(holder), Name(subject), KnownAt)
            : FindingWords.Render(segment.Finding, Name(holder), Name(subject), sources));
    }
}
