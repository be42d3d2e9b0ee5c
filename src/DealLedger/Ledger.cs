using DealLedger.Deals;
using DealLedger.Storage;
using DealLedger.Time;
using DealLedger.Writing;
using Marten;
using Npgsql;

namespace DealLedger;

/// <summary>What a write stored: nothing (everything was already known), or events up to a sequence.</summary>
public sealed record WriteResult(int EventsAppended, long? LastSequence, DateTimeOffset? RecordedAt)
{
    public static readonly WriteResult Unchanged = new(0, null, null);
}

/// <summary>A write about to commit (or just committed): its transaction and the events it stored, in sequence order.</summary>
public sealed record LedgerCommit(NpgsqlConnection Connection, NpgsqlTransaction Transaction, IReadOnlyList<LoggedEvent> Events);

/// <summary>
/// The ledger: an append-only log in PostgreSQL (Marten) and the projections that answer from it.
/// Capabilities (Holdings, Relationships, Importing, …) extend it; hosts call them.
/// </summary>
public sealed class Ledger : IAsyncDisposable
{
    // One lock orders all writes: recorded times then follow commit order (DESIGN §3 rule 8).
    internal const long WriteLock = 0x4465616C4C656467; // "DealLedg"

    /// <summary>The PostgreSQL NOTIFY channel on which every committed write announces its last sequence.</summary>
    public const string LogChannel = "dealledger_log";

    // Marten is needed only for its event serializer (the stored JSON) and the schema; queries read
    // the projections directly, so a read-only command (most CLI calls) never pays for building the store.
    private readonly Lazy<DocumentStore> store;

    private readonly string connectionString;

    private Ledger(string connectionString, NpgsqlDataSource database, bool createSchema)
    {
        this.connectionString = connectionString;
        Database = database;
        NowReads = new NowReads(database);
        store = new Lazy<DocumentStore>(() => LedgerStore.Create(database, createSchema));
    }

    public NpgsqlDataSource Database { get; }

    /// <summary>The "now" reads of the primary, which share round trips when in flight together.</summary>
    internal NowReads NowReads { get; }

    /// <summary>The sources and events findings cite, as this ledger's reads found them (they never change).</summary>
    internal Holdings.Citations Citations { get; } = new();

    /// <summary>Organizations' names as this ledger's headline queries read them (a registration never changes once recorded).</summary>
    internal Recent<string, string> Names { get; } = new(100_000, StringComparer.Ordinal);

    /// <summary>Which organizations have names over time, as far as this process has read (<see cref="Organizations.NamedOrganizations"/>).</summary>
    internal Organizations.NamedOrganizations Named { get; } = new();

    /// <summary>The fact versions and open segments this ledger's writes read (they never change once stored).</summary>
    internal Writing.KeptRows Kept { get; } = new();

    /// <summary>The webhook subscriptions a write tells (through the outbox) that it may have something for them.</summary>
    internal Subscriptions.Subscribers Subscribers { get; } = new();
    internal DocumentStore Store => store.Value;

    /// <summary>Today, for queries that do not say `at`.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Who writes when a write does not say (the CLI: the OS user); stored with every event.</summary>
    public string Writer { get; init; } = Environment.UserName;

    /// <summary>
    /// Runs inside every write's transaction after its events and projections are in, before commit:
    /// what must commit with the events or not at all (the messaging outbox) hooks in here.
    /// </summary>
    public Func<LedgerCommit, CancellationToken, Task>? Committing { get; set; }

    /// <summary>Runs after a write committed (e.g. to send what the outbox holds at once).</summary>
    public Func<LedgerCommit, CancellationToken, Task>? Committed { get; set; }

    /// <summary>
    /// Runs when the commit itself failed (the connection broke during it): the server may have
    /// committed or not, and the caller is told the write failed. What was stored in the write's
    /// transaction for later (the outbox) must then be left to someone who can find out.
    /// </summary>
    public Action<LedgerCommit>? CommitUncertain { get; set; }

    /// <summary>Test seam: runs after a write's events and projections are in, just before it commits.</summary>
    public Func<CancellationToken, Task>? BeforeCommit { get; set; }

