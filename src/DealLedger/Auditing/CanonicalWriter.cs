using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using DealLedger.Storage;

namespace DealLedger.Auditing;

/// <summary>
/// The canonical bytes of events (<see cref="CanonicalEvent"/>, docs/seals.md) written from the raw
/// bytes of a binary COPY row, and the chain's next link hashed over them — without a string or an
/// object per event: one output buffer, one scratch buffer per JSON nesting level, reused. PostgreSQL's
/// jsonb text already escapes strings exactly as the canonical form does (only `"`, `\` and characters
/// below U+0020, with the same short forms), so string bytes are copied as they come; objects are
/// re-sorted by key (jsonb orders keys by length first).
/// </summary>
internal sealed class CanonicalWriter
{
    /// <summary>The event columns a COPY row must hold, in this order, for <see cref="Write"/>.</summary>
    public const string Columns = CanonicalEvent.Columns;

    // The previous link (32 bytes), then the event's canonical bytes: hashed in one call.
    private byte[] output = new byte[64 * 1024];
    private int length;
    private readonly List<byte[]> scratch = [];
    private readonly List<List<(int Key, int KeyLength, int Member, int MemberLength)>> members = [];

    /// <summary>The canonical bytes written last.</summary>
    public ReadOnlySpan<byte> Canonical => output.AsSpan(32, length - 32);

    public ReadOnlyMemory<byte> CanonicalMemory => output.AsMemory(32, length - 32);

    /// <summary>Writes the event in fields <paramref name="at"/>… of the row (see <see cref="Columns"/>).</summary>
    public void Write(BinaryCopyReader row, int at)
    {
        length = 32;
        Raw("{\"sequence\":"u8);
        Number(row.Int64(at));
        Raw(",\"id\":\""u8);
        Uuid(row.Bytes(at + 1));
        Raw("\",\"stream\":"u8);
        StringOrNull(row, at + 2);
        Raw(",\"version\":"u8);
        Number(row.Int64(at + 3));
        Raw(",\"type\":"u8);
        StringOrNull(row, at + 4);
        Raw(",\"recordedAt\":\""u8);
        Instant(row.Int64(at + 5));
        Raw("\",\"writer\":"u8);
        StringOrNull(row, at + 6);
        Raw(",\"correlationId\":"u8);
        StringOrNull(row, at + 7);
        Raw(",\"headers\":"u8);
        if (row.IsNull(at + 8))
        {
            Raw("null"u8);
        }
        else
        {
            Json(row.Bytes(at + 8));
        }
        Raw(",\"data\":"u8);
        Json(row.Bytes(at + 9));
        Raw("}"u8);
    }

    /// <summary>link(n) = SHA-256(link(n-1) ‖ canonical bytes), into <paramref name="link"/>.</summary>
    public void Link(ReadOnlySpan<byte> previous, Span<byte> link)
    {
        previous.CopyTo(output);
        SHA256.HashData(output.AsSpan(0, length), link);
    }

    private void Raw(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(output.AsSpan(length));
        length += bytes.Length;
    }

    private void Reserve(int count)
    {
        if (length + count > output.Length)
        {
            Array.Resize(ref output, Math.Max(output.Length * 2, length + count));
        }
    }

    private void Number(long value)
    {
        Reserve(20);
        Utf8Formatter.TryFormat(value, output.AsSpan(length), out var written);
        length += written;
    }

    private void Uuid(ReadOnlySpan<byte> bytes)
    {
        Reserve(36);
        var o = output.AsSpan(length);
        var at = 0;
        for (var i = 0; i < 16; i++)
        {
            if (i is 4 or 6 or 8 or 10)
            {
                o[at++] = (byte)'-';
            }
            o[at++] = Hex(bytes[i] >> 4);
            o[at++] = Hex(bytes[i] & 0xF);
        }
        length += 36;
    }

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

