using DealLedger.Deals;
using Marten;
using Npgsql;
using NpgsqlTypes;

namespace DealLedger.Storage;

/// <summary>
/// Appends a write's events to Marten's tables with binary COPY, stored exactly as Marten's Rich
/// append stores them (<see cref="LedgerStore.Configure"/>): sequence numbers from mt_events_sequence,
/// stream versions continuing mt_streams, the event's JSON from Marten's own serializer, its type
/// names, one recorded instant, correlation id and user name; headers and bdata empty, tenant
/// and archive flags by their column defaults. New streams get their timestamps from the same
/// column defaults (the transaction's now()), existing ones only their new version — as Marten does.
/// Only for a write that holds the write lock (nothing else appends meanwhile).
/// </summary>
internal static class EventCopy
{
    /// <returns>The events as stored, in sequence order.</returns>
    public static async Task<List<LoggedEvent>> AppendAsync(NpgsqlConnection c, DocumentStore store, IReadOnlyList<(string Stream, object Event)> pending,
        DateTimeOffset recordedAt, string writer, string correlationId, CancellationToken ct)
    {
        var streams = ProjectionTables.Name("mt_streams");
        var names = pending.Select(p => p.Stream).Distinct().ToArray();
        var versions = (await Sql.ListAsync(c, $"select id, version from {streams} where id = any($1)", r => (r.GetString(0), r.GetInt64(1)), ct, (object)names))
            .ToDictionary(x => x.Item1, x => x.Item2, StringComparer.Ordinal);
        var existing = versions.Keys.ToHashSet(StringComparer.Ordinal);

        // A block of sequence numbers: the same numbers Marten's one-by-one append would take under the write lock.
        var sequence = ProjectionTables.Name("mt_events_sequence");
        var last = (await Sql.ListAsync(c, Sequences.LastOfBlock($"'{sequence}'"), r => r.GetInt64(0), ct, (long)pending.Count))[0];
        var first = last - pending.Count + 1;

        // Marten numbers a session's events stream by stream, streams in the order they were first appended to.
        var streamOrder = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (stream, _) in pending)
        {
            streamOrder.TryAdd(stream, streamOrder.Count);
        }
        var ordered = pending.Select((p, i) => (p.Stream, p.Event, Index: i)).OrderBy(p => streamOrder[p.Stream]).ThenBy(p => p.Index).ToList();
        var serializer = store.Options.Serializer();
        var logged = new List<LoggedEvent>(pending.Count);
        var rows = new (string Stream, Guid Id, long Version, string Json, Type Type)[pending.Count];
        for (var i = 0; i < ordered.Count; i++)
        {
            var (stream, e, _) = ordered[i];
            var version = versions[stream] = versions.GetValueOrDefault(stream) + 1;
            rows[i] = (stream, Guid.NewGuid(), version, serializer.ToJson(e), e.GetType());
            logged.Add(new LoggedEvent(new EventRef(rows[i].Id, first + i, EventNames.Of(rows[i].Type), recordedAt), e));
        }

        var created = versions.Where(v => !existing.Contains(v.Key)).ToList();
        if (created.Count > 0)
        {
            await using var copy = await c.BeginBinaryImportAsync($"copy {streams} (id, version) from stdin (format binary)", ct);
            foreach (var (id, version) in created)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(id, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(version, NpgsqlDbType.Bigint, ct);
            }
            await copy.CompleteAsync(ct);
        }
        if (existing.Count > 0)
        {
            var moved = existing.ToArray();
            await Sql.ExecAsync(c, $"update {streams} s set version = v.version from unnest($1::varchar[], $2::bigint[]) v (id, version) where s.id = v.id",
                ct, moved, moved.Select(id => versions[id]).ToArray());
        }

        await using (var copy = await c.BeginBinaryImportAsync(
            $"copy {ProjectionTables.Name("mt_events")} (seq_id, id, stream_id, version, data, type, timestamp, mt_dotnet_type, correlation_id, user_name) from stdin (format binary)", ct))
        {
            for (var i = 0; i < rows.Length; i++)
            {
                var type = rows[i].Type;
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(first + i, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(rows[i].Id, NpgsqlDbType.Uuid, ct);
                await copy.WriteAsync(rows[i].Stream, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(rows[i].Version, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(rows[i].Json, NpgsqlDbType.Jsonb, ct);
                await copy.WriteAsync(logged[i].Ref.Type, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(recordedAt, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(DotNetTypeName(type), NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(correlationId, NpgsqlDbType.Varchar, ct);
                await copy.WriteAsync(writer, NpgsqlDbType.Varchar, ct);
            }
            await copy.CompleteAsync(ct);
        }
        return logged;
    }

    /// <summary>mt_events.mt_dotnet_type as Marten writes it: "Namespace.Type, Assembly".</summary>
    private static string DotNetTypeName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
