using DealLedger.Access;
using DealLedger.Auditing;
using DealLedger.Holdings;
using DealLedger.Storage;
using DealLedger.Writing;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// DESIGN §8: `replay` rebuilds the projections from the log truncated at knownAt into a scratch
/// schema and compares every answer; `rebuild` builds into a shadow and switches, state unchanged.
/// </summary>
public sealed class RebuildTests
{
    /// <summary>A ledger with the seeds and a generated history written in several writes; the recorded instants of the writes.</summary>
    /// <param name="coldWrites">Each write from a ledger process of its own, which has built none of the pairs: it takes their stored timelines.</param>
    private static async Task<(Scenario Scenario, List<DateTimeOffset> Writes)> HistoryAsync(int seed, bool coldWrites = false, int count = 8)
    {
        var s = await Scenario.StartAsync();
        await Seeds.LoadAsync(s.Ledger);
        var random = new Random(seed);
        var facts = new List<(string Id, string From)>();
        var writes = new List<DateTimeOffset>();
        for (var w = 0; w < count; w++)
        {
            try
            {
                await using var fresh = coldWrites ? s.Database.Connect() : null;
                if ((await (fresh ?? s.Ledger).ImportYamlAsync(ReplayAgreementTests.NextDocument(random, w, facts, []), $"history-{w}.yaml")).RecordedAt is { } at)
                {
                    writes.Add(at);
                }
            }
            catch (LedgerException)
            {
                // A generated document the rules reject stores nothing; go on.
            }
        }
        return (s, writes);
    }

    private static async Task TamperAsync(TestDatabase db, string sql)
    {
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        Assert.True(await cmd.ExecuteNonQueryAsync() > 0, $"the tampering changed nothing: {sql}");
    }

    /// <summary>
    /// A projection's fingerprint is the SHA-256 of its rows' SHA-256 digests in ascending order (each row as text,
    /// ids left out) — hashed as the digests stream in, since a large ledger's rows do not fit in one PostgreSQL
    /// string (a 1M-event ledger's rebuild failed with "out of memory" when the server aggregated them), and
    /// sorting digests rather than whole rows keeps the sort in memory.
    /// </summary>
    [Fact]
    public async Task a_fingerprint_is_the_hash_of_its_rows_digests_in_order_whatever_the_columns_order()
    {
        var (s, _) = await HistoryAsync(5);
        await using var _ = s;
        var fingerprints = await Rebuild.FingerprintAsync(s.Ledger);
        await using var c = new NpgsqlConnection(s.Database.ConnectionString);
        await c.OpenAsync();
        await using (var utc = new NpgsqlCommand("set timezone = 'UTC'", c))
        {
            await utc.ExecuteNonQueryAsync();
        }
        // The definition, as README gives it: SHA-256 over the rows' SHA-256 digests in ascending order, each row as
        // PostgreSQL writes it as text (UTC), its columns in name order, its surrogate id left out.
        var columns = new Dictionary<string, string>
        {
            ["ledger_position"] = "id, last_recorded_at, last_sequence, names_sequence, projection_version",
            ["organizations"] = "data, id, name, recorded_at, sequence",
            ["organization_merges"] = "closed_sequence, duplicate, merged_into, reason, recorded, sequence, undo_reason, undo_writer, writer",
            ["sources"] = "data, id, recorded_at, sequence",
            ["deals"] = "data, id, recorded_at, sequence",
            ["fact_versions"] = "fact_id, holder, orgs, recorded, sequence, state, subject, type",
            ["holding_segments"] = "closed_sequence, finding, holder, recorded, sequence, status, subject, valid",
        };
        Assert.Equal(columns.Keys.Order(), fingerprints.Select(f => f.Projection).Order());
        foreach (var f in fingerprints)
        {
            await using var cmd = new NpgsqlCommand(
                "select count(*), encode(sha256(coalesce(string_agg(h, ''::bytea order by h), ''::bytea)), 'hex') " +
                $"from (select sha256(convert_to(row({columns[f.Projection]})::text, 'UTF8')) h from dealledger.{f.Projection} t) rows", c);
            await using var r = await cmd.ExecuteReaderAsync();
            await r.ReadAsync();
            Assert.Equal((r.GetInt64(0), r.GetString(1)), (f.Rows, f.Hash));
        }
        Assert.Contains(fingerprints, f => f.Projection == "holding_segments" && f.Rows > 10);
    }

