using System.Buffers;
using System.Data;
using System.Security.Cryptography;
using DealLedger.Storage;
using Npgsql;
using NpgsqlTypes;
using Weasel.Postgresql.Tables;

namespace DealLedger.Auditing;

/// <summary>What one sealing pass did: how many events it sealed, and the chain's head after it.</summary>
public sealed record SealResult(int Sealed, long? FirstSequence, long? LastSequence, long Head, string HeadLink);

/// <summary>How the log differs from what was sealed, at the first sequence where it does.</summary>
public enum BreakKind
{
    /// <summary>The event at the sequence is not the one sealed there (content changed, or replaced).</summary>
    Altered,
    /// <summary>A sealed event is gone.</summary>
    Missing,
    /// <summary>An event that was never sealed sits inside the sealed range.</summary>
    Inserted,
    /// <summary>A sealed event sits at another sequence than the one it was sealed at.</summary>
    Reordered,
    /// <summary>A bundle's file cannot be read as its format says (not JSON, wrong shape, truncated).</summary>
    Malformed,
}

/// <summary>
/// The first place a chain breaks: the sequence (and, in a bundle, the file and line), the kind of
/// break and one sentence on what was found.
/// </summary>
public sealed record ChainBreak(BreakKind Kind, long? Sequence, string? File, long? Line, string Explanation)
{
    /// <summary>One line naming where and what: what the CLI prints on stderr.</summary>
    public string Summary =>
        (File is null ? "" : File + (Line is { } l ? $" line {l}" : "") + (Sequence is { } s ? $" (sequence {s})" : "") + ": ")
        + (File is null && Sequence is { } seq ? $"sequence {seq}: " : "")
        + LedgerJson.Word(Kind) + " — " + Explanation;
}

/// <summary>Events above the sealed head: not yet covered by a seal, so not checked.</summary>
/// <param name="AboveLastWrite">How many of them lie above the last committed write (ledger_position):
/// tombstones of failed appends, or rows the ledger did not write.</param>
public sealed record UnsealedTail(long Count, long? FirstSequence, long? LastSequence, long AboveLastWrite);

/// <summary>
/// The result of verifying the ledger (<see cref="Seals.VerifyAsync"/>) or a bundle (<see cref="Bundle.Verify"/>):
/// ok, or the first break; how many events were checked, up to which sequence, and the head link.
/// </summary>
public sealed record VerifyReport(bool Ok, string Subject, long EventsChecked, long? FirstSequence, long SealedHead, string HeadLink, UnsealedTail? Unsealed, ChainBreak? Break);

/// <summary>
/// Tamper evidence (DESIGN §8): a SHA-256 hash chain over every event of the log in sequence order,
/// link(n) = SHA-256(link(n-1) ‖ canonical bytes of event n), link(0) = 32 zero bytes
/// (<see cref="CanonicalEvent"/>; docs/seals.md for third parties).
/// <para>
/// Seals are stored one row per sealed event (sequence, event id, link) in dealledger.seals, not as
/// checkpoints: verify walks the log and the seals side by side in sequence order and compares at
/// every event, so the first sequence whose event was changed, deleted, inserted or moved is named
/// exactly, in one streaming pass (a merge join of the two primary keys; per core, a range of sequences), and the event id kept with each
/// link tells a moved event from a changed one. The cost is 80-odd bytes per event.
/// </para>
/// <para>
/// Sealing covers the log up to the last committed write (ledger_position), whose events are all
/// committed; it takes a lock of its own so two sealers never interleave, and never the write lock.
/// Marten's tombstone rows (stream mt_tombstone, written for the sequences of a failed append) are
/// events of the log like any other: sealed as they are.
/// </para>
/// </summary>
public static class Seals
{
    private const long SealLock = 0x4465616C5365616C; // "DealSeal"
    private const int Page = 20_000;

    public static readonly string Table = ProjectionTables.Name("seals");

