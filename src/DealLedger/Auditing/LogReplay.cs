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
    // The merges in force: a pair's holding is its sides' survivors', over the stakes of every record read as them.
    private readonly Dictionary<string, string> merges = new(StringComparer.Ordinal);

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
            case OrganizationsMerged or OrganizationMergeUndone: OrganizationMerges.Apply(merges, e.Data); break;
            default:
                var id = FactState.FactIdOf(e.Data)!;
                facts[id] = FactState.Next(facts.GetValueOrDefault(id), e.Data, e.Ref);
                break;
        }
    }

    public HoldingAnswer Holding(string holder, string subject, DateOnly at)
    {
        string Name(string id) => organizations.TryGetValue(id, out var o) ? o.Name : id;
        string As(string id) => OrganizationMerges.Survivor(merges, id);
        var (h, sub) = (As(holder), As(subject));
        var pair = facts.Values.Where(f => f.Current is Stake x && As(x.Holder) == h && As(x.Subject) == sub && h != sub)
            .OrderBy(f => f.Id, StringComparer.Ordinal).ToList();
        var segment = HoldingTimeline.Build(pair, sources)
            .FirstOrDefault(s => (s.From is null || s.From <= at) && (s.To is null || at < s.To));
        return HoldingAnswer.From(holder, subject, at, KnownAt, segment is null
            ? HoldingQuery.Unknown(Name(h), Name(sub), KnownAt)
            : FindingWords.Render(segment.Finding, Name(h), Name(sub), sources));
    }
}
