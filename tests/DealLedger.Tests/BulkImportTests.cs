using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using DealLedger.Benchmarks;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// The one write path stores what it should: events exactly as Marten's own append stores them
/// (streams, versions, sequence numbers, data, types, writer), and — whether a write loads what its
/// documents name first or looks each entry up as it goes — the same projection rows (surrogate ids
/// included) and so the same answers. Only what the moment of a write decides differs — event and
/// correlation ids (fresh GUIDs) and recorded instants (the server's clock when the write took the
/// lock) — so the comparison names each by its place: event ids by their sequence, instants by the
/// write they belong to.
/// </summary>
public sealed partial class BulkImportTests
{
    // Two writes (the second corrects, ends and retracts what the first recorded, and closes its
    // segments), a 300-event pair among them.
    private static List<HistoryBatch> History() => new HistoryGenerator(events: 1_600, batches: 2, seed: 7, longPairEvents: 300).Generate().ToList();

    [Fact]
    public async Task a_large_import_leaves_no_index_entries_pending_for_searches_to_read()
    {
        // One write of more than BulkImport.AnalyzeAfter events: its fact versions' GIN entries would otherwise wait in
        // the index's pending list, read whole by every search of organizations' facts until autovacuum came round.
        var history = new HistoryGenerator(events: 12_000, batches: 1, seed: 11, longPairEvents: 200).Generate().ToList();
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        var report = await ledger.ImportAsync(history[0].Documents);
        Assert.True(report.EventsAppended >= BulkImport.AnalyzeAfter, $"{report.EventsAppended} events");
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        // What merging the list now finds to merge: nothing.
        Assert.Equal(0L, await Sql.ScalarAsync<long>(c, "select gin_clean_pending_list('dealledger.ix_fact_versions_orgs'::regclass)", default));
    }

    [Fact]
    public async Task a_large_write_analyzes_the_tables_never_analyzed_or_grown_by_half_and_leaves_the_others()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        var history = History();
        await ledger.ImportAsync(history[0].Documents);
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        async Task<Dictionary<string, (DateTime? Analyzed, long Bytes)>> TablesAsync() =>
            (await Sql.ListAsync(c, "select relname, last_analyze, pg_relation_size(relid) from pg_stat_user_tables where schemaname = 'dealledger' " +
                "and relname = any($1)", r => (r.GetString(0), r.IsDBNull(1) ? (DateTime?)null : r.GetDateTime(1), r.GetInt64(2)), default,
                (object)ProjectionTables.Projections.ToArray())).ToDictionary(t => t.Item1, t => (t.Item2, t.Item3));

        // The first import was too small to analyze: nothing is; then every table is, having never been.
        Assert.All((await TablesAsync()).Values, t => Assert.Null(t.Analyzed));
        await Projections.AnalyzeAsync(c, ProjectionTables.Projections, default);
        var first = await TablesAsync();
        Assert.All(first.Values.Where(t => t.Bytes > 0), t => Assert.NotNull(t.Analyzed));
        // An empty table (no merges recorded) has nothing to gather.
        Assert.Equal((null, 0), first["organization_merges"]);

        // Unchanged since: none again.
        await Projections.AnalyzeAsync(c, ProjectionTables.Projections, default);
        Assert.Equal(first, await TablesAsync());