    /// <summary>The seals table, declared for migrations/ (see <see cref="ProjectionTables.All"/>).</summary>
    internal static Table Declaration()
    {
        var seals = new Table(Table);
        seals.AddColumn<long>("sequence").AsPrimaryKey();
        seals.AddColumn<Guid>("event_id").NotNull();
        seals.AddColumn("link", "bytea").NotNull();
        seals.AddColumn("sealed_at", "timestamptz").NotNull();
        return seals;
    }

    public static string Hex(ReadOnlySpan<byte> link) => Convert.ToHexStringLower(link);

    /// <summary>Seals every event up to the last committed write that is not sealed yet, in one transaction.</summary>
    public static async Task<SealResult> SealAsync(this Ledger ledger, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await Sql.ExecAsync(c, "select pg_advisory_xact_lock($1)", ct, SealLock);
        var (head, link) = await HeadAsync(c, ct);
        var upTo = await LastWriteAsync(c, ct);
        var sealedAt = (await Sql.ListAsync(c, "select now()", r => r.GetFieldValue<DateTimeOffset>(0), ct))[0];
        var count = 0;
        long? first = null;
        using var canonical = new CanonicalWriter();
        while (head < upTo)
        {
            var page = new List<(long Sequence, Guid Id, byte[] Link)>(Page);
            await using (var r = await BinaryCopyReader.StartAsync(c,
                $"select {CanonicalWriter.Columns} from {ProjectionTables.Name("mt_events")} e where e.seq_id > {head} and e.seq_id <= {upTo} order by e.seq_id limit {Page}", ct))
            {
                while (await r.ReadAsync(ct))
                {
                    canonical.Write(r, 0);
                    var next = new byte[32];
                    canonical.Link(link, next);
                    link = next;
                    page.Add((r.Int64(0), r.Uuid(1), link));
                }
            }
            if (page.Count == 0)
            {
                break;
            }
            await using (var copy = await c.BeginBinaryImportAsync($"copy {Table} (sequence, event_id, link, sealed_at) from stdin (format binary)", ct))
            {
                foreach (var (sequence, id, l) in page)
                {
                    await copy.StartRowAsync(ct);
                    await copy.WriteAsync(sequence, NpgsqlDbType.Bigint, ct);
                    await copy.WriteAsync(id, NpgsqlDbType.Uuid, ct);
                    await copy.WriteAsync(l, NpgsqlDbType.Bytea, ct);
                    await copy.WriteAsync(sealedAt, NpgsqlDbType.TimestampTz, ct);
                }
                await copy.CompleteAsync(ct);
            }
            first ??= page[0].Sequence;
            head = page[^1].Sequence;
            count += page.Count;
        }
        await tx.CommitAsync(ct);
        return new SealResult(count, first, count == 0 ? null : head, head, Hex(link));
    }

    /// <summary>
    /// Recomputes the chain from the first event and compares it with the seals at every sealed
    /// sequence; names the first break, and reports the unsealed tail. Reads one consistent snapshot,
    /// in <see cref="Partitions"/> ranges of sequences at once (see <see cref="WalkAsync"/>).
    /// </summary>
    public static Task<VerifyReport> VerifyAsync(this Ledger ledger, CancellationToken ct = default) => ledger.VerifyAsync(Partitions, ct);

    /// <summary>As the public form, reading <paramref name="partitions"/> ranges of sequences at once (tests vary it).</summary>
    internal static async Task<VerifyReport> VerifyAsync(this Ledger ledger, int partitions, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        return await WalkAsync(c, null, ct, ledger.Database, partitions);
    }

    /// <summary>
    /// How many ranges of sequences verify reads at once, each over a connection of its own in the same
    /// snapshot: one per two cores. PostgreSQL spends most of a verify writing each event's jsonb as text, on
    /// one core per connection, and this process canonicalizes and hashes what arrives: on the 2-core
    /// benchmark machine, quiet, one range ran 234,901 events/s and two 204,136 (100k, median of 3). With this
    /// process's share cut to about 2.5 µs an event, two ranges there measured no faster than one, and nor did
    /// PostgreSQL alone streaming in two (docs/benchmarks.md, twenty-sixth session).
    /// </summary>
    internal static int Partitions => Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>A sealed event as verified: its sequence, id, canonical bytes and link.</summary>
    internal delegate ValueTask SealedEvent(long sequence, Guid id, ReadOnlyMemory<byte> canonical, byte[] link, CancellationToken ct);

