using System.Text.Json;
using DealLedger.Client;
using Npgsql;
using NpgsqlTypes;

namespace DealLedger.Mirror;

/// <summary>
/// The mirror's own copy of the ledger's current holdings (table mirror.holdings, one row per
/// segment in force) and the feed checkpoint it stands at (mirror.checkpoint). Each feed message
/// is applied in one transaction together with the checkpoint, and anything that would mean a gap
/// or a double apply fails loudly instead of being papered over.
/// </summary>
public sealed class HoldingsMirror(NpgsqlDataSource database) : IDownstreamView
{
    private const long SchemaLock = 0x4D6972726F72; // "Mirror"

    /// <summary>
    /// The mirror's database, with commits that do not wait for the disk (synchronous_commit off).
    /// That cannot break exactly-once: a message's rows and its checkpoint commit together, and a
    /// database crash loses only the latest commits, whole and in order, so the checkpoint it falls
    /// back to is still the truth and the lost messages are fetched again.
    /// </summary>
    public static NpgsqlDataSource Connect(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = $"{builder.Options} -c synchronous_commit=off".Trim();
        return NpgsqlDataSource.Create(builder);
    }

    /// <summary>
    /// Creates schema mirror and its tables if missing (several mirrors may start at once), and records which organization
    /// it follows (none: all of the ledger). A mirror database made for one never goes on with another: its checkpoint and
    /// its rows are those of what it followed.
    /// </summary>
    public async Task CreateSchemaAsync(CancellationToken ct, string? following = null)
    {
        await using var c = await database.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await ExecAsync(c, tx, "select pg_advisory_xact_lock($1)", ct, SchemaLock);
        await ExecAsync(c, tx, """
            create schema if not exists mirror;
            create table if not exists mirror.holdings (
                segment_id bigint primary key,
                holder text not null,
                subject text not null,
                valid_from date null,
                valid_to date null,
                status text not null,
                finding jsonb not null);
            create index if not exists ix_mirror_holdings_pair on mirror.holdings (holder, subject);
            create table if not exists mirror.checkpoint (id int primary key, sequence bigint not null);
            insert into mirror.checkpoint (id, sequence) values (1, 0) on conflict (id) do nothing;
            alter table mirror.checkpoint add column if not exists following text not null default '';
            """, ct);
        // A new mirror (at 0) takes what it is asked to follow; one that has begun keeps what it follows.
        await ExecAsync(c, tx, "update mirror.checkpoint set following = $1 where id = 1 and sequence = 0", ct, following ?? "");
        await using (var read = new NpgsqlCommand("select following from mirror.checkpoint where id = 1", c, tx))
        {
            if (await read.ExecuteScalarAsync(ct) is string kept && kept != (following ?? ""))
            {
                throw new MirrorIntegrityException(
                    $"this mirror database follows {(kept.Length == 0 ? "the whole ledger" : $"only {kept}")}, not {(following is null ? "the whole ledger" : $"only {following}")}: use a database of its own");
            }
        }
        await tx.CommitAsync(ct);
    }

    public async Task<long> CheckpointAsync(CancellationToken ct)
    {
        await using var c = await database.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand("select sequence from mirror.checkpoint where id = 1", c);
        return await cmd.ExecuteScalarAsync(ct) is long sequence
            ? sequence
            : throw new MirrorIntegrityException("mirror.checkpoint has no row: run the mirror's schema creation first");
    }

