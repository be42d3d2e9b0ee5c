using DealLedger.Deals;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Storage;

/// <summary>Reads the log back as the projections and a replay see it: data, sequence, recorded time.</summary>
internal static class EventLogReader
{
    private static readonly string Columns = $"seq_id, id, type, timestamp, data::text from {ProjectionTables.Name("mt_events")}";

    public static LoggedEvent Read(NpgsqlDataReader r) =>
        Read(new EventRef(r.GetGuid(1), r.GetInt64(0), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3)), r.GetString(4));

    private static LoggedEvent Read(EventRef reference, string json) =>
        new(reference, System.Text.Json.JsonSerializer.Deserialize(json, TypeOf(reference), LedgerJson.Options)!);

    private static LoggedEvent Read(EventRef reference, ReadOnlySpan<byte> json) =>
        new(reference, System.Text.Json.JsonSerializer.Deserialize(json, TypeOf(reference), LedgerJson.Options)!);

    private static Type TypeOf(EventRef reference) =>
        EventNames.TypeOf(reference.Type) ?? throw new InvalidOperationException($"unknown event type '{reference.Type}' at sequence {reference.Sequence}");

    private static string NameOf((byte[] Bytes, string Name)[] names, ReadOnlySpan<byte> type)
    {
        foreach (var (bytes, name) in names)
        {
            if (type.SequenceEqual(bytes))
            {
                return name;
            }
        }
        return System.Text.Encoding.UTF8.GetString(type);
    }

    /// <summary>
    /// The log after a sequence and recorded by an instant, in sequence order, in one binary COPY read straight from the
    /// wire (<see cref="BinaryCopyReader"/>), handed over in chunks of about <paramref name="chunk"/> events. Each chunk's
    /// JSON is read from its UTF-8 bytes (no string per event), in parallel, while the next chunk is read from the wire and
    /// the caller folds the one before: reading, parsing and folding overlap.
    /// </summary>
    public static async IAsyncEnumerable<List<LoggedEvent>> StreamAsync(NpgsqlConnection c, long after, DateTimeOffset knownAt, int chunk,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // Chunks in log order, each parsing on its own; at most two ahead of the caller.
        var chunks = System.Threading.Channels.Channel.CreateBounded<Task<LoggedEvent[]>>(2);
        var reading = Task.Run(() => ReadChunksAsync(c, after, knownAt, chunk, chunks.Writer, stop.Token), stop.Token);
        try
        {
            await foreach (var parsing in chunks.Reader.ReadAllAsync(ct))
            {
                yield return [.. await parsing];
            }
        }
        finally
        {
            // A caller that stops early (or fails) stops the read; the COPY ends with the reader. A read that failed throws here.
            await stop.CancelAsync();
            try
            {
                await reading;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static async Task ReadChunksAsync(NpgsqlConnection c, long after, DateTimeOffset knownAt, int chunk,
        System.Threading.Channels.ChannelWriter<Task<LoggedEvent[]>> chunks, CancellationToken ct)
    {
        try
        {
            // COPY takes no parameters: the values go into the statement (a number, an instant, the known type names).
            var types = string.Join(", ", EventNames.All.Select(n => $"'{n.Replace("'", "''")}'"));
            var query = $"select {Columns} where seq_id > {after} and timestamp <= '{Instant.Format(knownAt)}'::timestamptz and type in ({types}) order by seq_id";
            await using var r = await BinaryCopyReader.StartAsync(c, query, ct);
            // The type names are few: one string each, found by their bytes.
            var names = EventNames.All.Select(n => (Bytes: System.Text.Encoding.UTF8.GetBytes(n), Name: n)).ToArray();
            var refs = new List<EventRef>(chunk);
            var json = new List<(int Offset, int Length)>(chunk);
            var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(chunk * 1024);
            var used = 0;
            while (true)
            {
                var more = await r.ReadAsync(ct);
                if (more)
                {
                    refs.Add(new EventRef(r.Uuid(1), r.Int64(0), NameOf(names, r.Bytes(2)), r.Instant(3)));
                    var data = r.Bytes(4);
                    if (bytes.Length - used < data.Length)
                    {
                        var larger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(bytes.Length * 2, used + data.Length));
                        bytes.AsSpan(0, used).CopyTo(larger);
                        System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
                        bytes = larger;
                    }
                    data.CopyTo(bytes.AsSpan(used));
                    json.Add((used, data.Length));
                    used += data.Length;
                }
                if (refs.Count >= chunk || (!more && refs.Count > 0))
                {
                    var (rows, text, buffer) = (refs, json, bytes);
                    await chunks.WriteAsync(Task.Run(() =>
                    {
                        var events = new LoggedEvent[rows.Count];
                        Parallel.For(0, rows.Count, i => events[i] = Read(rows[i], buffer.AsSpan(text[i].Offset, text[i].Length)));
                        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                        return events;
                    }, ct), ct);
                    refs = new List<EventRef>(chunk);
                    json = new List<(int, int)>(chunk);
                    bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(chunk * 1024);
                    used = 0;
                }
                if (!more)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
                    break;
                }
            }
            chunks.Complete();
        }
        catch (Exception e)
        {
            chunks.Complete(e);
            throw;
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