    /// <summary>
    /// The one walk of log and seals, in sequence order, inside the caller's (repeatable read)
    /// transaction; <paramref name="onSealed"/> sees every event that verified, in order (export).
    /// <para>
    /// With <paramref name="parallel"/> (and no <paramref name="onSealed"/>) the sequences are cut into
    /// <paramref name="partitions"/> ranges walked at once, each on a connection of its own that imports this
    /// transaction's snapshot (pg_export_snapshot), so all read the same log and seals. A range's chain
    /// starts from the link sealed at the last sealed sequence below it: up to the first break, the chain
    /// recomputed from the first event and the seals agree at every sealed sequence, so that is the very
    /// link a walk from the first event would carry there. The first break is the first one of the first
    /// range that has one; the ranges after it are stopped and not counted.
    /// </para>
    /// </summary>
    internal static async Task<VerifyReport> WalkAsync(NpgsqlConnection c, SealedEvent? onSealed, CancellationToken ct, NpgsqlDataSource? parallel = null, int partitions = 1)
    {
        var (head, headLink) = await HeadAsync(c, ct);
        var lastWrite = await LastWriteAsync(c, ct);
        var walked = (onSealed is null && parallel is not null && partitions > 1 ? await PartitionedWalkAsync(c, parallel, partitions, head, lastWrite, ct) : null)
            ?? await new ChainWalk(head, lastWrite, new byte[32], onSealed, 0, null).RunAsync(c, 0, long.MaxValue, ct);
        var tail = new UnsealedTail(walked.TailCount, walked.TailFirst, walked.TailLast, walked.AboveLastWrite);
        ChainBreak? broken = null;
        if (walked.Found is { } f)
        {
            broken = await DescribeAsync(c, f.Kind, f.Sequence, f.EventId, f.SealedId, head, ct);
        }
        else if (lastWrite > 0 && !await ExistsAsync(c, $"select exists (select 1 from {ProjectionTables.Name("mt_events")} where seq_id = $1)", ct, lastWrite))
        {
            broken = new ChainBreak(BreakKind.Missing, lastWrite, null, null,
                $"the last committed write ended at sequence {lastWrite}, but no event has that sequence: unsealed events were deleted.");
        }
        return new VerifyReport(broken is null, "ledger", walked.Checked, walked.FirstChecked, head, Hex(headLink), tail, broken);
    }

    /// <summary>The ranges (after, upTo] of sequences that cover (0, top] in <paramref name="count"/> nearly equal parts; the last is open-ended.</summary>
    internal static List<(long After, long UpTo)> Ranges(long top, int count)
    {
        count = (int)Math.Max(1, Math.Min(count, top));
        var ranges = new List<(long, long)>(count);
        for (var i = 0; i < count; i++)
        {
            ranges.Add((top / count * i + Math.Min(i, top % count), i == count - 1 ? long.MaxValue : top / count * (i + 1) + Math.Min(i + 1, top % count)));
        }
        return ranges;
    }

