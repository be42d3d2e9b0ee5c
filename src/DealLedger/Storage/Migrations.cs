using System.Security.Cryptography;
using System.Text;
using Weasel.Core.Migrations;

namespace DealLedger.Storage;

public sealed record MigrationReport(IReadOnlyList<string> Applied, IReadOnlyList<string> AlreadyApplied);

/// <summary>
/// The schema comes from migrations/: SQL files generated from the code's schema (Marten's tables
/// and the projections'), applied in name order, each once, recorded with a checksum. Nothing else
/// creates schema objects outside development and tests.
/// </summary>
public static class Migrations
{
    private const long MigrationLock = 0x4465616C4D696772; // "DealMigr"
    private static readonly string Journal = ProjectionTables.Name("schema_migrations");

    public static async Task<MigrationReport> ApplyAsync(this Ledger ledger, string directory, CancellationToken ct = default)
    {
        if (!Directory.Exists(directory))
        {
            throw LedgerException.Invalid($"{directory}: no such migrations folder");
        }
        var files = Directory.GetFiles(directory, "*.sql").Where(f => !f.EndsWith(".drop.sql", StringComparison.Ordinal))
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToList();
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await Sql.ExecAsync(c, "select pg_advisory_xact_lock($1)", ct, MigrationLock);
        // Migrations name their schemas; extensions land in public, as on any default connection.
        await Sql.ExecAsync(c, "set local search_path = public", ct);
        await Sql.ExecAsync(c, $"create schema if not exists {ProjectionTables.Schema}", ct);
        await Sql.ExecAsync(c, $"create table if not exists {Journal} (name text primary key, checksum text not null, applied_at timestamptz not null default now())", ct);
        var applied = (await Sql.ListAsync(c, $"select name, checksum from {Journal}", r => (r.GetString(0), r.GetString(1)), ct))
            .ToDictionary(x => x.Item1, x => x.Item2);
        var done = new List<string>();
        var skipped = new List<string>();
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            var sql = await File.ReadAllTextAsync(file, ct);
            var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
            if (applied.TryGetValue(name, out var known))
            {
                if (known != checksum)
                {
                    throw LedgerException.Invalid($"migration {name} was changed after it was applied; add a new migration instead");
                }
                skipped.Add(name);
                continue;
            }
            await Sql.ExecAsync(c, sql, ct);
            await Sql.ExecAsync(c, $"insert into {Journal} (name, checksum) values ($1, $2)", ct, name, checksum);
            done.Add(name);
        }
        await tx.CommitAsync(ct);
        return new MigrationReport(done, skipped);
    }

    /// <summary>Writes the SQL that brings the connected database to the code's schema (after existing migrations).</summary>
    public static async Task<string?> WriteNextAsync(this Ledger ledger, string directory, string name, CancellationToken ct = default)
    {
        await ledger.ApplyAsync(directory, ct);
        var path = NextPath(directory, name);
        await ledger.Store.Storage.Database.WriteMigrationFileAsync(path, ct);
        if (new FileInfo(path).Length == 0)
        {
            File.Delete(path);
            File.Delete(Path.ChangeExtension(path, ".drop.sql"));
            return null;
        }
        return path;
    }

    /// <summary>The file the next migration named <paramref name="name"/> goes to.</summary>
    public static string NextPath(string directory, string name)
    {
        var count = Directory.GetFiles(directory, "*.sql").Count(f => !f.EndsWith(".drop.sql", StringComparison.Ordinal));
        return Path.Combine(directory, $"{count + 1:D4}_{name}.sql");
    }

    /// <summary>Throws when the database differs from the code's schema (drift between code and migrations).</summary>
    public static Task AssertSchemaMatchesCodeAsync(this Ledger ledger, CancellationToken ct = default) =>
        ledger.Store.Storage.Database.AssertDatabaseMatchesConfigurationAsync(ct);
}
