using DealLedger.Deals;
using Marten;
using Npgsql;
using NpgsqlTypes;

namespace DealLedger.Storage;

/// <summary>
/// Appends a write's events to Marten's tables (a small write in one statement, a big one with binary COPY), stored exactly as Marten's Rich
/// append stores them (<see cref="LedgerStore.Configure"/>): sequence numbers from mt_events_sequence,
/// stream versions continuing mt_streams, the event's JSON from Marten's own serializer, its type
/// names, one recorded instant, correlation id and user name; headers and bdata empty, tenant
/// and archive flags by their column defaults. New streams get their timestamps from the same
/// column defaults (the transaction's now()), existing ones only their new version — as Marten does.
/// Only for a write that holds the write lock (nothing else appends meanwhile).
/// </summary>
internal static class EventCopy
{
    /// <summary>Up to this many events, a write appends them in one statement (its streams' versions moved in the same); above it with COPY.</summary>
    public const int InsertedEvents = 500;

    /// <summary>
    /// A write's events as Marten numbers them: stream by stream, streams in the order they were first appended to; each
    /// event's JSON from Marten's own serializer.
    /// </summary>
    public static Append Of(DocumentStore store, IReadOnlyList<(string Stream, object Event)> pending, DateTimeOffset recordedAt, string writer, string correlationId)
    {
        var streamOrder = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (stream, _) in pending)
        {
            streamOrder.TryAdd(stream, streamOrder.Count);
        }
        var ordered = pending.Select((p, i) => (p.Stream, p.Event, Index: i)).OrderBy(p => streamOrder[p.Stream]).ThenBy(p => p.Index).ToList();
        var serializer = store.Options.Serializer();
        // Each event's place in its stream among this write's events (1, 2, …), and how many the write appends to the stream.
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var rows = new Row[ordered.Count];
        for (var i = 0; i < ordered.Count; i++)
        {
            var (stream, e, _) = ordered[i];
            var type = e.GetType();
            rows[i] = new Row(stream, Guid.NewGuid(), counts[stream] = counts.GetValueOrDefault(stream) + 1, serializer.ToJson(e), EventNames.Of(type), DotNetTypeName(type), e);
        }
        return new Append(rows, counts, recordedAt, writer, correlationId);
    }

    internal sealed record Row(string Stream, Guid Id, long InStream, string Json, string Type, string DotNetType, object Event);

    /// <summary>A write's events made into rows, to append in one statement (a small write) or with COPY (<see cref="CopyAsync"/>).</summary>
    public sealed class Append
    {
        private readonly Row[] rows;
        private readonly Dictionary<string, long> counts;
        private readonly DateTimeOffset recordedAt;
        private readonly string writer;
        private readonly string correlationId;

        internal Append(Row[] rows, Dictionary<string, long> counts, DateTimeOffset recordedAt, string writer, string correlationId) =>
            (this.rows, this.counts, this.recordedAt, this.writer, this.correlationId) = (rows, counts, recordedAt, writer, correlationId);

        /// <summary>Whether the events go in one statement (<see cref="Statement"/>), sent with the write's other rows.</summary>
        public bool InOneStatement => rows.Length <= InsertedEvents;

        /// <summary>The events as they are stored when the first takes sequence number <paramref name="first"/>, in sequence order.</summary>
        public List<LoggedEvent> Logged(long first) =>
            rows.Select((r, i) => new LoggedEvent(new EventRef(r.Id, first + i, r.Type, recordedAt), r.Event)).ToList();

        /// <summary>
        /// A small write's events in one statement: a block of sequence numbers, the streams created or moved on (their new
        /// version: the old plus this write's count), the events numbered from the block and versioned from their streams.
        /// The fold numbered its rows from <paramref name="first"/>, read under the write lock before the statement is sent
        /// (<see cref="Sequences.Next"/>); were the block to start elsewhere, the statement fails and the write with it.
        /// </summary>
        public NpgsqlBatchCommand Statement(long first)
        {
            var streams = ProjectionTables.Name("mt_streams");
            var sql = $"with block (last) as ({Sequences.LastOfBlock($"'{ProjectionTables.Name("mt_events_sequence")}'")}), " +
                $"moved as (insert into {streams} as s (id, version) select * from unnest($2::varchar[], $3::bigint[]) " +
                "on conflict (id) do update set version = s.version + excluded.version returning id, version) " +
                $"insert into {ProjectionTables.Name("mt_events")} (seq_id, id, stream_id, version, data, type, timestamp, mt_dotnet_type, correlation_id, user_name) " +
                "select case when (select last from block) - $1 + 1 = $14 then $14 - 1 + x.n " +
                // The message names a column: PostgreSQL folds a constant branch when planning, taken or not.
                "else ('the event sequence moved during the write: its block does not start at ' || $14 || ' (event ' || x.id || ')')::bigint end, " +
                "x.id, x.stream, m.version - x.count + x.in_stream, x.data, x.type, $10, x.dotnet_type, $11, $12 " +
                "from unnest($4::uuid[], $5::varchar[], $6::bigint[], $7::bigint[], $8::jsonb[], $9::varchar[], $13::varchar[]) " +
                "with ordinality x (id, stream, in_stream, count, data, type, dotnet_type, n) join moved m on m.id = x.stream";
            return Sql.Statement(sql,
                (long)rows.Length, counts.Keys.ToArray(), counts.Values.ToArray(),
                rows.Select(r => r.Id).ToArray(), rows.Select(r => r.Stream).ToArray(), rows.Select(r => r.InStream).ToArray(), rows.Select(r => counts[r.Stream]).ToArray(),
                new NpgsqlParameter { Value = rows.Select(r => r.Json).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb },
                rows.Select(r => r.Type).ToArray(), recordedAt, correlationId, writer, rows.Select(r => r.DotNetType).ToArray(), first);
        }

        /// <summary>A big write's events with binary COPY, numbered from <paramref name="first"/> (read under the write lock, as for <see cref="Statement"/>).</summary>
        public Task CopyAsync(NpgsqlConnection c, long first, CancellationToken ct) => EventCopy.CopyAsync(c, rows, counts, recordedAt, writer, correlationId, first, ct);
    }

    /// <summary>
    /// A big write's events with binary COPY, its streams created by COPY and moved on by one UPDATE. The fold numbered its
    /// rows from <paramref name="expected"/>; were the block of sequence numbers to start elsewhere, the write fails.
    /// </summary>
    private static async Task CopyAsync(NpgsqlConnection c, Row[] rows, Dictionary<string, long> counts, DateTimeOffset recordedAt, string writer,
        string correlationId, long expected, CancellationToken ct)
    {
        var streams = ProjectionTables.Name("mt_streams");
        var names = counts.Keys.ToArray();
        var versions = (await Sql.ListAsync(c, $"select id, version from {streams} where id = any($1)", r => (r.GetString(0), r.GetInt64(1)), ct, (object)names))
            .ToDictionary(x => x.Item1, x => x.Item2, StringComparer.Ordinal);

        // A block of sequence numbers: the same numbers Marten's one-by-one append would take under the write lock.
        var sequence = ProjectionTables.Name("mt_events_sequence");
        var last = (await Sql.ListAsync(c, Sequences.LastOfBlock($"'{sequence}'"), r => r.GetInt64(0), ct, (long)rows.Length))[0];
        var first = last - rows.Length + 1;
        if (first != expected)
        {
            throw new InvalidOperationException($"the event sequence moved during the write: its block starts at {first}, not {expected}");
        }

        var created = names.Where(n => !versions.ContainsKey(n)).ToList();
        if (created.Count > 0)
        {
            await using var copy = await c.BeginBinaryImportAsync($"copy {streams} (id, version) from stdin (format binary)", ct);
            foreach (var id in created)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(id, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(counts[id], NpgsqlDbType.Bigint, ct);
            }
            await copy.CompleteAsync(ct);
        }
        if (versions.Count > 0)
        {
            var moved = versions.Keys.ToArray();
            await Sql.ExecAsync(c, $"update {streams} s set version = v.version from unnest($1::varchar[], $2::bigint[]) v (id, version) where s.id = v.id",
                ct, moved, moved.Select(id => versions[id] + counts[id]).ToArray());
        }

        await using (var copy = await c.BeginBinaryImportAsync(
            $"copy {ProjectionTables.Name("mt_events")} (seq_id, id, stream_id, version, data, type, timestamp, mt_dotnet_type, correlation_id, user_name) from stdin (format binary)", ct))
        {
            for (var i = 0; i < rows.Length; i++)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(first + i, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(rows[i].Id, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(rows[i].Stream, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(versions.GetValueOrDefault(rows[i].Stream) + rows[i].InStream, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(rows[i].Json, NpgsqlDbType.Jsonb, ct);
                await copy.WriteAsync(rows[i].Type, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(recordedAt, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(rows[i].DotNetType, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(correlationId, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(writer, NpgsqlDbType.Varchar, ct);
            }
            await copy.CompleteAsync(ct);
        }
    }

    /// <summary>mt_events.mt_dotnet_type as Marten writes it: "Namespace.Type, Assembly".</summary>
    private static string DotNetTypeName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
