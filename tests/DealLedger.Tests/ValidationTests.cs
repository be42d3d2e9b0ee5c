using DealLedger.Importing;
using DealLedger.Relationships;
using static DealLedger.Tests.Seeds;

namespace DealLedger.Tests;

/// <summary>DESIGN §6 and §9: every rule rejects with a precise message, and a rejected import stores nothing.</summary>
public sealed class ValidationTests(TestDatabase db) : IClassFixture<TestDatabase>, IAsyncLifetime
{
    private Ledger ledger = null!;

    public async Task InitializeAsync()
    {
        ledger = db.Connect();
        await ledger.ImportYamlAsync(Basics);
        await ledger.ImportYamlAsync(Deal("d0", Stake("s0", "{ exact: 10 }", "{ from: 2020-03 }")) +
            "  - id: d-partner\n    parties: [acme, globex]\n    facts:\n      - { id: p0, type: partnership, parties: [acme, globex], scope: R&D, valid: { from: 2021 }, sources: [ { source: press, claim: stated } ] }\n"
            + "      - { id: s-other, type: stake, holder: acme, subject: globex, share: { exact: 30 }, valid: { from: 2020-03-20 }, sources: [ { source: wire, claim: stated } ] }\n"
            + "      - { id: s-ended, type: stake, holder: initech, subject: globex, share: { exact: 3 }, valid: { from: 2014 }, sources: [ { source: press, claim: stated } ] }\n"
            + "endings:\n  - { fact: s-ended, on: 2015-06-30, sources: [ { source: press, claim: stated } ] }\n"
            + "corrections:\n  - { id: c1, fact: s0, set: { share: { exact: 11 } }, reason: restated, sources: [ { source: filing, claim: stated } ] }\n");
    }

    public async Task DisposeAsync() => await ledger.DisposeAsync();

