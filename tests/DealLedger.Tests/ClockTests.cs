using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DealLedger.Access;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// Clocks (issue 5, deliverable 6): the service and the database in different time zones, across
/// DST changes. Recorded times are the database's instants, returned in UTC with a Z; knownAt means
/// one instant however it is written (a bare date is the start of that day in UTC); valid dates are
/// days, never shifted by a zone; "today" (the default `at`) is the UTC date.
/// The hosts run as processes with TZ set, against sessions in other zones (ALTER DATABASE … SET
/// timezone, or the connection string's Options).
/// </summary>
[Collection(ChildProcess.Collection)]
public sealed partial class ClockTests : IAsyncLifetime
{
    private const string DatabaseZone = "Australia/Sydney";

    /// <summary>Process zone × session zone. Between them the process zones put the local date off the UTC date at every hour of the day.</summary>
    private static readonly (string Process, string? Session)[] Zones =
    [
        ("Pacific/Pago_Pago", "UTC"),           // UTC−11: its date lags the UTC date before 11:00 UTC
        ("America/New_York", null),             // the database's own zone: Australia/Sydney
        ("Europe/Berlin", "America/Los_Angeles"),
        ("Pacific/Kiritimati", "Pacific/Pago_Pago"), // UTC+14: its date leads the UTC date from 10:00 UTC
    ];

    /// <summary>Stakes whose periods start and end on DST changes (US, EU, Australia) and one known to a month.</summary>
    private const string DstLedger = """
        organizations:
          - { id: us-holder, name: US Holder, kind: company }
          - { id: us-target, name: US Target, kind: company }
          - { id: eu-holder, name: EU Holder, kind: company }
          - { id: eu-target, name: EU Target, kind: company }
          - { id: au-holder, name: AU Holder, kind: company }
          - { id: au-target, name: AU Target, kind: company }
        sources:
          - { id: press, title: "A newspaper report", kind: third-party }
        deals:
          - id: us-deal
            parties: [us-holder, us-target]
            facts:
              - { id: us-stake, type: stake, holder: us-holder, subject: us-target, share: { exact: 10 }, valid: { from: 2024-03-10, to: 2024-11-03 }, sources: [ { source: press, claim: stated } ] }
          - id: eu-deal
            parties: [eu-holder, eu-target]
            facts:
              - { id: eu-stake, type: stake, holder: eu-holder, subject: eu-target, share: { exact: 20 }, valid: { from: 2024-03-31, to: 2024-10-27 }, sources: [ { source: press, claim: stated } ] }
              - { id: eu-month-stake, type: stake, holder: eu-target, subject: eu-holder, share: { exact: 5 }, valid: { from: 2024-03 }, sources: [ { source: press, claim: stated } ] }
          - id: au-deal
            parties: [au-holder, au-target]
            facts:
              - { id: au-stake, type: stake, holder: au-holder, subject: au-target, share: { exact: 30 }, valid: { from: 2024-10-06 }, sources: [ { source: press, claim: stated } ] }
        endings:
          - { fact: au-stake, on: 2025-04-06, sources: [ { source: press, claim: stated } ] }
        """;

    /// <summary>The day before, of and after each change of a period, and what the answer must be (periods are half-open).</summary>
    private static readonly (string Holder, string Subject, string At, string Status)[] AroundChanges =
    [
        ("us-holder", "us-target", "2024-03-09", "not-held"), ("us-holder", "us-target", "2024-03-10", "held"), ("us-holder", "us-target", "2024-03-11", "held"),
        ("us-holder", "us-target", "2024-11-02", "held"), ("us-holder", "us-target", "2024-11-03", "not-held"), ("us-holder", "us-target", "2024-11-04", "not-held"),
        ("eu-holder", "eu-target", "2024-03-30", "not-held"), ("eu-holder", "eu-target", "2024-03-31", "held"), ("eu-holder", "eu-target", "2024-04-01", "held"),
        ("eu-holder", "eu-target", "2024-10-26", "held"), ("eu-holder", "eu-target", "2024-10-27", "not-held"), ("eu-holder", "eu-target", "2024-10-28", "not-held"),
        ("au-holder", "au-target", "2024-10-05", "not-held"), ("au-holder", "au-target", "2024-10-06", "held"), ("au-holder", "au-target", "2024-10-07", "held"),
        ("au-holder", "au-target", "2025-04-05", "held"), ("au-holder", "au-target", "2025-04-06", "not-held"), ("au-holder", "au-target", "2025-04-07", "not-held"),
        ("eu-target", "eu-holder", "2024-02-29", "not-held"), ("eu-target", "eu-holder", "2024-03-01", "uncertain"), ("eu-target", "eu-holder", "2024-03-30", "uncertain"),
        // Acquired on some day of March: by its last day, in every case.
        ("eu-target", "eu-holder", "2024-03-31", "held"), ("eu-target", "eu-holder", "2024-04-01", "held"),
    ];

