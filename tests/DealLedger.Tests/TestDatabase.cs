using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// A database of its own for one test class: a copy of a template that has migrations/ applied,
/// so every class starts from the real schema, runs in parallel with the others, and leaves nothing.
/// The server is the one ConnectionStrings__DealLedger names (eng/test sets it), else the checkout's
/// private cluster (eng/pg).
/// </summary>
public sealed class TestDatabase : IAsyncLifetime, IAsyncDisposable
{
    /// <summary>A database for one test alone.</summary>
    public static async Task<TestDatabase> CreateAsync()
    {
        var db = new TestDatabase();
        await db.InitializeAsync();
        return db;
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    private static readonly SemaphoreSlim TemplateGate = new(1, 1);
    private static string? template;

    public string Name { get; } = $"t_{Guid.NewGuid():N}";
    public string ConnectionString { get; private set; } = "";

    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>
    /// A host's DLL in its own build output (same configuration as the tests). Run from there, not
    /// from the tests' folder: that one resolves shared assemblies for ASP.NET, not for a plain host.
    /// </summary>
    public static string BuiltHost(string project)
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(RepoRoot, "src", project, "bin", framework.Parent!.Name, framework.Name, $"{project}.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{project} is not built (it is a ProjectReference of the tests)", path);
    }

    public static string ServerConnectionString { get; } = ResolveServer();

    public Ledger Connect(Func<string, string>? adjust = null) =>
        Ledger.Connect(adjust is null ? ConnectionString : adjust(ConnectionString));

    public async Task InitializeAsync()
    {
        var source = await TemplateAsync();
        await using (var admin = new NpgsqlConnection(ServerConnectionString))
        {
            await admin.OpenAsync();
            await using var cmd = new NpgsqlCommand($"create database {Name} template {source}", admin);
            await cmd.ExecuteNonQueryAsync();
        }
        ConnectionString = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = Name }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(ServerConnectionString);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand($"drop database if exists {Name} with (force)", admin);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>A template per content of migrations/, made once per server (advisory-locked across test processes).</summary>
    private static async Task<string> TemplateAsync()
    {
        await TemplateGate.WaitAsync();
        try
        {
            if (template is not null)
            {
                return template;
            }
            var dir = Path.Combine(RepoRoot, "migrations");
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Concat(
                Directory.GetFiles(dir, "*.sql").Order(StringComparer.Ordinal).Select(f => Path.GetFileName(f) + File.ReadAllText(f)))));
            var name = $"dealledger_tpl_{Convert.ToHexStringLower(hash)[..16]}";
            await using var admin = new NpgsqlConnection(ServerConnectionString);
            await admin.OpenAsync();
            await using (var lockCmd = new NpgsqlCommand("select pg_advisory_lock(7715)", admin))
            {
                await lockCmd.ExecuteNonQueryAsync();
            }
            try
            {
                await using var exists = new NpgsqlCommand("select count(*) from pg_database where datname = $1", admin) { Parameters = { new() { Value = name } } };
                if ((long)(await exists.ExecuteScalarAsync())! == 0)
                {
                    var building = name + "_building";
                    await Exec(admin, $"drop database if exists {building} with (force)");
                    await Exec(admin, $"create database {building}");
                    var cs = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = building, Pooling = false }.ConnectionString;
                    await using (var ledger = Ledger.Connect(cs))
                    {
                        await ledger.ApplyAsync(dir);
                    }
                    NpgsqlConnection.ClearAllPools();
                    await Exec(admin, $"alter database {building} rename to {name}");
                }
            }
            finally
            {
                await Exec(admin, "select pg_advisory_unlock(7715)");
            }
            return template = name;
        }
        finally
        {
            TemplateGate.Release();
        }
    }

    private static async Task Exec(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    private static string ResolveServer()
    {
        var configured = Environment.GetEnvironmentVariable(LedgerStore.EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }
        // Running `dotnet test` by hand: use (and start) the checkout's private cluster.
        var info = new ProcessStartInfo(Path.Combine(RepoRoot, "eng", "pg"), "connection") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0 && output.Length > 0
            ? output
            : throw new InvalidOperationException($"no PostgreSQL: set {LedgerStore.EnvironmentVariable} or run eng/test ({process.StandardError.ReadToEnd()})");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DealLedger.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("cannot find the checkout (DealLedger.sln) above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// Tables a running API host writes by itself, whatever its requests do: Wolverine's node registry
    /// and heartbeat (its nodes, their agent assignments, node records and the control queue). Every
    /// other table and sequence is in the fingerprint.
    /// </summary>
    public static readonly IReadOnlySet<string> HostBookkeeping = new HashSet<string>(StringComparer.Ordinal)
    {
        "wolverine.wolverine_nodes", "wolverine.wolverine_node_assignments", "wolverine.wolverine_node_records",
        "wolverine.wolverine_control_queue", "wolverine.wolverine_agent_restrictions",
    };

    private string? fingerprintSql;

    /// <summary>
    /// A fingerprint of everything the database stores: every table of every schema (the log and its
    /// streams, the projections, API keys, seals, Marten's progression and high-water skips,
    /// Wolverine's envelopes, dead letters and queues) and the position of every sequence — a
    /// rejected write that consumed an event sequence number would show. Only <see cref="HostBookkeeping"/>
    /// is left out. One prepared statement; the table list is read once per database.
    /// </summary>
    public async Task<string> FingerprintAsync()
    {
        await using var c = new NpgsqlConnection(ConnectionString);
        await c.OpenAsync();
        fingerprintSql ??= await FingerprintSqlAsync(c);
        var parts = new StringBuilder();
        await using var cmd = new NpgsqlCommand(fingerprintSql, c);
        // Planning the union of every table costs most of the time; prepared once per pooled connection, it is a few milliseconds.
        await cmd.PrepareAsync();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            parts.Append(reader.GetString(0)).Append('=').Append(reader.IsDBNull(1) ? "-" : reader.GetString(1)).Append(';');
        }
        return parts.ToString();
    }

    private static async Task<string> FingerprintSqlAsync(NpgsqlConnection c)
    {
        var tables = new List<string>();
        await using (var cmd = new NpgsqlCommand(
            "select quote_ident(table_schema) || '.' || quote_ident(table_name) from information_schema.tables " +
            "where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1", c))
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                tables.Add(r.GetString(0));
            }
        }
        var kept = tables.Where(t => !HostBookkeeping.Contains(t)).ToList();
        // Sequences owned by left-out tables (serial node numbers) move with them.
        var sequences = "select 'sequence ' || schemaname || '.' || sequencename, coalesce(last_value::text, 'unused') from pg_sequences s " +
            "where schemaname not in ('pg_catalog', 'information_schema') and not exists (select 1 from pg_depend d join pg_class q on q.oid = d.objid " +
            "join pg_class t on t.oid = d.refobjid join pg_namespace n on n.oid = t.relnamespace where q.relname = s.sequencename and d.deptype = 'a' " +
            $"and n.nspname || '.' || t.relname = any(array[{string.Join(", ", HostBookkeeping.Select(t => $"'{t}'"))}]))";
        return string.Join(" union all ", kept.Select(t => $"select '{t}', md5(string_agg(x::text, '|' order by x::text)) from {t} x"))
            + " union all " + sequences + " order by 1";
    }
}
