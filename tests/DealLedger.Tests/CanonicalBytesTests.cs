using System.Buffers;
using DealLedger.Auditing;
using DealLedger.Benchmarks;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// The seal chain's fast path (<see cref="CanonicalWriter"/>, fed the raw bytes of a binary COPY) writes
/// exactly the canonical bytes that docs/seals.md defines and <see cref="CanonicalEvent"/> writes from
/// decoded strings — for texts with quotes, backslashes and non-ASCII (the ledger refuses control characters), and for
/// every event of a generated history — so seals made before and after it verify alike.
/// </summary>
public sealed class CanonicalBytesTests
{
    [Fact]
    public async Task the_fast_canonical_writer_gives_the_same_bytes_as_the_documented_form_for_every_event()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await ledger.ImportAsync(new HistoryGenerator(events: 1_500, batches: 1, seed: 3, longPairEvents: 100).Generate().First().Documents);
        await ledger.ImportYamlAsync("""
            organizations:
              - { id: tricky, name: "Quote \" back\\slash ü é 😀 /slash <tag> & 'single'", kind: company, aliases: ["a\"b", "\\", "日本"] }
            sources:
              - { id: tricky-source, title: "Ünïcödé — “quoted” \\n not a newline", kind: third-party, url: "https://example.org/a?b=c&d=\"e\"" }
            """);

        var expected = new List<byte[]>();
        await using (var c = new NpgsqlConnection(db.ConnectionString))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"select {CanonicalEvent.Columns} from dealledger.mt_events e order by e.seq_id", c);
            await using var r = await cmd.ExecuteReaderAsync();
            var bytes = new ArrayBufferWriter<byte>();
            while (await r.ReadAsync())
            {
                bytes.ResetWrittenCount();
                CanonicalEvent.Write(r, 0, bytes);
                expected.Add(bytes.WrittenSpan.ToArray());
            }
        }
        var actual = new List<byte[]>();
        await using (var c = new NpgsqlConnection(db.ConnectionString))
        {
            await c.OpenAsync();
            using var writer = new CanonicalWriter();
            await using var r = await BinaryCopyReader.StartAsync(c, $"select {CanonicalWriter.Columns} from dealledger.mt_events e order by e.seq_id", default);
            while (await r.ReadAsync(default))
            {
                writer.Write(r, 0);
                actual.Add(writer.Canonical.ToArray());
            }
        }

        Assert.True(expected.Count > 1_500);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]),
                $"event {i + 1}:\n  documented {System.Text.Encoding.UTF8.GetString(expected[i])}\n  fast       {System.Text.Encoding.UTF8.GetString(actual[i])}");
        }
        Assert.Contains(expected, e => System.Text.Encoding.UTF8.GetString(e).Contains("Quote \\\" back\\\\slash ü é 😀", StringComparison.Ordinal));
    }
}
