using System.Globalization;
using System.Text.RegularExpressions;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// What a ledger holds, whenever and by whichever process it was written: the log (each event's
/// stream, version, type and data) and every projection row, with what differs between two
/// databases that took the same documents — event ids, sequence numbers (gaps left by rolled-back
/// writes), recorded instants, surrogate row ids — replaced by the event's natural name
/// (stream@version) and, for an instant, the name of its write's first event. Rows are sorted, so
/// independent documents imported in another order give equal content too. The position row is a
/// cursor, not content: <see cref="Head"/> checks it against the log instead.
/// </summary>
public sealed partial record LedgerContent(IReadOnlyDictionary<string, IReadOnlyList<string>> Tables)
{
    private static readonly string[] ProjectionRows = ["organizations", "sources", "deals", "fact_versions", "holding_segments"];
    private static readonly string[] NumberedRows = ["fact_versions", "holding_segments"];

    public int Events => Tables["mt_events"].Count;

    public static async Task<LedgerContent> ReadAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var writes = new Dictionary<long, string>();
        var log = new List<string>();
        await using (var cmd = new NpgsqlCommand($"select seq_id, id, stream_id, version, type, timestamp, data::text from {ProjectionTables.Name("mt_events")} order by seq_id", c))
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                var name = $"{r.GetString(2)}@{r.GetInt64(3)}";
                names[r.GetInt64(0).ToString(CultureInfo.InvariantCulture)] = name;
                names[r.GetGuid(1).ToString()] = name;
                writes.TryAdd(r.GetFieldValue<DateTimeOffset>(5).UtcTicks, $"write of {name}");
                log.Add($"{name} {r.GetString(4)} {r.GetString(6)}");
            }
        }
        var tables = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["mt_events"] = log };
        foreach (var table in ProjectionRows)
        {
            var rows = new List<string>();
            var row = NumberedRows.Contains(table) ? "to_jsonb(t) - 'id'" : "to_jsonb(t)";
            await using var cmd = new NpgsqlCommand($"select ({row})::text from {ProjectionTables.Name(table)} t", c);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                rows.Add(Normalize(r.GetString(0), names, writes));
            }
            tables[table] = rows;
        }
        foreach (var table in tables.Keys.ToList())
        {
            tables[table] = [.. tables[table].Order(StringComparer.Ordinal)];
        }
        return new LedgerContent(tables);
    }

    /// <summary>The projections stand at the log's head: the position names the last event (none: 0).</summary>
    public static async Task<(long Position, long Head)> HeadAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            $"select coalesce((select last_sequence from {ProjectionTables.Name("ledger_position")} where id = 1), 0), coalesce((select max(seq_id) from {ProjectionTables.Name("mt_events")}), 0)", c);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return (r.GetInt64(0), r.GetInt64(1));
    }

    /// <summary>Equal, table by table; a difference names the table and its first differing row.</summary>
    public void AssertEqual(LedgerContent expected)
    {
        Assert.Equal(expected.Tables.Keys.Order(), Tables.Keys.Order());
        foreach (var (table, rows) in expected.Tables)
        {
            var actual = Tables[table];
            var i = 0;
            while (i < rows.Count && i < actual.Count && rows[i] == actual[i])
            {
                i++;
            }
            Assert.True(i == rows.Count && i == actual.Count,
                $"{table}: expected {rows.Count} rows, found {actual.Count}; first difference at row {i}:\n  expected {(i < rows.Count ? rows[i] : "(none)")}\n  found    {(i < actual.Count ? actual[i] : "(none)")}");
        }
    }

    private static string Normalize(string row, Dictionary<string, string> names, Dictionary<long, string> writes)
    {
        row = EventId().Replace(row, m => names.GetValueOrDefault(m.Value, m.Value));
        row = SequenceField().Replace(row, m => $"\"{m.Groups[1].Value}\": \"{names.GetValueOrDefault(m.Groups[2].Value, "?" + m.Groups[2].Value)}\"");
        // A stored finding's basis: the sequences of its events.
        row = BasisField().Replace(row, m => "\"basis\": [" + string.Join(", ", m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(n => $"\"{names.GetValueOrDefault(n, "?" + n)}\"")) + "]");
        return Instant().Replace(row, m =>
        {
            var text = m.Value.Replace(' ', 'T');
            text = OffsetHours().IsMatch(text) ? text + ":00" : text;
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) && writes.TryGetValue(at.UtcTicks, out var write)
                ? write : "?" + m.Value;
        });
    }

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex EventId();

    [GeneratedRegex("\"([A-Za-z_]*[Ss]equence)\": ([0-9]+)")]
    private static partial Regex SequenceField();

    [GeneratedRegex("\"basis\": \\[([0-9, ]*)\\]")]
    private static partial Regex BasisField();

    [GeneratedRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,7})?(Z|[+-][0-9]{2}(:[0-9]{2})?)")]
    private static partial Regex Instant();

    [GeneratedRegex("[+-][0-9]{2}$")]
    private static partial Regex OffsetHours();
}
