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

    /// <summary>A fingerprint of everything stored: the log and every projection table.</summary>
    public async Task<string> FingerprintAsync()
    {
        await using var c = new NpgsqlConnection(ConnectionString);
        await c.OpenAsync();
        var tables = new[] { "mt_events", "mt_streams", "organizations", "sources", "deals", "fact_versions", "holding_segments", "ledger_position" };
        var parts = new StringBuilder();
        foreach (var t in tables)
        {
            await using var cmd = new NpgsqlCommand($"select coalesce(md5(string_agg(x::text, '|' order by x::text)), '-') from {ProjectionTables.Schema}.{t} x", c);
            parts.Append(t).Append('=').Append(await cmd.ExecuteScalarAsync()).Append(';');
        }
        return parts.ToString();
    }
}