    public async Task ApplyAsync(FeedMessage message, CancellationToken ct)
    {
        var holdings = message.Changes.Where(ch => ch.Projection == ProjectionChange.Holdings).ToList();
        var closed = holdings.SelectMany(h => h.Closed ?? []).ToArray();
        var opened = holdings.SelectMany(h => (h.Opened ?? []).Select(row => (Change: h, Row: row))).ToList();

        await using var c = await database.OpenConnectionAsync(ct);
        // The guard: the checkpoint moves only forward, to this message. It also locks the row, so a
        // second mirror process (should one ever run) cannot apply the same message at the same time.
        var advance = Command("update mirror.checkpoint set sequence = $1 where id = 1 and sequence < $1", new NpgsqlParameter { Value = message.Sequence });
        if (closed.Length == 0 && opened.Count == 0)
        {
            // Nothing of ours changed: the checkpoint's own statement is the whole transaction.
            await using var alone = new NpgsqlBatch(c) { BatchCommands = { advance } };
            await alone.ExecuteNonQueryAsync(ct);
            RequireAdvanced(advance, message);
            return;
        }

        await using var tx = await c.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlBatch(c, tx) { BatchCommands = { advance } };
        if (opened.Count > 0)
        {
            // Inserted before the deletes: a segment opened and closed by the same message then ends up absent, as in the ledger.
            batch.BatchCommands.Add(Command(
                "insert into mirror.holdings (segment_id, holder, subject, valid_from, valid_to, status, finding) " +
                "select * from unnest($1::bigint[], $2::text[], $3::text[], $4::date[], $5::date[], $6::text[], $7::jsonb[])",
                Parameter(opened.Select(o => o.Row.Id).ToArray(), NpgsqlDbType.Bigint),
                Parameter(opened.Select(o => o.Change.Holder ?? throw Malformed(message, "a holdings change without holder")).ToArray(), NpgsqlDbType.Text),
                Parameter(opened.Select(o => o.Change.Subject ?? throw Malformed(message, "a holdings change without subject")).ToArray(), NpgsqlDbType.Text),
                Parameter(opened.Select(o => o.Row.From).ToArray(), NpgsqlDbType.Date),
                Parameter(opened.Select(o => o.Row.To).ToArray(), NpgsqlDbType.Date),
                Parameter(opened.Select(o => Word(o.Row.Status)).ToArray(), NpgsqlDbType.Text),
                Parameter(opened.Select(o => o.Row.Finding.GetRawText()).ToArray(), NpgsqlDbType.Jsonb)));
        }
        var delete = closed.Length > 0 ? Command("delete from mirror.holdings where segment_id = any($1)", Parameter(closed, NpgsqlDbType.Bigint)) : null;
        if (delete is not null)
        {
            batch.BatchCommands.Add(delete);
        }
        try
        {
            await batch.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new MirrorIntegrityException($"sequence {message.Sequence} opens a segment the mirror already holds ({e.Detail}): a change applied twice", e);
        }
        RequireAdvanced(advance, message);
        if (delete is not null && delete.RecordsAffected != closed.Length)
        {
            var missing = await MissingAsync(c, tx, closed, ct);
            throw new MirrorIntegrityException(
                $"sequence {message.Sequence} closes segment(s) {string.Join(", ", missing)} the mirror does not hold: a change was missed (gap)");
        }
        await tx.CommitAsync(ct);
    }

    private static void RequireAdvanced(NpgsqlBatchCommand advance, FeedMessage message)
    {
        if (advance.RecordsAffected != 1)
        {
            throw new MirrorIntegrityException($"sequence {message.Sequence} is not above the mirror's checkpoint: it would be applied twice");
        }
    }

    /// <summary>Rolls the attempt back and names the closed ids the mirror did not hold before it.</summary>
    private static async Task<IReadOnlyList<long>> MissingAsync(NpgsqlConnection c, NpgsqlTransaction tx, long[] ids, CancellationToken ct)
    {
        await tx.RollbackAsync(ct);
        await using var cmd = new NpgsqlCommand("select segment_id from mirror.holdings where segment_id = any($1)", c) { Parameters = { Parameter(ids, NpgsqlDbType.Bigint) } };
        var held = new HashSet<long>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            held.Add(reader.GetInt64(0));
        }
        return ids.Where(id => !held.Contains(id)).ToList();
    }

    private static string Word(HoldingStatus status) => JsonNamingPolicy.KebabCaseLower.ConvertName(status.ToString());

    private static MirrorIntegrityException Malformed(FeedMessage m, string what) => new($"sequence {m.Sequence}: {what}");

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter Parameter<T>(T[] values, NpgsqlDbType elementType) =>
        new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | elementType };

    private static async Task ExecAsync(NpgsqlConnection c, NpgsqlTransaction tx, string sql, CancellationToken ct, params object[] values)
    {
        await using var cmd = new NpgsqlCommand(sql, c, tx);
        foreach (var v in values)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = v });
        }
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

/// <summary>The mirror would no longer equal the ledger (a gap or a double apply): it stops rather than drift.</summary>
public sealed class MirrorIntegrityException(string message, Exception? inner = null) : Exception(message, inner);
