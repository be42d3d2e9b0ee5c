using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DealLedger.Access;
using DealLedger.Client;
using DealLedger.Storage;
using Npgsql;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>
/// Following the ledger (DESIGN §7) for real: the API and the mirror (a downstream app built on
/// DealLedger.Client) run as separate processes; writers write through the API while the mirror is
/// SIGKILLed and restarted again and again; in the end the mirror's table must equal the ledger's
/// current holdings exactly — no gap, nothing applied twice.
/// </summary>
[Collection(ChildProcess.Collection)]
public sealed class FollowerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Organizations = 60;
    private const int Pairs = 500;
    private const int FactsPerPair = 10;
    private const int FactsPerDeal = 10;
    private const int Deals = Pairs * FactsPerPair / FactsPerDeal;
    private const int Writers = 4;
    private const int AmendEvery = 5;

    private readonly TestDatabase ledgerDb = new();
    private readonly string mirrorDb = $"m_{Guid.NewGuid():N}";
    // A second mirror follows the filtered feed of one organization only (issue 15), killed with the first.
    private const string Followed = "org-07";
    private readonly string followedDb = $"m_{Guid.NewGuid():N}";
    private readonly List<ChildProcess> mirrors = [];
    private ChildProcess? api;
    private Uri apiRoot = null!;
    private string readerKey = "";
    private string writerKey = "";

    private string MirrorConnection => new NpgsqlConnectionStringBuilder(TestDatabase.ServerConnectionString) { Database = mirrorDb }.ConnectionString;

    private string FollowedConnection => new NpgsqlConnectionStringBuilder(TestDatabase.ServerConnectionString) { Database = followedDb }.ConnectionString;

    public async Task InitializeAsync()
    {
        await ledgerDb.InitializeAsync();
        await using (var ledger = ledgerDb.Connect())
        {
            readerKey = (await ledger.CreateKeyAsync("mirror", Role.Reader, "tests")).Key;
            writerKey = (await ledger.CreateKeyAsync("writers", Role.Writer, "tests")).Key;
        }
        await ExecAsync(TestDatabase.ServerConnectionString, $"create database {mirrorDb}");
        await ExecAsync(TestDatabase.ServerConnectionString, $"create database {followedDb}");

        var port = ChildProcess.FreePort();
        apiRoot = new Uri($"http://127.0.0.1:{port}/");
        api = ChildProcess.StartDll("DealLedger.Api.dll", [], new Dictionary<string, string?>
        {
            ["ConnectionStrings__DealLedger"] = ledgerDb.ConnectionString,
            ["ASPNETCORE_URLS"] = apiRoot.AbsoluteUri.TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
            // 4 writers share one key as fast as the write lock lets them: a load test, not a test of
            // the per-key limit (RateLimitTests), so the limit is raised.
            ["DealLedger__RateLimit__PermitsPerSecond"] = "100000",
            ["DealLedger__RateLimit__Burst"] = "100000",
        }, "api");
        await api.WaitForHttpAsync(new Uri(apiRoot, "health/ready"), TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        foreach (var m in mirrors)
        {
            await m.DisposeAsync();
        }
        if (api is not null)
        {
            await api.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        await ExecAsync(TestDatabase.ServerConnectionString, $"drop database if exists {mirrorDb} with (force)");
        await ExecAsync(TestDatabase.ServerConnectionString, $"drop database if exists {followedDb} with (force)");
        await ledgerDb.DisposeAsync();
    }

    [Fact]
    public async Task mirror_killed_again_and_again_while_4_writers_record_5000_facts_ends_equal_to_the_ledger_with_no_gap_and_nothing_applied_twice()
    {
        using var writer = new LedgerClient(apiRoot, writerKey);
        using var reader = new LedgerClient(apiRoot, readerKey);
        var clock = Stopwatch.StartNew();
        await writer.ImportAsync(Seeds.Companies(Organizations));

        var mirror = StartMirror();
        var followed = StartMirror(org: Followed);
        var writing = Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() => WriteAsync(writer, w))));
        var kills = new List<(bool Writing, long At, long Head, string Line)>();
        async Task KillAsync(bool restart)
        {
            Assert.False(mirror.HasExited, $"{mirror.Name} stopped on its own (exit {mirror.ExitCode}):\n{mirror.Tail()}");
            var (at, head, during) = (await MirrorCheckpointAsync(), await LedgerHeadAsync(), !writing.IsCompleted);
            await mirror.KillAsync();
            var followedAt = await MirrorCheckpointAsync(FollowedConnection);
            Assert.False(followed.HasExited, $"{followed.Name} stopped on its own (exit {followed.ExitCode}):\n{followed.Tail()}");
            await followed.KillAsync();
            kills.Add((during, at, head, $"{(during ? "while writing" : "after writing")} at {clock.Elapsed.TotalSeconds:0.0} s: {mirror.Name} at {at} of {head}, " +
                $"{followed.Name} (only {Followed}) at {followedAt}{(restart ? "" : "; restarted after the last write")}"));
            if (restart)
            {
                mirror = StartMirror();
                followed = StartMirror(org: Followed);
            }
        }

        // Every 1.5–3 s while the writers write, SIGKILL the mirror and start it again. At 90 % of the
        // deals it is killed and stays down, so that after the last write it restarts with a backlog:
        // it is killed once more mid catch-up, then left to catch up from its checkpoint.
        var down = false;
        while (!writing.IsCompleted)
        {
            var pause = Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1500, 3000)));
            await Task.WhenAny(writing, pause, down ? pause : nearlyWritten.Task);
            if (writing.IsCompleted || down)
            {
                continue;
            }
            down = nearlyWritten.Task.IsCompleted;
            await KillAsync(restart: !down);
        }
        await writing;
        var written = clock.Elapsed;
        // Small pages make its catch-up many steps long, so the kill lands mid catch-up even on a fast machine.
        mirror = StartMirror(pageSize: 5);
        followed = StartMirror(pageSize: 5, org: Followed);
        var from = await MirrorCheckpointAsync();
        await mirror.WaitUntilAsync(async () => await MirrorCheckpointAsync() > from, TimeSpan.FromSeconds(60), $"mirror checkpoint to move past {from}", TimeSpan.FromMilliseconds(10));
        await KillAsync(restart: true);

        var last = await LedgerHeadAsync();
        await mirror.WaitUntilAsync(async () => await MirrorCheckpointAsync() == last, TimeSpan.FromSeconds(120),
            $"mirror checkpoint to reach the ledger's last sequence {last}", TimeSpan.FromMilliseconds(200));
        var caughtUp = clock.Elapsed;

        var expected = await LedgerSegmentsAsync(ledgerDb.ConnectionString);
        var actual = await SegmentsAsync(MirrorConnection,
            "select segment_id, holder, subject, valid_from, valid_to, status, finding::text from mirror.holdings");
        var feed = await FeedTotalsAsync(reader, last);

        // The filtered mirror stands at the last message of its feed, with exactly the segments in force of the organization's pairs.
        var (followedMessages, followedLast) = (0, 0L);
        for (long after = 0; after < last;)
        {
            var page = await reader.FeedAsync(after, 1000, Followed);
            (followedMessages, followedLast, after) = (followedMessages + page.Messages.Count, page.Messages.Count > 0 ? page.Messages[^1].Sequence : followedLast, page.Next);
        }
        await followed.WaitUntilAsync(async () => await MirrorCheckpointAsync(FollowedConnection) == followedLast, TimeSpan.FromSeconds(120),
            $"the filtered mirror's checkpoint to reach its feed's last message {followedLast}", TimeSpan.FromMilliseconds(200));
        var expectedFollowed = expected.Where(x => x.Holder == Followed || x.Subject == Followed).ToList();
        var actualFollowed = await SegmentsAsync(FollowedConnection,
            "select segment_id, holder, subject, valid_from, valid_to, status, finding::text from mirror.holdings");
        output.WriteLine($"filtered mirror (only {Followed}): {followedMessages} messages of {last} events, its last at {followedLast}; {expectedFollowed.Count} segments in force");
        Assert.True(expectedFollowed.Count > 10, $"only {expectedFollowed.Count} segments of {Followed}");
        AssertSameSegments(expectedFollowed, actualFollowed);

        output.WriteLine($"{Pairs * FactsPerPair} facts in {Deals} deals by {Writers} writers, {Deals / AmendEvery} amendments: written in {written.TotalSeconds:0.0} s, mirror caught up at {caughtUp.TotalSeconds:0.0} s");
        output.WriteLine($"feed: {feed.Messages} messages up to {last}, {feed.HoldingChanges} holding changes, {feed.Opened} segments opened, {feed.Closed} closed; {expected.Count} segments in force");
        output.WriteLine($"{kills.Count} kills:\n  {string.Join("\n  ", kills.Select(k => k.Line))}");
        Assert.True(kills.Count >= 4 && kills.Count(k => k.Writing) >= 3, string.Join("\n", kills.Select(k => k.Line)));
        Assert.True(kills[^1] is { Writing: false } final && final.At < final.Head, $"the last kill should come after the writes, mid catch-up: {kills[^1].Line}");
        Assert.True(feed.HoldingChanges > 0 && feed.Closed > 0, $"the feed should open and close segments: {feed}");
        Assert.True(expected.Count > Pairs, $"only {expected.Count} segments in force");
        AssertSameSegments(expected, actual);
        foreach (var m in mirrors)
        {
            Assert.True(m.ErrorLines == 0, $"{m.Name} (pid {m.Id}) wrote to stderr:\n{m.Tail()}");
        }
        Assert.False(mirror.HasExited, mirror.Tail());
        Assert.False(followed.HasExited, followed.Tail());
    }

    [Fact]
    public async Task the_client_reads_typed_answers_and_problems_and_its_follower_applies_every_message_once_in_order()
    {
        using var writer = new LedgerClient(apiRoot, writerKey);
        using var reader = new LedgerClient(apiRoot, readerKey);
        await writer.ImportAsync(Seeds.Companies(Organizations));
        await writer.RecordDealAsync(DealOf(0));
        await writer.RecordDealAsync(DealOf(50));
        var (holder, subject) = PairOf(3);

        var answer = await reader.HoldingAsync(holder, subject, StartOf(3, 0).AddMonths(1));
        Assert.Equal((HoldingStatus.Held, DatePrecision.Month, Month(StartOf(3, 0))), (answer.Status, answer.Since!.Precision, answer.Since.Date));
        Assert.NotEmpty(answer.Basis);
        Assert.Equal(SourceKind.SelfDeclaration, Assert.Single(answer.Sources).Kind);

        var fact = await reader.FactAsync("f-3-0");
        var sources = new[] { new { source = "src-a", claim = "stated" } };
        var corrected = await writer.CorrectAsync("f-3-0", new { set = new { share = new { exact = 12 } }, reason = "restated", sources }, fact.ETag);
        Assert.Equal((fact.ETag, "\"2\""), ("\"1\"", corrected.ETag));
        var stale = await Assert.ThrowsAsync<LedgerApiException>(() => writer.RetractAsync("f-3-0", new { reason = "withdrawn", sources }, fact.ETag));
        Assert.Equal(System.Net.HttpStatusCode.PreconditionFailed, stale.Status);
        var refused = await Assert.ThrowsAsync<LedgerApiException>(() => reader.RegisterSourceAsync(new { id = "src-c", title = "C", kind = "third-party" }));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.Status);
        var invalid = await Assert.ThrowsAsync<LedgerApiException>(() => writer.RecordDealAsync("""
            { "id": "d-bad", "parties": ["org-00", "org-01"], "facts": [ { "id": "f-bad", "type": "stake", "holder": "org-00", "subject": "org-01",
              "share": { "exact": 120 }, "valid": { "from": "2024-02" }, "sources": [ { "source": "src-a", "claim": "stated" } ] } ] }
            """));
        Assert.Equal((System.Net.HttpStatusCode.BadRequest, "Invalid input"), (invalid.Status, invalid.Title));
        Assert.Contains("120", invalid.Detail);
        Assert.EndsWith("share.exact", invalid.Field);

        var view = new MemoryView();
        using var stop = new CancellationTokenSource();
        var following = new FeedFollower(reader, view, new FeedFollowerOptions { PageSize = 7 }).RunAsync(stop.Token);
        var head = await LedgerHeadAsync();
        for (var waited = Stopwatch.StartNew(); view.Checkpoint < head && waited.Elapsed < TimeSpan.FromSeconds(20);)
        {
            await Task.Delay(50);
        }
        await stop.CancelAsync();
        await following;

        var events = await reader.EventsAsync(limit: 1000);
        Assert.Equal(events.Select(e => e.Sequence), view.Applied);
        var ledger = await LedgerSegmentsAsync(ledgerDb.ConnectionString);
        Assert.Equal(ledger.Select(s => (s.Id, s.From, s.To, s.Status)), view.Segments.OrderBy(s => s.Key).Select(s => (s.Key, s.Value.From, s.Value.To, Word(s.Value.Status))));
    }

    [Fact]
    public async Task mirror_stops_with_one_line_instead_of_drifting_when_a_change_would_be_applied_twice_or_was_missed()
    {
        using var writer = new LedgerClient(apiRoot, writerKey);
        await writer.ImportAsync(Seeds.Companies(Organizations));
        var first = (await writer.RecordDealAsync(DealOf(0))).LastSequence!.Value;
        var second = (await writer.RecordDealAsync(DealOf(50))).LastSequence!.Value; // the same pairs again: closes segments the first opened
        var mirror = StartMirror();
        await mirror.WaitUntilAsync(async () => await MirrorCheckpointAsync() == second, TimeSpan.FromSeconds(30), $"mirror checkpoint {second}");
        await mirror.KillAsync();

        // Back to the checkpoint before the second deal, with its segments still in the table: applying it again must fail.
        await ExecAsync(MirrorConnection, $"update mirror.checkpoint set sequence = {first}");
        var again = StartMirror();
        Assert.Equal(1, await again.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"sequence {second} opens a segment the mirror already holds", Assert.Single(again.Tail().Split('\n'), l => l.StartsWith("! ", StringComparison.Ordinal)));

        // The first deal's segments lost (as if its message had been skipped): closing them must fail.
        await ExecAsync(MirrorConnection, "truncate mirror.holdings");
        var gap = StartMirror();
        Assert.Equal(1, await gap.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"sequence {second} closes segment(s)", Assert.Single(gap.Tail().Split('\n'), l => l.StartsWith("! ", StringComparison.Ordinal)));
        Assert.InRange(await MirrorCheckpointAsync(), first, second - 1); // the messages before it were applied, it was not

        // A mirror database that followed the whole ledger is not taken over by a mirror of one organization.
        var other = ChildProcess.StartDll("DealLedger.Mirror.dll", ["--api", apiRoot.AbsoluteUri, "--key", readerKey, "--database", MirrorConnection, "--org", "org-07"],
            new Dictionary<string, string?> { ["ConnectionStrings__DealLedger"] = null }, "mirror-other-filter");
        mirrors.Add(other);
        Assert.Equal(1, await other.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("! mirror: this mirror database follows the whole ledger, not only org-07: use a database of its own", other.Tail());

        var bare = ChildProcess.StartDll("DealLedger.Mirror.dll", ["--api", "not a url"],
            new Dictionary<string, string?> { ["DEALLEDGER_KEY"] = null, ["MIRROR_DATABASE"] = null, ["DEALLEDGER_API"] = null }, "mirror-bad-arguments");
        mirrors.Add(bare);
        Assert.Equal(2, await bare.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("! mirror: --api 'not a url' is not an http(s) URL", bare.Tail());

        var page = ChildProcess.StartDll("DealLedger.Mirror.dll", ["--api", apiRoot.AbsoluteUri, "--key", readerKey, "--database", MirrorConnection, "--page-size", "1001"],
            new Dictionary<string, string?> { ["MIRROR_PAGE_SIZE"] = null }, "mirror-bad-page-size");
        mirrors.Add(page);
        Assert.Equal(2, await page.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("! mirror: --page-size '1001' is not a whole number from 1 to 1000", page.Tail());
    }

    private static string Word(HoldingStatus status) => JsonNamingPolicy.KebabCaseLower.ConvertName(status.ToString());

    /// <summary>A view in memory with the same rules as the mirror: above the checkpoint only, closed segments must be there, opened ones must not.</summary>
    private sealed class MemoryView : IDownstreamView
    {
        public long Checkpoint { get; private set; }
        public List<long> Applied { get; } = [];
        public Dictionary<long, SegmentRow> Segments { get; } = [];

        public Task<long> CheckpointAsync(CancellationToken ct) => Task.FromResult(Checkpoint);

        public Task ApplyAsync(FeedMessage message, CancellationToken ct)
        {
            Assert.True(message.Sequence > Checkpoint, $"{message.Sequence} after {Checkpoint}");
            foreach (var change in message.Changes.Where(c => c.Projection == ProjectionChange.Holdings))
            {
                foreach (var row in change.Opened ?? [])
                {
                    Assert.True(Segments.TryAdd(row.Id, row), $"segment {row.Id} opened twice");
                }
                foreach (var id in change.Closed ?? [])
                {
                    Assert.True(Segments.Remove(id), $"segment {id} closed but never opened");
                }
            }
            Applied.Add(message.Sequence);
            Checkpoint = message.Sequence;
            return Task.CompletedTask;
        }
    }

    private ChildProcess StartMirror(int pageSize = 500, string? org = null)
    {
        string[] args = ["--api", apiRoot.AbsoluteUri, "--key", readerKey, "--database", org is null ? MirrorConnection : FollowedConnection, "--page-size", $"{pageSize}"];
        var m = ChildProcess.StartDll("DealLedger.Mirror.dll", org is null ? args : [.. args, "--org", org],
            new Dictionary<string, string?> { ["ConnectionStrings__DealLedger"] = null }, $"mirror#{mirrors.Count + 1}{(org is null ? "" : "-" + org)}");
        mirrors.Add(m);
        return m;
    }

    // ---- What the writers write ------------------------------------------------------------------

    private static string Org(int i) => $"org-{i:D2}";

    /// <summary>Pair p: holder p mod 60, subject 1–9 places further on; 500 distinct pairs.</summary>
    private static (string Holder, string Subject) PairOf(int p) => (Org(p % Organizations), Org((p % Organizations + 1 + p / Organizations) % Organizations));

    /// <summary>The k-th fact of pair p starts in its own month (distinct per pair, so no two facts of a pair describe the same state).</summary>
    private static DateOnly StartOf(int p, int k) => new DateOnly(2010, 1, 1).AddMonths(k * 9 + p % 7);

    private static string Month(DateOnly d) => d.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>Deal d holds pairs 10d … 10d+9 (mod 500): pair p's k-th fact is in deal (p − j)/10 + 50k, so every pair is written by several writers over time.</summary>
    private static object DealOf(int d)
    {
        var facts = Enumerable.Range(0, FactsPerDeal).Select(j =>
        {
            var p = (d * FactsPerDeal + j) % Pairs;
            var k = d * FactsPerDeal / Pairs;
            var (holder, subject) = PairOf(p);
            object share = k % 3 == 2
                ? new { min = 5 + p % 10, max = 30 + k }
                : new { exact = 1 + (p * 7 + k * 13) % 90 + (k % 2) * 0.5m };
            return new
            {
                id = $"f-{p}-{k}",
                type = "stake",
                holder,
                subject,
                share,
                valid = new { from = Month(StartOf(p, k)) },
                sources = new[] { new { source = (p + k) % 2 == 0 ? "src-a" : "src-b", claim = "stated" } },
            };
        }).ToList();
        return new
        {
            id = $"d-{d}",
            parties = facts.SelectMany(f => new[] { f.holder, f.subject }).Distinct().Order(StringComparer.Ordinal).ToArray(),
            facts,
        };
    }

    /// <summary>
    /// Writer w records deals w, w+4, …: as POST /api/deals, as a JSON import, or as a YAML import (JSON is YAML). Every
    /// fifth deal it also amends a fact of one of its own earlier deals, with If-Match: a correction, a retraction or an ending.
    /// </summary>
    private readonly TaskCompletionSource nearlyWritten = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int dealsWritten;

    private async Task WriteAsync(LedgerClient client, int w)
    {
        var mine = Enumerable.Range(0, Deals).Where(d => d % Writers == w).ToList();
        for (var i = 0; i < mine.Count; i++)
        {
            var d = mine[i];
            var deal = DealOf(d);
            _ = (d % 3) switch
            {
                0 => await client.RecordDealAsync(deal),
                1 => await client.ImportAsync(JsonSerializer.Serialize(new { deals = new[] { deal } })),
                _ => await client.ImportAsync(JsonSerializer.Serialize(new { deals = new[] { deal } }), yaml: true),
            };
            if (Interlocked.Increment(ref dealsWritten) == Deals * 9 / 10)
            {
                nearlyWritten.TrySetResult();
            }
            if (i % AmendEvery == AmendEvery - 1)
            {
                await AmendAsync(client, mine[i - 3], i / AmendEvery);
            }
        }
    }

    private static async Task AmendAsync(LedgerClient client, int d, int n)
    {
        var j = n % FactsPerDeal;
        var p = (d * FactsPerDeal + j) % Pairs;
        var k = d * FactsPerDeal / Pairs;
        var fact = $"f-{p}-{k}";
        var sources = new[] { new { source = "src-a", claim = "stated" } };
        var etag = (await client.FactAsync(fact)).ETag;
        var report = (n % 3) switch
        {
            0 => await client.CorrectAsync(fact, new { set = new { share = new { exact = 50 + n % 40 } }, reason = "restated in a later filing", sources }, etag),
            1 => await client.RetractAsync(fact, new { reason = "the report was withdrawn", sources }, etag),
            _ => await client.EndAsync(fact, new { on = Month(StartOf(p, k).AddMonths(2)), reason = "sold", sources }, etag),
        };
        Assert.Equal(1, report.Report.EventsAppended);
    }

    // ---- Reading both sides ------------------------------------------------------------------------

    private sealed record Segment(long Id, string Holder, string Subject, DateOnly? From, DateOnly? To, string Status, string Finding);

    private static async Task<List<Segment>> SegmentsAsync(string connection, string sql)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql + " order by 1", c);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<Segment>();
        while (await r.ReadAsync())
        {
            rows.Add(new Segment(r.GetInt64(0), r.GetString(1), r.GetString(2),
                r.IsDBNull(3) ? null : r.GetFieldValue<DateOnly>(3), r.IsDBNull(4) ? null : r.GetFieldValue<DateOnly>(4),
                r.GetString(5), r.GetString(6)));
        }
        return rows;
    }

    /// <summary>The ledger's segments in force, each finding in words as the feed tells it (in jsonb's key order, as the mirror keeps it).</summary>
    private static async Task<List<Segment>> LedgerSegmentsAsync(string connection)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        var stored = await Sql.ListAsync(c,
            "select s.id, s.holder, s.subject, lower(s.valid), upper(s.valid), s.status, s.finding::text " +
            "from dealledger.holding_segments s where upper_inf(s.recorded) order by 1",
            r => (Row: new Segment(r.GetInt64(0), r.GetString(1), r.GetString(2),
                r.IsDBNull(3) ? null : r.GetFieldValue<DateOnly>(3), r.IsDBNull(4) ? null : r.GetFieldValue<DateOnly>(4),
                r.GetString(5), ""), Finding: r.GetString(6)), default);
        var rendered = await DealLedger.Holdings.HoldingQuery.RenderAsync(c, new DealLedger.Holdings.Citations(),
            stored.Select(s => (s.Row.Holder, s.Row.Subject, s.Finding)).ToList(), default);
        var rows = stored.Select((s, i) => s.Row with { Finding = LedgerJson.Serialize(rendered[i].Finding) }).ToList();
        var findings = await Sql.ListAsync(c, "select f::jsonb::text from unnest($1::text[]) with ordinality x (f, n) order by n",
            r => r.GetString(0), default, (object)rows.Select(x => x.Finding).ToArray());
        return rows.Zip(findings, (row, finding) => row with { Finding = finding }).ToList();
    }

    private static void AssertSameSegments(List<Segment> expected, List<Segment> actual)
    {
        var byId = actual.ToDictionary(s => s.Id);
        var missing = expected.Where(e => !byId.ContainsKey(e.Id)).ToList();
        var expectedIds = expected.Select(e => e.Id).ToHashSet();
        var extra = actual.Where(a => !expectedIds.Contains(a.Id)).ToList();
        var different = expected.Where(e => byId.TryGetValue(e.Id, out var a) && a != e).Select(e => (Ledger: e, Mirror: byId[e.Id])).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0 && different.Count == 0,
            $"ledger {expected.Count} segments in force, mirror {actual.Count}: {missing.Count} missing (first {missing.FirstOrDefault()}), " +
            $"{extra.Count} extra (first {extra.FirstOrDefault()}), {different.Count} different (first {different.FirstOrDefault()})");
    }

    private sealed record FeedTotals(int Messages, int HoldingChanges, int Opened, int Closed);

    /// <summary>The whole feed read through the client, page by page: what it opened and closed.</summary>
    private static async Task<FeedTotals> FeedTotalsAsync(LedgerClient client, long last)
    {
        var totals = new FeedTotals(0, 0, 0, 0);
        for (long after = 0; after < last;)
        {
            var page = await client.FeedAsync(after, 1000);
            Assert.NotEmpty(page.Messages);
            var holdings = page.Messages.SelectMany(m => m.Changes).Where(c => c.Projection == ProjectionChange.Holdings).ToList();
            totals = new FeedTotals(totals.Messages + page.Messages.Count, totals.HoldingChanges + holdings.Count,
                totals.Opened + holdings.Sum(h => h.Opened?.Count ?? 0), totals.Closed + holdings.Sum(h => h.Closed?.Count ?? 0));
            after = page.Next;
        }
        return totals;
    }

    private Task<long> MirrorCheckpointAsync() => MirrorCheckpointAsync(MirrorConnection);

    private static async Task<long> MirrorCheckpointAsync(string connection)
    {
        try
        {
            await using var c = new NpgsqlConnection(connection);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("select sequence from mirror.checkpoint where id = 1", c);
            return await cmd.ExecuteScalarAsync() as long? ?? 0;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            return 0; // the first mirror has not made its schema yet
        }
    }

    private async Task<long> LedgerHeadAsync()
    {
        await using var c = new NpgsqlConnection(ledgerDb.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("select last_sequence from dealledger.ledger_position where id = 1", c);
        return await cmd.ExecuteScalarAsync() as long? ?? 0;
    }

    private static async Task ExecAsync(string connection, string sql)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }
}