    /// <param name="clock">Where "today" comes from (default: the system clock); only its UTC time is read.</param>
    /// <param name="replicas">Hot standbys that may answer reads (<see cref="Storage.Replicas.Of"/>); writes never go there.</param>
    /// <param name="currencies">The currencies amounts are also given in (<see cref="Currencies"/>); EUR and USD unless given.</param>
    public static Ledger Connect(string connectionString, bool createSchema = false, TimeProvider? clock = null, Replicas? replicas = null, IReadOnlyList<string>? currencies = null)
    {
        return new Ledger(connectionString, LedgerStore.DataSource(connectionString), createSchema)
        {
            Clock = clock ?? TimeProvider.System, Replicas = replicas, Currencies = currencies is null ? DefaultCurrencies : CheckCurrencies(currencies),
        };
    }

    private static readonly string[] DefaultCurrencies = ["EUR", "USD"];

    /// <summary>
    /// The currencies investment and acquisition amounts are also given in, converted by the rates recorded (setting
    /// DealLedger:Currencies, e.g. "EUR,USD"; EUR and USD unless set), beside the original amount.
    /// </summary>
    public IReadOnlyList<string> Currencies { get; private init; } = DefaultCurrencies;

    /// <summary>A setting's currencies, each an ISO 4217 code, or the setting's error.</summary>
    public static IReadOnlyList<string> CheckCurrencies(IEnumerable<string> currencies)
    {
        var list = currencies.Select(x => x.Trim()).Where(x => x.Length > 0).Distinct().ToList();
        if (list.FirstOrDefault(x => !Deals.Currencies.IsKnown(x)) is { } bad)
        {
            throw LedgerException.Invalid($"DealLedger:Currencies: '{bad}' is not an ISO 4217 currency code (e.g. EUR, USD)");
        }
        return list;
    }

    /// <summary>The standbys reads may go to (none: the primary answers every read).</summary>
    public Replicas? Replicas { get; private init; }

    /// <summary>The same ledger answering from the projections in another schema (a replay's or a rebuild's shadow); never for writing.</summary>
    internal Ledger WithProjectionsIn(string schema) =>
        new(connectionString, LedgerStore.DataSource(connectionString, schema), createSchema: false) { Clock = Clock, Currencies = Currencies };

    public DateOnly Today => DateOnly.FromDateTime(Clock.GetUtcNow().UtcDateTime);

    /// <summary>
    /// Runs a command: lets <paramref name="decide"/> load what it reads (its first round trip takes the write lock) and
    /// record events, folds the projections by the one fold that rebuild and replay run, stores the events with the rows
    /// (one batch; a big write's events by COPY first), and commits — all or nothing.
    /// </summary>
    /// <param name="writer">Who asks (an API key's name); default <see cref="Writer"/>.</param>
    internal async Task<WriteResult> WriteAsync(Func<LedgerTransaction, CancellationToken, Task> decide, CancellationToken ct = default, string? writer = null)
    {
        // Built before the write lock is taken: a first write must not hold it while Marten starts.
        var store = Store;
        using var activity = LedgerTelemetry.Source.StartActivity("ledger.write");
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var connection = await Database.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // The write lock is taken by the write's first round trip, with its first reads (LedgerTransaction.NewReads).
        var write = new LedgerTransaction(connection, new LedgerState { Kept = Kept, Citations = Citations }) { Writer = writer ?? Writer };
        await decide(write, ct);
        await write.LockedAsync(ct);
        LedgerTelemetry.Decide.Record(LedgerTelemetry.Since(started));
        if (write.Pending.Count == 0)
        {
            await tx.RollbackAsync(ct);
            activity?.SetTag("dealledger.events", 0);
            return WriteResult.Unchanged;
        }
        var folding = System.Diagnostics.Stopwatch.GetTimestamp();
        var append = EventCopy.Of(store, write.Pending, write.RecordedAt, writer ?? Writer, Guid.NewGuid().ToString());
        // The events are numbered from the sequence read under the lock. A small write's go in one statement with its
        // projection rows; a big one's are copied while the fold works in memory, before the rows are stored.
        var first = write.FirstSequence;
        var logged = append.Logged(first);
        // Followers of the change feed wake on this; PostgreSQL delivers it only if the write commits.
        var notify = Sql.Statement("select pg_notify($1, $2)", LogChannel, logged[^1].Ref.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await ProjectionFold.ApplyAsync(connection, write.State, logged, ct, also: append.InOneStatement ? [append.Statement(first), notify] : [notify],
            meanwhile: append.InOneStatement ? null : () => append.CopyAsync(connection, first, ct));
        LedgerTelemetry.Fold.Record(LedgerTelemetry.Since(folding));
        var commit = new LedgerCommit(connection, tx, logged);
        if (Committing is { } committing)
        {
            await committing(commit, ct);
        }
        if (BeforeCommit is { } hook)
        {
            await hook(ct);
        }
        var commitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await tx.CommitAsync(ct);
        }
        catch (Exception) when (CommitUncertain is { } uncertain)
        {
            uncertain(commit);
            throw;
        }
        LedgerTelemetry.Commit.Record(LedgerTelemetry.Since(commitStarted));
        LedgerTelemetry.Writes.Add(1);
        LedgerTelemetry.EventsAppended.Add(logged.Count);
        activity?.SetTag("dealledger.events", logged.Count);
        activity?.SetTag("dealledger.last_sequence", logged[^1].Ref.Sequence);
        if (Committed is { } committed)
        {
            await committed(commit, ct);
        }
        return new WriteResult(logged.Count, logged[^1].Ref.Sequence, write.RecordedAt);
    }

