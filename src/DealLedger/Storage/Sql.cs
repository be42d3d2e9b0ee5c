using Npgsql;

namespace DealLedger.Storage;

/// <summary>
/// Positional-parameter SQL on an open connection: the projections' and queries' one way to talk to PostgreSQL.
/// Npgsql sends the MinValue and MaxValue of DateOnly, DateTime and DateTimeOffset as -infinity and
/// infinity: they still compare as the first and last, but arithmetic leaves them where they are
/// ('infinity'::date + 1 is infinity), so SQL compares such parameters and never computes days or instants from them.
/// </summary>
internal static class Sql
{
    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object?[] args)
    {
        var cmd = new NpgsqlCommand(sql, connection);
        foreach (var arg in args)
        {
            cmd.Parameters.Add(Parameter(arg));
        }
        return cmd;
    }

    /// <summary>A statement for a batch (<see cref="NpgsqlBatch"/>), with positional parameters as <see cref="Command"/> takes them.</summary>
    public static NpgsqlBatchCommand Statement(string sql, params object?[] args)
    {
        var statement = new NpgsqlBatchCommand(sql);
        foreach (var arg in args)
        {
            statement.Parameters.Add(Parameter(arg));
        }
        return statement;
    }

    /// <summary>A positional parameter: one given as is, else a value (null: SQL null).</summary>
    public static NpgsqlParameter Parameter(object? arg) => arg as NpgsqlParameter ?? new NpgsqlParameter { Value = arg ?? DBNull.Value };

    public static async Task<int> ExecAsync(NpgsqlConnection connection, string sql, CancellationToken ct, params object?[] args)
    {
        await using var cmd = Command(connection, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Statements in one round trip, their rows unread (none: no round trip).</summary>
    public static async Task ExecAsync(NpgsqlConnection connection, IEnumerable<NpgsqlBatchCommand> statements, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection);
        foreach (var statement in statements)
        {
            batch.BatchCommands.Add(statement);
        }
        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>The first column of the first row, or default when there is no row or the value is SQL null (ask for int? to tell).</summary>
    public static async Task<T?> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken ct, params object?[] args)
    {
        await using var cmd = Command(connection, sql, args);
        return await cmd.ExecuteScalarAsync(ct) is T value ? value : default;
    }

    public static async Task<List<T>> ListAsync<T>(NpgsqlConnection connection, string sql, Func<NpgsqlDataReader, T> read, CancellationToken ct, params object?[] args)
    {
        await using var cmd = Command(connection, sql, args);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(read(reader));
        }
        return list;
    }
}
