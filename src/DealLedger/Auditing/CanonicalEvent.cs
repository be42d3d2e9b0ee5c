using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Auditing;

/// <summary>
/// The canonical byte form of one event of the log: what the seal chain hashes and what an export's
/// events.jsonl holds, one per line (docs/seals.md defines it for third parties). A UTF-8 JSON object
/// with no whitespace and these keys in this order:
/// sequence, id, stream, version, type, recordedAt, writer, correlationId, headers, data.
/// JSON values inside headers and data are written canonically: object keys sorted by Unicode code
/// point, no whitespace, strings with minimal escaping, numbers exactly as PostgreSQL's jsonb text gives them.
/// </summary>
internal static class CanonicalEvent
{
    /// <summary>The columns of mt_events the canonical form reads, in the order <see cref="Write"/> expects them.</summary>
    public const string Columns = "e.seq_id, e.id, e.stream_id, e.version, e.type, e.timestamp, e.user_name, e.correlation_id, e.headers::text, e.data::text";

    public const int ColumnCount = 10;

    /// <summary>Appends the canonical bytes of the event in columns <paramref name="at"/>… of the row (see <see cref="Columns"/>).</summary>
    public static void Write(NpgsqlDataReader r, int at, ArrayBufferWriter<byte> o)
    {
        Raw(o, "{\"sequence\":");
        Raw(o, r.GetInt64(at).ToString(CultureInfo.InvariantCulture));
        Raw(o, ",\"id\":");
        String(o, r.GetGuid(at + 1).ToString("D"));
        Raw(o, ",\"stream\":");
        StringOrNull(o, r, at + 2);
        Raw(o, ",\"version\":");
        Raw(o, r.GetInt64(at + 3).ToString(CultureInfo.InvariantCulture));
        Raw(o, ",\"type\":");
        String(o, r.GetString(at + 4));
        Raw(o, ",\"recordedAt\":");
        String(o, Instant.Format(r.GetFieldValue<DateTimeOffset>(at + 5)));
        Raw(o, ",\"writer\":");
        StringOrNull(o, r, at + 6);
        Raw(o, ",\"correlationId\":");
        StringOrNull(o, r, at + 7);
        Raw(o, ",\"headers\":");
        if (r.IsDBNull(at + 8))
        {
            Raw(o, "null");
        }
        else
        {
            Json(o, r.GetString(at + 8));
        }
        Raw(o, ",\"data\":");
        Json(o, r.GetString(at + 9));
        Raw(o, "}");
    }