    public static TheoryData<string, string, string> Cases => new()
    {
        { "unknown organization", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2020 }", holder: "nobody")), "unknown organization 'nobody'" },
        { "share above 100", Deal("d1", Stake("s1", "{ exact: 150 }", "{ from: 2020 }")), "a share is a percentage from 0 to 100, got 150" },
        { "negative share", Deal("d1", Stake("s1", "{ min: -1, max: 5 }", "{ from: 2020 }")), "a share is a percentage from 0 to 100, got -1" },
        { "min above max", Deal("d1", Stake("s1", "{ min: 30, max: 20 }", "{ from: 2020 }")), "min (30) is greater than max (20)" },
        { "empty range", Deal("d1", Stake("s1", "{ min: 20, max: 20, maxInclusive: false }", "{ from: 2020 }")), "the range is empty" },
        { "exact and range", Deal("d1", Stake("s1", "{ exact: 5, max: 20 }", "{ from: 2020 }")), "either { exact } or a range" },
        { "share not a number", Deal("d1", Stake("s1", "{ exact: \"five\" }", "{ from: 2020 }")), "expected a number, got the text \"five\"" },
        { "end before start", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2020, to: 2019-12-31 }")), "the period ends (2019-12-31) before or on the day it starts (2020)" },
        { "month 13", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2024-13 }")), "'2024-13' is not a date: month 13 does not exist" },
        { "29 February 2023", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2023-02-29 }")), "2023-02 has no day 29" },
        { "two-digit year", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 24-02 }")), "'24-02' is not a date" },
        { "a stake without a start", Deal("d1", Stake("s1", "{ exact: 5 }", "{ by: 2024 }")), "a stake needs the date it was acquired" },
        { "fact without sources", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2020 }", "[]")), "at least one source is required" },
        { "unknown source", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2020 }", "[ { source: nowhere, claim: stated } ]")), "unknown source 'nowhere'" },
        { "unknown claim kind", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2020 }", "[ { source: press, claim: rumoured } ]")), "'rumoured' is not one of: stated, attributed, claimed, denied" },
        { "attributed without whom", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2020 }", "[ { source: press, claim: attributed } ]")), "names who reported it: attributedTo" },
        { "same source twice", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2020 }", "[ { source: press, claim: stated }, { source: press, claim: claimed } ]")), "the source 'press' is listed twice" },
        { "contradiction from the same source", Deal("d1", Stake("s1", "{ exact: 30 }", "{ from: 2020-03-15 }")), "contradicts stake 's0'" },
        { "contradiction within one batch", Deal("d1", Stake("s1", "{ exact: 30 }", "{ from: 2010 }", holder: "initech"), Stake("s2", "{ exact: 40 }", "{ from: 2010-05 }", holder: "initech")), "contradicts stake 's1'" },
        { "self-referencing stake", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2020 }", holder: "globex")), "'globex' cannot be on both sides of one stake" },
        { "unknown field", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2020 }") + "  colour: red\n"), "unknown field 'colour'" },
        { "unknown top-level field", "organisations: []\n", "unknown field 'organisations'" },
        { "unknown fact type", Deal("d1", "- { id: s1, type: loan, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n"), "'loan' is not one of: stake, investment" },
        { "duplicate fact id in one import", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2010 }", holder: "initech"), Stake("s1", "{ exact: 5 }", "{ from: 2010 }", holder: "initech")), "the fact id 's1' is used twice in this import" },
        { "known fact with other values", Deal("d0", Stake("s0", "{ exact: 11 }", "{ from: 2020-03 }")), "fact 's0' is already recorded with different values; record a correction instead" },
        { "organization re-registered differently", "organizations:\n  - { id: acme, name: Acme Corp, kind: company }\n", "organization 'acme' is already registered with different details" },
        { "bad id", "organizations:\n  - { id: Acme_Corp, name: Acme, kind: company }\n", "'Acme_Corp' is not an id" },
        { "bad country", "organizations:\n  - { id: umbrella, name: Umbrella, kind: company, country: usa }\n", "'usa' is not an ISO 3166-1 alpha-2 country code" },
        { "control character in a name", "organizations:\n  - { id: umbrella, name: \"Umbrella\\u0007\", kind: company }\n", "text contains the control character U+0007" },
        { "unknown currency", Deal("d1", "- { id: i1, type: investment, investor: acme, investee: globex, amount: { value: 5, currency: EUX }, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n"), "'EUX' is not an ISO 4217 currency code" },
        { "negative amount", Deal("d1", "- { id: i1, type: investment, investor: acme, investee: globex, amount: { value: -5, currency: EUR }, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n"), "an amount cannot be negative" },
        { "partnership of one", Deal("d1", "- { id: p1, type: partnership, parties: [acme], scope: x, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n"), "'parties' needs at least 2 organizations" },
        { "correction of an unknown fact", "corrections:\n  - { fact: nope, set: { share: { exact: 5 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", "unknown fact 'nope'" },
        { "correction that does not fit the fact", "corrections:\n  - { fact: p0, set: { share: { exact: 5 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", "'share' cannot be set on a partnership fact" },
        { "correction without a source", "corrections:\n  - { fact: s0, set: { share: { exact: 5 } }, reason: r, sources: [] }\n", "at least one source is required" },
        { "correction without a reason", "corrections:\n  - { fact: s0, set: { share: { exact: 5 } }, sources: [ { source: press, claim: stated } ] }\n", "the field 'reason' is required" },
        { "empty correction", "corrections:\n  - { fact: s0, set: {}, reason: r, sources: [ { source: press, claim: stated } ] }\n", "a correction sets at least one field" },
        { "ending before the start", "endings:\n  - { fact: s0, on: 2019-01-01, sources: [ { source: press, claim: stated } ] }\n", "fact 's0' cannot end (2019-01-01) before or on the day it starts (2020-03)" },
        { "ending on the day a fact starts", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2010-05-05 }", holder: "initech")) + "endings:\n  - { fact: s1, on: 2010-05-05, sources: [ { source: press, claim: stated } ] }\n", "cannot end (2010-05-05) before or on the day it starts (2010-05-05)" },
        { "a fact only denied", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 2010 }", "[ { source: press, claim: denied } ]", holder: "initech")), "no source asserts this fact" },
        { "year 9999", Deal("d1", Stake("s1", "{ exact: 5 }", "{ from: 9999 }", holder: "initech")), "the year must be between 0001 and 9998" },
        { "a claim that contradicts the same source", "claims:\n  - { fact: s-other, source: press, claim: stated }\n", "contradicts stake 's0'" },
        { "a correction that contradicts the same source", "corrections:\n  - { fact: s-other, set: { share: { exact: 40 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", "contradicts stake 's0'" },
        { "a correction moving the start past the ending", "corrections:\n  - { fact: s-ended, set: { valid: { from: 2016 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", "would start (2016) after its recorded ending (2015-06-30)" },
        { "a stake corrected to 'by'", "corrections:\n  - { fact: s0, set: { valid: { by: 2020 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", "a stake needs the date it was acquired" },
        { "an amendment id reused for other content", "corrections:\n  - { id: c1, fact: s0, set: { share: { exact: 12 } }, reason: other, sources: [ { source: filing, claim: stated } ] }\n", "'c1' is already recorded on fact 's0' with different content" },
        { "retraction of an unknown fact", "retractions:\n  - { fact: nope, reason: r, sources: [ { source: press, claim: stated } ] }\n", "unknown fact 'nope'" },
        { "malformed YAML", "deals: [ { id: d1\n", "not valid YAML at line" },
        { "empty document", "", "the document is empty" },
        { "a list where a mapping belongs", "- just\n- a list\n", "expected a mapping" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task invalid_documents_are_rejected_precisely_and_store_nothing(string rule, string yaml, string message)
    {
        var before = await db.FingerprintAsync();

        var e = await Assert.ThrowsAsync<LedgerException>(() => ledger.ImportYamlAsync(yaml, "case.yaml"));

        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{rule}: expected '{message}' in: {e.Message}");
        Assert.StartsWith("case.yaml", e.Message);
        // What clashes with an id the ledger already holds is a conflict (HTTP 409); the rest is bad input (400).
        Assert.Equal(message.Contains("already") ? LedgerErrorKind.Conflict : LedgerErrorKind.InvalidInput, e.Kind);
        Assert.Equal(before, await db.FingerprintAsync());
    }

    [Theory]
    [InlineData("{ \"organizations\": [ { \"id\": \"umbrella\", \"name\": \"Umbrella\", \"kind\": \"company\" ] }", "not valid JSON at line 1")]
    [InlineData("{ \"organizations\": [ { \"id\": \"umbrella\", \"name\": \"Umbrella\", \"kind\": \"company\", \"kind\": \"fund\" } ] }", "the field 'kind' appears twice")]
    [InlineData("{ \"organizations\": [ { \"id\": 7, \"name\": \"Umbrella\", \"kind\": \"company\" } ] }", "organizations[0].id: expected text, got '7'")]
    public async Task invalid_json_documents_are_rejected_precisely(string json, string message)
    {
        var before = await db.FingerprintAsync();

        var e = await Assert.ThrowsAsync<LedgerException>(() => ledger.ImportAsync([("case.json", json)]));

        Assert.Contains(message, e.Message);
        Assert.Equal(before, await db.FingerprintAsync());
    }

    [Fact]
    public async Task a_batch_with_one_bad_document_stores_none_of_them()
    {
        var before = await db.FingerprintAsync();
        var good = "organizations:\n  - { id: umbrella, name: Umbrella, kind: company }\n";
        var bad = Deal("d9", Stake("s9", "{ exact: 5 }", "{ from: 2020 }", holder: "umbrella", subject: "nobody"));

        var e = await Assert.ThrowsAsync<LedgerException>(() => ledger.ImportAsync([("good.yaml", good), ("bad.yaml", bad)]));

        Assert.StartsWith("bad.yaml", e.Message);
        Assert.Equal(before, await db.FingerprintAsync());
    }

    [Fact]
    public async Task invalid_utf8_is_rejected()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllBytesAsync(path, [0x6f, 0x72, 0x67, 0xff, 0xfe, 0x0a]);
        try
        {
            var e = await Assert.ThrowsAsync<LedgerException>(() => ledger.ImportFilesAsync([path]));
            Assert.Contains("not valid UTF-8", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task names_in_any_script_are_stored_and_returned_intact()
    {
        var name = "شركة Ωmega 🚀 株式会社";
        await ledger.ImportYamlAsync($"organizations:\n  - {{ id: omega, name: \"{name}\", kind: company }}\n");

        var profile = await ledger.RelationshipsAsync("omega");
        Assert.Equal(name, profile.Organization.Name);
    }

    [Fact]
    public async Task an_organization_with_several_identifiers_imports_again_unchanged()
    {
        // jsonb orders keys shortest first (lei before gb-coh): read back, they must still compare equal.
        var doc = "organizations:\n  - { id: az, name: AstraZeneca, kind: company, identifiers: { lei: PY6ZZQWO2IZFZC3IOL08, gb-coh: \"02723534\" } }\n";
        await ledger.ImportYamlAsync(doc);

        var again = await ledger.ImportYamlAsync(doc);

        Assert.Equal(0, again.EventsAppended);
    }
}
