using DealLedger.Deals;
using Npgsql;

namespace DealLedger.Storage;

/// <summary>Reads the log back as the projections and a replay see it: data, sequence, recorded time.</summary>
internal static class EventLogReader
{
    private static readonly string Columns = $"seq_id, id, type, timestamp, data::text from {ProjectionTables.Name("mt_events")}";

    public static LoggedEvent Read(NpgsqlDataReader r) =>
        Read(new EventRef(r.GetGuid(1), r.GetInt64(0), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3)), r.GetString(4));

    private static LoggedEvent Read(EventRef reference, string json)
    {
        var clr = EventNames.TypeOf(reference.Type) ?? throw new InvalidOperationException($"unknown event type '{reference.Type}' at sequence {reference.Sequence}");
        return new LoggedEvent(reference, System.Text.Json.JsonSerializer.Deserialize(json, clr, LedgerJson.Options)!);
    }

    /// <summary>
    /// The log after a sequence and recorded by an instant, in sequence order, in one streaming query,
    /// handed over in chunks of about <paramref name="chunk"/> events; each chunk's JSON is read in parallel.
    /// </summary>
    public static async IAsyncEnumerable<List<LoggedEvent>> StreamAsync(NpgsqlConnection c, long after, DateTimeOffset knownAt, int chunk,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, $"select {Columns} where seq_id > $1 and timestamp <= $2 and type = any($3) order by seq_id", after, knownAt, EventNames.All.ToArray());
        cmd.CommandTimeout = 0;
        await using var r = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        var raw = new List<(EventRef Ref, string Json)>(chunk);
        while (true)
        {
            var more = await r.ReadAsync(ct);
            if (more)
            {
                // Sequential access: columns in their order.
                var sequence = r.GetInt64(0);
                var reference = new EventRef(r.GetGuid(1), sequence, r.GetString(2), r.GetFieldValue<DateTimeOffset>(3));
                raw.Add((reference, r.GetString(4)));
            }
            if (raw.Count >= chunk || (!more && raw.Count > 0))
            {
                var events = new LoggedEvent[raw.Count];
                var rows = raw;
                Parallel.For(0, rows.Count, i => events[i] = Read(rows[i].Ref, rows[i].Json));
                yield return [.. events];
                raw = new List<(EventRef, string)>(chunk);
            }
            if (!more)
            {
                yield break;
            }
        }
    }

    /// <summary>Up to <paramref name="limit"/> events after a sequence, recorded by an instant, in sequence order.</summary>
    public static Task<List<LoggedEvent>> PageAsync(NpgsqlConnection c, long after, DateTimeOffset knownAt, int limit, CancellationToken ct) =>
        Sql.ListAsync(c, $"select {Columns} where seq_id > $1 and timestamp <= $2 and type = any($3) order by seq_id limit $4", Read, ct, after, knownAt, EventNames.All.ToArray(), limit);

    /// <summary>The rest of the write recorded at <paramref name="recordedAt"/> after a sequence.</summary>
    public static Task<List<LoggedEvent>> WriteAtAsync(NpgsqlConnection c, DateTimeOffset recordedAt, long after, CancellationToken ct) =>
        Sql.ListAsync(c, $"select {Columns} where timestamp = $1 and seq_id > $2 and type = any($3) order by seq_id", Read, ct, recordedAt, after, EventNames.All.ToArray());

    /// <summary>How many events were recorded by an instant (DateTimeOffset.MaxValue: all).</summary>
    public static async Task<int> CountAsync(NpgsqlConnection c, DateTimeOffset knownAt, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, $"select count(*) from {ProjectionTables.Name("mt_events")} where timestamp <= $1 and type = any($2)", knownAt, EventNames.All.ToArray());
        return (int)(long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>The log truncated at a recorded instant, in sequence order.</summary>
    public static Task<List<LoggedEvent>> KnownAtAsync(NpgsqlConnection c, DateTimeOffset knownAt, CancellationToken ct) =>
        Sql.ListAsync(c, $"select {Columns} where timestamp <= $1 and type = any($2) order by seq_id", Read, ct, knownAt, EventNames.All.ToArray());
}
