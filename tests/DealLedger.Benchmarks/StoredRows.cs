using System.Diagnostics;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Benchmarks;

/// <summary>
/// PostgreSQL alone storing rows a workload stored: the tables' very rows, dumped with binary COPY and loaded again into
/// empty tables shaped like them (columns, keys, indexes), in the way the workload stores them. What a workload cannot go
/// below on this machine whatever our code does — the rows and indexes stay what they are.
/// </summary>
public sealed class StoredRows : IAsyncDisposable
{
    private readonly string cs;
    private readonly bool serverSide;
    private readonly List<(string Table, string? File, byte[]? Bytes)> dumps = [];

    private StoredRows(string cs, bool serverSide)
    {
        this.cs = cs;
        this.serverSide = serverSide;
    }

    /// <summary>"server-side COPY" (from a file, when the role may) or "client binary COPY".</summary>
    public string How => serverSide ? "server-side COPY" : "client binary COPY";

    /// <summary>Dumps the tables (names in the ledger's schema) now.</summary>
    public static async Task<StoredRows> DumpAsync(string cs, IEnumerable<string> tables)
    {
        var serverSide = await Bench.ScalarAsync<bool>(cs, "select rolsuper or pg_has_role(current_user, 'pg_read_server_files', 'member') and pg_has_role(current_user, 'pg_write_server_files', 'member') from pg_roles where rolname = current_user");
        var rows = new StoredRows(cs, serverSide);
        foreach (var table in tables)
        {
            if (serverSide)
            {
                var file = Path.Combine(Path.GetTempPath(), $"dealledger-bench-{Environment.ProcessId}-{table}.copy");
                await Bench.ExecAsync(cs, $"copy {ProjectionTables.Name(table)} to '{file}' (format binary)");
                rows.dumps.Add((table, file, null));
            }
            else
            {
                await using var c = new NpgsqlConnection(cs);
                await c.OpenAsync();
                await using var raw = await c.BeginRawBinaryCopyAsync($"copy {ProjectionTables.Name(table)} to stdout (format binary)");
                var buffer = new MemoryStream();
                await raw.CopyToAsync(buffer);
                rows.dumps.Add((table, null, buffer.ToArray()));
            }
        }
        return rows;
    }

    /// <summary>
    /// As a write stores them: every table dumped (or those named in <paramref name="only"/>) with all its indexes in place,
    /// one after the other on one connection, in one transaction. The time of the loads.
    /// </summary>
    public async Task<TimeSpan> AsWrittenAsync(params string[] only)
    {
        await CreateAsync(indexes: true);
        try
        {
            await using var c = new NpgsqlConnection(cs);
            await c.OpenAsync();
            var watch = Stopwatch.StartNew();
            await using var tx = await c.BeginTransactionAsync();
            foreach (var dump in dumps.Where(d => only.Length == 0 || only.Contains(d.Table)))
            {
                await LoadAsync(c, dump);
            }
            await tx.CommitAsync();
            return watch.Elapsed;
        }
        finally
        {
            await DropAsync();
        }
    }

    /// <summary>
    /// As a rebuild stores them: the tables with their keys only, each loaded on a connection of its own at once, then the
    /// other indexes built two at a time. The time of the loads and the builds.
    /// </summary>
    public async Task<TimeSpan> AsRebuiltAsync()
    {
        var indexes = await CreateAsync(indexes: false);
        try
        {
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(dumps.Select(async dump =>
            {
                await using var c = new NpgsqlConnection(cs);
                await c.OpenAsync();
                await LoadAsync(c, dump);
            }));
            await Parallel.ForEachAsync(indexes, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (index, _) => await Bench.ExecAsync(cs, index));
            return watch.Elapsed;
        }
        finally
        {
            await DropAsync();
        }
    }

    private static string Copy(string table) => $"public.bench_rows_{table}";

    /// <summary>Makes the empty tables; without <paramref name="indexes"/>, drops all but their keys and returns the statements that make them.</summary>
    private async Task<List<string>> CreateAsync(bool indexes)
    {
        await DropAsync();
        var later = new List<string>();
        foreach (var (table, _, _) in dumps)
        {
            await Bench.ExecAsync(cs, $"create table {Copy(table)} (like {ProjectionTables.Name(table)} including all)");
            if (indexes)
            {
                continue;
            }
            await using var c = new NpgsqlConnection(cs);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                "select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) from pg_index i " +
                "where i.indrelid = $1::regclass and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)", c)
            {
                Parameters = { new() { Value = Copy(table) } },
            };
            var found = new List<(string Name, string Sql)>();
            await using (var reader = await cmd.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    found.Add((reader.GetString(0), reader.GetString(1)));
                }
            }
            foreach (var (name, sql) in found)
            {
                await Bench.ExecAsync(cs, $"drop index {name}");
                later.Add(sql);
            }
        }
        return later;
    }

    private async Task LoadAsync(NpgsqlConnection c, (string Table, string? File, byte[]? Bytes) dump)
    {
        if (dump.File is { } file)
        {
            await using var cmd = new NpgsqlCommand($"copy {Copy(dump.Table)} from '{file}' (format binary)", c) { CommandTimeout = 0 };
            await cmd.ExecuteNonQueryAsync();
            return;
        }
        await using var raw = await c.BeginRawBinaryCopyAsync($"copy {Copy(dump.Table)} from stdin (format binary)");
        await raw.WriteAsync(dump.Bytes);
    }

    private async Task DropAsync()
    {
        foreach (var (table, _, _) in dumps)
        {
            await Bench.ExecAsync(cs, $"drop table if exists {Copy(table)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DropAsync();
        foreach (var (_, file, _) in dumps)
        {
            if (file is null)
            {
                continue;
            }
            try
            {
                File.Delete(file);
            }
            catch (UnauthorizedAccessException)
            {
                Bench.Log($"could not remove {file} (written by the server's user)");
            }
        }
    }
}