    [Fact]
    public async Task projections_built_by_another_version_of_the_fold_are_reported_until_a_whole_rebuild()
    {
        await using var api = await ApiHostFixture.EmptyAsync();
        await Seeds.LoadAsync(api.Ledger);
        var client = api.Client(Role.Reader);
        Assert.Null(await api.Ledger.ProjectionsOutdatedAsync());
        Assert.Contains("\"status\":\"Healthy\"", await client.GetStringAsync("/health/ready"));

        // As after an upgrade whose fold writes other rows: the stored projections are an older version's.
        await TamperAsync(api.Database, "update dealledger.ledger_position set projection_version = 0");
        var outdated = $"the projections were built by version 0 of the fold, this build writes version {ProjectionTables.Version}: run `dealledger rebuild`";
        Assert.Equal(outdated, await api.Ledger.ProjectionsOutdatedAsync());
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        var body = await ready.Content.ReadAsStringAsync();
        Assert.Contains("\"status\":\"Degraded\"", body);
        Assert.Contains("built by version 0 of the fold", body);
        var (code, stdout, stderr) = await HeadlineTests.RunCliAsync(["holding", "microsoft", "mistral-ai", "--at", "2024-06-01", "--connection", api.ConnectionString]);
        Assert.Equal(0, code);
        Assert.Contains("HELD", stdout);
        Assert.Equal($"dealledger: warning: {outdated}\n", stderr);

        // A later write, or a rebuild of one projection, does not make the others this version's.
        await api.Ledger.ImportYamlAsync("organizations: [ { id: version-test, name: Version Test, kind: company } ]");
        await api.Ledger.RebuildAsync("holdings");
        Assert.Equal(outdated, await api.Ledger.ProjectionsOutdatedAsync());
        await api.Ledger.RebuildAsync();
        Assert.Null(await api.Ledger.ProjectionsOutdatedAsync());
        Assert.Contains("\"status\":\"Healthy\"", await client.GetStringAsync("/health/ready"));
        Assert.Equal("", (await HeadlineTests.RunCliAsync(["holding", "microsoft", "mistral-ai", "--connection", api.ConnectionString])).Stderr);
    }

