using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DealLedger.Access;
using DealLedger.Auditing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>
/// The database role the API runs as (migrations/0005_api_role.sql): an API connected through a
/// login that is a member of dealledger_api does everything it serves — reads, single writes,
/// imports, amendments, key administration, the feed, continuous sealing, the outbox — without
/// attempting DDL; the same login cannot UPDATE, DELETE or TRUNCATE the stored events or the seals.
/// </summary>
public sealed class DatabaseRoleTests(ApiHostFixture api, ITestOutputHelper output) : IClassFixture<ApiHostFixture>, IAsyncLifetime
{
    public const string ApiRole = "dealledger_api";
    private readonly string login = $"dl_api_test_{Guid.NewGuid():N}"[..30];
    private readonly string password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private string LoginConnection => new NpgsqlConnectionStringBuilder(api.ConnectionString) { Username = login, Password = password, Pooling = false }.ConnectionString;

    public Task InitializeAsync() => ExecAsync(api.ConnectionString, $"create role {login} login password '{password}' in role {ApiRole}");

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecAsync(api.ConnectionString, $"drop role if exists {login}");
    }

    [Fact]
    public async Task the_api_connected_as_a_member_of_the_api_role_serves_reads_writes_keys_the_feed_and_sealing()
    {
        var clock = Stopwatch.StartNew();
        var logs = new LogCapture();
        await using var host = api.Host(anonymousReads: false, new Dictionary<string, string>
            {
                ["ConnectionStrings:DealLedger"] = LoginConnection,
                ["Logging:LogLevel:Wolverine"] = "Information",
                ["Logging:LogLevel:Marten"] = "Information",
            })
            .WithWebHostBuilder(b => b.ConfigureLogging(l => l.AddProvider(logs)));
        HttpClient Client(string key)
        {
            var c = host.CreateClient();
            c.DefaultRequestHeaders.Add("X-Api-Key", key);
            return c;
        }
        var admin = Client(api.Keys[Role.Admin]);
        var reader = Client(api.Keys[Role.Reader]);

        // Key administration: a writer key made and later revoked over HTTP.
        var created = await admin.PostAsync("/api/keys", Json("""{ "name": "role-writer", "role": "writer" }"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var writer = Client(JsonNode.Parse(await created.Content.ReadAsStringAsync())!["key"]!.GetValue<string>());

        // Reads.
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/holdings/microsoft/mistral-ai?at=2024-06-01")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/graph")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/events?limit=10")).StatusCode);

        // Writes: a single entry, an import, and amendments of a fact already stored (appends to an existing stream).
        Assert.Equal(HttpStatusCode.Created, (await writer.PostAsync("/api/organizations", Json("""{ "id": "role-co", "name": "Role Co", "kind": "company" }"""))).StatusCode);
        var imported = await writer.PostAsync("/api/import", Json("""
            { "deals": [ { "id": "role-deal", "parties": ["role-co", "mistral-ai"], "facts": [
              { "id": "role-stake", "type": "stake", "holder": "role-co", "subject": "mistral-ai", "share": { "exact": 3 },
                "valid": { "from": "2024-03" }, "sources": [ { "source": "ms-mistral-article-de", "claim": "stated" } ] } ] } ] }
            """));
        Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
        var sources = """[ { "source": "ms-mistral-article-de", "claim": "stated" } ]""";
        var etag = (await reader.GetAsync("/api/facts/microsoft-mistral-stake")).Headers.ETag!;
        Assert.Equal(HttpStatusCode.OK, (await AmendAsync(writer, "microsoft-mistral-stake", "corrections", $$"""{ "set": { "share": { "max": 40 } }, "reason": "restated", "sources": {{sources}} }""", etag)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await AmendAsync(writer, "role-stake", "sources", """{ "source": "ai-for-citizens-article-de", "claim": "stated" }""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await AmendAsync(writer, "role-stake", "endings", $$"""{ "on": "2024-09", "reason": "sold", "sources": {{sources}} }""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await AmendAsync(writer, "mistral-le-chat-launch", "retractions", $$"""{ "reason": "withdrawn", "sources": {{sources}} }""")).StatusCode);
        // A merge of duplicate records and its undo: the merge's row opened and closed, the pairs it moved refreshed.
        Assert.Equal(HttpStatusCode.Created, (await writer.PostAsync("/api/organizations", Json("""{ "id": "role-twin", "name": "Role Co (again)", "kind": "company" }"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await writer.PostAsync("/api/organizations/role-co/merge", Json("""{ "into": "role-twin", "reason": "registered twice" }"""))).StatusCode);
        var merged = JsonNode.Parse(await reader.GetStringAsync("/api/holdings/role-twin/mistral-ai?at=2024-06-01"))!;
        Assert.Equal(("held", "role-co"), (merged["status"]!.GetValue<string>(), merged["merges"]![0]!["duplicate"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, (await writer.PostAsync("/api/organizations/role-co/unmerge", Json("""{ "reason": "two after all" }"""))).StatusCode);

        // The feed, paged and streamed, up to the head.
        var head = await ScalarAsync<long>(api.ConnectionString, "select last_sequence from dealledger.ledger_position");
        var feed = JsonNode.Parse(await reader.GetStringAsync("/api/feed?after=0&limit=1000"))!;
        Assert.Equal(head, feed["highWaterMark"]!.GetValue<long>());
        using (var stream = await reader.GetAsync($"/api/feed/stream?after={head - 1}", HttpCompletionOption.ResponseHeadersRead))
        using (var lines = new StreamReader(await stream.Content.ReadAsStreamAsync()))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            string? line;
            while ((line = await lines.ReadLineAsync()) is not null && !line.StartsWith("id:", StringComparison.Ordinal))
            {
            }
            Assert.Equal($"id: {head}", line);
        }

        // Keys: listed, revoked, refused.
        Assert.Contains("role-writer", await admin.GetStringAsync("/api/keys"));
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/keys/role-writer")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await writer.GetAsync("/api/graph")).StatusCode);

        // Sealed continuously up to the head, and the outbox's messages sent on to the queue.
        await WaitUntilAsync(async () => await ScalarAsync<long?>(api.ConnectionString, "select max(sequence) from dealledger.seals") == head, "the seals to reach the head");
        await WaitUntilAsync(async () => await ScalarAsync<long>(api.ConnectionString, "select count(*) from wolverine.wolverine_outgoing_envelopes") == 0
            && await ScalarAsync<long>(api.ConnectionString, "select count(*) from wolverine_queues.wolverine_queue_holding_changes") > 0, "the outbox to be sent");
        Assert.True((await api.Ledger.VerifyAsync()).Ok);
        Assert.Equal(HttpStatusCode.OK, (await host.CreateClient().GetAsync("/health/ready")).StatusCode);
        var serving = logs.Entries.Count;
        await host.DisposeAsync();

        // Nothing it did, at start, while serving or at stop, was refused by the database (DDL would be). At stop, work cut
        // short by the stop itself (Wolverine's node agents still assigning themselves when the host stops) is not a refusal.
        static bool CutShort(string text) => text.Contains("TaskCanceledException", StringComparison.Ordinal) || text.Contains("OperationCanceledException", StringComparison.Ordinal);
        var refusals = logs.Entries.Where((e, i) => e.Level is >= LogLevel.Error and < LogLevel.None && !(i >= serving && CutShort(e.Text))
            || e.Text.Contains("42501", StringComparison.Ordinal)
            || e.Text.Contains("permission denied", StringComparison.OrdinalIgnoreCase) || e.Text.Contains("must be owner", StringComparison.OrdinalIgnoreCase)).ToList();
        output.WriteLine($"{head} events up to the head, served as {login}; {logs.Entries.Count} log entries; {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(refusals.Count == 0, string.Join("\n", refusals.Select(e => $"{e.Level} {e.Category}: {e.Text}")));
    }

    [Theory]
    [InlineData("update dealledger.mt_events set data = '{}'::jsonb where seq_id = 1")]
    [InlineData("update dealledger.mt_events set is_archived = true")]
    [InlineData("delete from dealledger.mt_events where seq_id = (select max(seq_id) from dealledger.mt_events)")]
    [InlineData("truncate dealledger.mt_events")]
    [InlineData("update dealledger.seals set link = '\\x00'::bytea where sequence = 1")]
    [InlineData("delete from dealledger.seals")]
    [InlineData("truncate dealledger.seals")]
    [InlineData("update dealledger.mt_streams set is_archived = true")]
    [InlineData("delete from dealledger.mt_streams")]
    [InlineData("truncate dealledger.mt_streams cascade")]
    [InlineData("select dealledger.mt_archive_stream('organization:microsoft')")]
    [InlineData("alter table dealledger.mt_events disable trigger all")]
    [InlineData("drop table dealledger.seals")]
    [InlineData("select setval('dealledger.mt_events_sequence', 1)")]
    [InlineData("update dealledger.api_keys set role = 'admin'")]
    [InlineData("delete from dealledger.holding_segments")]
    [InlineData("create table dealledger.shadow_events (like dealledger.mt_events)")]
    public async Task a_member_of_the_api_role_cannot_change_or_remove_stored_events_or_seals(string sql)
    {
        await api.Ledger.SealAsync();
        var before = await StoredAsync();

        var e = await Assert.ThrowsAsync<PostgresException>(() => ExecAsync(LoginConnection, sql));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, e.SqlState); // 42501
        Assert.Equal(before, await StoredAsync());
        Assert.True((await api.Ledger.VerifyAsync()).Ok);
    }

    [Fact]
    public async Task a_member_of_the_api_role_cannot_take_on_the_owners_privileges()
    {
        var owner = new NpgsqlConnectionStringBuilder(api.ConnectionString).Username!;
        var e = await Assert.ThrowsAsync<PostgresException>(() => ExecAsync(LoginConnection, $"set role {owner}; delete from dealledger.seals"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, e.SqlState);
    }

    /// <summary>
    /// The role's grants, table by table: a table added to the ledger's schemas fails this until a
    /// migration decides what the API may do with it (and this list says so).
    /// </summary>
    [Fact]
    public async Task the_api_role_holds_exactly_the_grants_it_needs()
    {
        var wolverine = "SELECT, INSERT, UPDATE, DELETE";
        var expected = new Dictionary<string, string>
        {
            ["dealledger.api_keys"] = "SELECT, INSERT, UPDATE (revoked_at)",
            ["dealledger.deals"] = "SELECT, INSERT",
            ["dealledger.fact_versions"] = "SELECT, INSERT, UPDATE (recorded)",
            ["dealledger.holding_segments"] = "SELECT, INSERT, UPDATE (closed_sequence, recorded)",
            ["dealledger.ledger_position"] = "SELECT, INSERT, UPDATE (last_recorded_at, last_sequence, names_sequence)",
            ["dealledger.mt_doc_deadletterevent"] = "",
            ["dealledger.mt_event_progression"] = "",
            ["dealledger.mt_event_projection_floors"] = "",
            ["dealledger.mt_events"] = "SELECT, INSERT",
            ["dealledger.mt_high_water_skips"] = "",
            ["dealledger.mt_streams"] = "SELECT, INSERT, UPDATE (timestamp, version)",
            ["dealledger.organization_merges"] = "SELECT, INSERT, UPDATE (closed_sequence, recorded, undo_reason, undo_writer)",
            ["dealledger.organizations"] = "SELECT, INSERT",
            ["dealledger.schema_migrations"] = "",
            ["dealledger.seals"] = "SELECT, INSERT",
            ["dealledger.sources"] = "SELECT, INSERT",
            ["dealledger.webhook_deliveries"] = "SELECT, INSERT, UPDATE (attempts, delivered_at, error, last_attempt_at, response_status, status)",
            ["dealledger.webhook_subscriptions"] = "SELECT, INSERT, UPDATE (deleted_at, delivered_up_to, next_attempt_at)",
            ["wolverine.wolverine_agent_restrictions"] = wolverine,
            ["wolverine.wolverine_control_queue"] = wolverine,
            ["wolverine.wolverine_dead_letter_history"] = wolverine,
            ["wolverine.wolverine_dead_letters"] = wolverine,
            ["wolverine.wolverine_incoming_envelopes"] = wolverine,
            ["wolverine.wolverine_node_assignments"] = wolverine,
            ["wolverine.wolverine_node_records"] = wolverine,
            ["wolverine.wolverine_nodes"] = wolverine,
            ["wolverine.wolverine_outgoing_envelopes"] = wolverine,
            ["wolverine_queues.wolverine_queue_holding_changes"] = wolverine,
            ["wolverine_queues.wolverine_queue_holding_changes_scheduled"] = wolverine,
        };
        var actual = await GrantsAsync();
        var different = expected.Keys.Union(actual.Keys).Order(StringComparer.Ordinal)
            .Where(t => expected.GetValueOrDefault(t) != actual.GetValueOrDefault(t))
            .Select(t => $"  {t}: expected [{expected.GetValueOrDefault(t) ?? "no such table"}], granted [{actual.GetValueOrDefault(t) ?? "no such table"}]").ToList();
        Assert.True(different.Count == 0, "the API role's grants differ:\n" + string.Join("\n", different));

        await using var c = new NpgsqlConnection(api.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, (select count(*) from pg_auth_members m where m.member = r.oid) from pg_roles r where rolname = '{ApiRole}'", c);
        await using var r = await cmd.ExecuteReaderAsync();
        Assert.True(await r.ReadAsync());
        Assert.Equal((false, false, false, false, false, 0L), (r.GetBoolean(0), r.GetBoolean(1), r.GetBoolean(2), r.GetBoolean(3), r.GetBoolean(4), r.GetInt64(5)));
    }

    /// <summary>The role's privileges on each table of the ledger's schemas: table-wide, then per column.</summary>
    private async Task<Dictionary<string, string>> GrantsAsync()
    {
        await using var c = new NpgsqlConnection(api.ConnectionString);
        await c.OpenAsync();
        var privileges = new[] { "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER" };
        var sql = $"""
            select t.schemaname || '.' || t.tablename,
                   array(select p from unnest(@privileges::text[]) p where has_table_privilege('{ApiRole}', format('%I.%I', t.schemaname, t.tablename), p) order by array_position(@privileges::text[], p)),
                   array(select a.attname from pg_attribute a where a.attrelid = format('%I.%I', t.schemaname, t.tablename)::regclass and a.attnum > 0 and not a.attisdropped
                         and not has_table_privilege('{ApiRole}', format('%I.%I', t.schemaname, t.tablename), 'UPDATE')
                         and has_column_privilege('{ApiRole}', format('%I.%I', t.schemaname, t.tablename), a.attname, 'UPDATE') order by a.attname)
              from pg_tables t where t.schemaname in ('dealledger', 'wolverine', 'wolverine_queues')
            """;
        await using var cmd = new NpgsqlCommand(sql, c) { Parameters = { new("privileges", privileges) } };
        await using var r = await cmd.ExecuteReaderAsync();
        var grants = new Dictionary<string, string>();
        while (await r.ReadAsync())
        {
            var table = r.GetFieldValue<string[]>(1).ToList();
            var columns = r.GetFieldValue<string[]>(2);
            if (columns.Length > 0)
            {
                table.Add($"UPDATE ({string.Join(", ", columns)})");
            }
            grants[r.GetString(0)] = string.Join(", ", table);
        }
        return grants;
    }

    /// <summary>The fingerprint of the log and projections, and the seals.</summary>
    private async Task<string> StoredAsync() =>
        await api.FingerprintAsync() + await ScalarAsync<string>(api.ConnectionString, "select coalesce(md5(string_agg(s::text, '|' order by sequence)), '-') from dealledger.seals s");

    private static Task<HttpResponseMessage> AmendAsync(HttpClient writer, string fact, string kind, string body, EntityTagHeaderValue? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/facts/{fact}/{kind}") { Content = Json(body) };
        if (ifMatch is not null)
        {
            request.Headers.IfMatch.Add(ifMatch);
        }
        return writer.SendAsync(request);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        for (var waited = Stopwatch.StartNew(); !await condition(); await Task.Delay(100))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"no {what} within 30 s");
        }
    }

    private static async Task<T> ScalarAsync<T>(string connection, string sql)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        var value = await cmd.ExecuteScalarAsync();
        return value is DBNull or null ? default! : (T)value;
    }

    private static async Task ExecAsync(string connection, string sql)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Every log entry of the host, at every level.</summary>
    private sealed class LogCapture : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Category, string Text)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(LogCapture capture, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                capture.Entries.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : "\n" + exception)));
        }
    }
}