    /// <summary>Holds off every write until the caller's transaction ends.</summary>
    internal static Task TakeWriteLockAsync(NpgsqlConnection connection, CancellationToken ct) =>
        Sql.ExecAsync(connection, WriteLockSql, ct, WriteLock);

    /// <summary>Takes the write lock ($1: <see cref="WriteLock"/>) until the transaction ends.</summary>
    private const string WriteLockSql = "select pg_advisory_xact_lock($1)";

    /// <summary>
    /// Queues, first in a batch of reads, the write lock and then — under it, strictly after the last recorded event — the
    /// server's clock and the number the log's sequence hands out next; two statements: in READ COMMITTED each takes its
    /// snapshot when it starts, so the second sees the last write the first waited for (one statement would have taken it
    /// before the wait).
    /// </summary>
    internal static void QueueWriteLock(Reads reads, Action<DateTimeOffset, long> read)
    {
        reads.Add(WriteLockSql, _ => { }, WriteLock);
        reads.Add($"select greatest(clock_timestamp(), (select last_recorded_at + interval '1 microsecond' from {ProjectionTables.Of("ledger_position")} where id = 1)), " +
            Sequences.Next(ProjectionTables.Schema, "mt_events_sequence"),
            r => read(r.GetFieldValue<DateTimeOffset>(0), r.GetInt64(1)));
    }

    /// <summary>
    /// Runs a query as known at <paramref name="knownAt"/>. Without one ("now") it is answered as known at the ledger's
    /// high-water mark: the last instant recorded in the read's snapshot. Writes take their instants in commit order under
    /// one lock (rule 8), so every write recorded at or before that instant is in the snapshot and every other one is
    /// recorded after it: the answer is given again, identically, by any later query with that knownAt, and a read never
    /// waits for a write in flight. An instant asked that is not safely in the past of the log first waits for any write in
    /// flight, for the same reason.
    /// </summary>
    public Task<T> ReadAsync<T>(DateTimeOffset? knownAt, Func<NpgsqlConnection, DateTimeOffset, CancellationToken, Task<T>> query, CancellationToken ct = default) =>
        ReadAsync<object?, T>(knownAt, null, (_, _) => null, async (connect, k, _, token) => await query(await connect(token), k, token), ct);

    /// <summary>
    /// In the statement given to <see cref="ReadAsync{TRow, T}"/> for an instant asked: the knownAt answered, as SQL (its
    /// $1 is the knownAt asked), the instant the query is then handed.
    /// </summary>
    public const string KnownAtSql = "least($1::timestamptz, now())";

    /// <summary>
    /// Whether nothing was recorded after an instant (an SQL expression over it): then the open rows of a projection
    /// (upper_inf(recorded)) are exactly those as known at it, and a btree over them answers, not the GiST over both axes.
    /// </summary>
    internal static string NothingRecordedAfter(string instant) =>
        $"coalesce((select last_recorded_at from {ProjectionTables.Of("ledger_position")} where id = 1), '-infinity') <= {instant}";

