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

    /// <summary>
    /// Refreshes the planner's statistics of projection tables after a write that replaced many of
    /// their rows (a rebuild's switch, a large import). Until autovacuum comes round, a plan made for
    /// the old contents can probe a pair through the wrong index (measured on a 100k-event ledger: the
    /// headline for a 500-segment pair 3.8 ms instead of 0.3 ms). Only the tables' owner may analyze;
    /// for another role (the API's) this does nothing and autovacuum does it later.
    /// </summary>
    public static async Task AnalyzeAsync(NpgsqlConnection c, IEnumerable<string> tables, CancellationToken ct)
    {
        var names = tables.Select(ProjectionTables.Of).ToArray();
        var owned = await Sql.ListAsync(c, "select n from unnest($1::text[]) n where pg_has_role((select relowner from pg_class where oid = n::regclass), 'USAGE')",
            r => r.GetString(0), ct, (object)names);
        if (owned.Count > 0)
        {
            await Sql.ExecAsync(c, $"analyze {string.Join(", ", owned)}", ct);
        }
    }

    /// <summary>ledger_position: the last write applied (the feed's high-water mark).</summary>
    public static Task PositionAsync(NpgsqlConnection c, long sequence, DateTimeOffset recordedAt, CancellationToken ct) =>
        Sql.ExecAsync(c,
            $"insert into {ProjectionTables.Of("ledger_position")} (id, last_sequence, last_recorded_at) values (1, $1, $2) " +
            "on conflict (id) do update set last_sequence = excluded.last_sequence, last_recorded_at = excluded.last_recorded_at",
            ct, sequence, recordedAt);
}
