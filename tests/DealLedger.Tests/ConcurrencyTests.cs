using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DealLedger.Access;
using DealLedger.Auditing;
using Npgsql;
using Xunit.Abstractions;

namespace DealLedger.Tests;

/// <summary>
/// DESIGN §6 under contention (issue 5, deliverable 2): writers send commands at once through the
/// HTTP API on a few pairs — new facts (racing on the same ids with different content),
/// corrections, retractions, endings and added sources, most with If-Match of the version the
/// writer last read. No update is lost, every conflict reaches its writer, and replaying the
/// accepted commands one by one, in the order the log recorded them, into a fresh ledger ends in
/// the same state.
/// Size: DEALLEDGER_CONCURRENCY_WRITERS (16) × DEALLEDGER_CONCURRENCY_COMMANDS (default 20, what
/// eng/test and CI run; the full run of the issue is 1000). Runs alone (the child-process collection): it is timed, and it
/// would starve the tests next to it.
/// </summary>
[Collection(ChildProcess.Collection)]
public sealed partial class ConcurrencyTests(ITestOutputHelper output)
{
    private static readonly int Writers = SizeFromEnvironment("DEALLEDGER_CONCURRENCY_WRITERS", 16);
    private static readonly int Commands = SizeFromEnvironment("DEALLEDGER_CONCURRENCY_COMMANDS", 20);

    // A handful of pairs with a few stake facts each: 3 recorded before the writers start, and up to
    // NewFactIdsPerPair more that writers race to record.
    private const int Pairs = 5;
    private const int FactsPerPair = 3;
    private const int NewFactIdsPerPair = 5;
    private static readonly string[] SourceIds = [.. Enumerable.Range(0, 10).Select(i => $"src-{i}")];
    private static readonly string[] ClaimKinds = ["stated", "claimed", "denied"];

    // Every new fact starts on a day of its own (and after every setup fact): no two stake facts
    // coincide, so no command can contradict another (DESIGN §6) — a rejection is a conflict or a defect.
    private static readonly DateOnly FirstNewStart = new(2000, 1, 1);

    private enum Kind { NewFact, Correction, Retraction, Ending, Source, SourceWithoutIfMatch }

    /// <summary>One command as sent: its token (carried in the event it stores) names it in the log.</summary>
    private sealed record Command(string Token, int Writer, Kind Kind, string Fact, string Path, string Body, int? IfMatch);

    /// <summary>What the writer was told: the status, and the fact's version the write left (ETag, or 1 for a new fact).</summary>
    private sealed record Outcome(Command Command, int Status, int? Version, int? EventsAppended, string Detail)
    {
        public bool Accepted => Status is 200 or 201;
        public bool Conflicted => Status is 409 or 412;
    }

    /// <summary>A fact as a writer last read it (GET /api/facts/ID).</summary>
    private sealed record FactView(int Version, bool Retracted, DateOnly From, string? EndedOn, IReadOnlySet<string> Sources);

    /// <summary>Admission is not under test here: one key replays up to 16,000 commands serially, past any per-key rate limit.</summary>
    private static readonly Dictionary<string, string> Unlimited = new() { ["DealLedger:RateLimit:PermitsPerSecond"] = "0" };

