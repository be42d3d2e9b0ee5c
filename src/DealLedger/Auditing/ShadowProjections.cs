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

    /// <summary>Creates empty copies of the projection tables (indexes included) in a new scratch schema.</summary>
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
            foreach (var table in ProjectionTables.Projections)
            {
                // Own sequences for surrogate ids: a shadow never advances the live ones.
                await Sql.ExecAsync(owner, $"create table {shadow.Schema}.{table} (like {ProjectionTables.Name(table)} including all excluding defaults)", ct);
                if (await HasIdAsync(owner, table, ct))
                {
                    await Sql.ExecAsync(owner, $"create sequence {shadow.Schema}.{table}_id_seq owned by {shadow.Schema}.{table}.id; " +
                        $"alter table {shadow.Schema}.{table} alter column id set default nextval('{shadow.Schema}.{table}_id_seq')", ct);
                }
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

    internal static async Task<bool> HasIdAsync(NpgsqlConnection c, string table, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, "select count(*) from information_schema.columns where table_schema = $1 and table_name = $2 and column_name = 'id' and column_default like 'nextval%'",
            ProjectionTables.Schema, table);
        return (long)(await cmd.ExecuteScalarAsync(ct))! > 0;
    }

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
    /// (<see cref="ProjectionFold"/>: the rows the writes made), then copied into the
    /// shadow's tables, each on its own connection.
    /// </summary>
    private async Task BuildAsync(DateTimeOffset knownAt, IProgress<int>? progress, CancellationToken ct)
    {
        var fold = new ProjectionFold(new LedgerState { Complete = true });
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
        await ProjectionCopy.WriteInParallelAsync(Ledger.Database, fold, ct);
        if (fold.Position is { } position)
        {
            Position = position.Sequence;
        }
        EventsApplied += fold.EventsApplied;
        progress?.Report(EventsApplied);
    }

    public async ValueTask DisposeAsync()
    {
        await Ledger.DisposeAsync();
        await using (owner)
        {
            // Should this fail (the database went away), the next shadow drops this one.
            await Sql.ExecAsync(owner, $"drop schema if exists {Schema} cascade", CancellationToken.None);
            await Sql.ExecAsync(owner, "select pg_advisory_unlock($1, hashtext($2))", CancellationToken.None, OwnerLock, Schema);
        }
    }
}
