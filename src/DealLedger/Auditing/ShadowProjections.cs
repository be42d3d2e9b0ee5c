using DealLedger.Deals;
using DealLedger.Storage;
using DealLedger.Writing;
using Npgsql;

namespace DealLedger.Auditing;

/// <summary>
/// The projections rebuilt from the log into a schema of their own, by the very fold every write
/// runs (<see cref="ProjectionFold"/>), one recorded instant (one write) at a time. Replay
/// compares its answers with the live ones; rebuild copies it over the live tables.
/// A run that dies (kill -9, lost connection) cannot drop its shadow, so every shadow's owner holds
/// a session lock named after it while it lives, and the next shadow drops those whose lock is free.
/// </summary>
internal sealed class ShadowProjections : IAsyncDisposable
{
    private const int Page = 5_000;

    /// <summary>The advisory lock class of shadows ("DLSH"); the key is the hash of the shadow's name.</summary>
    internal const int OwnerLock = 0x444C5348;

    /// <summary>What shadows are made for; only schemas named "PURPOSE_" + 12 hex digits are ever taken for a shadow.</summary>
    private static readonly string[] Purposes = ["replay", "rebuild"];

    private readonly Ledger live;
    private readonly NpgsqlConnection owner;

    private ShadowProjections(Ledger live, string schema, NpgsqlConnection owner)
    {
        this.live = live;
        this.owner = owner;
        Schema = schema;
        Ledger = live.WithProjectionsIn(schema);
    }

    public string Schema { get; }

    /// <summary>The ledger answering from this shadow's projections.</summary>
    public Ledger Ledger { get; }

    /// <summary>The last sequence applied so far.</summary>
    public long Position { get; private set; }

    public int EventsApplied { get; private set; }

    /// <summary>Shadows of runs that died, dropped before this one was made.</summary>
    public IReadOnlyList<string> Abandoned { get; private set; } = [];

    /// <summary>
    /// Creates empty copies of the projection tables in a new scratch schema; their indexes are made after the
    /// first build (<see cref="IndexAsync"/>): one bulk build each instead of an insert per row. Only the keys are made at once.
    /// </summary>
    public static async Task<ShadowProjections> CreateAsync(Ledger live, string purpose, CancellationToken ct)
    {
        if (!Purposes.Contains(purpose))
        {
            throw new ArgumentException($"not a shadow's purpose: {purpose}", nameof(purpose));
        }
        var owner = await live.Database.OpenConnectionAsync(ct);
        try
        {
            var shadow = new ShadowProjections(live, $"{purpose}_{Guid.NewGuid():N}"[..(purpose.Length + 13)], owner);
            // Taken before the schema exists, so no other run ever sees this shadow unowned.
            await Sql.ExecAsync(owner, "select pg_advisory_lock($1, hashtext($2))", ct, OwnerLock, shadow.Schema);
            shadow.Abandoned = await DropAbandonedAsync(owner, ct);
            await Sql.ExecAsync(owner, $"create schema {shadow.Schema}", ct);
            var keys = (await IndexesAsync(owner, shadow.Schema, keys: true, ct)).ToLookup(k => k.Table, k => k.Sql);
            foreach (var table in ProjectionTables.Projections)
            {
                // Each table with its keys (the fold's upserts need them) in one implicit transaction: no other session
                // ever sees it without them. Own sequences for surrogate ids: a shadow never advances the live ones.
                // A replay's shadow is scratch, dropped when it is done: unlogged, its rows and indexes write no WAL. A rebuild's
                // becomes the live projections, and is written as they are.
                var kind = purpose == "replay" ? "unlogged table" : "table";
                var create = new List<string> { $"create {kind} {shadow.Schema}.{table} (like {ProjectionTables.Name(table)} including all excluding defaults excluding indexes)" };
                create.AddRange(keys[table]);
                if (await HasIdAsync(owner, table, ct))
                {
                    create.Add($"create sequence {shadow.Schema}.{table}_id_seq owned by {shadow.Schema}.{table}.id");
                    create.Add($"alter table {shadow.Schema}.{table} alter column id set default nextval('{shadow.Schema}.{table}_id_seq')");
                }
                await Sql.ExecAsync(owner, string.Join("; ", create), ct);
            }
            return shadow;
        }
        catch
        {
            await owner.DisposeAsync();
            throw;
        }
    }

