using System.Security.Cryptography;
using System.Text;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Auditing;

/// <summary>A projection's state in one hash: its rows' content in a fixed order, surrogate ids left out.</summary>
public sealed record ProjectionFingerprint(string Projection, long Rows, string Hash);

public sealed record RebuildReport(int Events, IReadOnlyList<ProjectionFingerprint> Before, IReadOnlyList<ProjectionFingerprint> After)
{
    public bool Unchanged => Before.SequenceEqual(After);

    /// <summary>Shadow schemas left by replays or rebuilds that died (e.g. killed), dropped by this one.</summary>
    public IReadOnlyList<string> AbandonedShadowsDropped { get; init; } = [];
}

/// <summary>
/// DESIGN §8 rebuild: the projections are built from the log into a shadow schema while queries go
/// on answering from the live ones; then, under the write lock, the shadow takes the writes that
/// came meanwhile and its rows replace the live rows in one short transaction. A rebuild killed at
/// any point leaves the live projections as they were (the switch commits whole or not at all) and
/// at most a shadow schema, which the next rebuild or replay drops.
/// </summary>
public static class Rebuild
{
    /// <summary>What `rebuild NAME` accepts, and the tables each name covers.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Names = new Dictionary<string, string[]>
    {
        ["organizations"] = ["organizations"],
        ["sources"] = ["sources"],
        ["deals"] = ["deals"],
        ["facts"] = ["fact_versions"],
        ["holdings"] = ["holding_segments"],
    };

    public static async Task<RebuildReport> RebuildAsync(this Ledger ledger, string? projection = null, IProgress<AuditProgress>? progress = null, CancellationToken ct = default)
    {
        string[] tables = projection is null ? [.. ProjectionTables.Projections]
            : Names.TryGetValue(projection, out var named) ? [.. named, "ledger_position"]
            : throw LedgerException.Invalid($"unknown projection '{projection}' (known: {string.Join(", ", Names.Keys)})");
        var before = await FingerprintAsync(ledger, ct);
        await using var shadow = await ShadowProjections.CreateAsync(ledger, "rebuild", ct);
        var total = await ledger.ReadAsync(null, (c, _, token) => EventLogReader.CountAsync(c, DateTimeOffset.MaxValue, token), ct);
        var report = new Progress<int>(n => progress?.Report(new AuditProgress("rebuilding projections", n, total)));
        await shadow.CatchUpAsync(DateTimeOffset.MaxValue, report, ct);

        await using (var c = await ledger.Database.OpenConnectionAsync(ct))
        await using (var tx = await c.BeginTransactionAsync(ct))
        {
            await Ledger.TakeWriteLockAsync(c, ct);
            await shadow.CatchUpAsync(DateTimeOffset.MaxValue, report, ct);
            await using var version = Sql.Command(c, $"select projection_version from {ProjectionTables.Name("ledger_position")}");
            var builtBy = await version.ExecuteScalarAsync(ct);
            foreach (var table in tables)
            {
                // A bulk copy (with index upkeep) may outlast any statement timeout: it runs to the end.
                await using var copy = Sql.Command(c, $"delete from {ProjectionTables.Name(table)}; insert into {ProjectionTables.Name(table)} select * from {shadow.Schema}.{table}");
                copy.CommandTimeout = 0;
                await copy.ExecuteNonQueryAsync(ct);
                if (await ShadowProjections.HasIdAsync(c, table, ct))
                {
                    // New rows continue after the rebuilt ones, and never below the sequence's last value: setval
                    // is not undone if this transaction is (a crash before the commit), and the old rows stay then.
                    var sequence = $"pg_get_serial_sequence('{ProjectionTables.Name(table)}', 'id')";
                    await Sql.ExecAsync(c, $"select setval({sequence}, greatest((select max(id) from {ProjectionTables.Name(table)}), pg_sequence_last_value({sequence}::regclass), 1))", ct);
                }
            }
            if (projection is not null && builtBy is int kept)
            {
                // Only a whole rebuild makes every projection this version's.
                await Sql.ExecAsync(c, $"update {ProjectionTables.Name("ledger_position")} set projection_version = $1", ct, kept);
            }
            await tx.CommitAsync(ct);
            // Every row was replaced: the planner's picture of the tables is the old one.
            await Projections.AnalyzeAsync(c, tables, ct);
        }
        return new RebuildReport(shadow.EventsApplied, before, await FingerprintAsync(ledger, ct)) { AbandonedShadowsDropped = shadow.Abandoned };
    }

    /// <summary>Why the projections need a whole `rebuild` (another version of the fold built them), or null.</summary>
    public static async Task<string?> ProjectionsOutdatedAsync(this Ledger ledger, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        return await Projections.OutdatedAsync(c, ct);
    }

    /// <summary>Each projection's fingerprint: a SHA-256 over its rows (ids left out: a rebuild may number rows anew), in a fixed order.</summary>
    public static Task<IReadOnlyList<ProjectionFingerprint>> FingerprintAsync(Ledger ledger, CancellationToken ct = default) =>
        ledger.ReadAsync<IReadOnlyList<ProjectionFingerprint>>(null, async (c, _, token) =>
        {
            // Rows become text, and recorded times become text in the session's time zone: in UTC,
            // so the same state has the same fingerprint from any session.
            await using var tx = await c.BeginTransactionAsync(token);
            await Sql.ExecAsync(c, "set local timezone = 'UTC'", token);
            var result = new List<ProjectionFingerprint>();
            foreach (var table in ProjectionTables.Projections)
            {
                var id = await ShadowProjections.HasIdAsync(c, table, token) ? " - 'id'" : "";
                // The rows, sorted by the server, hashed here as they stream in (joined by newlines, UTF-8): a
                // large ledger's rows do not fit in one PostgreSQL string (1 GB), as an aggregate would need.
                await using var cmd = Sql.Command(c, $"select (to_jsonb(t){id})::text as r from {ProjectionTables.Of(table)} t order by r");
                cmd.CommandTimeout = 0;
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long rows = 0;
                await using (var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, token))
                {
                    while (await reader.ReadAsync(token))
                    {
                        if (rows++ > 0)
                        {
                            hash.AppendData("\n"u8);
                        }
                        hash.AppendData(Encoding.UTF8.GetBytes(reader.GetString(0)));
                    }
                }
                result.Add(new ProjectionFingerprint(table, rows, Convert.ToHexStringLower(hash.GetHashAndReset())));
            }
            await tx.CommitAsync(token);
            return result;
        }, ct);
}