    /// <returns>Null when the log is too short to cut: then the one walk does it.</returns>
    private static async Task<WalkResult?> PartitionedWalkAsync(NpgsqlConnection c, NpgsqlDataSource source, int partitions, long head, long lastWrite, CancellationToken ct)
    {
        var top = (await Sql.ListAsync(c, $"select greatest(coalesce(max(seq_id), 0), $1) from {ProjectionTables.Name("mt_events")}", r => r.GetInt64(0), ct, head))[0];
        var ranges = Ranges(top, partitions);
        if (ranges.Count == 1)
        {
            return null;
        }
        var snapshot = (await Sql.ListAsync(c, "select pg_export_snapshot()", r => r.GetString(0), ct))[0];
        if (!System.Text.RegularExpressions.Regex.IsMatch(snapshot, "^[0-9A-F-]+$"))
        {
            throw new InvalidOperationException($"unexpected snapshot id '{snapshot}'");
        }
        // Each range's chain starts from the link sealed last below it (none: the genesis, 32 zero bytes).
        var starts = await Sql.ListAsync(c,
            $"select (select link from {Table} where sequence <= r.after order by sequence desc limit 1) from unnest($1::bigint[]) with ordinality r(after, n) order by n",
            r => r.IsDBNull(0) ? new byte[32] : r.GetFieldValue<byte[]>(0), ct, ranges.Select(x => x.After).ToArray());
        var stop = new Stop();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var walks = ranges.Select((range, i) => Task.Run(async () =>
        {
            try
            {
                var walk = new ChainWalk(head, lastWrite, starts[i].Length == 32 ? starts[i] : new byte[32], null, i, stop);
                if (i == 0)
                {
                    return await walk.RunAsync(c, range.After, range.UpTo, failed.Token);
                }
                await using var other = await source.OpenConnectionAsync(failed.Token);
                await using var tx = await other.BeginTransactionAsync(IsolationLevel.RepeatableRead, failed.Token);
                await Sql.ExecAsync(other, $"set transaction snapshot '{snapshot}'", failed.Token);
                return await walk.RunAsync(other, range.After, range.UpTo, failed.Token);
            }
            catch
            {
                // One range failing fails the verify: the others need not finish.
                await failed.CancelAsync();
                throw;
            }
        }, CancellationToken.None)).ToList();
        try
        {
            await Task.WhenAll(walks);
        }
        catch when (!ct.IsCancellationRequested && walks.FirstOrDefault(w => w.IsFaulted && w.Exception!.InnerException is not OperationCanceledException) is { } first)
        {
            // The range that failed first, not one that was cancelled because of it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first.Exception!.InnerException!).Throw();
        }
        // In sequence order, up to the first range with a break (whose own counts stop at it).
        var merged = new WalkResult();
        foreach (var w in walks.Select(w => w.Result))
        {
            merged.Checked += w.Checked;
            merged.FirstChecked ??= w.FirstChecked;
            merged.TailCount += w.TailCount;
            merged.TailFirst ??= w.TailFirst;
            merged.TailLast = w.TailLast ?? merged.TailLast;
            merged.AboveLastWrite += w.AboveLastWrite;
            if (w.Found is not null)
            {
                merged.Found = w.Found;
                break;
            }
        }
        return merged;
    }

    /// <summary>
    /// The events with sequences in (after, upTo], each with its seal if it has one (sealed event id, link;
    /// else nulls), in sequence order: PostgreSQL merges the two primary-key scans without sorting, one row
    /// per event. Read as binary COPY, so the event's bytes reach the canonical writer as they are. (A union
    /// of the events and the seals, merged in order, made PostgreSQL send twice the rows and took it about
    /// twice the time.) Seals whose event is gone are found by <see cref="MissingSql"/>.
    /// </summary>
    internal static string WalkSql(long after, long upTo) =>
        $"select s.event_id, s.link, {CanonicalWriter.Columns} from {ProjectionTables.Name("mt_events")} e " +
        $"left join {Table} s on s.sequence = e.seq_id where {Within("e.seq_id", after, upTo)} order by e.seq_id";

    /// <summary>The seals with sequences in (after, upTo] whose sequence holds no event, in order (none, unless events were deleted or moved).</summary>
    internal static string MissingSql(long after, long upTo) =>
        $"select s.sequence, s.event_id from {Table} s where {Within("s.sequence", after, upTo)} " +
        $"and not exists (select from {ProjectionTables.Name("mt_events")} e where e.seq_id = s.sequence) order by s.sequence";

    private static string Within(string column, long after, long upTo) =>
        upTo == long.MaxValue ? $"{column} > {after}" : $"{column} > {after} and {column} <= {upTo}";

    /// <summary>What a walk of a range found: counts up to its first break, and the break.</summary>
    private sealed class WalkResult
    {
        public long Checked, TailCount, AboveLastWrite;
        public long? FirstChecked, TailFirst, TailLast;
        public (BreakKind Kind, long Sequence, Guid? EventId, Guid? SealedId)? Found;
    }