    /// <summary>
    /// A "now" read's statement: one row, the high-water mark first, then <paramref name="columns"/> read in the same
    /// snapshot, where nothing is recorded after it (the open rows answer); $1 (the knownAt asked) is null. No row when
    /// nothing is recorded yet, or when the last instant recorded is ahead of the server's clock.
    /// </summary>
    internal static string AtHighWater(string columns) =>
        $"select p.last_recorded_at{(columns.Length == 0 ? "" : ", " + columns)} from {ProjectionTables.Of("ledger_position")} p " +
        "where p.id = 1 and p.last_recorded_at <= clock_timestamp()";

    private static readonly string HighWaterSql = AtHighWater("");

    /// <summary>
    /// As the other form, with the query's first statement sent in the same round trip, so a query that needs no more
    /// costs one. <paramref name="first"/> makes it: for a "now" read (true) a statement of <see cref="AtHighWater"/>, the
    /// whole read; for an instant asked (false) one whose $1 is reserved for the knownAt asked and whose
    /// <see cref="KnownAtSql"/> is the one answered, sent after the barrier. It returns one row, read by
    /// <paramref name="row"/> from the column given (its own first). A "now" read's statement (without one, the high-water
    /// mark's alone) may share its round trip with others in flight (<see cref="NowReads"/>): <paramref name="query"/> is
    /// then handed a connection only when it asks for one, for a round trip of its own.
    /// </summary>
    public async Task<T> ReadAsync<TRow, T>(DateTimeOffset? knownAt, Func<bool, NpgsqlBatchCommand>? first, Func<NpgsqlDataReader, int, TRow> row,
        Func<Func<CancellationToken, ValueTask<NpgsqlConnection>>, DateTimeOffset, TRow, CancellationToken, Task<T>> query, CancellationToken ct = default)
    {
        if (Replicas is { } replicas && replicas.Pick() is { } replica)
        {
            try
            {
                if (await ReadOnReplicaAsync(replica, replicas.Wait, knownAt, first, row, query, ct) is (true, var answer))
                {
                    LedgerTelemetry.Reads.Add(1, ReplicaTag);
                    return answer;
                }
            }
            catch (Exception e) when (Storage.Replica.Unusable(e) && !ct.IsCancellationRequested)
            {
                replica.Failed();
            }
            catch (Storage.Replica.Behind)
            {
                // A later statement of a "now" read found a server behind the instant answered: the primary answers.
            }
        }
        var (_, value, _) = await ReadOnAsync(Database, NowReads, knownAt, required: null, first, row, query, ct);
        if (Replicas is not null)
        {
            LedgerTelemetry.Reads.Add(1, PrimaryTag);
        }
        return value;
    }

    private static readonly KeyValuePair<string, object?> ReplicaTag = new("dealledger.database", "replica");
    private static readonly KeyValuePair<string, object?> PrimaryTag = new("dealledger.database", "primary");