    /// <summary>Drops every shadow schema whose owner is gone (its lock is free); their names.</summary>
    private static async Task<IReadOnlyList<string>> DropAbandonedAsync(NpgsqlConnection c, CancellationToken ct)
    {
        var pattern = $"^({string.Join('|', Purposes)})_[0-9a-f]{{12}}$";
        var dropped = new List<string>();
        foreach (var schema in await Sql.ListAsync(c, "select nspname::text from pg_namespace where nspname ~ $1 order by 1", r => r.GetString(0), ct, pattern))
        {
            await using var cmd = Sql.Command(c, "select pg_try_advisory_lock($1, hashtext($2))", OwnerLock, schema);
            if ((bool)(await cmd.ExecuteScalarAsync(ct))!)
            {
                await Sql.ExecAsync(c, $"drop schema if exists {schema} cascade", ct);
                await Sql.ExecAsync(c, "select pg_advisory_unlock($1, hashtext($2))", ct, OwnerLock, schema);
                dropped.Add(schema);
            }
        }
        return dropped;
    }

    internal static async Task<bool> HasIdAsync(NpgsqlConnection c, string table, CancellationToken ct) =>
        await Sql.ScalarAsync<long>(c, "select count(*) from information_schema.columns where table_schema = $1 and table_name = $2 and column_name = 'id' and column_default like 'nextval%'",
            ct, ProjectionTables.Schema, table) > 0;

    /// <summary>
    /// Applies the log's events after <see cref="Position"/> and recorded by <paramref name="knownAt"/>, write by write.
    /// An empty shadow is built in one streaming pass (<see cref="BuildAsync"/>); later writes are folded as a write folds them.
    /// </summary>
    public async Task CatchUpAsync(DateTimeOffset knownAt, IProgress<int>? progress, CancellationToken ct)
    {
        if (Position == 0)
        {
            await BuildAsync(knownAt, progress, ct);
        }
        await using var log = await live.Database.OpenConnectionAsync(ct);
        await using var target = await Ledger.Database.OpenConnectionAsync(ct);
        while (true)
        {
            var events = await EventLogReader.PageAsync(log, Position, knownAt, Page, ct);
            if (events.Count == 0)
            {
                return;
            }
            // A write's events share one recorded instant; a page may end inside a write, so keep its
            // last (possibly partial) write for the next page unless the page is the log's end.
            var complete = events.Count < Page ? events : events.TakeWhile(e => e.Ref.RecordedAt != events[^1].Ref.RecordedAt).ToList();
            if (complete.Count == 0)
            {
                // One write larger than a page: take the rest of it and apply it whole.
                complete = [.. events, .. await EventLogReader.WriteAtAsync(log, events[^1].Ref.RecordedAt, events[^1].Ref.Sequence, ct)];
            }
            await using (var tx = await target.BeginTransactionAsync(ct))
            {
                foreach (var write in complete.GroupBy(e => e.Ref.RecordedAt))
                {
                    await ProjectionFold.ApplyAsync(target, new LedgerState(), write.ToList(), ct);
                }
                await tx.CommitAsync(ct);
            }
            Position = complete[^1].Ref.Sequence;
            EventsApplied += complete.Count;
            progress?.Report(EventsApplied);
        }
    }

