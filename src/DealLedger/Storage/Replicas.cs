using Npgsql;

namespace DealLedger.Storage;

/// <summary>
/// PostgreSQL hot standbys that may answer reads (docs/nodes.md). A standby holds every write recorded at or before the
/// last instant it has replayed (recorded order is commit order, and a standby replays commits in order), so it answers a
/// knownAt exactly as the primary does once it has replayed far enough; <see cref="Ledger"/> checks that in each read's own
/// statement and otherwise waits up to <see cref="Wait"/>, then asks the primary.
/// </summary>
public sealed class Replicas : IAsyncDisposable
{
    /// <summary>How long a read waits for a standby to replay far enough before the primary answers it.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(1);

    private readonly Replica[] all;
    private int next = -1;

    private Replicas(Replica[] all, TimeSpan wait)
    {
        this.all = all;
        Wait = wait;
    }

    public TimeSpan Wait { get; }

    internal IReadOnlyList<Replica> All => all;

    /// <summary>
    /// The standbys of a setting (one connection string each) and of a multi-host connection string (its hosts, Npgsql
    /// choosing a standby among them: prefer-standby); none: null.
    /// </summary>
    public static Replicas? Of(string connectionString, IEnumerable<string>? standbys, TimeSpan? wait = null)
    {
        var list = (standbys ?? []).Where(s => !string.IsNullOrWhiteSpace(s))
            .Select(s => new Replica(LedgerStore.DataSource(QuickToGiveUp(ToStandbys(s))), Hosts(s))).ToList();
        if (LedgerStore.IsMultiHost(connectionString))
        {
            var reads = new NpgsqlConnectionStringBuilder(QuickToGiveUp(connectionString)) { TargetSessionAttributes = "prefer-standby" };
            list.Add(new Replica(LedgerStore.DataSource(reads.ConnectionString), Hosts(connectionString)));
        }
        if (wait is { } w && (w < TimeSpan.Zero || w > TimeSpan.FromMinutes(1)))
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, $"the replica wait must be between 0 and 1 minute, not {w}") { Field = "ReplicaWait" };
        }
        return list.Count == 0 ? null : new Replicas([.. list], wait ?? DefaultWait);
    }

    /// <summary>
    /// A standby setting naming several hosts reads from the standbys among them (the primary when none is up), unless it
    /// says otherwise: the ledger's own default for several hosts is the primary (<see cref="LedgerStore"/>), for writes.
    /// </summary>
    private static string ToStandbys(string connectionString) =>
        LedgerStore.IsMultiHost(connectionString) && new NpgsqlConnectionStringBuilder(connectionString).TargetSessionAttributes is null or ""
            ? new NpgsqlConnectionStringBuilder(connectionString) { TargetSessionAttributes = "prefer-standby" }.ConnectionString
            : connectionString;

    /// <summary>
    /// A standby that does not answer is worth little waiting for: the primary can answer. So a replica's connections give up
    /// after 2 s (Npgsql's default is 15 s) unless the connection string sets its own Timeout.
    /// </summary>
    private static string QuickToGiveUp(string connectionString) =>
        LedgerStore.Sets(new NpgsqlConnectionStringBuilder(connectionString), "Timeout")
            ? connectionString
            : new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 2 }.ConnectionString;

    /// <summary>The next standby in turn that is not down (null: all are).</summary>
    internal Replica? Pick()
    {
        var start = Interlocked.Increment(ref next);
        for (var i = 0; i < all.Length; i++)
        {
            if (all[(int)((uint)(start + i) % (uint)all.Length)] is { Down: false } replica)
            {
                return replica;
            }
        }
        return null;
    }

    /// <summary>Hosts and ports, never the password.</summary>
    private static string Shown(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{b.Host}{(b.Host?.Contains(',') == true ? "" : $":{b.Port}")}/{b.Database}";
    }

    /// <summary>One connection string per host, for telling each one's state (a multi-host string's hosts one by one).</summary>
    private static string[] Hosts(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return [.. (b.Host ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(h =>
        {
            var one = new NpgsqlConnectionStringBuilder(connectionString) { TargetSessionAttributes = null, Timeout = 3 };
            var colon = h.LastIndexOf(':');
            if (colon > 0 && int.TryParse(h[(colon + 1)..], out var port))
            {
                (one.Host, one.Port) = (h[..colon], port);
            }
            else
            {
                one.Host = h;
            }
            return one.ConnectionString;
        })];
    }

    /// <summary>
    /// Each standby host's state beside the primary's position (for /health/ready), the hosts asked at once: a probe waits
    /// for the slowest one (3 s at most), not for their sum.
    /// </summary>
    public async Task<IReadOnlyList<ReplicaState>> StatesAsync(long primarySequence, DateTimeOffset? primaryRecordedAt, CancellationToken ct) =>
        await Task.WhenAll(all.SelectMany(r => r.Hosts).Distinct().Select(async host =>
        {
            var name = Shown(host);
            try
            {
                await using var c = new NpgsqlConnection(LedgerStore.WithClientCheck(host));
                await c.OpenAsync(ct);
                await using var cmd = Sql.Command(c,
                    $"select pg_is_in_recovery(), last_sequence, last_recorded_at from {ProjectionTables.Name("ledger_position")} where id = 1");
                await using var r = await cmd.ExecuteReaderAsync(ct);
                var (standby, sequence, recorded) = await r.ReadAsync(ct)
                    ? (r.GetBoolean(0), r.GetInt64(1), r.GetFieldValue<DateTimeOffset>(2))
                    : (true, 0L, (DateTimeOffset?)null);
                return new ReplicaState(name, standby ? "standby" : "primary", Math.Max(0, primarySequence - sequence),
                    primaryRecordedAt is { } p && recorded is { } at && p > at ? p - at : TimeSpan.Zero, null);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
            {
                return new ReplicaState(name, "unreachable", null, null, e.Message);
            }
        }));

    public async ValueTask DisposeAsync()
    {
        foreach (var r in all)
        {
            await r.Database.DisposeAsync();
        }
    }
}

/// <summary>A standby host as /health/ready tells it: its role, and how far it stands behind the primary.</summary>
/// <param name="EventsBehind">Events the primary has and it has not replayed.</param>
/// <param name="RecordedBehind">How much earlier the last write it replayed was recorded than the primary's last.</param>
public sealed record ReplicaState(string Host, string Role, long? EventsBehind, TimeSpan? RecordedBehind, string? Problem);

/// <summary>One read route to standbys: its pool, its batched "now" reads, and the furthest instant it was seen to have replayed.</summary>
internal sealed class Replica(NpgsqlDataSource database, string[] hosts)
{
    /// <summary>How long a standby that did not catch up within the wait is not waited for, and one that failed not asked.</summary>
    private static readonly TimeSpan Rest = TimeSpan.FromSeconds(1);

    private long replayedTicks = DateTimeOffset.MinValue.UtcTicks;
    private long gaveUpAt; // a Stopwatch timestamp; 0: never

    public NpgsqlDataSource Database { get; } = database;

    public NowReads NowReads { get; } = new(database);

    public string[] Hosts { get; } = hosts;

    /// <summary>Whether it was seen to have replayed every write recorded at or before <paramref name="instant"/>.</summary>
    public bool Covers(DateTimeOffset instant) => instant.UtcTicks <= Volatile.Read(ref replayedTicks);

    /// <summary>Notes the last instant it was seen to have replayed (it only moves forward while it stays a standby of this log).</summary>
    public void Replayed(DateTimeOffset? instant)
    {
        if (instant is not { } at)
        {
            return;
        }
        var seen = Volatile.Read(ref replayedTicks);
        while (at.UtcTicks > seen && Interlocked.CompareExchange(ref replayedTicks, at.UtcTicks, seen) is var was && was != seen)
        {
            seen = was;
        }
    }

    private long failedAt; // a Stopwatch timestamp; 0: never

    /// <summary>It did not catch up within the wait: for a while, reads it is not known to cover do not wait for it.</summary>
    public void GaveUp() => Volatile.Write(ref gaveUpAt, System.Diagnostics.Stopwatch.GetTimestamp());

    public bool Resting => Within(Volatile.Read(ref gaveUpAt));

    /// <summary>It could not answer (unreachable, shutting down, a conflict with replay): for a while, no read is sent to it.</summary>
    public void Failed() => Volatile.Write(ref failedAt, System.Diagnostics.Stopwatch.GetTimestamp());

    public bool Down => Within(Volatile.Read(ref failedAt));

    private static bool Within(long since) => since != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(since) < Rest;

    /// <summary>A later connection of a read reached a server behind the instant the read answers as of.</summary>
    internal sealed class Behind() : Exception("the standby reached is behind the instant the read answers as of");

    /// <summary>
    /// A failure that says nothing about the query, only that this standby cannot answer it now: unreachable, shutting down,
    /// or a query cancelled by a conflict with replay (40001). The primary answers instead.
    /// </summary>
    public static bool Unusable(Exception e) => e switch
    {
        // Also what Npgsql deems transient (out of connections or memory, …), and a refused login (class 28: a password or
        // pg_hba.conf of the standby's own; 3D000: no such database there): /health/ready tells them, reads go on.
        PostgresException p => p.IsTransient || p.SqlState is PostgresErrorCodes.DatabaseDropped or PostgresErrorCodes.InvalidCatalogName
            || p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("28", StringComparison.Ordinal),
        NpgsqlException or TimeoutException or System.Net.Sockets.SocketException => true,
        _ => false,
    };
}