    /// <summary>The lowest range that found a break: the ranges above it stop.</summary>
    private sealed class Stop
    {
        private int first = int.MaxValue;

        public bool Above(int range) => Volatile.Read(ref first) < range;

        public void Broken(int range)
        {
            int seen;
            while (range < (seen = Volatile.Read(ref first)) && Interlocked.CompareExchange(ref first, range, seen) != seen)
            {
            }
        }
    }

    /// <summary>The walk of one range of sequences: the events' chain recomputed and judged against the seals, sequence by sequence.</summary>
    private sealed class ChainWalk(long head, long lastWrite, byte[] start, SealedEvent? onSealed, int range, Stop? stop)
    {
        // The chain as verified so far, the link recomputed for the current event, the link sealed for it:
        // three buffers for the whole walk, no allocation per event.
        private readonly byte[] link = start;
        private readonly byte[] eventLink = new byte[32];
        private readonly byte[] sealedLink = new byte[32];
        private readonly CanonicalWriter canonical = new();
        private readonly WalkResult result = new();
        // Whether the current event's link was recomputed (only up to the sealed head), and its seal's link has 32 bytes.
        private bool hasEventLink, hasSealedLink;

        public async Task<WalkResult> RunAsync(NpgsqlConnection c, long after, long upTo, CancellationToken ct)
        {
            using var _ = canonical;
            // Seals whose event is gone: judged in sequence order among the events.
            var missing = new Queue<(long Sequence, Guid SealedId)>(await Sql.ListAsync(c, MissingSql(after, upTo), r => (r.GetInt64(0), r.GetGuid(1)), ct));
            await using (var r = await BinaryCopyReader.StartAsync(c, WalkSql(after, upTo), ct))
            {
                while (await r.ReadAsync(ct))
                {
                    var sequence = r.Int64(2);
                    while (result.Found is null && missing.TryPeek(out var gone) && gone.Sequence < sequence)
                    {
                        missing.Dequeue();
                        await JudgeAsync(gone.Sequence, null, gone.SealedId, ct);
                    }
                    if (result.Found is not null || stop?.Above(range) == true)
                    {
                        break;
                    }
                    var eventId = r.Uuid(3);
                    Guid? sealedId = r.IsNull(0) ? null : r.Uuid(0);
                    var sealedBytes = r.Bytes(1);
                    hasSealedLink = sealedBytes.Length == 32;
                    if (hasSealedLink)
                    {
                        sealedBytes.CopyTo(sealedLink);
                    }
                    hasEventLink = false;
                    if (sequence <= head)
                    {
                        canonical.Write(r, 2);
                        canonical.Link(link, eventLink);
                        hasEventLink = true;
                    }
                    await JudgeAsync(sequence, eventId, sealedId, ct);
                    if (result.Found is not null)
                    {
                        break;
                    }
                }
            }
            while (result.Found is null && stop?.Above(range) != true && missing.TryDequeue(out var last))
            {
                await JudgeAsync(last.Sequence, null, last.SealedId, ct);
            }
            return result;
        }

        /// <summary>Judges one sequence: its event (if any, with the link recomputed for it) against its seal (if any).</summary>
        private async ValueTask JudgeAsync(long s, Guid? eventId, Guid? sealedId, CancellationToken ct)
        {
            if (sealedId is null)
            {
                if (s <= head)
                {
                    Break(BreakKind.Inserted, s, eventId, null);
                    return;
                }
                result.TailCount++;
                result.TailFirst ??= s;
                result.TailLast = s;
                if (s > lastWrite)
                {
                    result.AboveLastWrite++;
                }
                return;
            }
            if (eventId is null)
            {
                Break(BreakKind.Missing, s, null, sealedId);
                return;
            }
            if (!hasSealedLink || !hasEventLink || !sealedLink.AsSpan().SequenceEqual(eventLink))
            {
                Break(BreakKind.Altered, s, eventId, sealedId);
                return;
            }
            eventLink.CopyTo(link, 0);
            result.Checked++;
            result.FirstChecked ??= s;
            if (onSealed is not null)
            {
                await onSealed(s, eventId.Value, canonical.CanonicalMemory, link, ct);
            }
        }

