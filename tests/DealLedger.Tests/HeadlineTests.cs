using System.Text.Json;
using DealLedger.Auditing;
using DealLedger.Cli;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Deals;

namespace DealLedger.Tests;

/// <summary>The headline question on the seed data, through the core and through the CLI.</summary>
public sealed class HeadlineTests(TestDatabase db) : IClassFixture<TestDatabase>, IAsyncLifetime
{
    private Ledger ledger = null!;
    private DateTimeOffset seeded;

    public async Task InitializeAsync()
    {
        ledger = db.Connect();
        await Seeds.LoadAsync(ledger);
        // The seeds are one write: every event carries the same recorded time.
        seeded = DateTimeOffset.Parse((await ledger.EventsAsync(new EventFilter(Limit: 1)))[0].RecordedAt);
    }

    public async Task DisposeAsync() => await ledger.DisposeAsync();

    [Fact]
    public async Task microsoft_held_a_small_minority_stake_in_mistral_ai_on_2024_06_01()
    {
        var a = await ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1));

        Assert.Equal(HoldingStatus.Held, a.Status);
        Assert.Equal(Share.Range(0, false, 50, false, "small minority stake"), a.Share);
        Assert.Equal(new DateWithPrecision("2024-02", Time.DatePrecision.Month), a.Since);
        Assert.Null(a.Until);
        Assert.Equal(Confidence.Reported, a.Confidence);
        Assert.Contains(a.Sources, s => s.Id == "ms-mistral-article-de" && s.Title.StartsWith("Nach OpenAI") && s.Kind == SourceKind.ThirdParty);
        Assert.Contains(a.Sources, s => s.Id == "ai-for-citizens-article-de");
        var basis = Assert.Single(a.Basis);
        Assert.Equal("fact_recorded", basis.Type);
        Assert.Contains("small minority stake", a.Explanation);
    }

    [Fact]
    public async Task the_headline_costs_one_round_trip_to_postgresql()
    {
        await ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1)); // a pooled connection
        using var trips = new RoundTrips(db.Name);

        foreach (var knownAt in new DateTimeOffset?[] { null, seeded, seeded.AddTicks(-10) })
        {
            trips.Reset();
            var answer = await ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1), knownAt);
            Assert.Equal(knownAt < seeded ? HoldingStatus.Unknown : HoldingStatus.Held, answer.Status);
            if (answer.Status == HoldingStatus.Held)
            {
                Assert.Equal(1, trips.Count);
            }
        }
    }

    [Fact]
    public async Task a_pair_with_no_stake_asked_now_costs_one_round_trip_and_names_both_sides()
    {
        await using var fresh = db.Connect(); // no names kept yet: the probe reads them
        await (await fresh.Database.OpenConnectionAsync()).DisposeAsync(); // a pooled connection
        using var trips = new RoundTrips(db.Name);

        foreach (var _ in new[] { "names read", "names kept" })
        {
            trips.Reset();
            var answer = await fresh.HoldingAsync("mistral-ai", "microsoft", new DateOnly(2024, 6, 1));
            Assert.Equal(1, trips.Count);
            Assert.Equal(HoldingStatus.Unknown, answer.Status);
            Assert.Equal($"The ledger had recorded no stake facts about Mistral AI in Microsoft Corporation by {answer.KnownAt}.", answer.Explanation);
        }
    }

    [Fact]
    public async Task holding_json_has_exactly_the_shape_of_design_section_4()
    {
        var json = LedgerJson.Serialize(await ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1), seeded));
        var root = JsonDocument.Parse(json).RootElement;

        Assert.Equal(["holder", "subject", "at", "knownAt", "status", "share", "since", "until", "confidence", "sources", "basis", "explanation"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(Time.Instant.Format(seeded), root.GetProperty("knownAt").GetString());
        Assert.Equal("2024-06-01", root.GetProperty("at").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("share").GetProperty("exact").ValueKind);
        Assert.Equal(0, root.GetProperty("share").GetProperty("min").GetDecimal());
        Assert.False(root.GetProperty("share").GetProperty("minInclusive").GetBoolean());
        Assert.Equal(50, root.GetProperty("share").GetProperty("max").GetDecimal());
        Assert.False(root.GetProperty("share").GetProperty("maxInclusive").GetBoolean());
        Assert.Equal("small minority stake", root.GetProperty("share").GetProperty("wording").GetString());
        Assert.Equal("2024-02", root.GetProperty("since").GetProperty("date").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("until").ValueKind);
        Assert.Equal("reported", root.GetProperty("confidence").GetString());
        Assert.Equal("third-party", root.GetProperty("sources")[0].GetProperty("kind").GetString());
        Assert.Equal(18, root.GetProperty("basis")[0].GetProperty("sequence").GetInt64());
        Assert.EndsWith("Z", root.GetProperty("basis")[0].GetProperty("recordedAt").GetString());
        Assert.Equal("held", root.GetProperty("status").GetString());
        Assert.Equal(["exact", "min", "minInclusive", "max", "maxInclusive", "wording"], root.GetProperty("share").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["date", "precision"], root.GetProperty("since").EnumerateObject().Select(p => p.Name));
        Assert.Equal("month", root.GetProperty("since").GetProperty("precision").GetString());
        Assert.Equal(["id", "title", "publisher", "published", "kind"], root.GetProperty("sources")[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(["eventId", "sequence", "type", "recordedAt"], root.GetProperty("basis")[0].EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task a_known_at_in_the_future_is_answered_and_echoed_as_now()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var a = await ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1), DateTimeOffset.Parse("2999-01-01T00:00:00Z"));

        Assert.InRange(DateTimeOffset.Parse(a.KnownAt), before, DateTimeOffset.UtcNow.AddSeconds(5));
        var again = await ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1), DateTimeOffset.Parse(a.KnownAt));
        Assert.Equal(LedgerJson.Serialize(a), LedgerJson.Serialize(again));
    }

    [Fact]
    public async Task before_the_stake_was_taken_it_is_not_held_and_the_answer_names_the_nearest_period()
    {
        var a = await ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 1, 15));

        Assert.Equal(HoldingStatus.NotHeld, a.Status);
        Assert.Equal("2024-02", a.Until?.Date);
        Assert.Contains(a.Sources, s => s.Id == "ms-mistral-article-de");
        Assert.Contains("February 2024", a.Explanation);
    }

    [Fact]
    public async Task known_at_before_the_seeds_were_loaded_the_pair_is_unknown()
    {
        var a = await ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1), DateTimeOffset.Parse("2020-01-01T00:00:00Z"));

        Assert.Equal(HoldingStatus.Unknown, a.Status);
        Assert.Empty(a.Basis);
    }

    [Fact]
    public async Task importing_the_seeds_again_changes_nothing()
    {
        var before = await db.FingerprintAsync();
        var report = await Seeds.LoadAsync(ledger);

        Assert.Equal(0, report.EventsAppended);
        Assert.Equal(before, await db.FingerprintAsync());
    }

    [Fact]
    public async Task mistral_ai_relationships_cover_every_kind_of_the_articles()
    {
        var r = await ledger.RelationshipsAsync("mistral-ai", new DateOnly(2025, 12, 1));

        Assert.Contains(r.Relationships, x => x.Type == FactType.Stake && x.Direction == Direction.Incoming && x.Counterparties.SequenceEqual(["microsoft"]));
        Assert.Contains(r.Relationships, x => x.Type == FactType.Investment && x.Summary.Contains("15,000,000 EUR") && x.Summary.Contains("16,300,000 USD"));
        Assert.Contains(r.Relationships, x => x.Fact == "microsoft-mistral-azure" && x.Confidence == Confidence.Reported);
        Assert.Contains(r.Relationships, x => x.Fact == "mistral-nvidia-data-centres");
        Assert.Contains(r.Relationships, x => x.Fact == "mistral-public-sector-singapore" && x.Confidence == Confidence.Claimed);
        Assert.Contains(r.Relationships, x => x.Fact == "mistral-le-chat-launch" && x.Type == FactType.Announcement);
        Assert.DoesNotContain(r.Relationships, x => x.Fact == "microsoft-openai-investment");
    }

    [Fact]
    public async Task owners_of_mistral_ai_give_bounds_of_the_known_total()
    {
        var o = await ledger.OwnersAsync("mistral-ai", new DateOnly(2024, 6, 1));

        var owner = Assert.Single(o.Owners);
        Assert.Equal("microsoft", owner.Holder);
        Assert.Equal(0m, o.Total.Min);
        Assert.Equal(50m, o.Total.Max);
    }

    [Fact]
    public async Task cli_holding_json_prints_the_same_answer_as_the_core()
    {
        var args = new[] { "holding", "microsoft", "mistral-ai", "--at", "2024-06-01", "--known-at", Time.Instant.Format(seeded), "--json", "--connection", db.ConnectionString };
        var (code, stdout, stderr) = await RunCliAsync(args);

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var core = await ledger.HoldingAsync("microsoft", "mistral-ai", new DateOnly(2024, 6, 1), seeded);
        Assert.Equal(LedgerJson.Serialize(core, indented: true), stdout.TrimEnd());
    }

    [Fact]
    public async Task cli_prints_a_readable_answer_by_default()
    {
        var (code, stdout, _) = await RunCliAsync(["holding", "microsoft", "mistral-ai", "--at", "2024-06-01", "--connection", db.ConnectionString]);

        Assert.Equal(0, code);
        Assert.Contains("HELD", stdout);
        Assert.Contains("more than 0 % and less than 50 %", stdout);
        Assert.Contains("2024-02 (month precision)", stdout);
    }

    [Theory]
    [InlineData(2, "--at '2024-13-01' is not a date", "holding", "microsoft", "mistral-ai", "--at", "2024-13-01")]
    [InlineData(2, "--known-at 'yesterday' is not an instant", "holding", "microsoft", "mistral-ai", "--known-at", "yesterday")]
    [InlineData(2, "unknown organization 'nobody'", "holding", "nobody", "mistral-ai")]
    [InlineData(2, "unknown organization 'nobody'", "relationships", "nobody")]
    [InlineData(2, "holder and subject are both", "holding", "microsoft", "microsoft")]
    [InlineData(2, "limit must be between 1 and", "events", "--limit", "0")]
    [InlineData(2, "unknown event type 'nope'", "events", "--type", "nope")]
    [InlineData(2, "no such file", "import", "/nonexistent/file.yaml")]
    [InlineData(2, "Unrecognized command or argument", "holding", "microsoft", "mistral-ai", "--bogus")]
    public async Task cli_bad_input_gets_one_error_line_and_exit_code_2(int expected, string message, params string[] args)
    {
        var (code, stdout, stderr) = await RunCliAsync([.. args, "--connection", db.ConnectionString]);

        Assert.Equal(expected, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith("dealledger: ", line);
        Assert.Contains(message, line);
    }

    [Fact]
    public async Task cli_unreachable_database_exits_1_with_one_line()
    {
        var (code, _, stderr) = await RunCliAsync(["holding", "microsoft", "mistral-ai", "--connection", "Host=127.0.0.1;Port=1;Timeout=2;Database=x;Username=x;Password=x"]);

        Assert.Equal(1, code);
        Assert.StartsWith("dealledger: cannot reach the database", Assert.Single(stderr.TrimEnd().Split('\n')));
    }

    [Fact]
    public async Task cli_help_lists_every_verb()
    {
        var (code, stdout, _) = await RunCliAsync(["--help"]);

        Assert.Equal(0, code);
        foreach (var verb in new[] { "import", "seed", "holding", "history", "relationships", "owners", "events", "migrate" })
        {
            Assert.Contains(verb, stdout);
        }
    }

    internal static async Task<(int Code, string Stdout, string Stderr)> RunCliAsync(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await Commands.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
