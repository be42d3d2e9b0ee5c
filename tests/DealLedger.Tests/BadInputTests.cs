using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using DealLedger.Access;
using Npgsql;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>The catalogue's HTTP side: one API host over one database, holding the seeds, the scenario and a key of each role.</summary>
public sealed class BadInputHost : IAsyncLifetime
{
    public ApiHostFixture Api { get; } = new();
    public TestDatabase Database => Api.Database;

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        await Api.Ledger.ImportYamlAsync(BadInputCatalogue.Scenario, "scenario.yaml");
        await Api.Ledger.ImportYamlAsync(BadInputCatalogue.Merged, "merged.yaml");
        _ = Api.Client(); // starts the host: it seals what is recorded, and registers with Wolverine
        await BadInput.SettledAsync(Database);
    }

    public Task DisposeAsync() => Api.DisposeAsync();
}

/// <summary>The catalogue's CLI side: one database (no host), holding the seeds, the scenario and a key named 'taken'.</summary>
public sealed class BadInputDatabase : IAsyncLifetime
{
    public TestDatabase Database { get; } = new();

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        await using var ledger = Database.Connect();
        await Seeds.LoadAsync(ledger);
        await ledger.ImportYamlAsync(BadInputCatalogue.Scenario, "scenario.yaml");
        await ledger.ImportYamlAsync(BadInputCatalogue.Merged, "merged.yaml");
        await ledger.CreateKeyAsync("taken", Role.Reader, "tests");
    }

    public Task DisposeAsync() => Database.DisposeAsync();
}

internal static class BadInput
{
    /// <summary>Waits until the host has nothing left to do by itself: every event sealed, and the whole database still between two looks.</summary>
    public static async Task SettledAsync(TestDatabase db)
    {
        var deadline = Stopwatch.StartNew();
        await using (var c = new NpgsqlConnection(db.ConnectionString))
        {
            await c.OpenAsync();
            while (true)
            {
                await using var cmd = new NpgsqlCommand("select (select count(*) from dealledger.seals) = (select count(*) from dealledger.mt_events)", c);
                if ((bool)(await cmd.ExecuteScalarAsync())!)
                {
                    break;
                }
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "the API host did not seal the scenario within 30 s");
                await Task.Delay(100);
            }
        }
        var last = await db.FingerprintAsync();
        while (true)
        {
            await Task.Delay(300);
            var now = await db.FingerprintAsync();
            if (now == last)
            {
                return;
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(40), "the database kept changing on its own");
            last = now;
        }
    }

    /// <summary>Names the fingerprints' first difference, for a failure message.</summary>
    public static string Difference(string before, string after)
    {
        var a = before.Split(';');
        var b = after.Split(';');
        return string.Join("; ", a.Zip(b).Where(p => p.First != p.Second).Select(p => $"{p.First.Split('=')[0]} changed").Take(5));
    }

    /// <summary>What a case cost: the two fingerprints, and the refusal itself.</summary>
    public static string Timing(TimeSpan fingerprints, TimeSpan refusal) =>
        FormattableString.Invariant($"timing: fingerprints {fingerprints.TotalMilliseconds:F1} ms, refusal {refusal.TotalMilliseconds:F1} ms");

    public static void AssertUnchanged(string key, string before, string after) =>
        Assert.True(before == after, $"{key}: the database changed ({Difference(before, after)})");

    public static void AssertNoStackTrace(string key, string text) =>
        Assert.False(text.Contains("   at ", StringComparison.Ordinal) || text.Contains("Exception:", StringComparison.Ordinal), $"{key}: a stack trace leaked: {text}");
}

/// <summary>
/// Issue 5, bad input over HTTP: every document of the catalogue posted to /api/import (JSON or
/// YAML) and every bad request gets RFC 9457 problem details with the right status and the field
/// at fault, and the whole database is the same before and after.
/// </summary>
public sealed class BadInputHttpTests(BadInputHost host, ITestOutputHelper output) : IClassFixture<BadInputHost>
{
    public static TheoryData<string> Documents => [.. BadInputCatalogue.Documents.Select(d => d.Key)];
    public static TheoryData<string> Requests => [.. BadInputCatalogue.Requests.Select(r => r.Key)];