    [Fact]
    public async Task a_finding_an_earlier_version_stored_in_words_is_refused_with_what_to_do_until_a_rebuild()
    {
        await using var api = await ApiHostFixture.EmptyAsync();
        await Seeds.LoadAsync(api.Ledger);
        // Version 1 stored each finding with its sentence, citations and basis events (before findings were data).
        await TamperAsync(api.Database, "update dealledger.holding_segments set finding = json_build_object('status', status, 'explanation', 'Microsoft held …', " +
            "'sources', json_build_array(json_build_object('id', 'ms-mistral-article-de')), 'basis', json_build_array(json_build_object('sequence', 26))) " +
            "where holder = 'microsoft' and subject = 'mistral-ai'");

        var refused = await Assert.ThrowsAsync<LedgerException>(() => api.Ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1)));
        Assert.Equal(LedgerErrorKind.Conflict, refused.Kind);
        Assert.Equal($"the holding projections were built by another version of DealLedger (this one writes version {ProjectionTables.Version}): run `dealledger rebuild`", refused.Message);
        var response = await api.Client(Role.Reader).GetAsync("/api/holdings/microsoft/mistral-ai?at=2024-06-01");
        Assert.Equal(System.Net.HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("run `dealledger rebuild`", await response.Content.ReadAsStringAsync());

        await api.Ledger.RebuildAsync();
        Assert.Equal(HoldingStatus.Held, (await api.Ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1))).Status);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(11)]
    public async Task replay_at_several_moments_finds_no_difference_in_a_ledger_built_write_by_write(int seed)
    {
        var (s, writes) = await HistoryAsync(seed);
        await using var _ = s;

        foreach (var knownAt in new[] { writes[0], writes[writes.Count / 2], writes[^1].AddTicks(-10), DateTimeOffset.UtcNow })
        {
            var report = await s.Ledger.ReplayAsync(knownAt);

            Assert.True(report.Agrees, $"at {knownAt:O}: {string.Join("\n", report.Differences.Select(d => $"{d.Question}\n  live {d.Live}\n  replay {d.Replayed}"))}");
            Assert.True(report.Comparisons > 100, $"only {report.Comparisons} answers compared");
        }
    }

    /// <summary>
    /// A write to a pair its process has not built takes the pair's stored timeline as the previous build and sweeps only
    /// the stretch its change reaches: the rows are those a rebuild makes from the log, at every write.
    /// </summary>
    [Theory]
    [InlineData(4)]
    [InlineData(12)]
    public async Task writes_from_processes_that_built_none_of_the_pairs_store_the_rows_a_rebuild_makes(int seed)
    {
        var (s, writes) = await HistoryAsync(seed, coldWrites: true, count: 14);
        await using var _ = s;
        Assert.True(writes.Count >= 6, $"only {writes.Count} generated writes were taken");

        var report = await s.Ledger.RebuildAsync();

        Assert.True(report.Unchanged, string.Join("\n", report.Before.Zip(report.After, (b, a) => $"{b} / {a}")));
        var replay = await s.Ledger.ReplayAsync(writes[writes.Count / 2]);
        Assert.True(replay.Agrees, string.Join("\n", replay.Differences.Select(d => $"{d.Question}\n  live {d.Live}\n  replay {d.Replayed}")));
    }

    [Fact]
    public async Task replay_compares_look_through_owners_too()
    {
        var (s, _) = await HistoryAsync(5);
        await using var _s = s;
        // The stake's size edited behind the ledger's back: the look-through owners of mistral-ai say 99 % too.
        await TamperAsync(s.Database, "update dealledger.holding_segments set finding = jsonb_set(finding::jsonb, '{share}', '{\"exact\": 99, \"minInclusive\": true, \"maxInclusive\": true}')::json " +
            "where holder = 'microsoft' and subject = 'mistral-ai' and upper_inf(recorded) and status = 'held'");

        var report = await s.Ledger.ReplayAsync(null);

        var through = Assert.Single(report.Differences, d => d.Question == "owners mistral-ai --through --at 2024-06-01");
        Assert.Contains("\"exact\":99", through.Live);
        Assert.DoesNotContain("\"exact\":99", through.Replayed);
    }

    [Fact]
    public async Task replay_names_every_answer_a_projection_edited_behind_the_ledgers_back_gives_wrongly()
    {
        var (s, _) = await HistoryAsync(5);
        await using var _s = s;
        // Findings are stored as data: the edit says 99 sources back the holding, which its words then say.
        await TamperAsync(s.Database, "update dealledger.holding_segments set finding = jsonb_set(finding::jsonb, '{explanation,evidence,sources}', '99')::json " +
            "where holder = 'microsoft' and subject = 'mistral-ai' and upper_inf(recorded) and status = 'held'");

        var report = await s.Ledger.ReplayAsync(null);

        Assert.False(report.Agrees);
        Assert.Contains(report.Differences, d => d.Question == "holding microsoft mistral-ai --at 2024-06-01" && d.Live.Contains("99 sources") && !d.Replayed.Contains("99 sources"));
        Assert.All(report.Differences, d => Assert.Contains("microsoft", d.Question + d.Live));
        // A replay only reads the live projections: the edit is still there.
        Assert.Contains("99 sources", (await s.Ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1))).Explanation);
        var (code, _, stderr) = await HeadlineTests.RunCliAsync(["replay", "--connection", s.Database.ConnectionString]);
        Assert.Equal(1, code);
        Assert.Contains("differ between the live projections and the replay", stderr);
    }

    [Fact]
    public async Task rebuild_leaves_the_state_as_it_was_while_queries_go_on_answering()
    {
        var (s, _) = await HistoryAsync(7);
        await using var _s = s;
        using var stop = new CancellationTokenSource();
        var answered = 0;
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var a = await s.Ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1));
                Assert.Equal(HoldingStatus.Held, a.Status);
                answered++;
            }
        });

        var report = await s.Ledger.RebuildAsync();
        stop.Cancel();
        await reader;

        Assert.True(report.Unchanged, string.Join("\n", report.Before.Zip(report.After, (b, a) => $"{b} / {a}")));
        Assert.True(report.Events > 30);
        Assert.True(answered > 0);
        Assert.Equal(await Rebuild.FingerprintAsync(s.Ledger), report.After);
    }

    /// <summary>
    /// A rebuild builds each pair's timelines pair by pair, yet numbers the rows as the writes did: the change feed lists
    /// a write's new and closed segments in id order, so after a rebuild it lists them in the same order as before.
    /// </summary>
    [Fact]
    public async Task rebuild_numbers_the_segments_in_the_order_the_writes_made_them()
    {
        var (s, writes) = await HistoryAsync(9);
        await using var _s = s;
        Assert.True(writes.Count >= 4, $"only {writes.Count} generated writes were taken");
        await using var c = new NpgsqlConnection(s.Database.ConnectionString);
        await c.OpenAsync();
        const string InIdOrder = "select string_agg(concat_ws('|', holder, subject, sequence, closed_sequence, valid::text), E'\\n' order by id) from dealledger.holding_segments";
        var made = await Sql.ScalarAsync<string>(c, InIdOrder, default);
        // Writes touching several pairs, each with several segments: an order by pair would differ from the writes' order.
        Assert.True(await Sql.ScalarAsync<long>(c, "select count(*) from (select sequence from dealledger.holding_segments group by sequence having count(distinct (holder, subject)) > 1 and count(*) > count(distinct (holder, subject))) w", default) > 0);

        var report = await s.Ledger.RebuildAsync();

        Assert.True(report.Unchanged);
        Assert.Equal(made, await Sql.ScalarAsync<string>(c, InIdOrder, default));
    }

    /// <summary>
    /// A whole log's fold leaves the pairs' timelines to the end, where a rebuild or replay that is stopped stops too
    /// (1M events: about 13 s of building) and adds no row.
    /// </summary>
    [Fact]
    public async Task a_whole_logs_fold_builds_the_timelines_at_the_end_and_stops_there_when_cancelled()
    {
        await using var s = await Scenario.StartAsync();
        await Seeds.LoadAsync(s.Ledger);
        await using var c = new NpgsqlConnection(s.Database.ConnectionString);
        await c.OpenAsync();
        var log = await EventLogReader.KnownAtAsync(c, DateTimeOffset.MaxValue, default);
        ProjectionFold Folded()
        {
            var fold = new ProjectionFold(new LedgerState { Complete = true }, wholeLog: true);
            foreach (var write in log.GroupBy(e => e.Ref.RecordedAt))
            {
                fold.Apply([.. write]);
            }
            Assert.Empty(fold.Segments);
            return fold;
        }

        var stopped = Folded();
        Assert.ThrowsAny<OperationCanceledException>(() => stopped.BuildTimelines(new CancellationToken(canceled: true)));
        Assert.Empty(stopped.Segments);
        var built = Folded();
        built.BuildTimelines(default);
        Assert.Equal(await Sql.ScalarAsync<long>(c, "select count(*) from dealledger.holding_segments", default), built.Segments.Count);
    }

    [Fact]
    public async Task a_rebuilt_table_takes_the_live_ones_place_with_its_indexes_privileges_and_ids_going_on()
    {
        var (s, _) = await HistoryAsync(7);
        await using var _s = s;
        await using var c = new NpgsqlConnection(s.Database.ConnectionString);
        await c.OpenAsync();
        // What the API's role may do (migration 0005), the indexes by name and definition, and the ids handed out.
        const string Privileges =
            "select string_agg(x, '; ' order by x) from (select table_name || ' ' || privilege_type as x from information_schema.role_table_grants where grantee = 'dealledger_api' " +
            "union all select table_name || '.' || column_name || ' ' || privilege_type from information_schema.role_column_grants where grantee = 'dealledger_api' " +
            "union all select object_name || ' ' || privilege_type from information_schema.role_usage_grants where grantee = 'dealledger_api') p";
        const string Indexes = "select string_agg(indexname || ' ' || indexdef, '; ' order by indexname) from pg_indexes where schemaname = 'dealledger'";
        const string Tables = "select string_agg(c.oid::text, ',' order by c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace " +
            "where n.nspname = 'dealledger' and c.relname in ('organizations', 'fact_versions', 'holding_segments')";
        var privileges = await Sql.ScalarAsync<string>(c, Privileges, default);
        var indexes = await Sql.ScalarAsync<string>(c, Indexes, default);
        var tables = await Sql.ScalarAsync<string>(c, Tables, default);
        var highest = await Sql.ScalarAsync<long>(c, "select max(id) from dealledger.holding_segments", default);
        Assert.Contains("holding_segments.closed_sequence UPDATE", privileges);

        var report = await s.Ledger.RebuildAsync();

        Assert.True(report.Unchanged);
        Assert.NotEqual(tables, await Sql.ScalarAsync<string>(c, Tables, default)); // new tables, not rewritten rows
        // Written to the WAL as the live ones were (a replay's scratch shadow is unlogged; a rebuild's must not be): they
        // survive a crash and reach the standbys.
        Assert.Equal(0, await Sql.ScalarAsync<long>(c, "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace " +
            "where n.nspname = 'dealledger' and c.relname = any($1) and c.relpersistence <> 'p'", default, (object)ProjectionTables.Projections));
        // And the planner has statistics of each new table with rows at once (not when autovacuum comes round).
        Assert.Equal(0, await Sql.ScalarAsync<long>(c, "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace " +
            "where n.nspname = 'dealledger' and c.relname = any($1) and pg_relation_size(c.oid) > 0 " +
            "and not exists (select from pg_stats s where s.schemaname = n.nspname and s.tablename = c.relname)",
            default, (object)ProjectionTables.Projections));
        Assert.Equal(privileges, await Sql.ScalarAsync<string>(c, Privileges, default));
        Assert.Equal(indexes, await Sql.ScalarAsync<string>(c, Indexes, default));
        await s.Ledger.AssertSchemaMatchesCodeAsync();
        Assert.Empty(await Sql.ListAsync(c, "select nspname::text from pg_namespace where nspname ~ '^rebuild_'", r => r.GetString(0), default));
        await s.Ledger.ImportYamlAsync(Seeds.Deal("after-switch", Seeds.Stake("s-after-switch", "{ exact: 4 }", "{ from: 2031-01 }", holder: "initech")));
        Assert.True(await Sql.ScalarAsync<long>(c, "select min(id) from dealledger.holding_segments where sequence = (select max(sequence) from dealledger.holding_segments)", default) > highest,
            "a write after the rebuild reused an id the replaced table had handed out");
        Assert.True((await s.Ledger.ReplayAsync(null)).Agrees);
        // The pool takes connections back as they are (LedgerStore.DataSource): no idle one may still hold a shadow's lock,
        // which would mark a shadow long gone as owned.
        Assert.Equal(0, await Sql.ScalarAsync<long>(c, "select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid " +
            "where l.locktype = 'advisory' and a.datname = current_database() and a.state = 'idle'", default));
    }

    [Fact]
    public async Task rebuild_repairs_a_projection_edited_behind_the_ledgers_back_and_new_writes_continue_after_it()
    {
        var (s, _) = await HistoryAsync(9);
        await using var _s = s;
        var before = await s.Ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1));
        await TamperAsync(s.Database, "delete from dealledger.holding_segments where holder = 'microsoft' and subject = 'mistral-ai'");
        Assert.Equal(HoldingStatus.Unknown, (await s.Ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1))).Status);

        var report = await s.Ledger.RebuildAsync("holdings");

        Assert.False(report.Unchanged);
        Assert.Equal(LedgerJsonOf(before), LedgerJsonOf(await s.Ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1))));
        await s.Ledger.ImportYamlAsync(Seeds.Deal("after-rebuild", Seeds.Stake("s-after", "{ exact: 3 }", "{ from: 2030-01 }", holder: "initech")));
        Assert.True((await s.Ledger.ReplayAsync(null)).Agrees);
    }

    [Fact]
    public async Task replay_compares_a_stake_that_starts_on_the_calendars_first_day()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Seeds.Deal("d1", Seeds.Stake("s1", "{ exact: 5 }", "{ from: 0001 }"), Seeds.Stake("s2", "{ exact: 7 }", "{ from: 0001-01-02 }", holder: "initech")));

        var report = await s.Ledger.ReplayAsync(null);

        Assert.True(report.Agrees, string.Join("\n", report.Differences.Select(d => d.Question)));
    }

    [Fact]
    public async Task rebuild_of_an_unknown_projection_is_refused()
    {
        await using var s = await Scenario.StartAsync();
        var e = await Assert.ThrowsAsync<LedgerException>(() => s.Ledger.RebuildAsync("owners"));
        Assert.Contains("unknown projection 'owners' (known: organizations, sources, deals, facts, holdings)", e.Message);
    }

    private static string LedgerJsonOf(HoldingAnswer a) => Storage.LedgerJson.Serialize(a with { KnownAt = "" });
}
