using DealLedger.Deals;
using Npgsql;

namespace DealLedger.Storage;

/// <summary>Reads the log back as the projections and a replay see it: data, sequence, recorded time.</summary>
internal static class EventLogReader
{
    private static readonly string Columns = $"seq_id, id, type, timestamp, data::text from {ProjectionTables.Name("mt_events")}";

    public static LoggedEvent Read(NpgsqlDataReader r)
    {
        var type = r.GetString(2);
        var clr = EventNames.TypeOf(type) ?? throw new InvalidOperationException($"unknown event type '{type}' at sequence {r.GetInt64(0)}");
        var data = System.Text.Json.JsonSerializer.Deserialize(r.GetString(4), clr, LedgerJson.Options)!;
        var reference = new EventRef(r.GetGuid(1), r.GetInt64(0), type, r.GetFieldValue<DateTimeOffset>(3));
        return new LoggedEvent(reference, data);
    }

    public static Task<List<LoggedEvent>> ByIdsAsync(NpgsqlConnection c, Guid[] ids, CancellationToken ct) =>
        Sql.ListAsync(c, $"select {Columns} where id = any($1) order by seq_id", Read, ct, ids);

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