    private readonly TestDatabase db = new();
    private Ledger ledger = null!;
    private string writerKey = "";
    private DateTimeOffset recorded;
    private int setupEvents;

    public async Task InitializeAsync()
    {
        await db.InitializeAsync();
        await using (var admin = new NpgsqlConnection(db.ConnectionString))
        {
            await admin.OpenAsync();
            await using var zone = new NpgsqlCommand($"alter database {db.Name} set timezone = '{DatabaseZone}'", admin);
            await zone.ExecuteNonQueryAsync();
            // Sessions take the database's zone when they start: none opened before may be reused.
            NpgsqlConnection.ClearPool(admin);
        }
        ledger = db.Connect();
        var setup = await ledger.ImportYamlAsync(DstLedger);
        recorded = setup.RecordedAt!.Value;
        setupEvents = setup.EventsAppended;
        writerKey = (await ledger.CreateKeyAsync("clock-writer", Role.Writer, "tests")).Key;
    }

    public async Task DisposeAsync()
    {
        await ledger.DisposeAsync();
        await db.DisposeAsync();
    }

    [Fact]
    public async Task recorded_times_known_at_and_valid_dates_mean_the_same_whatever_the_zones_of_the_service_and_the_database()
    {
        Assert.Equal(DatabaseZone, await ScalarAsync<string>(db.ConnectionString, "show timezone"));
        var answersByZone = new List<(string Zones, SortedDictionary<string, string> Answers)>();
        for (var i = 0; i < Zones.Length; i++)
        {
            var (processZone, sessionZone) = Zones[i];
            var connection = sessionZone is null ? db.ConnectionString : new NpgsqlConnectionStringBuilder(db.ConnectionString) { Options = $"-c TimeZone={sessionZone}" }.ConnectionString;
            Assert.Equal(sessionZone ?? DatabaseZone, await ScalarAsync<string>(connection, "show timezone"));
            var port = ChildProcess.FreePort();
            var root = new Uri($"http://127.0.0.1:{port}/");
            await using var api = ChildProcess.StartDll(TestDatabase.BuiltHost("DealLedger.Api"), [], new Dictionary<string, string?>
            {
                ["ConnectionStrings__DealLedger"] = connection,
                ["ASPNETCORE_URLS"] = root.AbsoluteUri.TrimEnd('/'),
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Logging__LogLevel__Default"] = "Warning",
                ["TZ"] = processZone,
            }, $"api (TZ={processZone}, session {sessionZone ?? DatabaseZone})");
            await api.WaitForHttpAsync(new Uri(root, "health/ready"), TimeSpan.FromSeconds(90));
            using var http = new HttpClient { BaseAddress = root };
            http.DefaultRequestHeaders.Add("X-Api-Key", writerKey);
            var zones = $"TZ={processZone}, session {sessionZone ?? DatabaseZone}";

            await RecordedTimeIsTheDatabaseInstantAsync(http, i, zones);
            answersByZone.Add((zones, await AskAsync(http, zones)));
            await CliAnswersAsTheApiAndRendersUtcAsync(http, connection, processZone, zones, withLog: i == 0);

            // "Today" is the UTC date, not the process's: between them the zones above put the local
            // date off the UTC date at every hour (see the in-process test for exact midnights).
            var utcBefore = DateOnly.FromDateTime(DateTime.UtcNow);
            var byDefault = JsonNode.Parse(await GetAsync(http, "/api/holdings/us-holder/us-target"))!["at"]!.GetValue<string>();
            var utcAfter = DateOnly.FromDateTime(DateTime.UtcNow);
            Assert.Contains(byDefault, new[] { Day(utcBefore), Day(utcAfter) });
        }

        // The same questions (knownAt fixed) get byte-identical answers in every combination of zones.
        var (firstZones, first) = answersByZone[0];
        foreach (var (zones, answers) in answersByZone.Skip(1))
        {
            Assert.Equal(first.Keys, answers.Keys);
            foreach (var (question, answer) in first)
            {
                Assert.True(answer == answers[question], $"{question}\n  {firstZones}: {answer}\n  {zones}: {answers[question]}");
            }
        }
    }

