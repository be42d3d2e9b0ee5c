using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using DealLedger.Storage;

namespace DealLedger.Auditing;

/// <summary>
/// The canonical bytes of events (<see cref="CanonicalEvent"/>, docs/seals.md) written from the raw
/// bytes of a binary COPY row, and the chain's next link hashed over them — without a string or an
/// object per event: one output buffer, one scratch buffer per JSON nesting level, one hash, reused. PostgreSQL's
/// jsonb text already escapes strings exactly as the canonical form does (only `"`, `\` and characters
/// below U+0020, with the same short forms), so string bytes are copied as they come; objects are
/// re-sorted by key where jsonb's order (by length first) is not already the bytes' order.
/// </summary>
internal sealed class CanonicalWriter : IDisposable
{
    /// <summary>The event columns a COPY row must hold, in this order, for <see cref="Write"/>.</summary>
    public const string Columns = CanonicalEvent.Columns;

    // The previous link (32 bytes), then the event's canonical bytes: hashed in one call.
    private byte[] output = new byte[64 * 1024];
    private int length;
    private readonly List<byte[]> scratch = [];
    private readonly List<List<(int Key, int KeyLength, int Member, int MemberLength)>> members = [];
    // One hash for the walk: a one-shot SHA256.HashData sets up and frees OpenSSL's context on every call
    // (each call into OpenSSL costs as much as a few blocks of hashing: one append, one final).
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

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
        hash.AppendData(output.AsSpan(0, length));
        hash.GetHashAndReset(link);
    }

    public void Dispose() => hash.Dispose();

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
        new Guid(bytes, bigEndian: true).TryFormat(output.AsSpan(length), out var written, "D");
        length += written;
    }

    /// <summary>As <see cref="Time.Instant.Format"/>: UTC, microseconds with trailing zeros (and a bare '.') removed, then Z.</summary>
    private void Instant(long microsecondsSince2000)
    {
        // The round-trip form ("O": seven digits of fraction, then Z) is the runtime's fast path; a microsecond's
        // seventh digit is always 0, so trimming the fraction's zeros gives the same text.
        Reserve(40);
        BinaryCopyReader.InstantOf(microsecondsSince2000).UtcDateTime.TryFormat(output.AsSpan(length), out var written, "O", CultureInfo.InvariantCulture);
        var end = length + written - 1;
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

    /// <summary>Writes the canonical form of a JSON text as PostgreSQL's jsonb gives it; the canonical bytes written last are it alone.</summary>
    internal ReadOnlySpan<byte> JsonOnly(ReadOnlySpan<byte> json)
    {
        length = 32;
        Json(json);
        return Canonical;
    }

    private void Json(ReadOnlySpan<byte> json)
    {
        var start = length;
        try
        {
            var at = 0;
            nesting = 0;
            Value(json, ref at, 0);
        }
        catch (NotSupportedException)
        {
            // An escaped key sorts by what it stands for, and a value nested too deep is refused: the general (slower) path.
            length = start;
            var general = new System.Buffers.ArrayBufferWriter<byte>();
            CanonicalEvent.Json(general, System.Text.Encoding.UTF8.GetString(json));
            Raw(general.WrittenSpan);
        }
    }

    // jsonb's text is valid JSON whose only whitespace outside strings is the space after ',' and ':'; its string
    // escapes are the canonical ones. So a value is copied as the bytes it spans (a string from quote to quote, a
    // number or a literal up to the next delimiter), with no token read and no string decoded.
    private static readonly SearchValues<byte> StringStops = SearchValues.Create("\"\\"u8);
    private static readonly SearchValues<byte> ScalarStops = SearchValues.Create(",:]} \t\r\n"u8);

    private static int Skip(ReadOnlySpan<byte> json, int at)
    {
        while (json[at] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            at++;
        }
        return at;
    }

    /// <summary>The index just after the string that opens at <paramref name="at"/>; whether it holds an escape.</summary>
    private static int StringEnd(ReadOnlySpan<byte> json, int at, out bool escaped)
    {
        escaped = false;
        var i = at + 1;
        while (true)
        {
            i += json[i..].IndexOfAny(StringStops);
            if (json[i] == (byte)'"')
            {
                return i + 1;
            }
            escaped = true;
            i += 2;
        }
    }

    // As deep as the documented form reads (its reader's MaxDepth); deeper, the general path refuses it as that reader does.
    private const int MaxNesting = 512;
    private int nesting;

    /// <summary>Writes the value at <paramref name="at"/> (after any space) and moves past it.</summary>
    private void Value(ReadOnlySpan<byte> json, ref int at, int depth)
    {
        at = Skip(json, at);
        if (json[at] is (byte)'{' or (byte)'[' && nesting >= MaxNesting)
        {
            throw new NotSupportedException("nested deeper than the documented form reads");
        }
        switch (json[at])
        {
            case (byte)'{':
                nesting++;
                Object(json, ref at, depth);
                nesting--;
                break;
            case (byte)'[':
                nesting++;
                Raw("["u8);
                at = Skip(json, at + 1);
                if (json[at] != (byte)']')
                {
                    while (true)
                    {
                        Value(json, ref at, depth);
                        at = Skip(json, at);
                        if (json[at] != (byte)',')
                        {
                            break;
                        }
                        Raw(","u8);
                        at++;
                    }
                }
                Raw("]"u8);
                at++;
                nesting--;
                break;
            case (byte)'"':
                var end = StringEnd(json, at, out _);
                Raw(json[at..end]);
                at = end;
                break;
            default:
                var count = json[at..].IndexOfAny(ScalarStops);
                count = count < 0 ? json.Length - at : count;
                Raw(json.Slice(at, count));
                at += count;
                break;
        }
    }

    /// <summary>
    /// An object: its members written in jsonb's order (nested values at deeper levels), then, unless their keys
    /// already are in the order of their bytes (= code point order), moved into it through the scratch buffer of this depth.
    /// </summary>
    private void Object(ReadOnlySpan<byte> json, ref int at, int depth)
    {
        while (scratch.Count <= depth)
        {
            scratch.Add(new byte[4096]);
            members.Add([]);
        }
        var list = members[depth];
        var mark = list.Count;
        Raw("{"u8);
        var regionStart = length;
        at = Skip(json, at + 1);
        if (json[at] != (byte)'}')
        {
            while (true)
            {
                var keyEnd = StringEnd(json, at, out var escaped);
                if (escaped)
                {
                    throw new NotSupportedException("escaped object keys");
                }
                var memberAt = length;
                var keyLength = keyEnd - at - 2;
                Raw(json[at..keyEnd]);
                Raw(":"u8);
                at = Skip(json, keyEnd) + 1;
                Value(json, ref at, depth + 1);
                list.Add((memberAt + 1, keyLength, memberAt, length - memberAt));
                at = Skip(json, at);
                if (json[at] != (byte)',')
                {
                    break;
                }
                Raw(","u8);
                at = Skip(json, at + 1);
            }
        }
        at++;
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list)[mark..];
        if (!Sorted(span))
        {
            Reorder(span, regionStart, depth);
        }
        Raw("}"u8);
        list.RemoveRange(mark, span.Length);
    }

    private bool Sorted(ReadOnlySpan<(int Key, int KeyLength, int Member, int MemberLength)> span)
    {
        for (var i = 1; i < span.Length; i++)
        {
            if (Compare(output.AsSpan(span[i - 1].Key, span[i - 1].KeyLength), output.AsSpan(span[i].Key, span[i].KeyLength)) > 0)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Keys in the order of their bytes; most differ in their first byte.</summary>
    private static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        a.Length > 0 && b.Length > 0 && a[0] != b[0] ? a[0] - b[0] : a.SequenceCompareTo(b);

    /// <summary>Rewrites the members after <paramref name="regionStart"/> in the order of their keys' bytes.</summary>
    private void Reorder(Span<(int Key, int KeyLength, int Member, int MemberLength)> span, int regionStart, int depth)
    {
        var region = length - regionStart;
        var copy = scratch[depth];
        if (copy.Length < region)
        {
            scratch[depth] = copy = new byte[Math.Max(region, copy.Length * 2)];
        }
        output.AsSpan(regionStart, region).CopyTo(copy);
        // Insertion sort by key bytes: objects are small.
        for (var i = 1; i < span.Length; i++)
        {
            var item = span[i];
            var j = i - 1;
            while (j >= 0 && Compare(copy.AsSpan(span[j].Key - regionStart, span[j].KeyLength), copy.AsSpan(item.Key - regionStart, item.KeyLength)) > 0)
            {
                span[j + 1] = span[j];
                j--;
            }
            span[j + 1] = item;
        }
        length = regionStart;
        for (var i = 0; i < span.Length; i++)
        {
            if (i > 0)
            {
                Raw(","u8);
            }
            Raw(copy.AsSpan(span[i].Member - regionStart, span[i].MemberLength));
        }
    }
}