    /// <summary>As <see cref="Time.Instant.Format"/>: UTC, microseconds with trailing zeros (and a bare '.') removed, then Z.</summary>
    private void Instant(long microsecondsSince2000)
    {
        var time = BinaryCopyReader.InstantOf(microsecondsSince2000).UtcDateTime;
        Reserve(32);
        time.TryFormat(output.AsSpan(length), out var written, "yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        var end = length + written;
        while (output[end - 1] == '0')
        {
            end--;
        }
        if (output[end - 1] == '.')
        {
            end--;
        }
        output[end++] = (byte)'Z';
        length = end;
    }

    /// <summary>Text from the database as a JSON string: only `"`, `\` and control characters need escaping.</summary>
    private void StringOrNull(BinaryCopyReader row, int field)
    {
        if (row.IsNull(field))
        {
            Raw("null"u8);
            return;
        }
        var text = row.Bytes(field);
        if (text.IndexOfAnyInRange((byte)0, (byte)0x1f) < 0 && text.IndexOfAny((byte)'"', (byte)'\\') < 0)
        {
            Raw("\""u8);
            Raw(text);
            Raw("\""u8);
            return;
        }
        Raw(System.Text.Encoding.UTF8.GetBytes(CanonicalEvent.Quote(System.Text.Encoding.UTF8.GetString(text))));
    }

    private void Json(ReadOnlySpan<byte> json)
    {
        var start = length;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 512 });
            reader.Read();
            Value(ref reader, 0);
        }
        catch (NotSupportedException)
        {
            // An escaped key sorts by what it stands for: the general (slower) path.
            length = start;
            var general = new System.Buffers.ArrayBufferWriter<byte>();
            CanonicalEvent.Json(general, System.Text.Encoding.UTF8.GetString(json));
            Raw(general.WrittenSpan);
        }
    }

    /// <summary>Writes the value at the reader into the output (depth 0) or the scratch buffer of its depth.</summary>
    private void Value(ref Utf8JsonReader r, int depth)
    {
        switch (r.TokenType)
        {
            case JsonTokenType.StartObject:
                Object(ref r, depth);
                break;
            case JsonTokenType.StartArray:
                Raw("["u8);
                var first = true;
                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                {
                    if (!first)
                    {
                        Raw(","u8);
                    }
                    first = false;
                    Value(ref r, depth);
                }
                Raw("]"u8);
                break;
            case JsonTokenType.String:
                // jsonb's escapes are the canonical ones: the string's bytes as sent.
                Raw("\""u8);
                Raw(r.ValueSpan);
                Raw("\""u8);
                break;
            case JsonTokenType.Number:
                Raw(r.ValueSpan);
                break;
            case JsonTokenType.True:
                Raw("true"u8);
                break;
            case JsonTokenType.False:
                Raw("false"u8);
                break;
            default:
                Raw("null"u8);
                break;
        }
    }

    /// <summary>
    /// An object: each member rendered into the scratch buffer of this depth (nested values into deeper
    /// ones), then copied to the output in the order of the keys' bytes (= code point order).
    /// </summary>
    private void Object(ref Utf8JsonReader r, int depth)
    {
        while (scratch.Count <= depth)
        {
            scratch.Add(new byte[4096]);
            members.Add([]);
        }
        var list = members[depth];
        var mark = list.Count;
        // Members render into the output buffer after its current end; then they are moved into place sorted.
        var regionStart = length;
        while (r.Read() && r.TokenType != JsonTokenType.EndObject)
        {
            var keyAt = length;
            Raw("\""u8);
            Raw(r.ValueSpan);
            Raw("\":"u8);
            var keyEscaped = r.ValueIsEscaped;
            var keyLength = r.ValueSpan.Length;
            r.Read();
            Value(ref r, depth + 1);
            if (keyEscaped)
            {
                throw new NotSupportedException("escaped object keys");
            }
            list.Add((keyAt + 1, keyLength, keyAt, length - keyAt));
        }
        var count = list.Count - mark;
        var region = length - regionStart;
        var copy = scratch[depth];
        if (copy.Length < region)
        {
            scratch[depth] = copy = new byte[Math.Max(region, copy.Length * 2)];
        }
        output.AsSpan(regionStart, region).CopyTo(copy);
        // Insertion sort by key bytes: objects are small.
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list).Slice(mark, count);
        for (var i = 1; i < span.Length; i++)
        {
            var item = span[i];
            var j = i - 1;
            while (j >= 0 && copy.AsSpan(span[j].Key - regionStart, span[j].KeyLength).SequenceCompareTo(copy.AsSpan(item.Key - regionStart, item.KeyLength)) > 0)
            {
                span[j + 1] = span[j];
                j--;
            }
            span[j + 1] = item;
        }
        length = regionStart;
        Raw("{"u8);
        for (var i = 0; i < span.Length; i++)
        {
            if (i > 0)
            {
                Raw(","u8);
            }
            Raw(copy.AsSpan(span[i].Member - regionStart, span[i].MemberLength));
        }
        Raw("}"u8);
        list.RemoveRange(mark, count);
    }
}