    [Theory]
    [MemberData(nameof(Documents))]
    public async Task a_bad_document_posted_to_import_gets_problem_details_and_changes_nothing(string key)
    {
        var d = BadInputCatalogue.Documents.Single(x => x.Key == key);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/import") { Content = new ByteArrayContent(d.Bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(d.Format == DocumentFormat.Json ? "application/json" : "application/yaml");

        await RefusedAsync(key, request, Role.Writer, d.Status, d.Field, d.Fragment);
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task a_bad_request_gets_problem_details_and_changes_nothing(string key)
    {
        var r = BadInputCatalogue.Requests.Single(x => x.Key == key);
        var request = new HttpRequestMessage(new HttpMethod(r.Method), r.Path);
        if (r.Body is { } body)
        {
            request.Content = r.Chunked ? new StreamContent(new UnknownLength(body)) : new ByteArrayContent(body);
            if (r.ContentType is { } type)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
            }
        }
        foreach (var (name, value) in r.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        await RefusedAsync(key, request, r.Role, r.Status, r.Field, r.Fragment);
    }

    private async Task RefusedAsync(string key, HttpRequestMessage request, Role? role, int status, string? field, string fragment)
    {
        var clock = Stopwatch.StartNew();
        var before = await host.Database.FingerprintAsync();
        var fingerprinting = clock.Elapsed;

        var response = await host.Api.Client(role).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var answering = clock.Elapsed - fingerprinting;

        Assert.True((int)response.StatusCode == status, $"{key}: expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()), $"{key}: no title");
        var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : "";
        Assert.True(detail.Contains(fragment, StringComparison.Ordinal), $"{key}: expected '{fragment}' in the detail: {detail}");
        Assert.True(detail.Length <= 1000, $"{key}: the detail echoes too much ({detail.Length} characters)");
        var named = problem.TryGetProperty("field", out var f) ? f.GetString() : null;
        Assert.True(named == field, $"{key}: expected field {field ?? "(none)"}, got {named ?? "(none)"} ({detail})");
        BadInput.AssertNoStackTrace(key, text);
        var checking = Stopwatch.StartNew();
        BadInput.AssertUnchanged(key, before, await host.Database.FingerprintAsync());
        output.WriteLine(BadInput.Timing(fingerprinting + checking.Elapsed, answering));
    }

    /// <summary>A body whose length the client does not know, so it goes chunked.</summary>
    private sealed class UnknownLength(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}

/// <summary>
/// Issue 5, bad input on the command line: every document of the catalogue given to
/// `dealledger import FILE` and every bad command line exits 2 with one readable line on stderr (no
/// stack trace, nothing on stdout), and the whole database is the same before and after.
/// </summary>
public sealed class BadInputCliTests(BadInputDatabase db, ITestOutputHelper output) : IClassFixture<BadInputDatabase>
{
    public static TheoryData<string> Documents => [.. BadInputCatalogue.Documents.Select(d => d.Key)];
    public static TheoryData<string> Commands => [.. BadInputCatalogue.Commands.Select(c => c.Key)];

    [Theory]
    [MemberData(nameof(Documents))]
    public async Task a_bad_document_given_to_import_exits_2_with_one_line_and_changes_nothing(string key)
    {
        var d = BadInputCatalogue.Documents.Single(x => x.Key == key);
        var file = d.Format == DocumentFormat.Json ? "case.json" : "case.yaml";
        var command = new BadCommand(d.Category, d.Name, ["import", $"{{dir}}/{file}"], d.Fragment) { Files = new Dictionary<string, byte[]> { [file] = d.Bytes } };

        await RefusedAsync(key, command);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task a_bad_command_line_exits_2_with_one_line_and_changes_nothing(string key) =>
        await RefusedAsync(key, BadInputCatalogue.Commands.Single(x => x.Key == key));

    private async Task RefusedAsync(string key, BadCommand c)
    {
        var dir = Directory.CreateTempSubdirectory("dealledger-bad-input-").FullName;
        try
        {
            foreach (var (name, bytes) in c.Files)
            {
                await File.WriteAllBytesAsync(Path.Combine(dir, name), bytes);
            }
            var args = c.Args.Select(a => a.Replace("{dir}", dir)).ToList();
            if (!args.Contains("--connection"))
            {
                args.AddRange(["--connection", db.Database.ConnectionString]);
            }
            var clock = Stopwatch.StartNew();
            var before = await db.Database.FingerprintAsync();
            var fingerprinting = clock.Elapsed;

            var (code, stdout, stderr) = await HeadlineTests.RunCliAsync([.. args]);
            var answering = clock.Elapsed - fingerprinting;

            Assert.True(code == 2, $"{key}: expected exit 2, got {code}: {stderr}{stdout}");
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("dealledger: ", line);
            Assert.True(line.Contains(c.Fragment, StringComparison.Ordinal), $"{key}: expected '{c.Fragment}' in: {line}");
            Assert.True(line.Length <= 1000, $"{key}: the error line echoes too much ({line.Length} characters)");
            Assert.DoesNotContain(line, ch => char.IsControl(ch) && ch != '\r');
            Assert.Equal("", stdout);
            BadInput.AssertNoStackTrace(key, stderr);
            var checking = Stopwatch.StartNew();
            BadInput.AssertUnchanged(key, before, await db.Database.FingerprintAsync());
            output.WriteLine(BadInput.Timing(fingerprinting + checking.Elapsed, answering));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>The catalogue's size, by channel and category: at least 150 cases, each run as a test of its own.</summary>
public sealed class BadInputCatalogueTests(ITestOutputHelper output)
{
    [Fact]
    public void the_catalogue_holds_at_least_150_distinct_cases_across_cli_http_and_documents()
    {
        var rows = BadInputCatalogue.Documents.Select(d => ("document (CLI import and POST /api/import)", d.Category))
            .Concat(BadInputCatalogue.Requests.Select(r => ("HTTP", r.Category)))
            .Concat(BadInputCatalogue.Commands.Select(c => ("CLI", c.Category)))
            .GroupBy(r => r).Select(g => $"{g.Key.Item1,-45} {g.Key.Category,-32} {g.Count(),4}").ToList();
        rows.ForEach(output.WriteLine);
        var keys = BadInputCatalogue.Documents.Select(d => "d " + d.Key).Concat(BadInputCatalogue.Requests.Select(r => "r " + r.Key)).Concat(BadInputCatalogue.Commands.Select(c => "c " + c.Key)).ToList();
        output.WriteLine($"{BadInputCatalogue.Documents.Count} documents (each run twice: CLI and HTTP), {BadInputCatalogue.Requests.Count} requests, {BadInputCatalogue.Commands.Count} command lines: {keys.Count} cases, {BadInputCatalogue.Documents.Count * 2 + BadInputCatalogue.Requests.Count + BadInputCatalogue.Commands.Count} runs");

        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.True(keys.Count >= 150, $"only {keys.Count} cases");
        Assert.True(BadInputCatalogue.Requests.Count >= 50 && BadInputCatalogue.Commands.Count >= 30, "every channel has its own cases");
    }
}

/// <summary>The fingerprint the catalogue relies on sees what it must: any table, and a sequence that merely moved.</summary>
public sealed class FingerprintTests
{
    [Fact]
    public async Task the_fingerprint_changes_with_any_table_or_sequence_but_not_with_the_hosts_heartbeat()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        async Task<string> After(string sql)
        {
            await using (var cmd = new NpgsqlCommand(sql, c))
            {
                await cmd.ExecuteNonQueryAsync();
            }
            return await db.FingerprintAsync();
        }
        var start = await db.FingerprintAsync();

        var heartbeat = await After("insert into wolverine.wolverine_nodes (id, description, uri) values (gen_random_uuid(), 'test', 'tcp://x')");
        var sequence = await After("select nextval('dealledger.mt_events_sequence')");
        var key = await After("insert into dealledger.api_keys (name, role, key_hash, created_at, created_by) values ('fp', 'reader', '\\x00', now(), 'test')");
        var queue = await After("insert into wolverine_queues.wolverine_queue_holding_changes (id, body, message_type, keep_until) values (gen_random_uuid(), '\\x00', 'x', now())");

        Assert.Equal(start, heartbeat);
        Assert.NotEqual(heartbeat, sequence);
        Assert.NotEqual(sequence, key);
        Assert.NotEqual(key, queue);
    }
}