        // The second batch grows some tables by more than half and others less: only the former are analyzed again.
        await ledger.ImportAsync(history[1].Documents);
        var grown = await TablesAsync();
        await Projections.AnalyzeAsync(c, ProjectionTables.Projections, default);
        var second = await TablesAsync();
        var again = second.Where(t => t.Value.Analyzed != first[t.Key].Analyzed).Select(t => t.Key).Order().ToList();
        Assert.Equal(grown.Where(t => t.Value.Bytes > first[t.Key].Bytes * 3 / 2).Select(t => t.Key).Order(), again);
        Assert.NotEmpty(again);
        Assert.NotEqual(ProjectionTables.Projections.Length, again.Count);
    }

    [Fact]
    public async Task an_import_that_loads_first_stores_the_same_events_rows_and_answers_as_one_that_looks_up_entry_by_entry()
    {
        var history = History();
        await using var normal = await TestDatabase.CreateAsync();
        await using var bulk = await TestDatabase.CreateAsync();
        await using var a = normal.Connect();
        await using var b = bulk.Connect();
        DateTimeOffset lastByRow = default, lastBySet = default;
        foreach (var batch in history)
        {
            var byRow = await a.ImportDocumentByDocumentAsync(batch.Documents);
            var bySet = await b.ImportAsync(batch.Documents);
            (lastByRow, lastBySet) = (byRow.RecordedAt!.Value, bySet.RecordedAt!.Value);
            Assert.Equal(batch.Events, byRow.EventsAppended);
            Assert.Equal(byRow.EventsAppended, bySet.EventsAppended);
            Assert.Equal(byRow.LastSequence, bySet.LastSequence);
            Assert.Equal(byRow.Recorded, bySet.Recorded);
            Assert.Equal(byRow.FactVersions, bySet.FactVersions);
        }

        var expected = await DumpAsync(normal);
        var actual = await DumpAsync(bulk);
        foreach (var (table, rows) in expected)
        {
            Assert.True(rows.Count > 0, $"{table} is empty: the history does not exercise it");
            var missing = rows.Except(actual[table]).Take(2).ToList();
            var extra = actual[table].Except(rows).Take(2).ToList();
            Assert.True(missing.Count == 0 && extra.Count == 0,
                $"{table} differs ({rows.Count} rows by row, {actual[table].Count} in bulk)\n  only by row: {string.Join("\n    ", missing)}\n  only in bulk: {string.Join("\n    ", extra)}");
            Assert.Equal(rows, actual[table]);
        }

        foreach (var (holder, subject) in new[] { (HistoryGenerator.LongHolder, HistoryGenerator.LongSubject), (HistoryGenerator.ShortHolder, HistoryGenerator.ShortSubject) }
                     .Concat(await PairsAsync(normal)))
        {
            foreach (var day in new[] { HistoryGenerator.QueryDate, new DateOnly(2001, 3, 1), new DateOnly(2024, 6, 1) })
            {
                Assert.Equal(await NormalizeAsync(normal, LedgerJson.Serialize(await a.HoldingAsync(holder, subject, day, lastByRow))),
                    await NormalizeAsync(bulk, LedgerJson.Serialize(await b.HoldingAsync(holder, subject, day, lastBySet))));
            }
            Assert.Equal(await NormalizeAsync(normal, LedgerJson.Serialize(await a.HistoryAsync(holder, subject, lastByRow))),
                await NormalizeAsync(bulk, LedgerJson.Serialize(await b.HistoryAsync(holder, subject, lastBySet))));
        }
    }

    /// <summary>
    /// Marten has no bulk append (jasperfx/marten#3307), so writes append with COPY (EventCopy). Every
    /// event the ledger stored is appended again, write by write, through Marten's own session into
    /// an empty database: both logs must be the same row for row — so a Marten upgrade that changes
    /// how it stores events fails here, not in production. Both ways are compared: the first batch is one
    /// write (COPY), the second's documents are written one by one (one statement each), amending facts
    /// whose streams exist.
    /// </summary>
    [Fact]
    public async Task events_appended_with_copy_are_stored_exactly_as_martens_own_append_stores_them()
    {
        await using var copied = await TestDatabase.CreateAsync();
        await using var appended = await TestDatabase.CreateAsync();
        await using var a = copied.Connect();
        var history = History();
        await a.ImportAsync(history[0].Documents);
        foreach (var document in history[1].Documents)
        {
            await a.ImportAsync([document]);
        }
        // Every event type: a merge of two records and its undo too.
        await a.ImportYamlAsync("organizations:\n  - { id: twin-a, name: Twin, kind: company }\n  - { id: twin-b, name: Twin, kind: company }\n" +
            Seeds.MergeOf("twin-b", "twin-a"));
        await a.ImportYamlAsync(Seeds.UnmergeOf("twin-b", "two after all"));
        var writes = new List<(DateTimeOffset RecordedAt, string Writer, string Correlation, List<(string Stream, object Event)> Events)>();
        await using (var c = new NpgsqlConnection(copied.ConnectionString))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("select seq_id, id, type, timestamp, data::text, stream_id, user_name, correlation_id from dealledger.mt_events order by seq_id", c);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                var e = EventLogReader.Read(r);
                if (writes.Count == 0 || writes[^1].Correlation != r.GetString(7))
                {
                    writes.Add((e.Ref.RecordedAt, r.GetString(6), r.GetString(7), []));
                }
                writes[^1].Events.Add((r.GetString(5), e.Data));
            }
        }
        Assert.Equal(EventNames.All.Order(), writes.SelectMany(w => w.Events).Select(e => EventNames.Of(e.Event.GetType())).Distinct().Order());
        Assert.Contains(writes, w => w.Events.Count > EventCopy.InsertedEvents);
        Assert.Contains(writes, w => w.Events.Count <= EventCopy.InsertedEvents && w.Events.Any(e => e.Event is FactCorrected or SourceAddedToFact));

        await using var b = appended.Connect();
        foreach (var write in writes)
        {
            await using var c = await b.Database.OpenConnectionAsync();
            await using var tx = await c.BeginTransactionAsync();
            using (Time.RecordingClock.Use(write.RecordedAt))
            {
                await using var session = b.Store.LightweightSession(Marten.Services.SessionOptions.ForTransaction(tx, false));
                session.CorrelationId = write.Correlation;
                session.LastModifiedBy = write.Writer;
                foreach (var (stream, e) in write.Events)
                {
                    session.Events.Append(stream, e);
                }
                await session.SaveChangesAsync();
            }
            await tx.CommitAsync();
        }

        var expected = await DumpAsync(appended);
        var actual = await DumpAsync(copied);
        foreach (var table in new[] { "mt_events", "mt_streams" })
        {
            Assert.True(expected[table].Count > 0, $"{table} is empty");
            var missing = expected[table].Except(actual[table]).Take(2).ToList();
            var extra = actual[table].Except(expected[table]).Take(2).ToList();
            Assert.True(missing.Count == 0 && extra.Count == 0,
                $"{table} differs\n  only by Marten: {string.Join("\n    ", missing)}\n  only by COPY: {string.Join("\n    ", extra)}");
        }
    }

    [Fact]
    public async Task a_bulk_import_of_documents_already_imported_changes_nothing_and_a_bad_one_stores_nothing()
    {
        var history = History();
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        await ledger.ImportAsync(history[0].Documents);
        var before = await db.FingerprintAsync();

        var again = await ledger.ImportAsync(history[0].Documents);
        Assert.Equal(0, again.EventsAppended);
        Assert.Equal(before, await db.FingerprintAsync());

        // A later batch whose last document names an unknown source: the whole import is refused.
        var bad = history[1].Documents.Append(("bad.json", """{ "claims": [ { "fact": "f-0000010", "source": "no-such-source", "claim": "stated" } ] }""")).ToList();
        var error = await Assert.ThrowsAsync<LedgerException>(() => ledger.ImportAsync(bad));
        Assert.Contains("bad.json", error.Message);
        Assert.Contains("unknown source 'no-such-source'", error.Message);
        Assert.Equal(before, await db.FingerprintAsync());
    }

    private static async Task<List<(string, string)>> PairsAsync(TestDatabase db)
    {
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("select distinct holder, subject from dealledger.holding_segments order by 1, 2 limit 25", c);
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<(string, string)>();
        while (await r.ReadAsync())
        {
            list.Add((r.GetString(0), r.GetString(1)));
        }
        return list;
    }

    /// <summary>Every row of the log and the projections as text, event ids and instants replaced by their place (sorted).</summary>
    private static async Task<Dictionary<string, List<string>>> DumpAsync(TestDatabase db)
    {
        var queries = new Dictionary<string, string>
        {
            ["mt_events"] = "select to_jsonb(e)::text from dealledger.mt_events e",
            // A stream's timestamps are its creating write's now(): compared by which write that was.
            ["mt_streams"] = "select jsonb_build_object('id', id, 'type', type, 'version', version, 'tenant', tenant_id, 'compacted', compacted_version, 'archived', is_archived, " +
                             "'timestamp', dense_rank() over (order by timestamp), 'created', dense_rank() over (order by created), 'same', timestamp = created)::text from dealledger.mt_streams",
            ["organizations"] = "select to_jsonb(t)::text from dealledger.organizations t",
            ["sources"] = "select to_jsonb(t)::text from dealledger.sources t",
            ["deals"] = "select to_jsonb(t)::text from dealledger.deals t",
            ["fact_versions"] = "select to_jsonb(t)::text from dealledger.fact_versions t",
            ["holding_segments"] = "select to_jsonb(t)::text from dealledger.holding_segments t",
            ["ledger_position"] = "select to_jsonb(t)::text from dealledger.ledger_position t",
            ["sequences"] = "select jsonb_build_array((select last_value from dealledger.mt_events_sequence), (select last_value from dealledger.fact_versions_id_seq), " +
                            "(select last_value from dealledger.holding_segments_id_seq))::text",
        };
        var result = new Dictionary<string, List<string>>();
        foreach (var (table, sql) in queries)
        {
            var rows = new List<string>();
            await using (var c = new NpgsqlConnection(db.ConnectionString))
            {
                await c.OpenAsync();
                await using var cmd = new NpgsqlCommand(sql, c);
                await using var r = await cmd.ExecuteReaderAsync();
                while (await r.ReadAsync())
                {
                    rows.Add(r.GetString(0));
                }
            }
            var normalized = new List<string>();
            foreach (var row in rows)
            {
                normalized.Add(await NormalizeAsync(db, row));
            }
            normalized.Sort(StringComparer.Ordinal);
            result[table] = normalized;
        }
        return result;
    }

    private static readonly ConcurrentDictionary<string, Dictionary<string, string>> Replacements = new();

    [GeneratedRegex(@"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00|\+00)")]
    private static partial Regex IdOrInstant();

    /// <summary>Event ids → "event#SEQ", correlation ids → "write#N", recorded instants (in every form they are printed) → "write#N".</summary>
    private static async Task<string> NormalizeAsync(TestDatabase db, string text)
    {
        if (!Replacements.TryGetValue(db.Name, out var replacements))
        {
            replacements = new Dictionary<string, string>(StringComparer.Ordinal);
            await using var c = new NpgsqlConnection(db.ConnectionString);
            await c.OpenAsync();
            await using (var cmd = new NpgsqlCommand("select id::text, seq_id from dealledger.mt_events", c))
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                while (await r.ReadAsync())
                {
                    replacements[r.GetString(0)] = $"event#{r.GetInt64(1)}";
                }
            }
            await using (var cmd = new NpgsqlCommand(
                "select timestamp, timestamp::text, to_jsonb(timestamp)::text, correlation_id, dense_rank() over (order by timestamp) " +
                "from (select distinct timestamp, correlation_id from dealledger.mt_events) w", c))
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                while (await r.ReadAsync())
                {
                    var write = $"write#{r.GetInt64(4)}";
                    replacements[Time.Instant.Format(r.GetFieldValue<DateTimeOffset>(0))] = write;
                    replacements[r.GetString(1)] = write;
                    replacements[r.GetString(2).Trim('"')] = write;
                    replacements[r.GetString(3)] = write;
                }
            }
            Replacements[db.Name] = replacements;
        }
        return IdOrInstant().Replace(text, m => replacements.GetValueOrDefault(m.Value, m.Value));
    }
}
