using System.Security.Cryptography;
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
/// came meanwhile and its tables take the live tables' places in one short transaction. A rebuild killed at
/// any point leaves the live projections as they were (the switch commits whole or not at all) and
/// at most a shadow schema, which the next rebuild or replay drops.
/// </summary>
public static class Rebuild
{
    /// <summary>What `rebuild NAME` accepts, and the tables each name covers.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Names = new Dictionary<string, string[]>
    {
        ["organizations"] = ["organizations", "organization_merges"],
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
        // The live rows' fingerprint is taken by PostgreSQL while this process folds the log.
        var before = FingerprintAsync(ledger, ct);
        await using var shadow = await ShadowProjections.CreateAsync(ledger, "rebuild", ct);
        var total = await ledger.ReadAsync(null, (c, _, token) => EventLogReader.CountAsync(c, DateTimeOffset.MaxValue, token), ct);
        var report = new Progress<int>(n => progress?.Report(new AuditProgress("rebuilding projections", n, total)));
        await shadow.CatchUpAsync(DateTimeOffset.MaxValue, report, ct);
        var fingerprintBefore = await before;

        while (true)
        {
            await using var c = await ledger.Database.OpenConnectionAsync(ct);
            await using var tx = await c.BeginTransactionAsync(ct);
            await Ledger.TakeWriteLockAsync(c, ct);
            await shadow.CatchUpAsync(DateTimeOffset.MaxValue, report, ct);
            var builtBy = await Sql.ScalarAsync<int?>(c, $"select projection_version from {ProjectionTables.Name("ledger_position")}", ct);
            if (!await shadow.TryReplaceLiveAsync(c, tables, ct))
            {
                // Readers held the tables: let writes go on meanwhile, then try again.
                await tx.RollbackAsync(ct);
                await Task.Delay(Random.Shared.Next(20, 200), ct);
                continue;
            }
            if (projection is not null && builtBy is int kept)
            {
                // Only a whole rebuild makes every projection this version's.
                await Sql.ExecAsync(c, $"update {ProjectionTables.Name("ledger_position")} set projection_version = $1", ct, kept);
            }
            await tx.CommitAsync(ct);
            // The tables are new: the planner has no picture of them yet.
            await Projections.AnalyzeAsync(c, tables, ct);
            break;
        }
        return new RebuildReport(shadow.EventsApplied, fingerprintBefore, await FingerprintAsync(ledger, ct)) { AbandonedShadowsDropped = shadow.Abandoned };
    }

    /// <summary>Why the projections need a whole `rebuild` (another version of the fold built them), or null.</summary>
    public static async Task<string?> ProjectionsOutdatedAsync(this Ledger ledger, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        return await Projections.OutdatedAsync(c, ct);
    }

    /// <summary>
    /// Each projection's fingerprint: the SHA-256 of the SHA-256 digests of its rows (each row as PostgreSQL writes
    /// it as text, its columns in name order, surrogate ids left out), in ascending order of the digests, so neither
    /// the rows' order on disk nor the columns' order in the table (which differs with the migrations' history) matters.
    /// </summary>
    public static async Task<IReadOnlyList<ProjectionFingerprint>> FingerprintAsync(Ledger ledger, CancellationToken ct = default) =>
        // One connection per table, at once: each is one sequential scan and one sort in its own server process.
        await Task.WhenAll(ProjectionTables.Projections.Select(table => FingerprintAsync(ledger, table, ct)));

    private static async Task<ProjectionFingerprint> FingerprintAsync(Ledger ledger, string table, CancellationToken ct)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        // Rows become text, and recorded times become text in the session's time zone and date style: fixed here,
        // so the same state has the same fingerprint from any session.
        await Sql.ExecAsync(c, "set local timezone = 'UTC'; set local datestyle = 'ISO, YMD'", ct);
        var id = await ShadowProjections.HasIdAsync(c, table, ct);
        var columns = await Sql.ListAsync(c,
            "select quote_ident(column_name::text) from information_schema.columns where table_schema = current_schema() and table_name = $1 " +
            "and not ($2 and column_name = 'id') order by column_name",
            r => r.GetString(0), ct, table, id);
        // Only digests are sorted (32 bytes a row), not the rows: a sort of whole rows spills to disk on a large ledger.
        await using var cmd = Sql.Command(c, $"select sha256(convert_to(row({string.Join(", ", columns)})::text, 'UTF8')) h from {ProjectionTables.Of(table)} order by h");
        cmd.CommandTimeout = 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long rows = 0;
        var digest = new byte[32];
        await using (var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct))
        {
            while (await reader.ReadAsync(ct))
            {
                reader.GetBytes(0, 0, digest, 0, digest.Length);
                hash.AppendData(digest);
                rows++;
            }
        }
        await tx.CommitAsync(ct);
        return new ProjectionFingerprint(table, rows, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