    /// <summary>The canonical form of a JSON text (as PostgreSQL returns jsonb): sorted keys, no whitespace, numbers as given.</summary>
    public static void Json(ArrayBufferWriter<byte> o, string json)
    {
        var length = Encoding.UTF8.GetByteCount(json);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Encoding.UTF8.GetBytes(json, rented);
            var reader = new Utf8JsonReader(rented.AsSpan(0, length), new JsonReaderOptions { MaxDepth = 512 });
            reader.Read();
            Value(ref reader, o);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static string Json(string json)
    {
        var o = new ArrayBufferWriter<byte>();
        Json(o, json);
        return Encoding.UTF8.GetString(o.WrittenSpan);
    }

    /// <summary>A JSON string literal with the canonical escaping.</summary>
    public static string Quote(string s)
    {
        var o = new ArrayBufferWriter<byte>();
        String(o, s);
        return Encoding.UTF8.GetString(o.WrittenSpan);
    }

    private static void Value(ref Utf8JsonReader r, ArrayBufferWriter<byte> o)
    {
        switch (r.TokenType)
        {
            case JsonTokenType.StartObject:
                Object(ref r, o);
                break;
            case JsonTokenType.StartArray:
                Raw(o, "[");
                var first = true;
                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                {
                    if (!first)
                    {
                        Raw(o, ",");
                    }
                    first = false;
                    Value(ref r, o);
                }
                Raw(o, "]");
                break;
            case JsonTokenType.String:
                if (r.ValueIsEscaped)
                {
                    String(o, r.GetString()!);
                }
                else
                {
                    // Nothing escaped means no quote, backslash or control character: the bytes are already canonical.
                    Raw(o, "\"");
                    o.Write(r.ValueSpan);
                    Raw(o, "\"");
                }
                break;
            case JsonTokenType.Number:
                o.Write(r.ValueSpan);
                break;
            case JsonTokenType.True:
                Raw(o, "true");
                break;
            case JsonTokenType.False:
                Raw(o, "false");
                break;
            default:
                Raw(o, "null");
                break;
        }
    }

    /// <summary>An object's members, each rendered apart, then written in the order of their keys' UTF-8 bytes (= code point order).</summary>
    private static void Object(ref Utf8JsonReader r, ArrayBufferWriter<byte> o)
    {
        var keys = new ArrayBufferWriter<byte>(64);
        var members = new ArrayBufferWriter<byte>(256);
        var spans = new List<(int Key, int KeyLength, int Member, int MemberLength)>();
        while (r.Read() && r.TokenType != JsonTokenType.EndObject)
        {
            var key = keys.WrittenCount;
            var member = members.WrittenCount;
            if (r.ValueIsEscaped)
            {
                var name = r.GetString()!;
                Raw(keys, name);
                String(members, name);
            }
            else
            {
                keys.Write(r.ValueSpan);
                Raw(members, "\"");
                members.Write(r.ValueSpan);
                Raw(members, "\"");
            }
            Raw(members, ":");
            r.Read();
            Value(ref r, members);
            spans.Add((key, keys.WrittenCount - key, member, members.WrittenCount - member));
        }
        spans.Sort((a, b) => keys.WrittenSpan.Slice(a.Key, a.KeyLength).SequenceCompareTo(keys.WrittenSpan.Slice(b.Key, b.KeyLength)));
        Raw(o, "{");
        for (var i = 0; i < spans.Count; i++)
        {
            if (i > 0)
            {
                Raw(o, ",");
            }
            o.Write(members.WrittenSpan.Slice(spans[i].Member, spans[i].MemberLength));
        }
        Raw(o, "}");
    }

    private static void StringOrNull(ArrayBufferWriter<byte> o, NpgsqlDataReader r, int i)
    {
        if (r.IsDBNull(i))
        {
            Raw(o, "null");
        }
        else
        {
            String(o, r.GetString(i));
        }
    }

    /// <summary>A JSON string with minimal escaping, as Python's json.dumps(s, ensure_ascii=False) writes it.</summary>
    private static void String(ArrayBufferWriter<byte> o, string s)
    {
        if (!s.AsSpan().ContainsAnyInRange('\0', '\u001f') && !s.AsSpan().ContainsAny('"', '\\'))
        {
            Raw(o, "\"");
            Raw(o, s);
            Raw(o, "\"");
            return;
        }
        var escaped = new StringBuilder(s.Length + 2);
        escaped.Append('"');
        foreach (var ch in s)
        {
            switch (ch)
            {
                case '"': escaped.Append("\\\""); break;
                case '\\': escaped.Append("\\\\"); break;
                case '\n': escaped.Append("\\n"); break;
                case '\r': escaped.Append("\\r"); break;
                case '\t': escaped.Append("\\t"); break;
                case '\b': escaped.Append("\\b"); break;
                case '\f': escaped.Append("\\f"); break;
                case < ' ':
                    escaped.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default: escaped.Append(ch); break;
            }
        }
        escaped.Append('"');
        Raw(o, escaped.ToString());
    }

    private static void Raw(ArrayBufferWriter<byte> o, string text)
    {
        var count = Encoding.UTF8.GetByteCount(text);
        Encoding.UTF8.GetBytes(text, o.GetSpan(count));
        o.Advance(count);
    }
}
