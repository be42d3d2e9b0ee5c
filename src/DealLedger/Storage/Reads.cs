using Npgsql;

namespace DealLedger.Storage;

/// <summary>
/// Reads that do not depend on each other, sent in one round trip: each statement with what takes its rows, read in the
/// order they were added.
/// </summary>
internal sealed class Reads
{
    private readonly List<(NpgsqlBatchCommand Command, Action<NpgsqlDataReader> Row)> statements = [];

    public void Add(string sql, Action<NpgsqlDataReader> row, params object?[] args) => statements.Add((Sql.Statement(sql, args), row));

    /// <summary>Sends the statements added (none: no round trip) and hands each row to its statement's reader.</summary>
    public async Task RunAsync(NpgsqlConnection c, CancellationToken ct)
    {
        if (statements.Count == 0)
        {
            return;
        }
        await using var batch = new NpgsqlBatch(c);
        foreach (var (command, _) in statements)
        {
            batch.BatchCommands.Add(command);
        }
        await using var reader = await batch.ExecuteReaderAsync(ct);
        for (var i = 0; i < statements.Count; i++)
        {
            if (i > 0)
            {
                await reader.NextResultAsync(ct);
            }
            while (await reader.ReadAsync(ct))
            {
                statements[i].Row(reader);
            }
        }
        statements.Clear();
    }
}
