using System.Text.Json.Nodes;
using DealLedger.Bods;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Ownership;
using DealLedger.Relationships;
using DealLedger.Sources;

namespace DealLedger.Tests;

/// <summary>
/// BODS 0.4 import and export (docs/bods.md) on the standard's own example packages
/// (tests/DealLedger.Tests/Bods): nothing is lost without a reason, the stories they tell come out
/// at the right dates, and an export is valid BODS that imports back to the same answers.
/// </summary>
/// One database serves the class: the examples' records are distinct, and every import is idempotent.
public sealed class BodsTests(TestDatabase db) : IClassFixture<TestDatabase>, IAsyncLifetime
{
    private Ledger ledger = null!;

    public Task InitializeAsync()
    {
        ledger = db.Connect();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await ledger.DisposeAsync();

    internal static string Example(string name) => Path.Combine(BodsSchema.Folder, "examples", name);

    internal static IEnumerable<string> AllExamples => Directory.GetFiles(Path.Combine(BodsSchema.Folder, "examples"), "*.json").Order(StringComparer.Ordinal);

    private const string Maria = "bods-018af6b3eb", Shear = "bods-033e84672b", Tecido = "bods-01b68d7633";

    [Fact]
    public async Task tecido_holdings_follow_the_sell_down_and_the_close_ends_at_the_statement_date()
    {
        {
            await ledger.ImportBodsFilesAsync([Example("tecido.json")]);
            async Task<decimal?> Held(string holder, string day)
            {
                var a = await ledger.HoldingAsync(holder, Tecido, DateOnly.Parse(day));
                return a.Status == HoldingStatus.Held ? a.Share!.Exact : a.Status == HoldingStatus.NotHeld ? null : throw new Xunit.Sdk.XunitException($"{holder} on {day}: {a.Status}");
            }
            // 100 → 40/60 (2021-09-24) → 30/70 (2022-09-21) → Shear 80 (2023-03-01), Maria's record closed (2023-03-03).
            var expected = new (string Day, decimal? Maria, decimal? Shear)[]
            {
                ("2019-06-01", 100, null), ("2021-09-23", 100, null), ("2021-09-24", 40, 60), ("2022-06-01", 40, 60),
                ("2022-09-21", 30, 70), ("2023-03-01", 30, 80), ("2023-03-02", 30, 80), ("2023-03-03", null, 80), ("2023-12-31", null, 80),
            };
            foreach (var (day, maria, shear) in expected)
            {
                Assert.Equal((day, maria, shear), (day, await Held(Maria, day), await Held(Shear, day)));
            }
            var closed = await ledger.HoldingAsync(Maria, Tecido, new DateOnly(2023, 6, 1));
            Assert.Equal("2023-03-03", closed.Since!.Date);
            Assert.Contains("without an end date: ended at the statement date", closed.Explanation);
            var held = await ledger.HoldingAsync(Maria, Tecido, new DateOnly(2022, 10, 1));
            Assert.Equal(Confidence.Confirmed, held.Confidence);
            Assert.Equal("2023-03-03", held.Until!.Date);

            // Voting rights are control, not a second stake: the owners' total stays 100 %.
            var owners = await ledger.OwnersAsync(Tecido, new DateOnly(2022, 10, 1));
            Assert.Equal((100m, 100m), (owners.Total.Min, owners.Total.Max));
            var ties = await ledger.RelationshipsAsync(Tecido, new DateOnly(2022, 10, 1));
            Assert.Contains(ties.Relationships, r => r.Type == FactType.Control && r.Counterparties.SequenceEqual([Shear]) && r.Summary.Contains("voting rights (70 %)"));
            Assert.Contains(ties.Relationships, r => r.Type == FactType.BoardSeat && r.Counterparties.SequenceEqual([Maria]) && r.Summary.Contains("board chair"));
            Assert.DoesNotContain((await ledger.RelationshipsAsync(Tecido, new DateOnly(2023, 6, 1))).Relationships, r => r.Counterparties.Contains(Maria));
        }
    }

    [Fact]
    public async Task fermcat_shows_the_death_and_transfer_and_the_buy_out_at_their_dates()
    {
        const string fermcat = "bods-ent-93c75c87ab28f889", riyadh = "bods-per-5faa4103dee78621", patrick = "bods-per-41c0bb0cef246f7c", declan = "bods-per-e334cc6258e56467";
        {
            await ledger.ImportBodsFilesAsync([Example("fermcat.json")]);
            async Task<string> On(string holder, string day)
            {
                var a = await ledger.HoldingAsync(holder, fermcat, DateOnly.Parse(day));
                return a.Status == HoldingStatus.Held ? $"{a.Share!.Exact}" : Storage.LedgerJson.Word(a.Status);
            }
            // Riyadh dies on 2021-04-03 and Declan takes his half; Patrick buys Declan out on 2022-01-21.
            Assert.Equal(["50", "50", "not-held", "not-held"], [await On(riyadh, "2020-06-01"), await On(riyadh, "2021-04-02"), await On(riyadh, "2021-04-03"), await On(riyadh, "2022-06-01")]);
            Assert.Equal(["not-held", "50", "50", "not-held"], [await On(declan, "2021-04-02"), await On(declan, "2021-04-03"), await On(declan, "2022-01-20"), await On(declan, "2022-01-21")]);
            Assert.Equal(["50", "50", "100", "100"], [await On(patrick, "2020-06-01"), await On(patrick, "2022-01-20"), await On(patrick, "2022-01-21"), await On(patrick, "2023-06-01")]);
            Assert.Contains("3 April 2021", (await ledger.HoldingAsync(riyadh, fermcat, new DateOnly(2021, 5, 1))).Explanation);
            Assert.Equal("2022-01-21", (await ledger.HoldingAsync(patrick, fermcat, new DateOnly(2022, 6, 1))).Since!.Date);

            // The yearly confirmations are sources of the same fact, not new facts.
            var half = await ledger.FactAsync("bods-rel-3fc02d9b6bdfd5ca-shareholding-2019-09-11");
            Assert.Equal(3, half.Current.Sources.Select(c => c.Source).Distinct().Count());
            // Riyadh's board seat ends with his shareholding.
            Assert.Contains((await ledger.RelationshipsAsync(riyadh, new DateOnly(2021, 1, 1))).Relationships, r => r.Type == FactType.BoardSeat);
            Assert.DoesNotContain((await ledger.RelationshipsAsync(riyadh, new DateOnly(2021, 5, 1))).Relationships, r => r.Type == FactType.BoardSeat);
        }
    }

    [Fact]
    public async Task ranges_keep_their_exclusive_ends_and_annotations_become_notes()
    {
        {
            var report = await ledger.ImportBodsFilesAsync([Example("bods-package-linking-annotations.json"), Example("bods-package-entity-owning-entity.json")]);

            // "exclusiveMinimum 25, exclusiveMaximum 50": more than 25 % and less than 50 %.
            var hunt = await ledger.HoldingAsync("bods-0fc263ba4126", "bods-a01c1a0863e2", new DateOnly(2019, 1, 1));
            Assert.Equal(HoldingStatus.Held, hunt.Status);
            Assert.Equal(Share.Range(25m, false, 50m, false), hunt.Share);
            Assert.Equal(Confidence.Confirmed, hunt.Confidence);
            var note = (await ledger.FactAsync("bods-331342ec3940-shareholding-2018-09-19")).Current.Sources.Single().Note!;
            Assert.Contains("British MP", note);
            Assert.Contains("https://www.theyworkforyou.com/regmem/?p=11859", note);

            // "minimum 75, exclusiveMaximum 100", no start date: dated from the statement, and the report says so.
            var mvj = await ledger.HoldingAsync("bods-e83cce729ada", "bods-12b7dd0770ce", new DateOnly(2017, 1, 1));
            Assert.Equal(Share.Range(75m, true, 100m, false), mvj.Share);
            Assert.Equal("2016-06-30", mvj.Since!.Date);
            Assert.Equal(Confidence.Reported, mvj.Confidence);
            Assert.Contains(report.Packages[1].StatementReports.SelectMany(s => s.Notes), n => n.Contains("no start date"));
        }
    }

    private static string Package(params string[] statements) => "[" + string.Join(",", statements) + "]";

    private static string Party(string id, string type, string name) => type == "person"
        ? $$"""{ "statementId": "{{id}}-00000000000000000000000000000000", "statementDate": "2020-01-10", "recordId": "{{id}}", "recordType": "person", "recordStatus": "new", "declarationSubject": "co", "recordDetails": { "isComponent": false, "personType": "knownPerson", "names": [ { "fullName": "{{name}}" } ] } }"""
        : $$"""{ "statementId": "{{id}}-00000000000000000000000000000000", "statementDate": "2020-01-10", "recordId": "{{id}}", "recordType": "entity", "recordStatus": "new", "declarationSubject": "co", "recordDetails": { "isComponent": false, "entityType": { "type": "registeredEntity" }, "name": "{{name}}" } }""";

    private static string Holding(string statement, string date, string status, decimal share, string annotations = "") =>
        $$"""{ "statementId": "{{statement}}-0000000000000000000000000000000", "statementDate": "{{date}}", "recordId": "rel", "recordType": "relationship", "recordStatus": "{{status}}", "declarationSubject": "co", "source": { "type": [ "officialRegister" ] }, {{annotations}} "recordDetails": { "isComponent": false, "subject": "co", "interestedParty": "ann", "interests": [ { "type": "shareholding", "share": { "exact": {{share}} }, "startDate": "2019-01-01" } ] } }""";

    private static string Entity(string statement, string date, string status, string name, string more = "") =>
        $$"""{ "statementId": "{{statement}}-00000000000000000000000000000000", "statementDate": "{{date}}", "recordId": "ren", "recordType": "entity", "recordStatus": "{{status}}", "declarationSubject": "ren", "recordDetails": { "isComponent": false, "entityType": { "type": "registeredEntity" }, "name": "{{name}}"{{more}} } }""";

    /// <summary>Issue 19, item 6: a later statement of an entity with another name is a name change by its date, not a detail dropped.</summary>
    [Fact]
    public async Task a_later_entity_statement_with_a_new_name_records_it_by_its_date_and_importing_it_again_changes_nothing()
    {
        await ledger.ImportBodsAsync([("ren1.json", Package(Entity("ren1", "2020-01-10", "new", "Renco Ltd")))]);
        var renamed = Package(Entity("ren2", "2023-05-02", "updated", "Renco Group Ltd", """, "alternateNames": ["Renco"], "jurisdiction": { "code": "FR", "name": "France" }"""));
        var report = Assert.Single((await ledger.ImportBodsAsync([("ren2.json", renamed)])).Packages[0].StatementReports);
        Assert.Contains(report.Maps, m => m.StartsWith("name \"Renco Ltd\" → \"Renco Group Ltd\": new fact bods-ren-name-2023-05-02", StringComparison.Ordinal));
        Assert.Contains(report.Maps, m => m.StartsWith("alternate name \"Renco\": new fact", StringComparison.Ordinal));
        // What the ledger does not record over time still says so.
        Assert.Contains(report.Unmapped, u => u.Contains("country none → FR", StringComparison.Ordinal));

        Assert.Equal("Renco Ltd", (await ledger.RelationshipsAsync("bods-ren", new DateOnly(2023, 5, 1))).Organization.Name);
        var after = (await ledger.RelationshipsAsync("bods-ren", new DateOnly(2023, 5, 2))).Organization;
        Assert.Equal("Renco Group Ltd", after.Name);
        Assert.Equal(["bods-ren-alias-1-2023-05-02", "bods-ren-name-2023-05-02"], after.Names!.Select(n => n.Fact));
        Assert.Contains("Renco", after.Aliases);
        Assert.Single((await ledger.SearchOrganizationsAsync("renco group", null, new PageRequest(20))).Organizations);

        var before = await db.FingerprintAsync();
        var again = await ledger.ImportBodsAsync([("ren2.json", renamed)]);
        Assert.Equal(0, again.Import.EventsAppended);
        Assert.Equal(before, await db.FingerprintAsync());
    }

    [Fact]
    public async Task an_update_with_a_correcting_annotation_corrects_the_fact_and_the_original_stays_known()
    {
        {
            var first = await ledger.ImportBodsAsync([("first.json", Package(Party("co", "entity", "Co Ltd"), Party("ann", "person", "Ann Example"), Holding("s1", "2020-01-10", "new", 10)))]);
            var correcting = """ "annotations": [ { "statementPointerTarget": "/recordDetails/interests/0/share", "motivation": "correcting", "description": "the register mistyped 12 as 10" } ], """;
            await ledger.ImportBodsAsync([("second.json", Package(Holding("s2", "2021-02-01", "updated", 12, correcting)))]);

            Assert.Equal(12m, (await ledger.HoldingAsync("bods-ann", "bods-co", new DateOnly(2019, 6, 1))).Share!.Exact);
            Assert.Equal(10m, (await ledger.HoldingAsync("bods-ann", "bods-co", new DateOnly(2019, 6, 1), first.Import.RecordedAt)).Share!.Exact);
            var fact = await ledger.FactAsync("bods-rel-shareholding-2019-01-01");
            Assert.Contains("mistyped", Assert.Single(fact.Corrections).Reason);

            // Without the annotation a new size is a change by the statement date, not a correction.
            await ledger.ImportBodsAsync([("third.json", Package(Holding("s3", "2022-03-01", "updated", 20)))]);
            Assert.Equal(12m, (await ledger.HoldingAsync("bods-ann", "bods-co", new DateOnly(2022, 2, 28))).Share!.Exact);
            Assert.Equal(20m, (await ledger.HoldingAsync("bods-ann", "bods-co", new DateOnly(2022, 3, 1))).Share!.Exact);
        }
    }

    [Fact]
    public async Task a_malformed_package_is_refused_whole_and_stores_nothing()
    {
        {
            var before = await db.FingerprintAsync();
            var missing = Package(Party("co", "entity", "Co Ltd"), """{ "statementDate": "2020-01-10", "recordId": "x", "recordType": "entity", "recordDetails": {} }""");
            var e = await Assert.ThrowsAsync<LedgerException>(() => ledger.ImportBodsAsync([("bad.json", missing)]));
            Assert.Equal(LedgerErrorKind.InvalidInput, e.Kind);
            Assert.Equal("bad.json: statement 2: 'statementId' is required (a non-empty string)", e.Message);
            var notBods = await Assert.ThrowsAsync<LedgerException>(() => ledger.ImportBodsAsync([("doc.yaml", "organizations: []")]));
            Assert.Contains("not a BODS package", notBods.Message);
            var document = await Assert.ThrowsAsync<LedgerException>(() => ledger.ImportBodsAsync([("doc.json", "{\n  \"organizations\": []\n}")]));
            Assert.Contains("a ledger document is imported without --format bods", document.Message);
            Assert.Equal(before, await db.FingerprintAsync());

            var (code, _, stderr) = await HeadlineTests.RunCliAsync(["import", "--format", "nope", Example("tecido.json"), "--connection", db.ConnectionString]);
            Assert.Equal((2, "dealledger: format 'nope' is not one of: ledger, bods"), (code, stderr.Trim()));
            (code, _, stderr) = await HeadlineTests.RunCliAsync(["export", "--out", "x", "--at", "2020-01-01", "--connection", db.ConnectionString]);
            Assert.Equal(2, code);
            Assert.Contains("--format bods", stderr);
        }
    }

    [Fact]
    public async Task a_json_lines_package_reads_like_the_array()
    {
        var array = await ledger.ImportBodsFilesAsync([Example("tecido.json")]);
        var lines = string.Join("\n", JsonNode.Parse(await File.ReadAllTextAsync(Example("tecido.json")))!.AsArray().Select(n => n!.ToJsonString())) + "\n";

        var again = await ledger.ImportBodsAsync([("tecido.jsonl", lines)]);

        Assert.Equal(0, again.Import.EventsAppended);
        Assert.Equal(array.Packages[0].StatementReports.Select(r => (r.StatementId, r.Mapping)), again.Packages[0].StatementReports.Select(r => (r.StatementId, r.Mapping)));
    }

    [Fact]
    public async Task the_cli_reports_each_statement_and_exports_a_file()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bods-{Guid.NewGuid():N}.json");
        try
        {
            var (code, stdout, _) = await HeadlineTests.RunCliAsync(["import", "--format", "bods", Example("levent.json"), "--connection", db.ConnectionString]);
            Assert.Equal(0, code);
            Assert.Contains("levent.json: 7 statements read — 4 mapped, 0 partly mapped, 3 not mapped; 0 facts created", stdout);
            Assert.Contains("✗ not mapped: interests[0] (trustee): a trustee's role in a trust", stdout);

            await ledger.ImportBodsFilesAsync([Example("tecido.json")]);
            (code, stdout, _) = await HeadlineTests.RunCliAsync(["export", "--format", "bods", "--at", "2022-10-01", "--out", file, "--connection", db.ConnectionString]);
            Assert.Equal(0, code);
            var written = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsArray();
            Assert.StartsWith($"Wrote {written.Count} BODS 0.4 statements to {file}", stdout);
            Assert.Contains(written, s => s!["recordId"]!.GetValue<string>() == "018AF6B3EB~01B68D7633");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task indirect_shareholdings_are_stated_claims_set_against_the_chains_the_direct_links_give()
    {
        await using var copy = await Scenario.StartAsync(basics: false);
        var copied = copy.Ledger;
        await copied.ImportBodsFilesAsync([Example("bods-package-fi-soe.json"), Example("indirect-ownership.json")]);
        var day = new DateOnly(2023, 1, 1);
        // Finland's State is stated to hold all of Gasgrid indirectly. Its chain is one of control (of the Ministry of
        // Finance, which holds 23.5 % directly and all of the 76.5 % holder): a chain of unstated share, which allows it.
        var gasgrid = await copied.OwnersThroughAsync(BodsIds.Organization("19f1c5afe9d7"), day, null, new LookThroughRequest());
        var state = Assert.Single(gasgrid.Stated);
        Assert.Equal((BodsIds.Organization("05ce06ec97b1"), Share.OfExact(100m), (Share?)null, true, true), (state.Holder, state.Stated, state.Computed, state.Control, state.Allowed));
        Assert.Equal(Share.OfExact(100m), gasgrid.Owners!.Single(o => o.Owner == BodsIds.Organization("7ff95ba3682c")).Share);
        Assert.DoesNotContain(gasgrid.Owners!, o => o.Owner == state.Holder);
        // Person 1 is stated to hold 30 % of Company A through Company B, but the package does not say what Person 1
        // holds in Company B (an interest without a type): no chain the ledger has gives it, and the answer says so.
        var companyA = await copied.OwnersThroughAsync(BodsIds.Organization("ad3f6c2fcc9e"), day, null, new LookThroughRequest());
        var person = Assert.Single(companyA.Stated);
        Assert.Equal((BodsIds.Organization("c25d4d612c2c"), Share.OfExact(30m), (Share?)null, false, false), (person.Holder, person.Stated, person.Computed, person.Control, person.Allowed));
        // A stated claim is a fact of its own kind, never a stake: no holding between them.
        Assert.Equal(FactType.IndirectStake, (await copied.FactAsync(person.Fact)).Current.Type);
        Assert.Equal(HoldingStatus.Unknown, (await copied.HoldingAsync(person.Holder, person.Subject, day)).Status);
    }

    [Fact]
    public async Task an_export_with_indirect_relationships_writes_what_the_chains_give_with_their_components()
    {
        await using var first = await Scenario.StartAsync(basics: false);
        var ledgerA = first.Ledger;
        await using var second = await Scenario.StartAsync(basics: false);
        var ledgerB = second.Ledger;
        await ledgerA.ImportBodsFilesAsync([Example("bods-package-fi-soe.json")]);
        var day = new DateOnly(2023, 1, 1);
        var (plain, _) = await ledgerA.BodsStatementsAsync(day);
        Assert.DoesNotContain(plain, x => x!["recordDetails"]!["componentRecords"] is not null);
        var (statements, result) = await ledgerA.BodsStatementsAsync(day, indirect: true);
        var json = statements.ToJsonString();
        Assert.Empty(await BodsSchema.ErrorsAsync(json));
        Assert.Equal(plain.Count(x => x!["recordType"]!.GetValue<string>() == "relationship") + 1, result.Relationships);

        // The Ministry of Finance holds all of Suomen Kaasuverkko, which holds 76.5 % of Gasgrid: 76.5 % through it (its
        // direct 23.5 % left out). The State's chain is one of control, not of stakes: no indirect shareholding for it.
        var indirect = Assert.Single(statements, x => x!["recordDetails"]!["componentRecords"] is not null)!;
        var d = indirect["recordDetails"]!;
        Assert.Equal(("7ff95ba3682c", "19f1c5afe9d7", false), (d["interestedParty"]!.GetValue<string>(), d["subject"]!.GetValue<string>(), d["isComponent"]!.GetValue<bool>()));
        var interest = Assert.Single(d["interests"]!.AsArray())!;
        Assert.Equal(("shareholding", "indirect", 76.5m), (interest["type"]!.GetValue<string>(), interest["directOrIndirect"]!.GetValue<string>(), interest["share"]!["exact"]!.GetValue<decimal>()));
        Assert.Equal(["7ff95ba3682c~0199c515a699", "0199c515a699", "0199c515a699~19f1c5afe9d7"], d["componentRecords"]!.AsArray().Select(r => r!.GetValue<string>()));
        // Along the chain: a relationship, the intermediary, the next relationship. Its components say they are; the Ministry's direct 23.5 % is not one.
        bool Component(string record) => statements.Single(x => x!["recordId"]!.GetValue<string>() == record)!["recordDetails"]!["isComponent"]!.GetValue<bool>();
        Assert.True(Component("7ff95ba3682c~0199c515a699"));
        Assert.True(Component("0199c515a699~19f1c5afe9d7"));
        Assert.False(Component("7ff95ba3682c~19f1c5afe9d7"));

        // Read back, a relationship the ledger computed is known for what it is: its chains are read, it is not a claim of
        // its own (or each export and import would add one more). The State's stated claim comes back as it went out.
        var report = await ledgerB.ImportBodsAsync([("with-indirect.json", json)]);
        var computed = Assert.Single(report.Packages[0].StatementReports, r => r.Unmapped.Any(u => u.Contains("computed from the chains it lists")));
        Assert.Equal(StatementMapping.NotMapped, computed.Mapping);
        var owners = await ledgerB.OwnersThroughAsync(BodsIds.Organization("19f1c5afe9d7"), day, null, new LookThroughRequest());
        Assert.Equal([BodsIds.Organization("05ce06ec97b1")], owners.Stated.Select(x => x.Holder));
        Assert.Equal(Share.OfExact(100m), owners.Owners!.Single(o => o.Owner == BodsIds.Organization("7ff95ba3682c")).Share);
    }

    [Fact]
    public async Task an_indirect_relationship_names_the_components_of_its_own_chains_when_its_holder_also_holds_directly()
    {
        // Stakes are read in (holder, subject) order: a's direct stake in z comes between a → m and m → z.
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync("""
            organizations:
              - { id: a, name: A Holding, kind: company }
              - { id: m, name: M Middle, kind: company }
              - { id: z, name: Z Target, kind: company }
            deals:
              - id: amz
                parties: [a, m, z]
                facts:
                  - { id: a-m, type: stake, holder: a, subject: m, share: { exact: 100 }, valid: { from: 2020-01-01 }, sources: [ { source: filing, claim: stated } ] }
                  - { id: a-z, type: stake, holder: a, subject: z, share: { exact: 23.5 }, valid: { from: 2020-01-01 }, sources: [ { source: filing, claim: stated } ] }
                  - { id: m-z, type: stake, holder: m, subject: z, share: { exact: 76.5 }, valid: { from: 2020-01-01 }, sources: [ { source: filing, claim: stated } ] }
            """);

        var (statements, _) = await s.Ledger.BodsStatementsAsync(new DateOnly(2023, 1, 1), indirect: true);

        var d = Assert.Single(statements, x => x!["recordDetails"]!["componentRecords"] is not null)!["recordDetails"]!;
        Assert.Equal(("a", "z", 76.5m), (d["interestedParty"]!.GetValue<string>(), d["subject"]!.GetValue<string>(), d["interests"]![0]!["share"]!["exact"]!.GetValue<decimal>()));
        Assert.Equal(["a~m", "m", "m~z"], d["componentRecords"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.False(statements.Single(x => x!["recordId"]!.GetValue<string>() == "a~z")!["recordDetails"]!["isComponent"]!.GetValue<bool>());
    }

    [Fact]
    public async Task the_export_is_valid_bods_and_imports_back_to_the_same_answers()
    {
        await using var copy = await Scenario.StartAsync(basics: false);
        var copied = copy.Ledger;
        await ledger.ImportBodsFilesAsync(AllExamples);
        DateTimeOffset? knownAt = null; // now: nothing else writes to this class's database meanwhile
        foreach (var day in new[] { new DateOnly(2019, 6, 1), new DateOnly(2022, 10, 1) })
        {
            var (statements, result) = await ledger.BodsStatementsAsync(day, knownAt);
            var json = statements.ToJsonString();
            Assert.Empty(await BodsSchema.ErrorsAsync(json));
            Assert.Equal(json, (await ledger.BodsStatementsAsync(day, knownAt)).Statements.ToJsonString());
            Assert.True(result.Relationships > 10, $"{result.Relationships} relationships exported on {day}");

            await copied.ImportBodsAsync([($"export-{day:yyyy-MM-dd}.json", json)]);
            var orgs = statements.Select(s => s!["recordType"]!.GetValue<string>() == "relationship" ? null : BodsIds.Organization(s["recordId"]!.GetValue<string>()))
                .OfType<string>().ToList();
            foreach (var org in orgs)
            {
                Assert.Equal(Ties(await ledger.RelationshipsAsync(org, day, knownAt)), Ties(await copied.RelationshipsAsync(org, day)));
            }
            // Owners not disclosed (an interested party not specified) come back as the same ties of their subject, above.
            Assert.Contains(statements, s => s!["recordDetails"]!["interestedParty"] is JsonObject);
            foreach (var s in statements.Where(s => s!["recordType"]!.GetValue<string>() == "relationship" && s["recordDetails"]!["interestedParty"] is JsonValue))
            {
                var d = s!["recordDetails"]!;
                var (holder, subject) = (BodsIds.Organization(d["interestedParty"]!.GetValue<string>()), BodsIds.Organization(d["subject"]!.GetValue<string>()));
                Assert.Equal(Answer(await ledger.HoldingAsync(holder, subject, day, knownAt)), Answer(await copied.HoldingAsync(holder, subject, day)));
            }
        }
    }

    [Fact]
    public async Task a_month_precise_stake_goes_out_rounded_and_comes_back_at_its_precision()
    {
        await using var seeded = await Scenario.StartAsync(basics: false);
        var seeds = seeded.Ledger;
        await using var copy = await Scenario.StartAsync(basics: false);
        var copied = copy.Ledger;
        await Seeds.LoadAsync(seeds);
        var day = new DateOnly(2024, 6, 1);
        var (statements, _) = await seeds.BodsStatementsAsync(day);
        Assert.Empty(await BodsSchema.ErrorsAsync(statements.ToJsonString()));
        var stake = statements.Single(s => s!["recordId"]!.GetValue<string>() == "microsoft~mistral-ai")!;
        // BODS dates are days: February 2024 goes out as its first day, with the precision in an annotation.
        Assert.Equal("2024-02-01", stake["recordDetails"]!["interests"]![0]!["startDate"]!.GetValue<string>());
        Assert.Equal(0m, stake["recordDetails"]!["interests"]![0]!["share"]!["exclusiveMinimum"]!.GetValue<decimal>());
        Assert.Equal(50m, stake["recordDetails"]!["interests"]![0]!["share"]!["exclusiveMaximum"]!.GetValue<decimal>());
        Assert.Contains("month (2024-02)", stake["annotations"]![0]!["description"]!.GetValue<string>());

        await copied.ImportBodsAsync([("seeds-export.json", statements.ToJsonString())]);
        foreach (var at in new[] { day, new DateOnly(2024, 2, 10), new DateOnly(2024, 1, 31) })
        {
            var (original, back) = (await seeds.HoldingAsync("microsoft", "mistral-ai", at), await copied.HoldingAsync("bods-microsoft", "bods-mistral-ai", at));
            // The wording ("small minority stake") travels as the interest's details, a note on the way back.
            Assert.Equal(Answer(original with { Share = original.Share is { } s ? s with { Wording = null } : null }), Answer(back));
        }
    }

    private static object Answer(HoldingAnswer a) => (a.Status, a.Share, a.Since, a.Until, a.Confidence);

    private static string Ties(RelationshipsAnswer r) => string.Join("\n", r.Relationships
        .Select(x => $"{x.Type} {x.Direction} {string.Join(",", x.Counterparties)} {x.Status} {x.Since} {x.StartUnknown} {x.Until} {x.Confidence} {x.Summary}").Order(StringComparer.Ordinal));

    [Fact]
    public async Task the_schema_check_finds_what_breaks_bods()
    {
        var tecido = await File.ReadAllTextAsync(Example("tecido.json"));
        Assert.Empty(await BodsSchema.ErrorsAsync(tecido));
        foreach (var (broken, what) in new[]
        {
            (tecido.Replace("crxpru288148613461215288221503762424", "short"), "StringTooShort"),
            (tecido.Replace("\"exact\": 100", "\"exact\": 150"), "NumberTooBig"),
            (tecido.Replace("\"type\": \"shareholding\"", "\"type\": \"shares\""), "NotInEnumeration"),
            (tecido.Replace("\"isComponent\": false,", ""), "PropertyRequired"),
            (tecido.Replace("\"startDate\": \"2002-03-09\"", "\"startDate\": \"2002-3-9\""), "DateExpected"),
            (tecido.Replace("\"code\": \"US-DE\"", "\"code\": \"US-DELAWARE\""), "StringTooLong"),
        })
        {
            Assert.Contains(await BodsSchema.ErrorsAsync(broken), e => e.Contains(what));
        }
    }
}

/// <summary>
/// Each of the standard's 19 examples imported once into this class's database (their records are
/// distinct), so each case's counts are its first import's, whatever order the cases run in.
/// </summary>
public sealed class BodsExampleTests(TestDatabase db) : IClassFixture<TestDatabase>, IAsyncLifetime
{
    private Ledger ledger = null!;

    public Task InitializeAsync()
    {
        ledger = db.Connect();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await ledger.DisposeAsync();

    private static string Example(string name) => BodsTests.Example(name);

    private static IEnumerable<string> AllExamples => BodsTests.AllExamples;

    /// <summary>Per package: statements, mapped, partly mapped, not mapped, facts created (the closing note's table).</summary>
    public static TheoryData<string, int, int, int, int, int> Packages => new()
    {
        { "bods-package-annotations.json", 3, 2, 0, 1, 0 },
        { "bods-package-entity-owning-entity.json", 3, 3, 0, 0, 1 },
        { "bods-package-fi-soe.json", 9, 9, 0, 0, 5 },
        { "bods-package-linking-annotations.json", 3, 3, 0, 0, 1 },
        { "bods-package.json", 3, 3, 0, 0, 1 },
        { "fermcat.json", 23, 21, 2, 0, 6 },
        { "full-pep-declaration.json", 3, 3, 0, 0, 2 },
        { "indirect-ownership.json", 6, 5, 0, 1, 2 },
        { "joint-ownership.json", 7, 7, 0, 0, 3 },
        { "levent.json", 7, 4, 0, 3, 0 },
        { "listed-company-exempt-from-disclosure.json", 2, 2, 0, 0, 1 },
        { "mixed-direct-and-indirect-ownership.json", 6, 5, 0, 1, 3 },
        { "multiple-indirect-ownership.json", 9, 7, 0, 2, 3 },
        { "multiple-tax-residencies.json", 3, 3, 0, 0, 1 },
        { "mutilple-indirect-ownership-2.json", 9, 7, 0, 2, 3 },
        { "nomination.json", 8, 6, 0, 2, 2 },
        { "plc-entity-statement.json", 1, 1, 0, 0, 0 },
        { "simple-pep-declaration.json", 3, 3, 0, 0, 2 },
        { "tecido.json", 11, 10, 1, 0, 15 },
    };

    [Fact]
    public void the_table_covers_every_example_package()
    {
        Assert.Equal(AllExamples.Select(Path.GetFileName).Order(StringComparer.Ordinal), Packages.Select(p => (string)p[0]).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public async Task every_example_imports_statement_by_statement_and_importing_again_changes_nothing(
        string file, int statements, int mapped, int partly, int notMapped, int facts)
    {
        {
            var report = await ledger.ImportBodsFilesAsync([Example(file)]);
            var p = Assert.Single(report.Packages);
            Assert.Equal(JsonNode.Parse(await File.ReadAllTextAsync(Example(file)))!.AsArray().Count, p.Statements);
            Assert.Equal((statements, mapped, partly, notMapped, facts), (p.Statements, p.Mapped, p.PartlyMapped, p.NotMapped, p.FactsCreated));
            Assert.Equal(p.Statements, p.StatementReports.Count);
            Assert.Equal(report.Import.Recorded.GetValueOrDefault("facts"), p.FactsCreated);
            // Nothing is dropped without a word: whatever is not (wholly) mapped says why.
            Assert.All(p.StatementReports.Where(s => s.Mapping != StatementMapping.Mapped), s => Assert.NotEmpty(s.Unmapped));
            Assert.All(p.StatementReports.Where(s => s.Mapping != StatementMapping.NotMapped), s => Assert.NotEmpty(s.Maps));

            var before = await db.FingerprintAsync();
            var again = await ledger.ImportBodsFilesAsync([Example(file)]);
            Assert.Equal(0, again.Import.EventsAppended);
            Assert.Equal(0, again.Packages[0].FactsCreated);
            Assert.Equal((mapped, partly, notMapped), (again.Packages[0].Mapped, again.Packages[0].PartlyMapped, again.Packages[0].NotMapped));
            Assert.Equal(before, await db.FingerprintAsync());
        }
    }
}
