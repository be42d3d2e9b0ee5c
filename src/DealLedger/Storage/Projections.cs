using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Sources;
using Npgsql;

namespace DealLedger.Storage;

/// <summary>
/// Applies the events of one write (or one recorded instant of a replay) to every projection, in
/// the same transaction as the events themselves: the projections never lag the log.
/// </summary>
internal static class Projections
{
    public static async Task ApplyAsync(NpgsqlConnection c, IReadOnlyList<LoggedEvent> batch, CancellationToken ct)
    {
        var facts = new Dictionary<string, FactState>(StringComparer.Ordinal);
        foreach (var e in batch)
        {
            switch (e.Data)
            {
                case OrganizationRegistered o:
                    await Sql.ExecAsync(c, $"insert into {ProjectionTables.Of("organizations")} (id, name, recorded_at, sequence, data) values ($1, $2, $3, $4, $5::jsonb)",
                        ct, o.Id, o.Name, e.Ref.RecordedAt, e.Ref.Sequence, LedgerJson.Canonical(o));
                    break;
                case SourceRegistered s:
                    await Sql.ExecAsync(c, $"insert into {ProjectionTables.Of("sources")} (id, recorded_at, sequence, data) values ($1, $2, $3, $4::jsonb)",
                        ct, s.Id, e.Ref.RecordedAt, e.Ref.Sequence, LedgerJson.Canonical(s));
                    break;
                case DealRecorded d:
                    await Sql.ExecAsync(c, $"insert into {ProjectionTables.Of("deals")} (id, recorded_at, sequence, data) values ($1, $2, $3, $4::jsonb)",
                        ct, d.Id, e.Ref.RecordedAt, e.Ref.Sequence, LedgerJson.Canonical(d));
                    break;
                default:
                    var id = FactState.FactIdOf(e.Data)!;
                    var current = facts.GetValueOrDefault(id) ?? (e.Data is FactRecorded ? null : await FactVersions.CurrentAsync(c, id, ct));
                    facts[id] = FactState.Next(current, e.Data, e.Ref);
                    break;
            }
        }
        var recordedAt = batch[^1].Ref.RecordedAt;
        var sequence = batch[^1].Ref.Sequence;
        await FactVersions.StoreAsync(c, facts.Values, recordedAt, sequence, ct);
        foreach (var (holder, subject) in facts.Values.Where(f => f.Current.Type == FactType.Stake)
                     .Select(f => (f.Current.Holder!, f.Current.Subject!)).Distinct())
        {
            await HoldingProjection.RefreshAsync(c, holder, subject, recordedAt, sequence, ct);
        }
        await Sql.ExecAsync(c,
            $"insert into {ProjectionTables.Of("ledger_position")} (id, last_sequence, last_recorded_at) values (1, $1, $2) " +
            "on conflict (id) do update set last_sequence = excluded.last_sequence, last_recorded_at = excluded.last_recorded_at",
            ct, sequence, recordedAt);
    }
}