    /// <summary>Stakes that start and end on the days after DST changes: "today" on either side of a UTC midnight changes their answers.</summary>
    private const string TodayLedger = """
        organizations:
          - { id: us-holder, name: US Holder, kind: company }
          - { id: us-target, name: US Target, kind: company }
          - { id: eu-holder, name: EU Holder, kind: company }
          - { id: eu-target, name: EU Target, kind: company }
        sources:
          - { id: press, title: "A newspaper report", kind: third-party }
        deals:
          - id: us-deal
            parties: [us-holder, us-target]
            facts:
              - { id: us-stake, type: stake, holder: us-holder, subject: us-target, share: { exact: 10 }, valid: { from: 2024-03-11, to: 2024-11-03 }, sources: [ { source: press, claim: stated } ] }
          - id: eu-deal
            parties: [eu-holder, eu-target]
            facts:
              - { id: eu-stake, type: stake, holder: eu-holder, subject: eu-target, share: { exact: 20 }, valid: { from: 2024-04-01, to: 2024-10-27 }, sources: [ { source: press, claim: stated } ] }
        """;

    /// <summary>Instants just before and after a UTC midnight on DST-change days, a zone whose local date differs, and both dates.</summary>
    private static readonly (string Now, string LocalZone, string Today, string LocalDay)[] Midnights =
    [
        ("2024-03-10T23:59:59.999999Z", "Australia/Sydney", "2024-03-10", "2024-03-11"),
        ("2024-03-11T00:00:00Z", "America/New_York", "2024-03-11", "2024-03-10"),   // the first day of EDT
        ("2024-03-31T23:59:59.999999Z", "Europe/Berlin", "2024-03-31", "2024-04-01"), // the first day of CEST
        ("2024-04-01T00:00:00Z", "Europe/Berlin", "2024-04-01", "2024-04-01"),
        ("2024-10-26T23:59:59.999999Z", "Europe/Berlin", "2024-10-26", "2024-10-27"), // CEST ends that night
        ("2024-10-27T00:00:00Z", "Europe/Berlin", "2024-10-27", "2024-10-27"),
        ("2024-11-03T00:30:00Z", "America/New_York", "2024-11-03", "2024-11-02"),    // EDT ends that night
    ];