        private void Break(BreakKind kind, long sequence, Guid? id, Guid? sealedAs)
        {
            result.Found = (kind, sequence, id, sealedAs);
            stop?.Broken(range);
        }
    }

    /// <summary>Names what happened at the first break, looking for the events involved elsewhere in the log and the seals.</summary>
    private static async Task<ChainBreak> DescribeAsync(NpgsqlConnection c, BreakKind kind, long sequence, Guid? eventId, Guid? sealedId, long head, CancellationToken ct)
    {
        var events = ProjectionTables.Name("mt_events");
        async Task<long?> EventAt(Guid id) =>
            (await Sql.ListAsync(c, $"select seq_id from {events} where id = $1 order by seq_id limit 1", r => r.GetInt64(0), ct, id)).Cast<long?>().FirstOrDefault();
        async Task<long?> SealOf(Guid id) =>
            (await Sql.ListAsync(c, $"select sequence from {Table} where event_id = $1 order by sequence limit 1", r => r.GetInt64(0), ct, id)).Cast<long?>().FirstOrDefault();

        switch (kind)
        {
            case BreakKind.Inserted:
                return new ChainBreak(BreakKind.Inserted, sequence, null, null,
                    $"event {eventId} at sequence {sequence} was never sealed, yet lies below the sealed head ({head}): it was inserted behind the ledger's back.");
            case BreakKind.Missing:
                return await EventAt(sealedId!.Value) is { } moved
                    ? new ChainBreak(BreakKind.Reordered, sequence, null, null, $"event {sealedId}, sealed at sequence {sequence}, now has sequence {moved}: events were renumbered.")
                    : new ChainBreak(BreakKind.Missing, sequence, null, null, $"event {sealedId}, sealed at sequence {sequence}, is gone: it was deleted.");
        }
        if (eventId == sealedId)
        {
            return new ChainBreak(BreakKind.Altered, sequence, null, null,
                $"event {eventId} at sequence {sequence} does not hash to its seal: its content (data, type, recorded time, stream, version or metadata) was changed after sealing.");
        }
        if (await SealOf(eventId!.Value) is { } sealedAt)
        {
            return new ChainBreak(BreakKind.Reordered, sequence, null, null,
                $"event {eventId} sits at sequence {sequence} but was sealed at sequence {sealedAt}: events were swapped or reordered.");
        }
        if (await EventAt(sealedId!.Value) is { } now)
        {
            return new ChainBreak(BreakKind.Inserted, sequence, null, null,
                $"event {eventId} at sequence {sequence} was never sealed, and event {sealedId}, sealed here, now has sequence {now}: an event was inserted and the log renumbered.");
        }
        return new ChainBreak(BreakKind.Altered, sequence, null, null,
            $"event {sealedId}, sealed at sequence {sequence}, was replaced by event {eventId}, which was never sealed.");
    }

    internal static byte[] Link(ReadOnlySpan<byte> previous, ReadOnlySpan<byte> canonical)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(previous);
        hash.AppendData(canonical);
        return hash.GetHashAndReset();
    }

    private static async Task<(long Head, byte[] Link)> HeadAsync(NpgsqlConnection c, CancellationToken ct)
    {
        var rows = await Sql.ListAsync(c, $"select sequence, link from {Table} order by sequence desc limit 1", r => (r.GetInt64(0), r.GetFieldValue<byte[]>(1)), ct);
        return rows.Count == 0 ? (0, new byte[32]) : rows[0];
    }

    private static async Task<long> LastWriteAsync(NpgsqlConnection c, CancellationToken ct) =>
        (await Sql.ListAsync(c, $"select last_sequence from {ProjectionTables.Name("ledger_position")} where id = 1", r => r.GetInt64(0), ct)).FirstOrDefault();

    private static async Task<bool> ExistsAsync(NpgsqlConnection c, string sql, CancellationToken ct, params object?[] args) =>
        (await Sql.ListAsync(c, sql, r => r.GetBoolean(0), ct, args))[0];
}