    /// <summary>
    /// The whole log (up to knownAt) in one streaming read, folded in memory write by write
    /// (<see cref="ProjectionFold"/>: the rows the writes made; the pairs' timelines pair by pair once the log is read),
    /// then copied into the shadow's tables, each on its own connection.
    /// </summary>
    private async Task BuildAsync(DateTimeOffset knownAt, IProgress<int>? progress, CancellationToken ct)
    {
        var fold = new ProjectionFold(new LedgerState { Complete = true }, wholeLog: true);
        var write = new List<LoggedEvent>();
        await using (var log = await live.Database.OpenConnectionAsync(ct))
        {
            await foreach (var chunk in EventLogReader.StreamAsync(log, 0, knownAt, 20_000, ct))
            {
                foreach (var e in chunk)
                {
                    // A write's events share one recorded instant and are contiguous in sequence order.
                    if (write.Count > 0 && e.Ref.RecordedAt != write[^1].Ref.RecordedAt)
                    {
                        fold.Apply(write);
                        write = [];
                    }
                    write.Add(e);
                }
                progress?.Report(fold.EventsApplied);
            }
        }
        if (write.Count > 0)
        {
            fold.Apply(write);
        }
        fold.BuildTimelines(ct);
        await ProjectionCopy.WriteInParallelAsync(Ledger.Database, fold, ct);
        await IndexAsync(ct);
        if (fold.Position is { } position)
        {
            Position = position.Sequence;
        }
        EventsApplied += fold.EventsApplied;
        progress?.Report(EventsApplied);
    }

    /// <summary>
    /// The statements that give a shadow's tables the live tables' keys (primary, unique, as constraints) or their
    /// other indexes, under the same names, so the shadow can take the live tables' place (<see cref="TryReplaceLiveAsync"/>).
    /// </summary>
    private static Task<List<(string Table, string Sql)>> IndexesAsync(NpgsqlConnection c, string schema, bool keys, CancellationToken ct) =>
        Sql.ListAsync(c,
            "select t.relname::text, case when k.oid is not null then format('alter table %s add constraint %I %s', $1 || '.' || quote_ident(t.relname), k.conname, pg_get_constraintdef(k.oid)) " +
            "else replace(pg_get_indexdef(i.indexrelid), ' ON ' || $2 || '.' || quote_ident(t.relname) || ' ', ' ON ' || $1 || '.' || quote_ident(t.relname) || ' ') end " +
            "from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace " +
            "left join pg_constraint k on k.conindid = i.indexrelid and k.conrelid = t.oid " +
            "where n.nspname = $2 and t.relname = any($3) and (k.oid is not null) = $4 order by t.relname, i.indexrelid",
            r => (Table: r.GetString(0), Sql: r.GetString(1)), ct, schema, ProjectionTables.Schema, ProjectionTables.Projections, keys);

