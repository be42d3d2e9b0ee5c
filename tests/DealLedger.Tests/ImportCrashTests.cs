using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DealLedger.Access;
using DealLedger.Importing;
using DealLedger.Storage;
using Npgsql;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>
/// Issue 5, faults: the API — and the CLI — killed with SIGKILL at random points of batch imports of
/// large documents. A document is one transaction: after every kill each document is in the database
/// whole (all its events and projection rows) or not at all. The client, not knowing which landed,
/// imports every document again; the ledger then equals one clean import of the same documents into
/// a fresh database: as many events, the same content.
/// Size: DEALLEDGER_FAULT_KILLS (default and least 10); kill points: DEALLEDGER_FAULT_SEED.
/// </summary>
[Collection(ChildProcess.Collection)]
[Trait("Category", "Faults")]
public sealed class ImportCrashTests(ITestOutputHelper output)
{
    private const int Organizations = 30;
    private const int Deals = 30;

    [Fact]
    public async Task every_document_is_all_or_nothing_after_each_kill_and_importing_all_again_equals_one_clean_import()
    {
        var kills = FaultSettings.Number("DEALLEDGER_FAULT_KILLS", 10, least: 10);
        var seed = FaultSettings.Number("DEALLEDGER_FAULT_SEED", 5150, least: 0);
        output.WriteLine($"seed {seed} (DEALLEDGER_FAULT_SEED), {kills} kills (DEALLEDGER_FAULT_KILLS)");
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        var documents = Enumerable.Range(0, kills).Select(Document).ToList();
        var folder = Directory.CreateTempSubdirectory("dealledger-import-crash-");
        try
        {
            var files = documents.Select((d, i) => Path.Combine(folder.FullName, $"document-{i:D2}.json")).ToList();
            for (var i = 0; i < documents.Count; i++)
            {
                await File.WriteAllTextAsync(files[i], documents[i]);
            }

            // The reference: one clean import of every document, in a fresh database (timed, to place the kills).
            await using var clean = await TestDatabase.CreateAsync();
            var importTimes = new List<TimeSpan>();
            await using (var ledger = clean.Connect())
            {
                foreach (var document in documents)
                {
                    var run = Stopwatch.StartNew();
                    await ledger.ImportAsync([("document.json", document)]);
                    importTimes.Add(run.Elapsed);
                }
            }
            var importTime = importTimes.Order().ElementAt(importTimes.Count / 2);
            var expected = new List<Footprint>();
            for (var i = 0; i < documents.Count; i++)
            {
                expected.Add(await FootprintAsync(clean.ConnectionString, i));
            }
            output.WriteLine($"{documents.Count} documents of {expected[0].Events} events each ({documents[0].Length / 1024} KiB); a clean import takes {importTime.TotalMilliseconds:0} ms in process (median)");

            await using var db = await TestDatabase.CreateAsync();
            string key;
            await using (var ledger = db.Connect())
            {
                key = (await ledger.CreateKeyAsync("importer", Role.Writer, "tests")).Key;
            }
            await using var api = new ApiProcess(db.ConnectionString);
            using var http = api.Client(key, TimeSpan.FromSeconds(60));
            async Task<ChildProcess> WarmApiAsync()
            {
                // A fresh process compiles its write path on its first import: warm it with a small document of
                // its own, so that kills spread over the import as the timing above expects.
                var starts = api.Starts.Count;
                var process = await api.StartAsync();
                if (api.Starts.Count > starts)
                {
                    using var warm = await http.PostAsync("api/import", new StringContent(WarmUp(api.Starts.Count), Encoding.UTF8, "application/json"));
                    Assert.True(warm.IsSuccessStatusCode, await warm.Content.ReadAsStringAsync());
                }
                return process;
            }
            var landed = new bool[documents.Count];
            var outcomes = new List<Kill>();
            try
            {
                for (var i = 0; i < documents.Count; i++)
                {
                    // Half the kills hit the API in the middle of POST /api/import, at a point uniform over the time a
                    // clean import takes and a little beyond; half hit the CLI's `import`, which first takes seconds to
                    // start: at a point as far into its write (from when it takes the write lock).
                    var throughApi = random.Next(2) == 0;
                    var at = importTime * (1.4 * random.NextDouble());
                    var victim = throughApi ? await WarmApiAsync()
                        : ChildProcess.StartDll("dealledger.dll", ["import", files[i], "--connection", db.ConnectionString], name: $"dealledger import #{i}");
                    var post = throughApi ? http.PostAsync("api/import", new StringContent(documents[i], Encoding.UTF8, "application/json")) : null;
                    if (!throughApi)
                    {
                        // A small write can take the lock and commit between two looks: an import that ended well is not waited for.
                        await victim.WaitUntilAsync(async () => victim.ExitCode == 0 || await WriteLockHeldAsync(db.ConnectionString), TimeSpan.FromSeconds(60),
                            "the import to take the write lock", TimeSpan.FromMilliseconds(5));
                    }
                    await Task.Delay(at);
                    var writing = await WriteLockHeldAsync(db.ConnectionString);
                    var finished = victim.HasExited || post is { IsCompleted: true };
                    await (throughApi ? api.KillAsync() : victim.DisposeAsync().AsTask());
                    try
                    {
                        (await (post ?? Task.FromResult(new HttpResponseMessage()))).Dispose();
                    }
                    catch (HttpRequestException)
                    {
                        // The connection died with the API: the client cannot know whether the document landed.
                    }
                    // A COMMIT the killed process sent may still be under way in its backend: let it end either way.
                    await NoOpenTransactionAsync(db.ConnectionString);

                    for (var d = 0; d < documents.Count; d++)
                    {
                        var found = await FootprintAsync(db.ConnectionString, d);
                        Assert.True(found == expected[d] || found.IsEmpty,
                            $"after kill {i + 1}, document {d} is half there: {found}, whole it is {expected[d]}");
                        Assert.True(found.IsEmpty || landed[d] || d == i, $"document {d} appeared without being imported");
                        landed[d] = !found.IsEmpty;
                    }
                    var (position, head) = await LedgerContent.HeadAsync(db.ConnectionString);
                    Assert.Equal(head, position);
                    outcomes.Add(new Kill(i, throughApi ? "API" : "CLI", at, landed[i] ? (finished ? "after the answer" : "after commit") : writing ? "during the write" : "before the write"));
                }
            }
            finally
            {
                output.WriteLine(string.Join("\n", outcomes.Select(k => $"kill {k.Document + 1,2}: {k.Host} at {k.At.TotalMilliseconds,5:0} ms: {k.Phase}")));
            }

            // The client does not know which documents landed: it imports them all again.
            await WarmApiAsync();
            for (var i = 0; i < documents.Count; i++)
            {
                using var response = await http.PostAsync("api/import", new StringContent(documents[i], Encoding.UTF8, "application/json"));
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"re-import of document {i}: {(int)response.StatusCode} {body}");
                var appended = JsonDocument.Parse(body).RootElement.GetProperty("eventsAppended").GetInt32();
                Assert.Equal(landed[i] ? 0 : expected[i].Events, appended);
            }
            await api.KillAsync();

            await using (var ledger = clean.Connect())
            {
                for (var n = 1; n <= api.Starts.Count; n++)
                {
                    await ledger.ImportAsync([("warm-up.json", WarmUp(n))]);
                }
            }
            var reference = await LedgerContent.ReadAsync(clean.ConnectionString);
            var content = await LedgerContent.ReadAsync(db.ConnectionString);
            Assert.Equal(reference.Events, content.Events);
            content.AssertEqual(reference);
            var (finalPosition, finalHead) = await LedgerContent.HeadAsync(db.ConnectionString);
            Assert.Equal(finalHead, finalPosition);

            var byPhase = outcomes.GroupBy(k => k.Phase).ToDictionary(g => g.Key, g => g.Count());
            output.WriteLine($"{outcomes.Count} kills ({outcomes.Count(k => k.Host == "API")} of the API, {outcomes.Count(k => k.Host == "CLI")} of the CLI): " +
                string.Join(", ", new[] { "before the write", "during the write", "after commit", "after the answer" }.Select(p => $"{byPhase.GetValueOrDefault(p)} {p}")));
            output.WriteLine($"{landed.Count(l => l)} of {documents.Count} documents had landed before the re-import; after it, {content.Events} events, equal to the clean import's {reference.Events}, " +
                $"and the same content. API start (to ready) {string.Join(", ", api.Starts.Select(s => $"{s.TotalSeconds:0.0}"))} s; whole test {clock.Elapsed.TotalSeconds:0} s");
            Assert.True(outcomes.Count >= 10);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private sealed record Kill(int Document, string Host, TimeSpan At, string Phase);

    /// <summary>What of document <c>d</c> the database holds: its events, and its rows in each projection.</summary>
    private sealed record Footprint(long Events, long Organizations, long Sources, long Deals, long FactVersions, long HoldingSegments)
    {
        public bool IsEmpty => this == new Footprint(0, 0, 0, 0, 0, 0);
    }

    private static async Task<Footprint> FootprintAsync(string connectionString, int d)
    {
        var prefix = Prefix(d);
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            $"select (select count(*) from {ProjectionTables.Name("mt_events")} where split_part(stream_id, ':', 2) like $1), " +
            $"(select count(*) from {ProjectionTables.Name("organizations")} where id like $1), (select count(*) from {ProjectionTables.Name("sources")} where id like $1), " +
            $"(select count(*) from {ProjectionTables.Name("deals")} where id like $1), (select count(*) from {ProjectionTables.Name("fact_versions")} where fact_id like $1), " +
            $"(select count(*) from {ProjectionTables.Name("holding_segments")} where holder like $1)", c)
        { Parameters = { new() { Value = prefix + "%" } } };
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return new Footprint(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5));
    }

    /// <summary>Whether a write holds the ledger's write lock right now (it takes it first thing in its transaction).</summary>
    internal static async Task<bool> WriteLockHeldAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "select exists (select 1 from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database()) " +
            "and classid::bigint = $1 and objid::bigint = $2 and objsubid = 1 and mode = 'ExclusiveLock' and granted)", c)
        { Parameters = { new() { Value = Ledger.WriteLock >> 32 }, new() { Value = Ledger.WriteLock & 0xFFFFFFFF } } };
        return (bool)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task NoOpenTransactionAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null", c);
        for (var waited = Stopwatch.StartNew(); (long)(await cmd.ExecuteScalarAsync())! > 0; await Task.Delay(20))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "a killed process's transaction is still open after 30 s");
        }
    }

    private static string Prefix(int d) => $"x{d:D3}-";

    private static string Org(int d, int j) => $"{Prefix(d)}org-{j % Organizations:D2}";

    /// <summary>Document d: its own organizations, two sources, and deals of a stake, an investment and a partnership each.</summary>
    internal static string Document(int d) => JsonSerializer.Serialize(new
    {
        organizations = Enumerable.Range(0, Organizations).Select(j => new { id = Org(d, j), name = $"Organization {d}.{j}", kind = j % 5 == 0 ? "fund" : "company", country = "FR" }),
        sources = new[]
        {
            new { id = $"{Prefix(d)}register", title = $"Register extract {d}", kind = "official-register" },
            new { id = $"{Prefix(d)}press", title = $"Press report {d}", kind = "third-party" },
        },
        deals = Enumerable.Range(0, Deals).Select(j => new
        {
            id = $"{Prefix(d)}deal-{j:D2}",
            parties = new[] { Org(d, j), Org(d, j + 1) },
            facts = new object[]
            {
                new
                {
                    id = $"{Prefix(d)}stake-{j:D2}", type = "stake", holder = Org(d, j), subject = Org(d, j + 1),
                    share = new { exact = 1 + (j * 7 + d) % 45 }, valid = new { from = Month(2000 + j % 20, 1 + (j + d) % 12) },
                    sources = new[] { new { source = $"{Prefix(d)}register", claim = "stated" } },
                },
                new
                {
                    id = $"{Prefix(d)}investment-{j:D2}", type = "investment", investor = Org(d, j), investee = Org(d, j + 1),
                    amount = new { value = 1_000_000 * (j + 1), currency = "EUR" }, instrument = "equity", valid = new { from = Month(2000 + j % 20, 1 + (j + d) % 12) },
                    sources = new[] { new { source = $"{Prefix(d)}press", claim = "stated" } },
                },
                new
                {
                    id = $"{Prefix(d)}partnership-{j:D2}", type = "partnership", parties = new[] { Org(d, j), Org(d, j + 2) }, scope = "cloud hosting",
                    valid = new { from = Month(2010 + j % 10, 1 + j % 12) },
                    sources = new[] { new { source = $"{Prefix(d)}press", claim = "attributed", attributedTo = "a trade paper" } },
                },
            },
        }),
    });

    /// <summary>What each start of the API imports first (the clean import gets the same).</summary>
    private static string WarmUp(int n) => JsonSerializer.Serialize(new
    {
        organizations = new[] { new { id = $"warm-{n}-a", name = $"Warm-up {n} A", kind = "company" }, new { id = $"warm-{n}-b", name = $"Warm-up {n} B", kind = "company" } },
        sources = new[] { new { id = $"warm-{n}-register", title = $"Warm-up register {n}", kind = "official-register" } },
        deals = new[]
        {
            new
            {
                id = $"warm-{n}-deal", parties = new[] { $"warm-{n}-a", $"warm-{n}-b" },
                facts = new[] { new { id = $"warm-{n}-stake", type = "stake", holder = $"warm-{n}-a", subject = $"warm-{n}-b", share = new { exact = 10 }, valid = new { from = "2020-01" },
                    sources = new[] { new { source = $"warm-{n}-register", claim = "stated" } } } },
            },
        },
    });

    private static string Month(int year, int month) => $"{year:D4}-{month:D2}";
}

/// <summary>Sizes and seeds of the fault tests, from the environment (CI may raise them), with bounded defaults.</summary>
internal static class FaultSettings
{
    public static int Number(string variable, int fallback, int least)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= least
            ? n
            : throw new InvalidOperationException($"{variable}='{text}': expected a whole number of at least {least}");
    }
}
