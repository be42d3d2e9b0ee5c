using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DealLedger.Bods;
using DealLedger.Holdings;

namespace DealLedger.Tests;

/// <summary>
/// Importing a BODS package again changes nothing, whatever was imported after it (issue 20): a
/// statement already recorded is never read again as news, even when later statements updated or
/// corrected what it said. Every permutation of re-imports after the first import of each package
/// leaves the whole database's fingerprint unchanged.
/// </summary>
/// One database serves the class: the packages' records are distinct, and every re-import must leave it as it was.
public sealed class BodsReimportTests(TestDatabase db) : IClassFixture<TestDatabase>, IAsyncLifetime
{
    private Ledger ledger = null!;

    public Task InitializeAsync()
    {
        ledger = db.Connect();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await ledger.DisposeAsync();

    private static string Id(string name) => name.PadRight(32, '0');

    private static string Entity(string record, string name) =>
        $$"""{ "statementId": "{{Id(record)}}", "statementDate": "2021-07-15", "recordId": "{{record}}", "recordType": "entity", "recordStatus": "new", "declarationSubject": "{{record}}", "recordDetails": { "isComponent": false, "entityType": { "type": "registeredEntity" }, "name": "{{name}}" } }""";

    private static string Interest(string type, decimal share, string start) =>
        $$"""{ "type": "{{type}}", "directOrIndirect": "direct", "share": { "exact": {{share}} }, "startDate": "{{start}}" }""";

    private static string Stated(string run, string statement, string date, string status, string interests, string correcting = "") =>
        $$"""{ "statementId": "{{Id(run + statement)}}", "statementDate": "{{date}}", "recordId": "{{run}}nordvind-aurora", "recordType": "relationship", "recordStatus": "{{status}}", "declarationSubject": "{{run}}aurora", "source": { "type": [ "officialRegister" ] }, """
        + (correcting == "" ? "" : $$""" "annotations": [ { "statementPointerTarget": "{{correcting}}", "motivation": "correcting", "description": "the register corrects its earlier figure" } ], """)
        + $$""" "recordDetails": { "isComponent": false, "subject": "{{run}}aurora", "interestedParty": "{{run}}nordvind", "interests": [ {{interests}} ] } }""";

    private static string Package(params string[] statements) => "[" + string.Join(",", statements) + "]";

    /// <summary>
    /// Nordvind holds 50 % of Aurora from 2021-07-15 (declared that day), 45 % from 2023-01-10; then
    /// 45 % is corrected to 44.5 %; then 50 % to 51 %, the 44.5 % changes to 40 % by 2024-03-01 with
    /// voting rights from 2020 first declared then, and 40 % is corrected to 41 %.
    /// Each test names its records and statements after its own run (r1-, r2-), as the class shares one database.
    /// </summary>
    private static (string Name, string Text)[] AuroraPackages(string run) =>
    [
        ("aurora.json", Package(Entity($"{run}nordvind", "Nordvind AS"), Entity($"{run}aurora", "Aurora Ltd"),
            Stated(run, "aurora-s1", "2021-07-15", "new", Interest("shareholding", 50, "2021-07-15")),
            Stated(run, "aurora-s2", "2023-01-12", "updated", Interest("shareholding", 45, "2023-01-10")))),
        ("aurora-fix.json", Package(
            Stated(run, "aurora-s3", "2023-02-01", "updated", Interest("shareholding", 44.5m, "2023-01-10"), "/recordDetails/interests/0/share"))),
        ("aurora-later.json", Package(
            Stated(run, "aurora-s4", "2023-02-02", "updated", Interest("shareholding", 51, "2021-07-15"), "/"),
            Stated(run, "aurora-s5", "2024-03-01", "updated", Interest("shareholding", 40, "2023-01-10") + "," + Interest("votingRights", 40, "2020-01-01")),
            Stated(run, "aurora-s6", "2024-03-05", "updated", Interest("shareholding", 41, "2023-01-10") + "," + Interest("votingRights", 40, "2020-01-01"), "/recordDetails/interests/0"))),
    ];

    private async Task<string> HeldAsync(string run, string on)
    {
        var a = await ledger.HoldingAsync($"bods-{run}nordvind", $"bods-{run}aurora", DateOnly.Parse(on));
        return $"{a.Share?.Exact} since {a.Since?.Date}";
    }

    [Fact]
    public async Task reimporting_a_package_after_its_correction_changes_nothing()
    {
        var packages = AuroraPackages("r1-");
        await ledger.ImportBodsAsync([packages[0]]);
        await ledger.ImportBodsAsync([packages[1]]);
        Assert.Equal("44.5 since 2023-01-10", await HeldAsync("r1-", "2023-06-01"));
        var before = await db.FingerprintAsync();

        var again = await ledger.ImportBodsAsync([packages[0]]);

        Assert.Equal(0, again.Import.EventsAppended);
        Assert.Equal("44.5 since 2023-01-10", await HeldAsync("r1-", "2023-06-01"));
        Assert.Equal(before, await db.FingerprintAsync());
        // The report still says what each statement maps to, and that the ledger holds it from before.
        var updated = again.Packages[0].StatementReports.Single(r => r.StatementId == Id("r1-aurora-s2"));
        Assert.Equal(StatementMapping.Mapped, updated.Mapping);
        Assert.Contains(updated.Maps, m => m.Contains("recorded before") && m.Contains("bods-r1-nordvind-aurora-shareholding-2023-01-10"));
        Assert.Equal(1, updated.AlreadyKnown.GetValueOrDefault("sources"));
    }

    [Fact]
    public async Task every_order_of_reimporting_updated_then_corrected_packages_changes_nothing()
    {
        var packages = AuroraPackages("r2-");
        foreach (var p in packages)
        {
            await ledger.ImportBodsAsync([p]);
        }
        var answers = new[] { "2021-08-01", "2023-01-11", "2023-06-01", "2024-06-01" };
        var expected = new[] { "51 since 2021-07-15", "44.5 since 2023-01-10", "44.5 since 2023-01-10", "41 since 2024-03-01" };
        async Task<List<string>> Answers()
        {
            var list = new List<string>();
            foreach (var on in answers)
            {
                list.Add(await HeldAsync("r2-", on));
            }
            return list;
        }
        Assert.Equal(expected, await Answers());

        await AssertReimportsChangeNothingAsync(packages);
        Assert.Equal(expected, await Answers());
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task every_order_of_reimporting_an_example_and_its_updates_and_corrections_changes_nothing(string file)
    {
        var packages = new List<(string Name, string Text)> { (file, await File.ReadAllTextAsync(BodsTests.Example(file))) };
        packages.AddRange(Later(file, packages[0].Text));
        var firsts = new List<BodsImportReport>();
        foreach (var p in packages)
        {
            firsts.Add(await ledger.ImportBodsAsync([p]));
        }
        // Where the updates changed a share (a new state of the fact), the corrections correct it: the re-imports meet corrected facts.
        if (packages.Count == 3 && firsts[1].Import.Recorded.GetValueOrDefault("facts") > 0)
        {
            Assert.True(firsts[2].Import.Recorded.GetValueOrDefault("corrections") > 0, $"{file}: the corrections corrected nothing");
        }

        await AssertReimportsChangeNothingAsync(packages);
    }

    public static TheoryData<string> Examples
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var f in BodsTests.AllExamples)
            {
                data.Add(Path.GetFileName(f));
            }
            return data;
        }
    }

    /// <summary>Re-imports every permutation of the packages, one package a write, then all in one write: no event, no change anywhere.</summary>
    private async Task AssertReimportsChangeNothingAsync(IReadOnlyList<(string Name, string Text)> packages)
    {
        var before = await db.FingerprintAsync();
        foreach (var order in Permutations(packages.Count))
        {
            foreach (var i in order)
            {
                var again = await ledger.ImportBodsAsync([packages[i]]);
                Assert.True(again.Import.EventsAppended == 0,
                    $"re-importing {packages[i].Name} (order {string.Join(", ", order.Select(o => packages[o].Name))}) appended {again.Import.EventsAppended} events: " +
                    string.Join("; ", again.Packages.SelectMany(p => p.StatementReports).Where(r => r.Recorded.Count > 0).SelectMany(r => r.Maps)));
                Assert.Equal(before, await db.FingerprintAsync());
            }
        }
        Assert.Equal(0, (await ledger.ImportBodsAsync(packages)).Import.EventsAppended);
        Assert.Equal(before, await db.FingerprintAsync());
    }

    private static IEnumerable<int[]> Permutations(int n) => n == 0
        ? [[]]
        : Permutations(n - 1).SelectMany(p => Enumerable.Range(0, n).Select(at => p[..at].Append(n - 1).Concat(p[at..]).ToArray()));

    /// <summary>
    /// Two later packages for an example: the last statement of each open relationship record
    /// updated a year later with other shares, then those updates corrected a month after.
    /// </summary>
    private static IEnumerable<(string Name, string Text)> Later(string file, string text)
    {
        var last = JsonNode.Parse(text)!.AsArray()
            .Where(s => s!["recordType"]!.GetValue<string>() == "relationship")
            .GroupBy(s => s!["recordId"]!.GetValue<string>())
            .Select(g => g.MaxBy(s => s!["statementDate"]!.GetValue<string>()[..10], StringComparer.Ordinal)!)
            .Where(s => s["recordStatus"]?.GetValue<string>() != "closed")
            .ToList();
        if (last.Count == 0)
        {
            yield break;
        }
        JsonArray Derive(string step, int days, decimal share, bool correcting) => new(last.Select(s =>
        {
            var d = s.DeepClone().AsObject();
            d["statementId"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{s["statementId"]} {step}")))[..40];
            d["statementDate"] = DateOnly.Parse(s["statementDate"]!.GetValue<string>()[..10]).AddDays(days).ToString("yyyy-MM-dd");
            d["recordStatus"] = "updated";
            foreach (var i in d["recordDetails"]!["interests"]?.AsArray() ?? [])
            {
                if (i is JsonObject interest && (interest["share"] is not null || interest["type"]?.GetValue<string>() == "shareholding"))
                {
                    interest["share"] = new JsonObject { ["exact"] = share };
                }
            }
            var annotations = new JsonArray((d["annotations"]?.AsArray() ?? []).Where(a => a!["motivation"]?.GetValue<string>() != "correcting").Select(a => a!.DeepClone()).ToArray());
            if (correcting)
            {
                annotations.Add(new JsonObject { ["statementPointerTarget"] = "/", ["motivation"] = "correcting", ["description"] = $"{step}: the shares were misstated" });
            }
            d["annotations"] = annotations;
            return (JsonNode?)d;
        }).ToArray());
        yield return ($"{file} updated", Derive("updated", 400, 10m, false).ToJsonString());
        yield return ($"{file} corrected", Derive("corrected", 430, 11m, true).ToJsonString());
    }
}
