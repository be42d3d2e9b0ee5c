using System.Text.Json;
using DealLedger.Importing;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Auditing;

/// <summary>One event of the log as an auditor reads it.</summary>
public sealed record LogEntry(long Sequence, Guid Id, string Stream, long Version, string Type, string RecordedAt, string? Writer, string? CorrelationId, JsonElement Data);

/// <param name="RecordedFrom">Only events recorded at or after this instant.</param>
/// <param name="RecordedTo">Only events recorded before this instant.</param>
/// <param name="Writer">Only events written by this writer ("key:NAME", or an OS user).</param>
public sealed record EventFilter(long After = 0, int Limit = 100, string? Stream = null, string? Type = null,
    DateTimeOffset? RecordedFrom = null, DateTimeOffset? RecordedTo = null, string? Writer = null);

/// <summary>The raw log in sequence order, with filters (DESIGN §5).</summary>
public static class EventLog
{
    public const int MaxLimit = 10_000;

    public static Task<IReadOnlyList<LogEntry>> EventsAsync(this Ledger ledger, EventFilter filter, CancellationToken ct = default)
    {
        QueryArguments.Page(filter.After, filter.Limit, MaxLimit);
        QueryArguments.Text(filter.Stream, "stream");
        QueryArguments.Text(filter.Writer, "writer");
        if (filter.Type is { } type && EventNames.TypeOf(type) is null)
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, $"unknown event type '{Fields.Clip(type)}' (known: {string.Join(", ", EventNames.All)})") { Field = "type" };
        }
        return ledger.ReadAsync<IReadOnlyList<LogEntry>>(null, async (c, _, token) => await PageAsync(c, filter, null, token), ct);
    }

    /// <summary>A page of the log in sequence order; with <paramref name="upTo"/>, nothing above that sequence.</summary>
    internal static Task<List<LogEntry>> PageAsync(NpgsqlConnection c, EventFilter filter, long? upTo, CancellationToken ct) =>
        Sql.ListAsync(c,
            $"select {Columns} from {ProjectionTables.Name("mt_events")} " +
            "where seq_id > $1 and ($6::bigint is null or seq_id <= $6) and ($2::text is null or stream_id = $2) and ($3::text is null or type = $3) and type = any($5) " +
            "and ($7::timestamptz is null or timestamp >= $7) and ($8::timestamptz is null or timestamp < $8) and ($9::text is null or user_name = $9) order by seq_id limit $4",
            Read, ct, filter.After, filter.Stream, filter.Type, filter.Limit, EventNames.All.ToArray(), upTo, filter.RecordedFrom, filter.RecordedTo, filter.Writer);

    /// <summary>The events of these streams numbered in (<paramref name="after"/>, <paramref name="upTo"/>], in sequence order: through the log's (stream, version) index.</summary>
    internal static Task<List<LogEntry>> OfStreamsAsync(NpgsqlConnection c, IReadOnlyCollection<string> streams, long after, long upTo, CancellationToken ct) =>
        streams.Count == 0 || upTo <= after ? Task.FromResult(new List<LogEntry>()) : Sql.ListAsync(c,
            $"select {Columns} from {ProjectionTables.Name("mt_events")} where stream_id = any($1) and seq_id > $2 and seq_id <= $3 order by seq_id",
            Read, ct, streams.ToArray(), after, upTo);

    /// <summary>
    /// SQL (a scalar subquery): the last sequence recorded at or before an instant (an SQL expression), 0 when none. The log
    /// has no index on its recorded time, but recorded times rise with sequences (rule 8: writes take them in commit order under
    /// one lock), so a binary search over its primary key finds it: about 20 index probes for a million events. Each step
    /// probes once: its probe is computed in a subquery kept apart (offset 0), which PostgreSQL would otherwise fold into
    /// the step and run once for each use of it.
    /// </summary>
    internal static string LastSequenceBy(string instant)
    {
        var log = ProjectionTables.Name("mt_events");
        return $"(with recursive b(lo, hi) as (select 0::bigint, coalesce((select max(seq_id) from {log}), 0) union all " +
            "select case when x.ok then x.mid else x.lo end, case when x.ok then x.hi else x.mid - 1 end from (select b.lo, b.hi, (b.lo + b.hi + 1) / 2 mid, " +
            $"coalesce((select e.timestamp <= {instant} from {log} e where e.seq_id >= (b.lo + b.hi + 1) / 2 order by e.seq_id limit 1), false) ok " +
            "from b where b.lo < b.hi offset 0) x) select lo from b where lo = hi)";
    }

    private const string Columns = "seq_id, id, stream_id, version, type, timestamp, user_name, correlation_id, data::text";

    private static LogEntry Read(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetGuid(1), r.GetString(2), r.GetInt64(3), r.GetString(4),
        Instant.Format(r.GetFieldValue<DateTimeOffset>(5)), r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7),
        JsonDocument.Parse(r.GetString(8)).RootElement.Clone());
}