    [Fact]
    public async Task concurrent_writers_lose_no_update_and_end_where_a_serial_replay_of_the_accepted_commands_ends()
    {
        await using var live = await ApiHostFixture.EmptyAsync(Unlimited);
        var setup = await SetUpAsync(live);
        var keys = new List<string>();
        for (var w = 0; w < Writers; w++)
        {
            keys.Add((await live.Ledger.CreateKeyAsync(WriterName(w), Role.Writer, "tests")).Key);
        }
        var initialFacts = Enumerable.Range(0, Pairs).SelectMany(p => Enumerable.Range(0, FactsPerPair).Select(f => $"p{p}-f{f}")).ToArray();

        var clock = Stopwatch.StartNew();
        var start = new TaskCompletionSource();
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            using var http = live.Client(key: keys[w]);
            await start.Task;
            return await WriteAsync(w, http, initialFacts);
        })).ToList();
        clock.Restart();
        start.SetResult();
        var outcomes = (await Task.WhenAll(writers)).SelectMany(o => o).ToList();
        var writing = clock.Elapsed;

        // Every command got an answer its writer can act on: accepted, or a conflict (409/412). Nothing else.
        var unexpected = outcomes.Where(o => !o.Accepted && !o.Conflicted).ToList();
        Assert.True(unexpected.Count == 0, $"{unexpected.Count} commands got neither success nor a conflict, e.g.:\n" +
            string.Join("\n", unexpected.Take(5).Select(o => $"{o.Command.Token} {o.Command.Kind} {o.Command.Path} → {o.Status} {o.Detail}")));
        foreach (var byWriter in outcomes.GroupBy(o => o.Command.Writer))
        {
            Assert.Equal(Commands, byWriter.Count(o => o.Accepted) + byWriter.Count(o => o.Conflicted));
        }
        // A 409 on a command with a fresh If-Match would be a rejection the writer could not foresee:
        // only new facts (racing on an id) and unchecked source additions may meet other content.
        Assert.DoesNotContain(outcomes, o => o.Status == 409 && o.Command.IfMatch is not null);
        Assert.DoesNotContain(outcomes, o => o.Status == 412 && o.Command.IfMatch is null);
        Assert.All(outcomes.Where(o => o.Accepted), o => Assert.Equal(1, o.EventsAppended));

        // No lost update: each accepted command is in the log exactly once, on the version it was
        // accepted on, written by its writer's key; no refused command is.
        var log = await LogAfterAsync(live.Ledger, setup);
        var logged = log.Select(e => (Event: e, Token: TokenOf(e))).ToList();
        Assert.All(logged, l => Assert.NotNull(l.Token));
        var duplicates = logged.GroupBy(l => l.Token).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"commands in the log more than once: {string.Join(", ", duplicates.Take(10))}");
        var byToken = logged.ToDictionary(l => l.Token!, l => l.Event);
        var accepted = outcomes.Where(o => o.Accepted).ToList();
        var refusedButLogged = outcomes.Where(o => o.Conflicted && byToken.ContainsKey(o.Command.Token)).Select(o => o.Command.Token).ToList();
        Assert.True(refusedButLogged.Count == 0, $"refused commands found in the log: {string.Join(", ", refusedButLogged.Take(10))}");
        Assert.Equal(accepted.Count, logged.Count);
        foreach (var o in accepted)
        {
            Assert.True(byToken.TryGetValue(o.Command.Token, out var e), $"accepted command {o.Command.Token} ({o.Command.Kind} {o.Command.Fact}) is not in the log");
            Assert.Equal($"fact:{o.Command.Fact}", e.Stream);
            Assert.Equal(EventTypeOf(o.Command.Kind), e.Type);
            Assert.Equal($"key:{WriterName(o.Command.Writer)}", e.Writer);
            Assert.Equal(o.Version, (int)e.Version);
            if (o.Command.IfMatch is { } read)
            {
                Assert.Equal(read + 1, (int)e.Version);
            }
        }

        // Replay the accepted commands serially, in log order, into a fresh ledger through the same API.
        clock.Restart();
        await using var replay = await ApiHostFixture.EmptyAsync(Unlimited);
        await SetUpAsync(replay);
        var inOrder = accepted.OrderBy(o => byToken[o.Command.Token].Sequence).ToList();
        using (var http = replay.Client(Role.Writer))
        {
            foreach (var o in inOrder)
            {
                var again = await SendAsync(http, o.Command);
                Assert.True(again.Accepted, $"replaying {o.Command.Token} ({o.Command.Kind} {o.Command.Fact}, If-Match {o.Command.IfMatch}) → {again.Status} {again.Detail}");
                Assert.Equal(o.Version, again.Version);
            }
        }
        var replaying = clock.Elapsed;

        clock.Restart();
        var expected = await SnapshotAsync(replay);
        var actual = await SnapshotAsync(live);
        var comparing = clock.Elapsed;
        Report(outcomes, writing, replaying, comparing, expected.Count);
        if (!expected.SequenceEqual(actual))
        {
            var at = expected.Zip(actual).TakeWhile(x => x.First == x.Second).Count();
            Assert.Fail($"the concurrent run and its serial replay differ ({expected.Count} vs {actual.Count} lines); first difference at line {at}:\n" +
                $"replay: {Clip(expected.ElementAtOrDefault(at))}\nlive:   {Clip(actual.ElementAtOrDefault(at))}");
        }

    }

    // ---- The commands ------------------------------------------------------------------------

    private static string WriterName(int w) => $"writer-{w:D2}";

    private static (string Holder, string Subject) PairOf(int p) => ($"org-{2 * p}", $"org-{2 * p + 1}");

    private static async Task<long> SetUpAsync(ApiHostFixture api)
    {
        var organizations = Enumerable.Range(0, 2 * Pairs).Select(i => new JsonObject { ["id"] = $"org-{i}", ["name"] = $"Organization {i}", ["kind"] = "company" });
        string[] kinds = ["third-party", "self-declaration", "official-register"];
        var sources = SourceIds.Select((id, i) => new JsonObject { ["id"] = id, ["title"] = $"Source {i}", ["kind"] = kinds[i % kinds.Length] });
        var deals = Enumerable.Range(0, Pairs).Select(p => new JsonObject
        {
            ["id"] = $"deal-{p}",
            ["parties"] = new JsonArray(PairOf(p).Holder, PairOf(p).Subject),
            ["facts"] = new JsonArray([.. Enumerable.Range(0, FactsPerPair).Select(f =>
                (JsonNode)Stake(p, $"p{p}-f{f}", 10 + f, "setup", new DateOnly(1990, 1, 1).AddDays(100 * (p * FactsPerPair + f)), SourceIds[f]))]),
        });
        var document = new JsonObject
        {
            ["organizations"] = new JsonArray([.. organizations]),
            ["sources"] = new JsonArray([.. sources]),
            ["deals"] = new JsonArray([.. deals]),
        };
        using var http = api.Client(Role.Writer);
        using var response = await http.PostAsync("/api/import", new StringContent(document.ToJsonString(), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonNode.Parse(body)!["lastSequence"]!.GetValue<long>();
    }

    private static JsonObject Stake(int pair, string id, decimal share, string wording, DateOnly from, string source) => new()
    {
        ["id"] = id,
        ["type"] = "stake",
        ["holder"] = PairOf(pair).Holder,
        ["subject"] = PairOf(pair).Subject,
        ["share"] = new JsonObject { ["exact"] = share, ["wording"] = wording },
        ["valid"] = new JsonObject { ["from"] = Day(from) },
        ["sources"] = new JsonArray(Claim(source, "stated")),
    };

    private static JsonObject Claim(string source, string kind) => new() { ["source"] = source, ["claim"] = kind };

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>
    /// One writer: reads a fact now and then (and after each of its own writes or conflicts), and
    /// otherwise decides on the version it last read — which another writer may have moved on.
    /// </summary>
    private static async Task<List<Outcome>> WriteAsync(int w, HttpClient http, string[] initialFacts)
    {
        var random = new Random(7919 * (w + 1));
        var known = new List<string>(initialFacts);
        var read = new Dictionary<string, FactView>();
        var outcomes = new List<Outcome>();
        for (var i = 0; i < Commands; i++)
        {
            var token = $"w{w:D2}-{i:D5}";
            var roll = random.Next(100);
            var kind = roll < 10 ? Kind.NewFact : roll < 43 ? Kind.Correction : roll < 48 ? Kind.Retraction
                : roll < 60 ? Kind.Ending : roll < 82 ? Kind.Source : Kind.SourceWithoutIfMatch;
            Command command;
            if (kind == Kind.NewFact)
            {
                var pair = random.Next(Pairs);
                var id = $"p{pair}-n{random.Next(NewFactIdsPerPair)}";
                var deal = new JsonObject
                {
                    ["id"] = $"deal-{pair}",
                    ["parties"] = new JsonArray(PairOf(pair).Holder, PairOf(pair).Subject),
                    ["facts"] = new JsonArray(Stake(pair, id, random.Next(1, 100), token, FirstNewStart.AddDays(w * Commands + i), SourceIds[random.Next(SourceIds.Length)])),
                };
                command = new Command(token, w, kind, id, "/api/deals", deal.ToJsonString(), null);
                if (!known.Contains(id))
                {
                    known.Add(id);
                }
            }
            else
            {
                var fact = known[random.Next(known.Count)];
                if (!read.TryGetValue(fact, out var view) || random.Next(100) < 30)
                {
                    read[fact] = view = await ReadFactAsync(http, fact);
                }
                command = Amendment(random, token, w, kind, fact, view);
            }
            var outcome = await SendAsync(http, command);
            outcomes.Add(outcome);
            // What the writer knows of the fact is now out of date (its own write, or another's).
            read.Remove(command.Fact);
        }
        return outcomes;
    }

    /// <summary>An amendment the fact as read allows: on that version it must be accepted.</summary>
    private static Command Amendment(Random random, string token, int w, Kind kind, string fact, FactView view)
    {
        var unused = SourceIds.Where(s => !view.Sources.Contains(s)).ToList();
        kind = kind switch
        {
            // Only facts recorded by the writers are retracted: the pairs keep facts that count.
            Kind.Retraction when !fact.Contains("-n", StringComparison.Ordinal) => Kind.Correction,
            // A retracted fact cannot be corrected: it can still be ended, or cited.
            Kind.Correction when view.Retracted => unused.Count > 0 ? Kind.Source : Kind.Ending,
            Kind.Source when unused.Count == 0 => view.Retracted ? Kind.Ending : Kind.Correction,
            _ => kind,
        };
        var source = SourceIds[random.Next(SourceIds.Length)];
        JsonObject body = kind switch
        {
            Kind.Correction => new()
            {
                ["id"] = token,
                ["set"] = new JsonObject { ["share"] = new JsonObject { ["exact"] = random.Next(1, 100) } },
                ["reason"] = token,
                ["sources"] = new JsonArray(Claim(source, "stated")),
            },
            Kind.Retraction => new() { ["id"] = token, ["reason"] = token, ["sources"] = new JsonArray(Claim(source, "stated")) },
            // A second ending must name the same day (another day is a conflict): end where it ended.
            Kind.Ending => new()
            {
                ["id"] = token,
                ["on"] = view.EndedOn ?? Day(view.From.AddDays(random.Next(1, 4000))),
                ["reason"] = token,
                ["sources"] = new JsonArray(Claim(source, "stated")),
            },
            Kind.Source => new()
            {
                ["id"] = token,
                ["source"] = unused[random.Next(unused.Count)],
                ["claim"] = ClaimKinds[random.Next(ClaimKinds.Length)],
                ["note"] = token,
            },
            // Unchecked: any source, under one of a few ids shared by all writers — it may meet another
            // claim of the same source, or its id recorded with other content (409).
            _ => new()
            {
                ["id"] = $"x{random.Next(3)}",
                ["source"] = source,
                ["claim"] = ClaimKinds[random.Next(ClaimKinds.Length)],
                ["note"] = token,
            },
        };
        var path = kind switch
        {
            Kind.Correction => "corrections",
            Kind.Retraction => "retractions",
            Kind.Ending => "endings",
            _ => "sources",
        };
        return new Command(token, w, kind, fact, $"/api/facts/{fact}/{path}", body.ToJsonString(), kind == Kind.SourceWithoutIfMatch ? null : view.Version);
    }

    private static async Task<FactView> ReadFactAsync(HttpClient http, string fact)
    {
        using var response = await http.GetAsync($"/api/facts/{fact}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /api/facts/{fact} → {(int)response.StatusCode} {body}");
        var state = JsonNode.Parse(body)!;
        var current = state["current"]!;
        // The ETag is the version of the state in the body, not of a later or earlier one.
        var version = VersionOf(response.Headers.ETag)!.Value;
        Assert.Equal(state["basis"]!.AsArray().Count, version);
        return new FactView(
            version,
            state["retraction"] is not null,
            DateOnly.ParseExact(current["valid"]!["from"]!.GetValue<string>(), "yyyy-MM-dd", CultureInfo.InvariantCulture),
            state["ending"]?["on"]?.GetValue<string>(),
            current["sources"]!.AsArray().Select(c => c!["source"]!.GetValue<string>()).ToHashSet());
    }

    private static async Task<Outcome> SendAsync(HttpClient http, Command command)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, command.Path) { Content = new StringContent(command.Body, Encoding.UTF8, "application/json") };
        if (command.IfMatch is { } read)
        {
            request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{read}\""));
        }
        try
        {
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                return new Outcome(command, (int)response.StatusCode, null, null, body);
            }
            var report = JsonNode.Parse(body)!;
            var version = command.Kind == Kind.NewFact ? report["factVersions"]![command.Fact]!.GetValue<int>() : VersionOf(response.Headers.ETag);
            return new Outcome(command, (int)response.StatusCode, version, report["eventsAppended"]!.GetValue<int>(), "");
        }
        catch (HttpRequestException e)
        {
            return new Outcome(command, -1, null, null, e.Message);
        }
    }

    private static int? VersionOf(EntityTagHeaderValue? etag) =>
        etag is null ? null : int.Parse(etag.Tag.AsSpan(1, etag.Tag.Length - 2), CultureInfo.InvariantCulture);

    // ---- The log -------------------------------------------------------------------------------

    private static async Task<List<LogEntry>> LogAfterAsync(Ledger ledger, long after)
    {
        var all = new List<LogEntry>();
        while (true)
        {
            var page = await ledger.EventsAsync(new EventFilter(After: after, Limit: DealLedger.Auditing.EventLog.MaxLimit));
            all.AddRange(page);
            if (page.Count < DealLedger.Auditing.EventLog.MaxLimit)
            {
                return all;
            }
            after = page[^1].Sequence;
        }
    }

    private static string EventTypeOf(Kind kind) => kind switch
    {
        Kind.NewFact => "fact_recorded",
        Kind.Correction => "fact_corrected",
        Kind.Retraction => "fact_retracted",
        Kind.Ending => "fact_ended",
        _ => "source_added_to_fact",
    };

    /// <summary>The token of the command that stored this event: a new fact's share wording, a claim's note, or an amendment's reason.</summary>
    private static string? TokenOf(LogEntry e) => e.Type switch
    {
        "fact_recorded" => e.Data.GetProperty("fact").GetProperty("share").GetProperty("wording").GetString(),
        "source_added_to_fact" => e.Data.GetProperty("claim").GetProperty("note").GetString(),
        _ => e.Data.TryGetProperty("reason", out var reason) ? reason.GetString() : null,
    };

    // ---- The state compared ------------------------------------------------------------------

    /// <summary>
    /// What a ledger holds, as lines to compare with another ledger that stored the same commands
    /// in the same order at other moments: every fact version (state, sequence), every holding
    /// segment (valid period, status, finding, opening and closing sequence, whether current), and
    /// the answers of the holding query for each pair on a spread of dates and the days its
    /// timeline changes, and each pair's history. Left out, because they are when and under which
    /// id a write happened rather than what it did: event ids, recorded times (and the knownAt /
    /// knownFrom / knownUntil instants derived from them, the day of a recorded time quoted in an
    /// explanation), and surrogate row ids. Sequences are compared as their rank in the log.
    /// </summary>
    private static async Task<List<string>> SnapshotAsync(ApiHostFixture api)
    {
        var lines = new List<string>();
        await using var c = new NpgsqlConnection(api.ConnectionString);
        await c.OpenAsync();
        var rank = new Dictionary<long, long>();
        await foreach (var (seq, i) in RowsAsync(c, "select seq_id, row_number() over (order by seq_id) from dealledger.mt_events", r => (r.GetInt64(0), r.GetInt64(1))))
        {
            rank[seq] = i;
        }
        await foreach (var line in RowsAsync(c,
            "select fact_id, sequence, upper_inf(recorded), state::text from dealledger.fact_versions order by fact_id, sequence",
            r => $"fact {r.GetString(0)} #{rank[r.GetInt64(1)]} current={r.GetBoolean(2)} {Normalize(r.GetString(3), rank)}"))
        {
            lines.Add(line);
        }
        var boundaries = new Dictionary<(string, string), SortedSet<DateOnly>>();
        await foreach (var (holder, subject, line, from) in RowsAsync(c,
            "select holder, subject, valid::text, status, sequence, closed_sequence, upper_inf(recorded), finding::text, lower(valid) from dealledger.holding_segments " +
            "order by holder, subject, sequence, lower(valid) nulls first",
            r => (r.GetString(0), r.GetString(1),
                $"segment {r.GetString(0)}→{r.GetString(1)} {r.GetString(2)} {r.GetString(3)} opened #{rank[r.GetInt64(4)]} closed #{(r.IsDBNull(5) ? "-" : rank[r.GetInt64(5)])} current={r.GetBoolean(6)} {Normalize(r.GetString(7), rank)}",
                r.IsDBNull(8) ? (DateOnly?)null : r.GetFieldValue<DateOnly>(8))))
        {
            lines.Add(line);
            var days = boundaries.TryGetValue((holder, subject), out var set) ? set : boundaries[(holder, subject)] = [];
            if (from is { } d)
            {
                days.Add(d);
            }
        }
        using var http = api.Client(Role.Reader);
        for (var p = 0; p < Pairs; p++)
        {
            var (holder, subject) = PairOf(p);
            var changes = boundaries.GetValueOrDefault((holder, subject)) ?? [];
            // Every 25th day the timeline changes on (and the day before), and the 1st of January of every other year.
            var days = changes.Where((_, i) => i % 25 == 0).SelectMany(d => new[] { d, d.AddDays(-1) })
                .Concat(Enumerable.Range(0, 30).Select(i => new DateOnly(1989 + 2 * i, 1, 1))).Distinct().Order();
            foreach (var day in days)
            {
                lines.Add($"holding {holder}→{subject} at {Day(day)}: {Normalize(await http.GetStringAsync($"/api/holdings/{holder}/{subject}?at={Day(day)}"), rank)}");
            }
            lines.Add($"history {holder}→{subject}: {Normalize(await http.GetStringAsync($"/api/holdings/{holder}/{subject}/history"), rank)}");
        }
        return lines;
    }

    private static async IAsyncEnumerable<T> RowsAsync<T>(NpgsqlConnection c, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            yield return read(reader);
        }
    }

    private static readonly HashSet<string> WhenNotWhat = ["eventId", "recordedAt", "knownAt", "knownFrom", "knownUntil"];

    private static string Normalize(string json, IReadOnlyDictionary<long, long> rank) => Normalize(JsonNode.Parse(json), rank)?.ToJsonString() ?? "null";

    private static JsonNode? Normalize(JsonNode? node, IReadOnlyDictionary<long, long> rank) => node switch
    {
        JsonObject o => new JsonObject(o.Where(p => !WhenNotWhat.Contains(p.Key)).Select(p => KeyValuePair.Create(p.Key,
            p.Key == "sequence" && p.Value is JsonValue v && v.TryGetValue<long>(out var seq) ? JsonValue.Create(rank[seq]) : Normalize(p.Value, rank)))),
        JsonArray a => new JsonArray([.. a.Select(x => Normalize(x, rank))]),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => JsonValue.Create(RecordedDay().Replace(v.GetValue<string>(), "$1 on (a recorded day)")),
        _ => node?.DeepClone(),
    };

    [GeneratedRegex(@"\b(corrected|retracted) on \d{4}-\d{2}-\d{2}")]
    private static partial Regex RecordedDay();

    private static string Clip(string? text) => text is null ? "(none)" : text.Length > 2000 ? text[..2000] + "…" : text;

    // ---- Figures ---------------------------------------------------------------------------------

    private void Report(List<Outcome> outcomes, TimeSpan writing, TimeSpan replaying, TimeSpan comparing, int lines)
    {
        var accepted = outcomes.Count(o => o.Accepted);
        output.WriteLine($"{Writers} writers × {Commands} commands = {outcomes.Count} on {Pairs} pairs: {accepted} accepted, " +
            $"{outcomes.Count(o => o.Status == 412)} stale (412), {outcomes.Count(o => o.Status == 409)} conflicting (409)");
        output.WriteLine($"concurrent: {writing.TotalSeconds:0.0} s ({outcomes.Count / writing.TotalSeconds:0} commands/s); " +
            $"serial replay of the {accepted} accepted: {replaying.TotalSeconds:0.0} s; comparison of {lines} lines: {comparing.TotalSeconds:0.0} s");
        foreach (var kind in Enum.GetValues<Kind>())
        {
            var of = outcomes.Where(o => o.Command.Kind == kind).ToList();
            output.WriteLine($"  {kind,-22} sent {of.Count,6}  accepted {of.Count(o => o.Accepted),6}  412 {of.Count(o => o.Status == 412),6}  409 {of.Count(o => o.Status == 409),6}");
        }
    }

    private static int SizeFromEnvironment(string name, int fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new InvalidOperationException($"{name} must be a positive whole number, not '{text}'")
            : fallback;
}
