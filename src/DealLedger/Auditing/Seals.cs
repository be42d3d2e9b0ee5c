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
/// exactly, in one streaming pass (a merge of two primary-key scans), and the event id kept with each
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
        var canonical = new CanonicalWriter();
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
    /// sequence; names the first break, and reports the unsealed tail. Reads one consistent snapshot.
    /// </summary>
    public static async Task<VerifyReport> VerifyAsync(this Ledger ledger, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        return await WalkAsync(c, null, ct);
    }

    /// <summary>A sealed event as verified: its sequence, id, canonical bytes and link.</summary>
    internal delegate ValueTask SealedEvent(long sequence, Guid id, ReadOnlyMemory<byte> canonical, byte[] link, CancellationToken ct);

    /// <summary>
    /// The one walk of log and seals, in sequence order, inside the caller's (repeatable read)
    /// transaction; <paramref name="onSealed"/> sees every event that verified, in order (export).
    /// </summary>
    internal static async Task<VerifyReport> WalkAsync(NpgsqlConnection c, SealedEvent? onSealed, CancellationToken ct)
    {
        var (head, headLink) = await HeadAsync(c, ct);
        var lastWrite = await LastWriteAsync(c, ct);
        // The chain as verified so far, the link recomputed for the current event, the link sealed for it:
        // three buffers for the whole walk, no allocation per event.
        var link = new byte[32];
        var eventLink = new byte[32];
        var sealedLink = new byte[32];
        long checkedCount = 0, tailCount = 0, aboveLastWrite = 0;
        long? firstChecked = null, tailFirst = null, tailLast = null;
        var canonical = new CanonicalWriter();
        // The rows of one sequence (its event, its seal; in either order), gathered then judged together.
        long? current = null;
        Guid? eventId = null, sealedId = null;
        bool hasEventLink = false, hasSealedLink = false;
        (BreakKind Kind, long Sequence, Guid? EventId, Guid? SealedId)? found = null;

        async ValueTask JudgeAsync()
        {
            if (current is not { } s)
            {
                return;
            }
            current = null;
            if (sealedId is null)
            {
                if (s <= head)
                {
                    found = (BreakKind.Inserted, s, eventId, null);
                    return;
                }
                tailCount++;
                tailFirst ??= s;
                tailLast = s;
                if (s > lastWrite)
                {
                    aboveLastWrite++;
                }
                return;
            }
            if (eventId is null)
            {
                found = (BreakKind.Missing, s, null, sealedId);
                return;
            }
            if (!hasSealedLink || !hasEventLink || !sealedLink.AsSpan().SequenceEqual(eventLink))
            {
                found = (BreakKind.Altered, s, eventId, sealedId);
                return;
            }
            eventLink.CopyTo(link, 0);
            checkedCount++;
            firstChecked ??= s;
            if (onSealed is not null)
            {
                await onSealed(s, eventId.Value, canonical.CanonicalMemory, link, ct);
            }
        }

        const string none = "null::bigint, null::uuid, null::varchar, null::bigint, null::varchar, null::timestamptz, null::varchar, null::varchar, null::text, null::text";
        var columns = string.Join(", ", Enumerable.Range(1, CanonicalEvent.ColumnCount).Select(i => $"c{i}"));
        // Ordered by sequence alone, so PostgreSQL merges the two primary-key scans without sorting;
        // read as binary COPY, so the event's bytes reach the canonical writer as they are.
        var sql =
            $"select seq, src, sealed_id, link, {columns} from (" +
            $"select e.seq_id as seq, 0 as src, null::uuid as sealed_id, null::bytea as link, {CanonicalWriter.Columns} from {ProjectionTables.Name("mt_events")} e " +
            $"union all select s.sequence, 1, s.event_id, s.link, {none} from {Table} s" +
            $") x (seq, src, sealed_id, link, {columns}) order by seq";
        await using (var r = await BinaryCopyReader.StartAsync(c, sql, ct))
        {
            while (found is null && await r.ReadAsync(ct))
            {
                var sequence = r.Int64(0);
                if (sequence != current)
                {
                    await JudgeAsync();
                    if (found is not null)
                    {
                        break;
                    }
                    current = sequence;
                    eventId = sealedId = null;
                    hasEventLink = hasSealedLink = false;
                }
                if (r.Int32(1) == 1)
                {
                    sealedId = r.Uuid(2);
                    var sealedBytes = r.Bytes(3);
                    hasSealedLink = sealedBytes.Length == 32;
                    if (hasSealedLink)
                    {
                        sealedBytes.CopyTo(sealedLink);
                    }
                    continue;
                }
                eventId = r.Uuid(5);
                if (sequence <= head)
                {
                    canonical.Write(r, 4);
                    canonical.Link(link, eventLink);
                    hasEventLink = true;
                }
            }
            if (found is null)
            {
                await JudgeAsync();
            }
        }
        var tail = new UnsealedTail(tailCount, tailFirst, tailLast, aboveLastWrite);
        ChainBreak? broken = null;
        if (found is { } f)
        {
            broken = await DescribeAsync(c, f.Kind, f.Sequence, f.EventId, f.SealedId, head, ct);
        }
        else if (lastWrite > 0 && !await ExistsAsync(c, $"select exists (select 1 from {ProjectionTables.Name("mt_events")} where seq_id = $1)", ct, lastWrite))
        {
            broken = new ChainBreak(BreakKind.Missing, lastWrite, null, null,
                $"the last committed write ended at sequence {lastWrite}, but no event has that sequence: unsealed events were deleted.");
        }
        return new VerifyReport(broken is null, "ledger", checkedCount, firstChecked, head, Hex(headLink), tail, broken);
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
