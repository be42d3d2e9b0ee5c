using System.Buffers.Binary;
using Npgsql;

namespace DealLedger.Storage;

/// <summary>
/// Reads the rows of `COPY (query) TO STDOUT (FORMAT BINARY)` straight from the wire, field by field,
/// as spans of the bytes PostgreSQL sent: no string, no object per value. For long scans where the
/// bytes themselves are what is wanted (the seal chain hashes them).
/// </summary>
internal sealed class BinaryCopyReader : IAsyncDisposable
{
    private static readonly byte[] Signature = [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', 0x0A, 0xFF, 0x0D, 0x0A, 0x00];
    private readonly Stream stream;
    private byte[] buffer = new byte[1 << 20];
    private int start;
    private int end;
    private readonly List<(int Offset, int Length)> fields = [];

    private BinaryCopyReader(Stream stream) => this.stream = stream;

    public static async Task<BinaryCopyReader> StartAsync(NpgsqlConnection c, string query, CancellationToken ct) =>
        await StartAsync(await c.BeginRawBinaryCopyAsync($"copy ({query}) to stdout (format binary)", ct), ct);

    /// <summary>Reads a binary COPY stream already begun (or its bytes kept: a probe replays them without the server).</summary>
    public static async Task<BinaryCopyReader> StartAsync(Stream stream, CancellationToken ct)
    {
        var reader = new BinaryCopyReader(stream);
        await reader.EnsureAsync(19, ct);
        if (!reader.buffer.AsSpan(0, 11).SequenceEqual(Signature))
        {
            throw new InvalidOperationException("not a binary COPY stream");
        }
        var extension = BinaryPrimitives.ReadInt32BigEndian(reader.buffer.AsSpan(15));
        reader.start = 19;
        await reader.EnsureAsync(extension, ct);
        reader.start += extension;
        return reader;
    }

    /// <summary>Reads the next row; false at the end. Its fields stay valid until the next call.</summary>
    public ValueTask<bool> ReadAsync(CancellationToken ct) =>
        Buffered() is { } read ? new ValueTask<bool>(read) : ReadMoreAsync(ct);

    /// <summary>The next row when the buffer holds all of it (most rows: no await per field); null when more must be read.</summary>
    private bool? Buffered()
    {
        var available = end - start;
        if (available < 2)
        {
            return null;
        }
        var row = buffer.AsSpan(start, available);
        var count = BinaryPrimitives.ReadInt16BigEndian(row);
        if (count < 0)
        {
            return false;
        }
        var at = 2;
        fields.Clear();
        for (var i = 0; i < count; i++)
        {
            if (available < at + 4)
            {
                return null;
            }
            var length = BinaryPrimitives.ReadInt32BigEndian(row[at..]);
            at += 4;
            if (length > 0 && available < at + length)
            {
                return null;
            }
            fields.Add((at, length));
            at += Math.Max(length, 0);
        }
        rowStart = start;
        start += at;
        return true;
    }

    /// <summary>Reads from the stream until the buffer holds the whole next row (a row may span many reads).</summary>
    private async ValueTask<bool> ReadMoreAsync(CancellationToken ct)
    {
        bool? read;
        while ((read = Buffered()) is null)
        {
            await EnsureAsync(end - start + 1, ct);
        }
        return read.Value;
    }

    private int rowStart;

    public bool IsNull(int field) => fields[field].Length < 0;

    public ReadOnlySpan<byte> Bytes(int field) => fields[field].Length < 0 ? default : buffer.AsSpan(rowStart + fields[field].Offset, fields[field].Length);

    public long Int64(int field) => BinaryPrimitives.ReadInt64BigEndian(Bytes(field));

    public int Int32(int field) => BinaryPrimitives.ReadInt32BigEndian(Bytes(field));

    public Guid Uuid(int field) => new(Bytes(field), bigEndian: true);

    /// <summary>A timestamptz field: microseconds since 2000-01-01 UTC on the wire.</summary>
    public DateTimeOffset Instant(int field) => InstantOf(Int64(field));

    /// <summary>The instant a binary timestamptz holds (microseconds since 2000-01-01 UTC).</summary>
    public static DateTimeOffset InstantOf(long microsecondsSince2000) => Epoch.AddTicks(microsecondsSince2000 * 10);

    private static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>At least <paramref name="count"/> bytes from <see cref="start"/> in the buffer (keeping the current row).</summary>
    private async ValueTask EnsureAsync(int count, CancellationToken ct)
    {
        while (end - start < count)
        {
            if (start > 0 && end - start + (buffer.Length - end) < count + 65536)
            {
                // Slide the unread part (and the row being read) to the front.
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                end -= start;
                start = 0;
            }
            if (buffer.Length - end < Math.Max(count - (end - start), 65536))
            {
                Array.Resize(ref buffer, Math.Max(buffer.Length * 2, count + 65536));
            }
            var read = await stream.ReadAsync(buffer.AsMemory(end), ct);
            if (read == 0)
            {
                throw new EndOfStreamException("the COPY stream ended inside a row");
            }
            end += read;
        }
    }

    public async ValueTask DisposeAsync() => await stream.DisposeAsync();
}
