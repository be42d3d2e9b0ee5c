using DealLedger.Deals;
using DealLedger.Holdings;
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
            if (RegistrationRow.TableOf(e.Data) is { } table)
            {
                var row = RegistrationRow.Of(e.Data, e.Ref);
                await Sql.ExecAsync(c, table == "organizations"
                        ? $"insert into {ProjectionTables.Of(table)} (id, name, recorded_at, sequence, data) values ($1, $5, $2, $3, $4::jsonb)"
                        : $"insert into {ProjectionTables.Of(table)} (id, recorded_at, sequence, data) values ($1, $2, $3, $4::jsonb)",
                    ct, [row.Id, row.RecordedAt, row.Sequence, row.Data, .. table == "organizations" ? new object?[] { row.Name } : []]);
                continue;
            }
            var id = FactState.FactIdOf(e.Data)!;
            var current = facts.GetValueOrDefault(id) ?? (e.Data is FactRecorded ? null : await FactVersions.CurrentAsync(c, id, ct));
            facts[id] = FactState.Next(current, e.Data, e.Ref);
        }
        var recordedAt = batch[^1].Ref.RecordedAt;
        var sequence = batch[^1].Ref.Sequence;
        await FactVersions.StoreAsync(c, facts.Values, recordedAt, sequence, ct);
        foreach (var (holder, subject) in facts.Values.Where(f => f.Current.Type == FactType.Stake)
                     .Select(f => (f.Current.Holder!, f.Current.Subject!)).Distinct())
        {
            await HoldingProjection.RefreshAsync(c, holder, subject, recordedAt, sequence, ct);
        }
        await PositionAsync(c, sequence, recordedAt, ct);
    }

    /// <summary>ledger_position: the last write applied (the feed's high-water mark).</summary>
    public static Task PositionAsync(NpgsqlConnection c, long sequence, DateTimeOffset recordedAt, CancellationToken ct) =>
        Sql.ExecAsync(c,
            $"insert into {ProjectionTables.Of("ledger_position")} (id, last_sequence, last_recorded_at) values (1, $1, $2) " +
            "on conflict (id) do update set last_sequence = excluded.last_sequence, last_recorded_at = excluded.last_recorded_at",
            ct, sequence, recordedAt);
}