    /// <summary>The live tables' other indexes on the shadow's filled tables: one bulk build each, two at a time.</summary>
    private async Task IndexAsync(CancellationToken ct) =>
        await Parallel.ForEachAsync(await IndexesAsync(owner, Schema, keys: false, ct), new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = ct },
            async (index, token) =>
            {
                await using var c = await live.Database.OpenConnectionAsync(token);
                await using var cmd = Sql.Command(c, index.Sql);
                cmd.CommandTimeout = 0;
                await cmd.ExecuteNonQueryAsync(token);
            });

    /// <summary>
    /// The switch of a rebuild, in the caller's transaction (which holds the write lock): each table named moves
    /// into the live schema in place of the live one, which is dropped — a catalog change, however many rows. The
    /// live table's privileges go with its place, and its id sequence's position is kept, so ids never go back.
    /// The ledger position (one row, which every read's barrier reads before it waits for the write lock) is
    /// copied instead. False, with nothing done, when readers hold a table longer than a moment; the caller then
    /// rolls back (letting writes go on) and tries again. The tables are locked all at once, for at most that
    /// moment, before anything moves, so no reader ever waits long or deadlocks with the switch.
    /// </summary>
    internal async Task<bool> TryReplaceLiveAsync(NpgsqlConnection c, IEnumerable<string> tables, CancellationToken ct)
    {
        const string position = "ledger_position";
        var moved = tables.Where(t => t != position).ToList();
        try
        {
            // Shorter than PostgreSQL's deadlock_timeout (1 s): a reader waiting behind this never reaches it.
            await Sql.ExecAsync(c, $"set local lock_timeout = '200ms'; lock table {string.Join(", ", moved.Select(ProjectionTables.Name))} in access exclusive mode; set local lock_timeout = 0", ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            return false;
        }
        if (tables.Contains(position))
        {
            await Sql.ExecAsync(c, $"delete from {ProjectionTables.Name(position)}; insert into {ProjectionTables.Name(position)} select * from {Schema}.{position}", ct);
        }
        var replaced = $"{Schema}_replaced";
        await Sql.ExecAsync(c, $"create schema {replaced}", ct);
        foreach (var table in moved)
        {
            var live = ProjectionTables.Name(table);
            var grants = await Sql.ListAsync(c,
                // The table's and its columns' privileges, as GRANT statements for the table taking its place.
                "select format('grant %s on table %s to %s%s', a.privilege_type, $2, case when a.grantee = 0 then 'public' else a.grantee::regrole::text end, " +
                "case when a.is_grantable then ' with grant option' else '' end) from pg_class t, aclexplode(t.relacl) a where t.oid = $1::regclass and a.grantee <> t.relowner " +
                "union all select format('grant %s (%I) on table %s to %s%s', a.privilege_type, c.attname, $2, case when a.grantee = 0 then 'public' else a.grantee::regrole::text end, " +
                "case when a.is_grantable then ' with grant option' else '' end) from pg_attribute c, aclexplode(c.attacl) a where c.attrelid = $1::regclass and c.attacl is not null " +
                "union all select format('grant %s on sequence %s to %s', a.privilege_type, pg_get_serial_sequence($2, 'id'), case when a.grantee = 0 then 'public' else a.grantee::regrole::text end) " +
                "from pg_class q, aclexplode(q.relacl) a where pg_get_serial_sequence($1, 'id') is not null and q.oid = pg_get_serial_sequence($1, 'id')::regclass and a.grantee <> q.relowner",
                r => r.GetString(0), ct, live, $"{Schema}.{table}");
            if (await HasIdAsync(c, table, ct))
            {
                // New rows continue after the rebuilt ones, and never below the ids the replaced table handed out.
                await Sql.ExecAsync(c, $"select setval(pg_get_serial_sequence('{Schema}.{table}', 'id'), greatest((select max(id) from {Schema}.{table}), " +
                    $"pg_sequence_last_value(pg_get_serial_sequence('{live}', 'id')::regclass), 1))", ct);
            }
            // The live table's owner too (a no-op when the rebuild runs as that owner, as it usually does).
            var liveOwner = await Sql.ScalarAsync<string>(c, "select quote_ident(pg_get_userbyid(relowner)) from pg_class where oid = $1::regclass", ct, live);
            await Sql.ExecAsync(c, $"alter table {Schema}.{table} owner to {liveOwner}", ct);
            foreach (var grant in grants)
            {
                await Sql.ExecAsync(c, grant, ct);
            }
            await Sql.ExecAsync(c, $"alter table {live} set schema {replaced}; alter table {Schema}.{table} set schema {ProjectionTables.Schema}", ct);
        }
        await Sql.ExecAsync(c, $"drop schema {replaced} cascade", ct);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await Ledger.DisposeAsync();
        await using (owner)
        {
            try
            {
                // Should this fail (the database went away), the next shadow drops this one.
                await Sql.ExecAsync(owner, $"drop schema if exists {Schema} cascade", CancellationToken.None);
            }
            finally
            {
                // The pool does not reset a connection it takes back (LedgerStore.DataSource): a session lock left on it
                // would mark this shadow as owned for as long as the connection lives.
                await Sql.ExecAsync(owner, "select pg_advisory_unlock($1, hashtext($2))", CancellationToken.None, OwnerLock, Schema);
            }
        }
    }
}