    /// <summary>"Today" (the default `at`) is the UTC date of the host's clock, never the date in the clock's local zone.</summary>
    [Fact]
    public async Task today_is_the_utc_date_of_the_host_clock_on_either_side_of_midnight()
    {
        await using var api = await ApiHostFixture.EmptyAsync();
        await api.Ledger.ImportYamlAsync(TodayLedger);
        var clock = new SetClock();
        await using var host = api.Host(anonymousReads: true, clock: clock);
        using var http = host.CreateClient();

        foreach (var (now, localZone, today, localDay) in Midnights)
        {
            clock.Set(DateTimeOffset.Parse(now, CultureInfo.InvariantCulture), TimeZoneInfo.FindSystemTimeZoneById(localZone));
            Assert.Equal(localDay, clock.GetLocalNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            foreach (var (holder, subject) in new[] { ("us-holder", "us-target"), ("eu-holder", "eu-target") })
            {
                var byDefault = JsonNode.Parse(await GetAsync(http, $"/api/holdings/{holder}/{subject}"))!;
                var onToday = JsonNode.Parse(await GetAsync(http, $"/api/holdings/{holder}/{subject}?at={today}"))!;
                Assert.True(today == byDefault["at"]!.GetValue<string>(), $"at {now} ({localZone}: {localDay}) today is {byDefault["at"]}, not {today}");
                Assert.Equal(onToday["status"]!.GetValue<string>(), byDefault["status"]!.GetValue<string>());
            }
            foreach (var path in new[] { "/api/organizations/us-target/relationships", "/api/organizations/eu-target/owners", "/api/graph" })
            {
                Assert.Equal(today, JsonNode.Parse(await GetAsync(http, path))!["at"]!.GetValue<string>());
            }
        }
    }

    /// <summary>A host clock stopped where the test sets it, with a local zone of its own.</summary>
    private sealed class SetClock : TimeProvider
    {
        private (DateTimeOffset Now, TimeZoneInfo Zone) state = (DateTimeOffset.UnixEpoch, TimeZoneInfo.Utc);

        public void Set(DateTimeOffset now, TimeZoneInfo zone) => state = (now, zone);
        public override DateTimeOffset GetUtcNow() => state.Now;
        public override TimeZoneInfo LocalTimeZone => state.Zone;
    }

    /// <summary>`rebuild` prints fingerprints of the projections: the same state has the same fingerprint whatever the session's zone.</summary>
    [Fact]
    public async Task projection_fingerprints_do_not_depend_on_the_session_time_zone()
    {
        var fingerprints = new List<string>();
        foreach (var zone in new[] { "UTC", DatabaseZone, "America/New_York", "Pacific/Kiritimati" })
        {
            await using var zoned = db.Connect(cs => new NpgsqlConnectionStringBuilder(cs) { Options = $"-c TimeZone={zone}" }.ConnectionString);
            fingerprints.Add(string.Join(", ", (await Auditing.Rebuild.FingerprintAsync(zoned)).Select(f => $"{f.Projection} {f.Rows} {f.Hash}")));
        }
        Assert.Single(fingerprints.Distinct());
    }

    /// <summary>A write's recorded time is the database's clock (compared as epochs, which no zone touches), returned in UTC with a Z.</summary>
    private async Task RecordedTimeIsTheDatabaseInstantAsync(HttpClient http, int i, string zones)
    {
        // A session of yet another zone (+05:45) reads the server's clock as an epoch.
        var clock = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Options = "-c TimeZone=Asia/Kathmandu" }.ConnectionString;
        var before = await EpochAsync(clock, "select extract(epoch from clock_timestamp())");
        var deal = $$"""
            { "id": "clock-deal-{{i}}", "parties": ["us-holder", "eu-holder"], "facts": [
              { "id": "clock-stake-{{i}}", "type": "stake", "holder": "us-holder", "subject": "eu-holder", "share": { "exact": {{i + 1}} },
                "valid": { "from": "{{2001 + i}}-03-10" }, "sources": [ { "source": "press", "claim": "stated" } ] } ] }
            """;
        using var response = await http.PostAsync("/api/deals", new StringContent(deal, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{zones}: {body}");
        var after = await EpochAsync(clock, "select extract(epoch from clock_timestamp())");

        var report = JsonNode.Parse(body)!;
        var text = report["recordedAt"]!.GetValue<string>();
        Assert.Matches(UtcInstant(), text);
        var at = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
        Assert.InRange(at, before, after);
        var sequence = report["lastSequence"]!.GetValue<long>();
        Assert.Equal(await EpochAsync(clock, $"select extract(epoch from timestamp) from dealledger.mt_events where seq_id = {sequence}"), at);
        var logged = JsonNode.Parse(await http.GetStringAsync($"/api/events?after={sequence - 1}&limit=1"))!.AsArray().Single()!;
        Assert.Equal(text, logged["recordedAt"]!.GetValue<string>());
    }

    /// <summary>The questions every combination of zones is asked, and the rules each answer must follow.</summary>
    private async Task<SortedDictionary<string, string>> AskAsync(HttpClient http, string zones)
    {
        var answers = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var k = Instant.Format(recorded);

        // One instant, however it is written: Z, an offset either side of UTC, no designator (UTC).
        string[] spellings =
        [
            k,
            WithOffset(recorded, 5.5),
            WithOffset(recorded, -4),
            recorded.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        ];
        foreach (var (holder, subject, at, status) in AroundChanges)
        {
            var given = new List<(string Spelling, JsonNode Answer)>();
            foreach (var spelling in spellings)
            {
                given.Add((spelling, JsonNode.Parse(await GetAsync(http, $"/api/holdings/{holder}/{subject}?at={at}&knownAt={Uri.EscapeDataString(spelling)}"))!));
            }
            var (_, answer) = given[0];
            Assert.True(status == answer["status"]!.GetValue<string>(), $"{zones}: {holder}→{subject} at {at} is {answer["status"]}, not {status}");
            Assert.Equal(at, answer["at"]!.GetValue<string>());
            Assert.Equal(k, answer["knownAt"]!.GetValue<string>());
            foreach (var (spelling, other) in given.Skip(1))
            {
                Assert.True(JsonNode.DeepEquals(answer, other), $"{zones}: knownAt={spelling} answers otherwise than knownAt={k}");
            }
            answers[$"holding {holder} {subject} at {at}"] = answer.ToJsonString();
        }

        // A bare date is the start of that day in UTC, whatever the zones: the same as the instant written out.
        var day = recorded.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var midnight = $"{day}T00:00:00Z";
        string[] sameMidnight = [day, midnight, $"{recorded.UtcDateTime.AddDays(-1):yyyy-MM-dd}T19:00:00-05:00", $"{day}T09:00:00+09:00"];
        var atMidnight = new List<string>();
        foreach (var spelling in sameMidnight)
        {
            var answer = JsonNode.Parse(await GetAsync(http, $"/api/holdings/us-holder/us-target?at=2024-06-01&knownAt={Uri.EscapeDataString(spelling)}"))!;
            Assert.True(midnight == answer["knownAt"]!.GetValue<string>(), $"{zones}: knownAt={spelling} was taken as {answer["knownAt"]}, not {midnight}");
            atMidnight.Add(answer.ToJsonString());
        }
        Assert.Single(atMidnight.Distinct());
        answers["holding us-holder us-target at 2024-06-01, known at a bare date"] = atMidnight[0];

        // Periods over valid time are days: the same dates as recorded, in any zone.
        var history = JsonNode.Parse(await GetAsync(http, $"/api/holdings/us-holder/us-target/history?knownAt={Uri.EscapeDataString(k)}"))!;
        Assert.Contains(history["periods"]!.AsArray(), p => p!["from"]?.GetValue<string>() == "2024-03-10" && p["to"]?.GetValue<string>() == "2024-11-03"
            && p["finding"]!["status"]!.GetValue<string>() == "held");
        answers["history us-holder us-target"] = history.ToJsonString();

        // The log, and its recorded-time filter given with an offset or in Z.
        var log = await GetAsync(http, $"/api/events?limit={setupEvents}");
        Assert.All(JsonNode.Parse(log)!.AsArray(), e => Assert.Equal(k, e!["recordedAt"]!.GetValue<string>()));
        answers["events"] = log;
        var next = recorded.AddTicks(10);
        Assert.Equal(log, await GetAsync(http, $"/api/events?from={Uri.EscapeDataString(k)}&to={Uri.EscapeDataString(Instant.Format(next))}"));
        Assert.Equal(log, await GetAsync(http, $"/api/events?from={Uri.EscapeDataString(spellings[1])}&to={Uri.EscapeDataString(WithOffset(next, -4))}"));
        // From inclusive, to exclusive: [k, k) is empty however k is spelled.
        Assert.Equal("[]", await GetAsync(http, $"/api/events?from={Uri.EscapeDataString(spellings[1])}&to={Uri.EscapeDataString(spellings[2])}"));
        return answers;
    }

    /// <summary>The CLI, run with the same zones, gives the API's answer, and prints recorded times as the API does (UTC, Z, to the microsecond).</summary>
    private async Task CliAnswersAsTheApiAndRendersUtcAsync(HttpClient http, string connection, string processZone, string zones, bool withLog)
    {
        var offset = WithOffset(recorded, -4);
        var json = await CliAsync(processZone, connection, "holding", "us-holder", "us-target", "--at", "2024-03-10", "--known-at", offset, "--json");
        var api = await GetAsync(http, $"/api/holdings/us-holder/us-target?at=2024-03-10&knownAt={Uri.EscapeDataString(Instant.Format(recorded))}");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(api), JsonNode.Parse(json)), $"{zones}: CLI\n{json}\nAPI\n{api}");

        var text = await CliAsync(processZone, connection, "holding", "us-holder", "us-target", "--at", "2024-03-10", "--known-at", Instant.Format(recorded));
        var basis = JsonNode.Parse(api)!["basis"]!.AsArray().Select(b => b!["recordedAt"]!.GetValue<string>()).ToList();
        Assert.NotEmpty(basis);
        Assert.All(basis, t => Assert.Contains($"recorded {t} ", text));
        Assert.Contains($"(as known at {Instant.Format(recorded)})", text);
        if (!withLog)
        {
            return;
        }
        var events = await CliAsync(processZone, connection, "events", "--limit", $"{setupEvents}");
        Assert.All(events.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Contains($" {Instant.Format(recorded)} ", line));
    }

    private async Task<string> CliAsync(string processZone, string connection, params string[] args)
    {
        await using var cli = ChildProcess.StartDll("dealledger.dll", [.. args, "--connection", connection],
            new Dictionary<string, string?> { ["TZ"] = processZone }, $"dealledger {args[0]} (TZ={processZone})");
        var code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var output = cli.Tail(200);
        Assert.True(code == 0, $"dealledger {string.Join(' ', args)} exited {code}:\n{output}");
        return string.Join('\n', output.Split('\n').Where(l => !l.StartsWith("! ", StringComparison.Ordinal)));
    }

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string WithOffset(DateTimeOffset instant, double hours) =>
        instant.ToOffset(TimeSpan.FromHours(hours)).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);

    private static async Task<string> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} → {(int)response.StatusCode} {body}");
        return body;
    }

    private static async Task<T> ScalarAsync<T>(string connection, string sql)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>An instant the database computes as seconds since the epoch, to the microsecond.</summary>
    private static async Task<DateTimeOffset> EpochAsync(string connection, string sql)
    {
        var seconds = await ScalarAsync<decimal>(connection, sql);
        return DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")]
    private static partial Regex UtcInstant();
}