    /// <summary>
    /// A read on a standby, answered only if the standby has replayed every write the primary would answer it from: for an
    /// instant asked, every write recorded at or before it (the primary's barrier first when the standby is not known to
    /// hold the instant); for "now", the primary's high-water mark at the moment of the request. A standby behind is asked
    /// again until <paramref name="wait"/> has passed; then the primary answers (false).
    /// </summary>
    private async Task<(bool Answered, T Value)> ReadOnReplicaAsync<TRow, T>(Storage.Replica replica, TimeSpan wait, DateTimeOffset? knownAt,
        Func<bool, NpgsqlBatchCommand>? first, Func<NpgsqlDataReader, int, TRow> row,
        Func<Func<CancellationToken, ValueTask<NpgsqlConnection>>, DateTimeOffset, TRow, CancellationToken, Task<T>> query, CancellationToken ct)
    {
        DateTimeOffset required;
        var asked = knownAt;
        if (knownAt is { } instant)
        {
            instant = Instant.TruncateToMicroseconds(instant);
            if (replica.Covers(instant))
            {
                var (answered, value, replayed) = await ReadOnAsync(replica.Database, replica.NowReads, instant, instant, first, row, query, ct);
                replica.Replayed(replayed);
                if (answered)
                {
                    return (true, value);
                }
            }
            // A standby that was behind a moment ago is not waited for (nor is the primary asked twice).
            if (replica.Resting)
            {
                return default;
            }
            // What the primary answers for the instant, once any write in flight is in, and the last instant it then holds:
            // a standby that has replayed up to the earlier of the two holds every write recorded by the instant answered.
            if (await OnPrimaryAsync(() => PrimaryMarkAsync(instant, ct)) is not var (answeredAt, last))
            {
                return default;
            }
            (asked, required) = (answeredAt, answeredAt < last ? answeredAt : last);
        }
        else if (!replica.Resting && await OnPrimaryAsync(() => HighWaterAsync(ct)) is { } highWater)
        {
            required = highWater;
        }
        else
        {
            return default; // resting, nothing recorded yet, or the primary failing: the primary answers (or says why not)
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var pause = 1; ; pause = Math.Min(pause * 2, 20))
        {
            var (answered, value, replayed) = await ReadOnAsync(replica.Database, replica.NowReads, asked, required, first, row, query, ct);
            replica.Replayed(replayed);
            if (answered)
            {
                return (true, value);
            }
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) >= wait)
            {
                replica.GaveUp();
                return default;
            }
            await Task.Delay(pause, ct);
        }
    }

    /// <summary>
    /// A statement of a standby read that the primary answers: its failure is the primary's, not the standby's, so it does
    /// not mark the standby down; null, and the read goes to the primary, which fails it (or answers) on its own.
    /// </summary>
    private static async Task<TMark?> OnPrimaryAsync<TMark>(Func<Task<TMark?>> mark)
    {
        try
        {
            return await mark();
        }
        catch (Exception e) when (Storage.Replica.Unusable(e))
        {
            return default;
        }
    }

    /// <summary>The primary's high-water mark now (batched with other reads in flight; null: nothing recorded yet).</summary>
    private async Task<DateTimeOffset?> HighWaterAsync(CancellationToken ct) =>
        await NowReads.ReadAsync(NowStatement(null), (_, _) => 0, ct) is { } mark ? mark.At : null;

    /// <summary>A "now" read's statement (<see cref="AtHighWater"/>): the query's own, or the high-water mark's alone.</summary>
    private static NpgsqlBatchCommand NowStatement(Func<bool, NpgsqlBatchCommand>? first)
    {
        var statement = first?.Invoke(true) ?? new NpgsqlBatchCommand(HighWaterSql);
        // $1, the knownAt asked, is none: so a statement's own parameters are numbered alike in both forms.
        statement.Parameters.Insert(0, new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        return statement;
    }

    /// <summary>
    /// On the primary, as an instant asked is read there: the instant answered (the barrier waits for a write in flight) and
    /// then the last instant recorded; null when nothing is.
    /// </summary>
    private async Task<(DateTimeOffset AnsweredAt, DateTimeOffset Last)?> PrimaryMarkAsync(DateTimeOffset instant, CancellationToken ct)
    {
        await using var connection = await Database.OpenConnectionAsync(ct);
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { Barrier(instant), new NpgsqlBatchCommand($"select last_recorded_at from {ProjectionTables.Of("ledger_position")} where id = 1") } };
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var answeredAt = reader.GetFieldValue<DateTimeOffset>(0);
        return await reader.NextResultAsync(ct) && await reader.ReadAsync(ct) ? (answeredAt, reader.GetFieldValue<DateTimeOffset>(0)) : null;
    }

    /// <summary>
    /// The clock and — unless the instant is safely in the past of the log (at or before its last instant: a write in flight
    /// is recorded after that) — a barrier: the statement waits for the write in flight (if any) to commit. The clock is
    /// now(), the transaction's start, so it is read before the barrier: any write not yet begun reads a later one and cannot
    /// land at or before the instant (rule 8). A knownAt in the future is answered, and echoed, as now: the ledger cannot
    /// know what it has not yet recorded. With <paramref name="replayed"/> (on a standby), a third column: the last instant
    /// recorded, what the standby has replayed; the primary's reads do without it.
    /// </summary>
    private static NpgsqlBatchCommand Barrier(DateTimeOffset instant, bool replayed = false)
    {
        var position = ProjectionTables.Of("ledger_position");
        return new NpgsqlBatchCommand($"select {KnownAtSql}, case when $1 > coalesce((select last_recorded_at from {position} where id = 1), '-infinity') " +
            $"then pg_advisory_xact_lock_shared($2) end{(replayed ? $", (select last_recorded_at from {position} where id = 1)" : "")}")
        {
            Parameters =
            {
                new() { Value = Instant.TruncateToMicroseconds(instant), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz },
                new() { Value = WriteLock },
            },
        };
    }

    /// <summary>
    /// A read on one database (the primary, or a standby). With <paramref name="required"/> it is answered only if that
    /// database has replayed every write recorded at or before it; it also says the last instant the database held.
    /// </summary>
    private async Task<(bool Answered, T Value, DateTimeOffset? Replayed)> ReadOnAsync<TRow, T>(NpgsqlDataSource database, NowReads now, DateTimeOffset? knownAt,
        DateTimeOffset? required, Func<bool, NpgsqlBatchCommand>? first, Func<NpgsqlDataReader, int, TRow> row,
        Func<Func<CancellationToken, ValueTask<NpgsqlConnection>>, DateTimeOffset, TRow, CancellationToken, Task<T>> query, CancellationToken ct)
    {
        if (knownAt is null)
        {
            if (await now.ReadAsync(NowStatement(first), row, ct) is { } shared)
            {
                if (shared.At < required)
                {
                    return (false, default!, shared.At);
                }
                NpgsqlConnection? later = null;
                try
                {
                    return (true, await query(async token => later ??= await OpenHoldingAsync(database, required is null ? null : shared.At, token), shared.At, shared.Row, ct), shared.At);
                }
                finally
                {
                    if (later is not null)
                    {
                        await later.DisposeAsync();
                    }
                }
            }
            if (required is not null)
            {
                return (false, default!, null);
            }
            // Nothing recorded yet (a write may be in flight), or the clock behind the log: as an instant ahead of both.
            knownAt = DateTimeOffset.MaxValue;
        }
        await using var connection = await database.OpenConnectionAsync(ct);
        ValueTask<NpgsqlConnection> Connection(CancellationToken _) => ValueTask.FromResult(connection);
        // One round trip, one implicit transaction: the barrier, then the query's first statement. READ COMMITTED takes its
        // snapshot after the barrier returned, so it sees the write waited for. The shared lock is held until the batch
        // ends, which only makes a write that starts meanwhile wait for that one short statement.
        var barrier = Barrier(knownAt.Value, replayed: required is not null);
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { barrier } };
        if (first?.Invoke(false) is { } then)
        {
            then.Parameters.Insert(0, barrier.Parameters[0].Clone());
            batch.BatchCommands.Add(then);
        }
        DateTimeOffset at;
        DateTimeOffset? last;
        TRow found;
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            at = reader.GetFieldValue<DateTimeOffset>(0);
            last = required is null || reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2);
            // On a standby: it must hold the instant, and its clock must have passed it. The instant answered is
            // least(asked, now()) in the standby's clock, and the primary answers the instant asked (a standby asked for
            // one holds it, or the primary has answered it already): a standby whose clock is behind would answer an
            // earlier instant, without the writes recorded between.
            if (required is { } needed && (!(last >= needed) || at < Instant.TruncateToMicroseconds(knownAt.Value)))
            {
                return (false, default!, last);
            }
            found = first is not null && await reader.NextResultAsync(ct) && await reader.ReadAsync(ct)
                ? row(reader, 0)
                : default!;
        }
        return (true, await query(Connection, at, found, ct), last);
    }

    /// <summary>
    /// The connection a "now" read's later statements use. On a standby (<paramref name="atLeast"/>: the instant the read
    /// answers as of) it must hold that instant: a new connection may reach another server than the first statement did
    /// (a replica setting naming several hosts, Load Balance Hosts, a pooler or a DNS name in front of several standbys,
    /// or prefer-standby falling back and forth), one that may be further behind. Then <see cref="Storage.Replica.Behind"/>.
    /// </summary>
    private static async ValueTask<NpgsqlConnection> OpenHoldingAsync(NpgsqlDataSource database, DateTimeOffset? atLeast, CancellationToken ct)
    {
        var connection = await database.OpenConnectionAsync(ct);
        if (atLeast is { } at)
        {
            try
            {
                if (!await Sql.ScalarAsync<bool>(connection, $"select last_recorded_at >= $1 from {ProjectionTables.Of("ledger_position")} where id = 1", ct, at))
                {
                    throw new Storage.Replica.Behind();
                }
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (store.IsValueCreated)
        {
            await store.Value.DisposeAsync();
        }
        if (Replicas is not null)
        {
            await Replicas.DisposeAsync();
        }
        await Database.DisposeAsync();
    }
}
