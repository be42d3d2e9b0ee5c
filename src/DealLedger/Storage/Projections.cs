using Npgsql;

namespace DealLedger.Storage;

/// <summary>
/// Table-level steps shared by every writer of the projections (<see cref="ProjectionFold"/> folds the
/// events; <see cref="ProjectionCopy"/> stores its rows): planner statistics and the ledger's position.
/// </summary>
internal static class Projections
{
    /// <summary>
    /// Refreshes the planner's statistics of projection tables after a write that replaced many of
    /// their rows (a rebuild's switch, a large import). Until autovacuum comes round, a plan made for
    /// the old contents can probe a pair through the wrong index (measured on a 100k-event ledger: the
    /// headline for a 500-segment pair 3.8 ms instead of 0.3 ms). It also merges the GIN indexes' pending
    /// lists: a bulk write leaves its entries there (fastupdate), and every search reads the whole list until
    /// a vacuum merges it (measured after a 23,698-event import: a search of fact_versions by 60 organizations
    /// 44–69 ms, then 2.5 ms). Only the tables' owner may do either; for another role (the API's) this does
    /// nothing and autovacuum does it later.
    /// </summary>
    /// <remarks>
    /// Only the tables with rows and without statistics yet (new, as a rebuild's are) or grown by more than half since they were last
    /// analyzed: the planner scales the row counts it was given by a table's size now, so only a table whose contents are
    /// mostly new gives it a wrong picture. Each ANALYZE reads up to 30,000 rows' pages (0.4 s a table at 100k events), so
    /// analyzing every table after every large import cost a tenth of the import or more.
    /// </remarks>
    public static async Task AnalyzeAsync(NpgsqlConnection c, IEnumerable<string> tables, CancellationToken ct)
    {
        var names = tables.Select(ProjectionTables.Of).ToArray();
        var owned = await Sql.ListAsync(c,
            // An empty table has nothing to gather (and never gets statistics): it is left alone.
            "select n, pg_relation_size(r.oid) > 0 and (not exists (select from pg_stats s where s.schemaname = ns.nspname and s.tablename = r.relname) " +
            "or pg_relation_size(r.oid) > 1.5 * r.relpages::bigint * current_setting('block_size')::bigint) " +
            "from unnest($1::text[]) n join pg_class r on r.oid = n::regclass join pg_namespace ns on ns.oid = r.relnamespace where pg_has_role(r.relowner, 'USAGE')",
            r => (Name: r.GetString(0), Stale: r.GetBoolean(1)), ct, (object)names);
        var analyzed = owned.Where(t => t.Stale).Select(t => t.Name).ToList();
        if (analyzed.Count > 0)
        {
            await Sql.ExecAsync(c, $"analyze {string.Join(", ", analyzed)}", ct);
        }
        if (owned.Count > 0)
        {
            await Sql.ExecAsync(c, "select gin_clean_pending_list(i.indexrelid) from pg_index i join pg_class x on x.oid = i.indexrelid " +
                "join pg_am a on a.oid = x.relam where a.amname = 'gin' and i.indrelid in (select n::regclass from unnest($1::text[]) n)", ct,
                (object)owned.Select(t => t.Name).ToArray());
        }
    }

    /// <summary>ledger_position: the last write applied (the feed's high-water mark).</summary>
    public static Task PositionAsync(NpgsqlConnection c, long sequence, DateTimeOffset recordedAt, long namesSequence, CancellationToken ct) =>
        Sql.ExecAsync(c, PositionSql, ct, sequence, recordedAt, ProjectionTables.Version, namesSequence);

    /// <summary>
    /// The statement of <see cref="PositionAsync"/>: $1 the sequence, $2 the recorded instant, $3 the projections' version, $4 the
    /// last write of the fold that touched a name fact (0: none; the stored one is kept then).
    /// </summary>
    public static string PositionSql =>
        $"insert into {ProjectionTables.Of("ledger_position")} (id, last_sequence, last_recorded_at, projection_version, names_sequence) values (1, $1, $2, $3, $4) " +
        "on conflict (id) do update set last_sequence = excluded.last_sequence, last_recorded_at = excluded.last_recorded_at, " +
        $"names_sequence = greatest({ProjectionTables.Of("ledger_position")}.names_sequence, excluded.names_sequence)";

    /// <summary>
    /// Why the projections cannot be trusted to be what this code would build, or null: another version
    /// of the fold built them (an upgrade that changed what it writes), so answers may differ from a
    /// replay's until `rebuild`. An empty ledger has nothing to rebuild.
    /// </summary>
    public static async Task<string?> OutdatedAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, $"select projection_version from {ProjectionTables.Of("ledger_position")} where id = 1");
        return await cmd.ExecuteScalarAsync(ct) is int built && built != ProjectionTables.Version
            ? $"the projections were built by version {built} of the fold, this build writes version {ProjectionTables.Version}: run `dealledger rebuild`"
            : null;
    }
}
