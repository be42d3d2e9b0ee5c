using System.Text;
using DealLedger.Access;

namespace DealLedger.Tests;

public enum DocumentFormat { Yaml, Json }

/// <summary>A ledger document the ledger must refuse, through `dealledger import FILE` and `POST /api/import` alike.</summary>
/// <param name="Status">The HTTP status (400, 409 …); the CLI exits 2 for every one of them.</param>
/// <param name="Field">The path problem details name in `field`; null: the error has none (a syntax error).</param>
/// <param name="Fragment">What the error must say (problem `detail`, the CLI's line).</param>
public sealed record BadDocument(string Category, string Name, DocumentFormat Format, byte[] Bytes, int Status, string? Field, string Fragment)
{
    public string Key => $"{Category}: {Name}";
}

/// <summary>An HTTP request the API must refuse with problem details.</summary>
public sealed record BadRequest(string Category, string Name, string Method, string Path, Role? Role, string? ContentType, byte[]? Body,
    int Status, string? Field, string Fragment)
{
    public string Key => $"{Category}: {Name}";
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    /// <summary>Sent without Content-Length (chunked), so only the server's own count can stop it.</summary>
    public bool Chunked { get; init; }
}

/// <summary>A command line the CLI must refuse: exit 2, one line on stderr. "{dir}" in an argument is a folder holding <see cref="Files"/>.</summary>
public sealed record BadCommand(string Category, string Name, string[] Args, string Fragment)
{
    public string Key => $"{Category}: {Name}";
    public IReadOnlyDictionary<string, byte[]> Files { get; init; } = new Dictionary<string, byte[]>();
}

/// <summary>
/// The bad-input catalogue (issue 5): documents, requests and command lines the ledger must refuse
/// with a precise error and nothing changed. Data only; BadInputHttpTests and BadInputCliTests
/// drive it. Every case works against <see cref="Scenario"/> (on top of the seeds).
/// </summary>
public static class BadInputCatalogue
{
    /// <summary>What every case runs against, besides the seeds: facts of each kind to correct, end, contradict.</summary>
    public static readonly string Scenario = Seeds.Basics + "\n" + """
        deals:
          - id: d0
            parties: [acme, globex]
            facts:
              - { id: s0, type: stake, holder: acme, subject: globex, share: { exact: 10 }, valid: { from: 2020-03 }, sources: [ { source: press, claim: stated } ] }
              - { id: s-other, type: stake, holder: acme, subject: globex, share: { exact: 30 }, valid: { from: 2020-03-20 }, sources: [ { source: wire, claim: stated } ] }
              - { id: p0, type: partnership, parties: [acme, globex], scope: R&D, valid: { from: 2021 }, sources: [ { source: press, claim: stated } ] }
              - { id: i0, type: investment, investor: acme, investee: globex, amount: { value: 5000000, currency: EUR }, valid: { from: 2021-05 }, sources: [ { source: press, claim: stated } ] }
              - { id: s-ended, type: stake, holder: initech, subject: globex, share: { exact: 3 }, valid: { from: 2014 }, sources: [ { source: press, claim: stated } ] }
              - { id: s-gone, type: stake, holder: globex, subject: initech, share: { exact: 2 }, valid: { from: 2019 }, sources: [ { source: wire, claim: stated } ] }
        endings:
          - { fact: s-ended, on: 2015-06-30, sources: [ { source: press, claim: stated } ] }
        corrections:
          - { id: c1, fact: s0, set: { share: { exact: 11 } }, reason: restated, sources: [ { source: filing, claim: stated } ] }
        retractions:
          - { fact: s-gone, reason: withdrawn, sources: [ { source: wire, claim: stated } ] }
        """;

    /// <summary>Imported after <see cref="Scenario"/>: a second record of Globex, merged into it.</summary>
    public const string Merged = """
        organizations:
          - { id: globex-old, name: Globex (old record), kind: company }
        merges:
          - { duplicate: globex-old, into: globex, reason: registered twice }
        """;

    private const string Press = "[ { source: press, claim: stated } ]";
    private const string F = "deals[0].facts[0]";

    /// <summary>A deal d1 of acme and globex holding these facts (YAML flow mappings).</summary>
    private static string Deal(params string[] facts) =>
        "deals:\n  - id: d1\n    parties: [acme, globex]\n    facts:\n" + string.Concat(facts.Select(f => $"      - {f}\n"));

    /// <summary>A stake of initech in acme (a pair with no live facts), valid unless told otherwise.</summary>
    private static string Stake(string share = "{ exact: 5 }", string valid = "{ from: 2010 }", string sources = Press,
        string holder = "initech", string subject = "acme", string id = "s1", string extra = "") =>
        $"{{ id: {id}, type: stake, holder: {holder}, subject: {subject}, share: {share}, valid: {valid}, sources: {sources}{extra} }}";

    private static string Investment(string amount = "{ value: 5, currency: EUR }", string investee = "globex", string extra = "") =>
        $"{{ id: i1, type: investment, investor: acme, investee: {investee}, amount: {amount}, valid: {{ from: 2020 }}, sources: {Press}{extra} }}";

    private static string Org(string fields) => $"organizations:\n  - {{ {fields} }}\n";

    private static string Source(string fields) => $"sources:\n  - {{ {fields} }}\n";

    /// <summary>A JSON document registering one organization with these fields (raw JSON members).</summary>
    private static string JsonOrg(string members) => $$"""{ "organizations": [ { {{members}} } ] }""";

    private static string JsonStake(string share = "{ \"exact\": 5 }", string valid = "{ \"from\": \"2010\" }", string extra = "") => $$"""
        { "deals": [ { "id": "d1", "parties": ["acme", "globex"], "facts": [
          { "id": "s1", "type": "stake", "holder": "initech", "subject": "acme", "share": {{share}}, "valid": {{valid}},
            "sources": [ { "source": "press", "claim": "stated" } ]{{extra}} } ] } ] }
        """;

    private static string Nested(int depth) => "a: " + new string('[', depth) + new string(']', depth) + "\n";

    /// <summary>The billion laughs: nine levels of nine aliases, a billion strings if expanded.</summary>
    private static string AliasBomb()
    {
        var text = new StringBuilder("a0: &a0 [lol]\n");
        for (var i = 1; i <= 9; i++)
        {
            text.Append($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 9))}]\n");
        }
        return text.ToString();
    }

    public static IReadOnlyList<BadDocument> Documents { get; } = BuildDocuments();

    private static List<BadDocument> BuildDocuments()
    {
        var list = new List<BadDocument>();
        void Y(string category, string name, string yaml, int status, string? field, string fragment) =>
            list.Add(new(category, name, DocumentFormat.Yaml, Encoding.UTF8.GetBytes(yaml), status, field, fragment));
        void J(string category, string name, string json, int status, string? field, string fragment) =>
            list.Add(new(category, name, DocumentFormat.Json, Encoding.UTF8.GetBytes(json), status, field, fragment));
        void Raw(string category, string name, DocumentFormat format, byte[] bytes, string fragment) =>
            list.Add(new(category, name, format, bytes, 400, null, fragment));

        const string syntax = "malformed YAML";
        Y(syntax, "truncated flow mapping", "deals: [ { id: d1\n", 400, null, "not valid YAML at line");
        Y(syntax, "truncated quoted string", "organizations:\n  - { id: q, name: \"Q", 400, null, "not valid YAML at line 2");
        Y(syntax, "tab as indentation", "organizations:\n\t- { id: q }\n", 400, null, "not valid YAML");
        Y(syntax, "two documents in one", "organizations: []\n---\nsources: []\n", 400, null, "expected exactly one YAML document");
        Y(syntax, "empty document", "", 400, null, "the document is empty");
        Y(syntax, "only a comment", "# nothing here\n", 400, null, "the document is empty");
        Y(syntax, "a list at the top", "- just\n- a list\n", 400, "$", "expected a mapping with fields organizations");
        Y(syntax, "a scalar at the top", "hello\n", 400, "$", "expected a mapping with fields organizations");
        Y(syntax, "anchor and alias", "organizations:\n  - &o { id: q, name: Q, kind: company }\n  - *o\n", 400, "organizations[0]", "anchors and aliases");
        Y(syntax, "merge key", "sources:\n  - &base { id: q1, title: T, kind: third-party }\n  - { <<: *base, id: q2 }\n", 400, "sources[0]", "anchors and aliases");
        Y(syntax, "alias bomb (billion laughs)", AliasBomb(), 400, "a0", "anchors and aliases");
        Y(syntax, "binary tag", "organizations:\n  - { id: q, name: !!binary aGVsbG8=, kind: company }\n", 400, "organizations[0].name", "YAML tags");
        Y(syntax, "language-specific tag", "organizations: !!python/object:os.system [ls]\n", 400, "organizations", "YAML tags");
        Y(syntax, "a list as a field name", "? [a, b]\n: c\n", 400, "$", "a field name must be plain text");
        Y(syntax, "duplicate field", "organizations:\n  - id: q\n    id: r\n    name: Q\n    kind: company\n", 400, "organizations[0].id", "the field 'id' appears twice");
        Y(syntax, "nested 65 levels", Nested(65), 400, "a" + string.Concat(Enumerable.Range(0, 63).Select(_ => "[0]")), "nested more than 64 levels deep");
        Y(syntax, "nested 200,000 levels (would overflow the stack)", Nested(200_000), 400, "a" + string.Concat(Enumerable.Range(0, 63).Select(_ => "[0]")), "nested more than 64 levels deep");

        // Sizes that were quadratic to check (a repeated field or party searched for in a list): now linear.
        Y(syntax, "50,000 fields, one twice", string.Concat(Enumerable.Range(0, 50_000).Select(i => $"k{i}: 1\n")) + "k0: 2\n", 400, "k0", "the field 'k0' appears twice");
        J("malformed JSON", "50,000 fields, one twice", "{" + string.Concat(Enumerable.Range(0, 50_000).Select(i => $"\"k{i}\": 1, ")) + "\"k0\": 2 }", 400, "k0", "the field 'k0' appears twice");
        Y(syntax, "a deal of 20,000 parties, one twice", "deals:\n  - id: d1\n    parties: [" + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"p{i}, ")) + "p0]\n    facts: []\n", 400, "deals[0].parties[20000]", "'p0' is listed twice");

        const string encoding = "encoding";
        Raw(encoding, "NUL byte", DocumentFormat.Yaml, Encoding.UTF8.GetBytes("organizations:\n  - { id: q, name: \"a\0b\", kind: company }\n"), "contains a NUL byte");
        Raw(encoding, "invalid UTF-8 bytes", DocumentFormat.Yaml, [.. "organizations:\n  - { id: q, name: "u8, 0xff, 0xfe, .. ", kind: company }\n"u8], "not valid UTF-8");
        Raw(encoding, "UTF-16 text", DocumentFormat.Yaml, Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("organizations: []\n")).ToArray(), "not valid UTF-8");
        Raw(encoding, "overlong UTF-8 encoding of '/'", DocumentFormat.Yaml, [.. "organizations:\n  - { id: q, name: a"u8, 0xc0, 0xaf, .. ", kind: company }\n"u8], "not valid UTF-8");
        Raw(encoding, "UTF-8 encoded surrogate", DocumentFormat.Yaml, [.. "organizations:\n  - { id: q, name: a"u8, 0xed, 0xa0, 0x80, .. ", kind: company }\n"u8], "not valid UTF-8");
        Raw(encoding, "truncated UTF-8 sequence at the end", DocumentFormat.Json, [.. "{ \"organizations\": [] } "u8, 0xe2, 0x82], "not valid UTF-8");

        const string json = "malformed JSON";
        J(json, "truncated", "{ \"organizations\": [", 400, null, "not valid JSON at line 1");
        J(json, "trailing comma", JsonOrg("\"id\": \"q\", \"name\": \"Q\", \"kind\": \"company\","), 400, null, "trailing comma");
        J(json, "comment", JsonOrg("\"id\": \"q\", /* who */ \"name\": \"Q\", \"kind\": \"company\""), 400, null, "not valid JSON");
        J(json, "single quotes", "{ 'organizations': [] }", 400, null, "not valid JSON");
        J(json, "two values", "{ \"organizations\": [] } { }", 400, null, "not valid JSON");
        J(json, "NaN literal", JsonStake(share: "{ \"exact\": NaN }"), 400, null, "not valid JSON");
        J(json, "raw control character in a string", JsonOrg("\"id\": \"q\", \"name\": \"a\u0001b\", \"kind\": \"company\""), 400, null, "not valid JSON");
        J(json, "nested 65 levels", "{ \"organizations\": " + new string('[', 64) + new string(']', 64) + " }", 400, null, "maximum configured depth of 64");
        J(json, "duplicate field", JsonOrg("\"id\": \"q\", \"name\": \"Q\", \"kind\": \"company\", \"kind\": \"fund\""), 400, "organizations[0].kind", "the field 'kind' appears twice");
        J(json, "lone surrogate escape", JsonOrg("\"id\": \"q\", \"name\": \"a\\ud800b\", \"kind\": \"company\""), 400, "organizations[0].name", "not valid Unicode");
        J(json, "NUL escape", JsonOrg("\"id\": \"q\", \"name\": \"a\\u0000b\", \"kind\": \"company\""), 400, "organizations[0].name", "control character U+0000");
        J(json, "a list at the top", "[ { \"organizations\": [] } ]", 400, "$", "expected a mapping");
        J(json, "null at the top", "null", 400, null, "the document is empty");

        const string types = "wrong types";
        J(types, "id as a number", JsonOrg("\"id\": 7, \"name\": \"Q\", \"kind\": \"company\""), 400, "organizations[0].id", "expected text, got '7'");
        J(types, "name as a boolean", JsonOrg("\"id\": \"q\", \"name\": true, \"kind\": \"company\""), 400, "organizations[0].name", "expected text, got 'true'");
        J(types, "name as an object", JsonOrg("\"id\": \"q\", \"name\": { \"en\": \"Q\" }, \"kind\": \"company\""), 400, "organizations[0].name", "expected text, got a mapping");
        J(types, "name as null", JsonOrg("\"id\": \"q\", \"name\": null, \"kind\": \"company\""), 400, "organizations[0].name", "the field 'name' is required");
        J(types, "aliases as text", JsonOrg("\"id\": \"q\", \"name\": \"Q\", \"kind\": \"company\", \"aliases\": \"Q\""), 400, "organizations[0].aliases", "expected a list");
        J(types, "an alias as a number", JsonOrg("\"id\": \"q\", \"name\": \"Q\", \"kind\": \"company\", \"aliases\": [1]"), 400, "organizations[0].aliases[0]", "expected text");
        J(types, "organizations as an object", "{ \"organizations\": { \"id\": \"q\" } }", 400, "organizations", "expected a list");
        J(types, "kind as a number", JsonOrg("\"id\": \"q\", \"name\": \"Q\", \"kind\": 5"), 400, "organizations[0].kind", "'5' is not one of: company");
        J(types, "identifiers as a list", JsonOrg("\"id\": \"q\", \"name\": \"Q\", \"kind\": \"company\", \"identifiers\": [\"Q1\"]"), 400, "organizations[0].identifiers", "expected a mapping of identifier kinds");
        J(types, "an identifier as a number", JsonOrg("\"id\": \"q\", \"name\": \"Q\", \"kind\": \"company\", \"identifiers\": { \"wikidata\": 42 }"), 400, "organizations[0].identifiers.wikidata", "expected text");
        J(types, "share exact as text", JsonStake(share: "{ \"exact\": \"5\" }"), 400, $"{F}.share.exact", "expected a number, got the text \"5\"");
        J(types, "share as a number", JsonStake(share: "5"), 400, $"{F}.share", "expected a mapping with fields exact");
        J(types, "minInclusive as text", JsonStake(share: "{ \"min\": 1, \"minInclusive\": \"false\" }"), 400, $"{F}.share.minInclusive", "expected true or false");
        J(types, "minInclusive as 0", JsonStake(share: "{ \"min\": 1, \"minInclusive\": 0 }"), 400, $"{F}.share.minInclusive", "expected true or false");
        J(types, "valid as text", JsonStake(valid: "\"2010\""), 400, $"{F}.valid", "expected a mapping with fields from, by, to");
        J(types, "a date as a number", JsonStake(valid: "{ \"from\": 2010 }"), 400, $"{F}.valid.from", "expected a date as text");
        Y(types, "sources as a mapping", Deal(Stake(sources: "{ source: press, claim: stated }")), 400, $"{F}.sources", "expected a list");
        Y(types, "parties as text", "deals:\n  - { id: d1, parties: acme, facts: [] }\n", 400, "deals[0].parties", "expected a list");
        Y(types, "amount value as text", Deal(Investment(amount: "{ value: \"5\", currency: EUR }")), 400, $"{F}.amount.value", "expected a number, got the text \"5\"");
        Y(types, "a fact without a type", Deal("{ id: f1, holder: initech, subject: acme }"), 400, $"{F}.type", "a fact needs a 'type'");
        Y(types, "a fact of an unknown type", Deal("{ id: f1, type: loan, valid: { from: 2020 }, sources: [] }"), 400, $"{F}.type", "'loan' is not one of: stake, investment");
        Y(types, "a stake without a share", Deal(Stake(share: "null")), 400, $"{F}.share", "the field 'share' is required");

        const string unknown = "unknown fields";
        Y(unknown, "top-level misspelling", "organisations: []\n", 400, "organisations", "unknown field 'organisations'");
        Y(unknown, "in an organization", Org("id: q, name: Q, kind: company, colour: red"), 400, "organizations[0].colour", "unknown field 'colour' (allowed here: id, name");
        Y(unknown, "a field of another fact type", Deal(Stake(extra: ", amount: { value: 5, currency: EUR }")), 400, $"{F}.amount", "unknown field 'amount'");
        Y(unknown, "in a share", Deal(Stake(share: "{ exact: 5, percent: true }")), 400, $"{F}.share.percent", "unknown field 'percent'");
        Y(unknown, "in a period", Deal(Stake(valid: "{ from: 2010, until: 2012 }")), 400, $"{F}.valid.until", "unknown field 'until'");
        Y(unknown, "confidence typed in by hand", Deal(Stake(sources: "[ { source: press, claim: stated, confidence: confirmed } ]")), 400, $"{F}.sources[0].confidence", "unknown field 'confidence'");
        Y(unknown, "recordedAt supplied by a client", Deal(Stake(extra: ", recordedAt: 2020-01-01T00:00:00Z")), 400, $"{F}.recordedAt", "unknown field 'recordedAt'");
        Y(unknown, "in a deal", "deals:\n  - { id: d1, parties: [acme, globex], announcedOn: 2020, facts: [] }\n", 400, "deals[0].announcedOn", "unknown field 'announcedOn'");
        Y(unknown, "in a correction's set", "corrections:\n  - { fact: s0, set: { holder: globex }, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].set.holder", "unknown field 'holder'");
        Y(unknown, "a field name in another case", Org("Id: q, name: Q, kind: company"), 400, "organizations[0].Id", "unknown field 'Id'");
        J(unknown, "a field name 10,000 characters long", JsonOrg($"\"id\": \"q\", \"name\": \"Q\", \"kind\": \"company\", \"{new string('x', 10_000)}\": 1"), 400, "organizations[0]." + new string('x', 60) + "…", "unknown field '" + new string('x', 60) + "…'");

        const string dates = "invalid dates";
        void Date(string name, string date, string fragment) =>
            Y(dates, name, Deal(Stake(valid: $"{{ from: \"{date}\" }}")), 400, $"{F}.valid.from", fragment);
        Date("30 February", "2023-02-30", "2023-02 has no day 30");
        Date("29 February of a common year", "2023-02-29", "2023-02 has no day 29");
        Date("29 February 1900 (not a leap year)", "1900-02-29", "1900-02 has no day 29");
        Date("month 13", "2024-13", "month 13 does not exist");
        Date("month 00", "2024-00-10", "month 0 does not exist");
        Date("day 00", "2024-01-00", "2024-01 has no day 0");
        Date("day 32", "2024-01-32", "2024-01 has no day 32");
        Date("31 April", "2024-04-31", "2024-04 has no day 31");
        Date("year 0", "0000", "the year must be between 0001 and 9998");
        Date("year 9999", "9999-01-01", "the year must be between 0001 and 9998");
        Date("two-digit year", "24-02", "'24-02' is not a date");
        Date("unpadded month and day", "2024-2-1", "'2024-2-1' is not a date");
        Date("slashes", "2024/02/01", "'2024/02/01' is not a date");
        Date("a timestamp", "2024-02-01T00:00:00Z", "is not a date: use YYYY, YYYY-MM or YYYY-MM-DD");
        Date("full-width digits", "２０２４", "is not a date");
        Date("negative year", "-2024", "is not a date");
        Date("a quarter", "2024-Q1", "is not a date");
        Date("empty", "", "a date is required");
        Y(dates, "30 February as a publication date", Source("id: q-src, title: T, kind: third-party, published: 2023-02-30"), 400, "sources[0].published", "2023-02 has no day 30");
        Y(dates, "a deal announced in words", "deals:\n  - { id: d1, announced: early 2024, parties: [acme, globex], facts: [] }\n", 400, "deals[0].announced", "is not a date");

        const string periods = "periods and imprecise dates";
        Y(periods, "end before start", Deal(Stake(valid: "{ from: 2010-05-05, to: 2010-05-04 }")), 400, $"{F}.valid.to", "the period ends (2010-05-04) before or on the day it starts (2010-05-05)");
        Y(periods, "end on the start day", Deal(Stake(valid: "{ from: 2010-05-05, to: 2010-05-05 }")), 400, $"{F}.valid.to", "before or on the day it starts");
        Y(periods, "start month after the end day", Deal(Stake(valid: "{ from: 2024-03, to: 2024-02-15 }")), 400, $"{F}.valid.to", "the period ends (2024-02-15) before or on the day it starts (2024-03)");
        Y(periods, "ends in February, starts on its last day", Deal(Stake(valid: "{ from: 2024-02-29, to: 2024-02 }")), 400, $"{F}.valid.to", "the period ends (2024-02) before or on the day it starts (2024-02-29)");
        Y(periods, "ends on 1 January of the start year", Deal(Stake(valid: "{ from: 2024, to: 2024-01-01 }")), 400, $"{F}.valid.to", "the period ends (2024-01-01) before or on the day it starts (2024)");
        Y(periods, "start year after end month", Deal(Stake(valid: "{ from: 2025, to: 2024-12 }")), 400, $"{F}.valid.to", "before or on the day it starts");
        Y(periods, "both from and by", Deal(Stake(valid: "{ from: 2010, by: 2011 }")), 400, $"{F}.valid", "a period starts either 'from' a date or");
        Y(periods, "neither from nor by", Deal(Stake(valid: "{ to: 2011 }")), 400, $"{F}.valid", "a period starts either 'from' a date or");
        Y(periods, "a stake known only 'by' a date", Deal(Stake(valid: "{ by: 2011 }")), 400, $"{F}.valid.by", "a stake needs the date it was acquired");
        Y(periods, "an ending before the start", "endings:\n  - { fact: s0, on: 2019-01-01, sources: [ { source: press, claim: stated } ] }\n", 400, "endings[0].on", "fact 's0' cannot end (2019-01-01) before or on the day it starts (2020-03)");
        Y(periods, "an ending in the month of a start on its last day", Deal(Stake(valid: "{ from: 2024-01-31 }")) + "endings:\n  - { fact: s1, on: 2024-01, sources: [ { source: press, claim: stated } ] }\n", 400, "endings[0].on", "fact 's1' cannot end (2024-01) before or on the day it starts (2024-01-31)");
        Y(periods, "an ending on the start day", Deal(Stake(valid: "{ from: 2010-05-05 }")) + "endings:\n  - { fact: s1, on: 2010-05-05, sources: [ { source: press, claim: stated } ] }\n", 400, "endings[0].on", "cannot end (2010-05-05) before or on the day it starts (2010-05-05)");
        Y(periods, "a correction moving the start past the ending", "corrections:\n  - { fact: s-ended, set: { valid: { from: 2016 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].set", "would start (2016) after its recorded ending (2015-06-30)");
        Y(periods, "a correction ending a period before it starts", "corrections:\n  - { fact: p0, set: { valid: { from: 2021, to: 2020 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].set.valid.to", "the period ends (2020) before or on the day it starts (2021)");
        Y(periods, "a stake corrected to 'by'", "corrections:\n  - { fact: s0, set: { valid: { by: 2020 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].set.valid", "a stake needs the date it was acquired");
        Y(periods, "a second ending on another date", "endings:\n  - { fact: s-ended, on: 2016, sources: [ { source: press, claim: stated } ] }\n", 409, "endings[0].on", "the ending of fact 's-ended' is already recorded on 2015-06-30");

        const string shares = "shares";
        void Share(string name, string share, string field, string fragment) =>
            Y(shares, name, Deal(Stake(share: share)), 400, $"{F}.share{field}", fragment);
        Share("exact above 100", "{ exact: 150 }", ".exact", "a share is a percentage from 0 to 100, got 150");
        Share("exact below 0", "{ exact: -1 }", ".exact", "a share is a percentage from 0 to 100, got -1");
        Share("min below 0", "{ min: -0.5, max: 5 }", ".min", "got -0.5");
        Share("max above 100", "{ min: 5, max: 100.5 }", ".max", "got 100.5");
        Share("min greater than max", "{ min: 30, max: 20 }", "", "min (30) is greater than max (20)");
        Share("empty range", "{ min: 20, max: 20, maxInclusive: false }", "", "the range is empty");
        Share("exact and a range", "{ exact: 5, max: 20 }", "", "either { exact } or a range");
        Share("only a wording", "{ wording: a small stake }", "", "a share needs 'exact', or 'min' and/or 'max'");
        Share("too small to keep (1e-30)", "{ exact: 1e-30 }", ".exact", "'1e-30' cannot be kept exactly");
        Share("more digits than kept", "{ exact: 12.00000000000000000000000000001 }", ".exact", "cannot be kept exactly");
        Share("not a number", "{ exact: .nan }", ".exact", "expected a number, got '.nan'");
        Share("infinity", "{ exact: .inf }", ".exact", "expected a number, got '.inf'");
        Share("hexadecimal", "{ exact: 0x10 }", ".exact", "expected a number, got '0x10'");
        Share("decimal comma", "{ exact: \"5,5\" }", ".exact", "expected a number, got the text \"5,5\"");
        Share("a percent sign", "{ exact: 5% }", ".exact", "expected a number, got '5%'");
        J(shares, "1e400", JsonStake(share: "{ \"exact\": 1e400 }"), 400, $"{F}.share.exact", "'1e400' cannot be kept exactly");

        const string money = "money";
        Y(money, "unknown currency", Deal(Investment(amount: "{ value: 5, currency: EUX }")), 400, $"{F}.amount.currency", "'EUX' is not an ISO 4217 currency code");
        Y(money, "lowercase currency", Deal(Investment(amount: "{ value: 5, currency: eur }")), 400, $"{F}.amount.currency", "'eur' is not an ISO 4217");
        Y(money, "currency sign", Deal(Investment(amount: "{ value: 5, currency: € }")), 400, $"{F}.amount.currency", "'€' is not an ISO 4217");
        Y(money, "negative amount", Deal(Investment(amount: "{ value: -5, currency: EUR }")), 400, $"{F}.amount.value", "an amount cannot be negative");
        Y(money, "an amount beyond what is kept", Deal(Investment(amount: "{ value: 1e30, currency: EUR }")), 400, $"{F}.amount.value", "cannot be kept exactly");
        Y(money, "an amount without a currency", Deal(Investment(amount: "{ value: 5 }")), 400, $"{F}.amount.currency", "the field 'currency' is required");
        Y(money, "reported equivalent in an unknown currency", Deal(Investment(extra: ", reportedEquivalent: { value: 6, currency: XYZ }")), 400, $"{F}.reportedEquivalent.currency", "'XYZ' is not an ISO 4217");
        Y(money, "a correction to a negative amount", "corrections:\n  - { fact: i0, set: { amount: { value: -1, currency: EUR } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].set.amount.value", "an amount cannot be negative");

        const string ids = "organizations and ids";
        Y(ids, "an id with capitals and underscores", Org("id: Acme_Corp, name: Acme, kind: company"), 400, "organizations[0].id", "'Acme_Corp' is not an id");
        Y(ids, "an id with spaces", Org("id: acme corp, name: Acme, kind: company"), 400, "organizations[0].id", "'acme corp' is not an id");
        Y(ids, "an id of 101 characters", Org($"id: {new string('a', 101)}, name: Acme, kind: company"), 400, "organizations[0].id", "at most 100 characters");
        Y(ids, "an id ending in a hyphen", Org("id: acme-, name: Acme, kind: company"), 400, "organizations[0].id", "'acme-' is not an id");
        Y(ids, "an id with a double hyphen", Org("id: acme--corp, name: Acme, kind: company"), 400, "organizations[0].id", "is not an id");
        Y(ids, "an id with an accent", Org("id: äcme, name: Acme, kind: company"), 400, "organizations[0].id", "'äcme' is not an id");
        Y(ids, "an unknown holder", Deal(Stake(holder: "nobody")), 400, $"{F}.holder", "unknown organization 'nobody'");
        Y(ids, "an unknown subject", Deal(Stake(subject: "nobody")), 400, $"{F}.subject", "unknown organization 'nobody'");
        Y(ids, "an unknown party of a deal", "deals:\n  - { id: d1, parties: [acme, nobody], facts: [ " + Stake() + " ] }\n", 400, "deals[0].parties[1]", "unknown organization 'nobody'");
        Y(ids, "an unknown investee", Deal(Investment(investee: "nobody")), 400, $"{F}.investee", "unknown organization 'nobody'");
        Y(ids, "a stake of an organization in itself", Deal(Stake(holder: "acme")), 400, $"{F}.subject", "'acme' cannot be on both sides of one stake");
        Y(ids, "an investment in itself", Deal(Investment(investee: "acme")), 400, $"{F}.investee", "'acme' cannot be on both sides of one investment");
        Y(ids, "an acquisition of itself", Deal("{ id: a1, type: acquisition, acquirer: acme, target: acme, valid: { from: 2020 }, sources: " + Press + " }"), 400, $"{F}.target", "'acme' cannot be on both sides of one acquisition");
        Y(ids, "a board seat on its own board", Deal("{ id: b1, type: board-seat, holder: globex, subject: globex, valid: { from: 2020 }, sources: " + Press + " }"), 400, $"{F}.subject", "'globex' cannot be on both sides of one board-seat");
        Y(ids, "a partnership of one", Deal("{ id: p1, type: partnership, parties: [acme], scope: x, valid: { from: 2020 }, sources: " + Press + " }"), 400, $"{F}.parties", "'parties' needs at least 2 organizations");
        Y(ids, "a partnership of a party with itself", Deal("{ id: p1, type: partnership, parties: [acme, acme], scope: x, valid: { from: 2020 }, sources: " + Press + " }"), 400, $"{F}.parties[1]", "'acme' is listed twice");
        Y(ids, "an announcement of nobody", Deal("{ id: n1, type: announcement, parties: [], title: T, valid: { from: 2020 }, sources: " + Press + " }"), 400, $"{F}.parties", "'parties' needs at least 1 organization");
        Y(ids, "a three-letter country", Org("id: q, name: Q, kind: company, country: USA"), 400, "organizations[0].country", "'USA' is not an ISO 3166-1 alpha-2 country code");
        Y(ids, "an unknown kind", Org("id: q, name: Q, kind: corporation"), 400, "organizations[0].kind", "'corporation' is not one of: company, fund, public-body, government, person");
        Y(ids, "an identifier kind with spaces", Org("id: q, name: Q, kind: company, identifiers: { wiki data: Q1 }"), 400, "organizations[0].identifiers.wiki data", "'wiki data' is not an identifier kind");
        Y(ids, "a language in words", Source("id: q-src, title: T, kind: third-party, language: german"), 400, "sources[0].language", "'german' is not a language tag");
        Y(ids, "a javascript: URL", Source("id: q-src, title: T, kind: third-party, url: \"javascript:alert(1)\""), 400, "sources[0].url", "is not an absolute http(s) URL");
        Y(ids, "a file: URL", Source("id: q-src, title: T, kind: third-party, url: \"file:///etc/passwd\""), 400, "sources[0].url", "is not an absolute http(s) URL");
        Y(ids, "a relative URL", Source("id: q-src, title: T, kind: third-party, url: /news/1"), 400, "sources[0].url", "is not an absolute http(s) URL");
        Y(ids, "a content hash in upper case", Source($"id: q-src, title: T, kind: third-party, contentHash: \"sha256:{new string('A', 64)}\""), 400, "sources[0].contentHash", "a content hash is 'sha256:' followed by 64 lowercase hex digits");
        Y(ids, "an unknown source kind", Source("id: q-src, title: T, kind: rumour"), 400, "sources[0].kind", "'rumour' is not one of: self-declaration, third-party");

        const string claims = "sources and claims";
        Y(claims, "a fact without sources", Deal(Stake(sources: "[]")), 400, $"{F}.sources", "at least one source is required");
        Y(claims, "a fact with no sources field", Deal("{ id: s1, type: stake, holder: initech, subject: acme, share: { exact: 5 }, valid: { from: 2010 } }"), 400, $"{F}.sources", "at least one source is required");
        Y(claims, "an unknown source", Deal(Stake(sources: "[ { source: press, claim: stated }, { source: nowhere, claim: stated } ]")), 400, $"{F}.sources[1].source", "unknown source 'nowhere'");
        Y(claims, "an unknown claim kind", Deal(Stake(sources: "[ { source: press, claim: rumoured } ]")), 400, $"{F}.sources[0].claim", "'rumoured' is not one of: stated, attributed, claimed, denied");
        Y(claims, "attributed to nobody", Deal(Stake(sources: "[ { source: press, claim: attributed } ]")), 400, $"{F}.sources[0].attributedTo", "names who reported it");
        Y(claims, "attributedTo on a stated claim", Deal(Stake(sources: "[ { source: press, claim: stated, attributedTo: ft } ]")), 400, $"{F}.sources[0].attributedTo", "attributedTo goes only with claim: attributed");
        Y(claims, "the same source twice", Deal(Stake(sources: "[ { source: press, claim: stated }, { source: press, claim: claimed } ]")), 400, $"{F}.sources[1]", "the source 'press' is listed twice");
        Y(claims, "a fact only denied", Deal(Stake(sources: "[ { source: press, claim: denied } ]")), 400, $"{F}.sources", "no source asserts this fact");
        Y(claims, "a claim on an unknown fact", "claims:\n  - { fact: nope, source: press, claim: stated }\n", 400, "claims[0].fact", "unknown fact 'nope'");
        Y(claims, "a claim from an unknown source", "claims:\n  - { fact: s0, source: nowhere, claim: stated }\n", 400, "claims[0].source", "unknown source 'nowhere'");
        Y(claims, "a claim contradicting the same source", "claims:\n  - { fact: s-other, source: press, claim: stated }\n", 400, "claims[0]", "contradicts stake 's0'");
        Y(claims, "a source changing its claim", "claims:\n  - { fact: s0, source: press, claim: claimed }\n", 409, "claims[0].source", "source 'press' already speaks of fact 's0' with another claim");

        const string batch = "duplicates and contradictions";
        Y(batch, "one fact id twice in one import", Deal(Stake(), Stake(holder: "globex", subject: "acme")), 400, "deals[0].facts[1].id", "the fact id 's1' is used twice in this import");
        Y(batch, "one organization twice with other names", "organizations:\n  - { id: q, name: Q, kind: company }\n  - { id: q, name: Q2, kind: company }\n", 400, "organizations[1]", "organization 'q' appears twice in this import with different details");
        Y(batch, "one source twice with other titles", "sources:\n  - { id: q-src, title: T, kind: third-party }\n  - { id: q-src, title: U, kind: third-party }\n", 400, "sources[1]", "source 'q-src' appears twice in this import");
        Y(batch, "one deal twice with other parties", "deals:\n  - { id: d1, parties: [acme, globex], facts: [ " + Stake() + " ] }\n  - { id: d1, parties: [acme, initech], facts: [ " + Stake(id: "s2", holder: "globex") + " ] }\n", 400, "deals[1]", "deal 'd1' appears twice in this import");
        Y(batch, "one correction id twice with other content", "corrections:\n  - { id: c9, fact: s0, set: { share: { exact: 12 } }, reason: a, sources: [ { source: filing, claim: stated } ] }\n  - { id: c9, fact: s0, set: { share: { exact: 13 } }, reason: b, sources: [ { source: filing, claim: stated } ] }\n", 400, "corrections[1].id", "'c9' appears twice in this import");
        Y(batch, "contradictory stakes within one batch", Deal(Stake(share: "{ exact: 30 }"), Stake(id: "s2", share: "{ exact: 40 }", valid: "{ from: 2010-05 }")), 400, "deals[0].facts[1]", "stake 's2' (40 %) contradicts stake 's1' (30 %) from the same source 'press'");
        Y(batch, "a stake contradicting a stored one from the same source", Deal(Stake(holder: "acme", subject: "globex", share: "{ exact: 30 }", valid: "{ from: 2020-03-15 }")), 400, F, "contradicts stake 's0'");
        Y(batch, "a correction contradicting the same source", "corrections:\n  - { fact: s-other, set: { share: { exact: 40 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0]", "contradicts stake 's0'");
        Y(batch, "a known fact with other values", "deals:\n  - id: d0\n    parties: [acme, globex]\n    facts:\n      - { id: s0, type: stake, holder: acme, subject: globex, share: { exact: 12 }, valid: { from: 2020-03 }, sources: [ { source: press, claim: stated } ] }\n", 409, "deals[0].facts[0]", "fact 's0' is already recorded with different values; record a correction instead");
        Y(batch, "an organization registered again differently", Org("id: acme, name: Acme Corp, kind: company"), 409, "organizations[0]", "organization 'acme' is already registered with different details");
        Y(batch, "a source registered again differently", Source("id: press, title: Another title, kind: third-party"), 409, "sources[0]", "source 'press' is already registered with different details");
        Y(batch, "a deal recorded again differently", "deals:\n  - { id: d0, parties: [acme, initech], facts: [ " + Stake(id: "s9") + " ] }\n", 409, "deals[0]", "deal 'd0' is already recorded with different details");
        Y(batch, "an amendment id reused for other content", "corrections:\n  - { id: c1, fact: s0, set: { share: { exact: 12 } }, reason: other, sources: [ { source: filing, claim: stated } ] }\n", 409, "corrections[0].id", "'c1' is already recorded on fact 's0' with different content");

        const string amend = "corrections and retractions";
        Y(amend, "a correction of an unknown fact", "corrections:\n  - { fact: nope, set: { share: { exact: 5 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].fact", "unknown fact 'nope'");
        Y(amend, "a share set on a partnership", "corrections:\n  - { fact: p0, set: { share: { exact: 5 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].set.share", "'share' cannot be set on a partnership fact");
        Y(amend, "a correction without a source", "corrections:\n  - { fact: s0, set: { share: { exact: 5 } }, reason: r, sources: [] }\n", 400, "corrections[0].sources", "at least one source is required");
        Y(amend, "a correction without a reason", "corrections:\n  - { fact: s0, set: { share: { exact: 5 } }, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].reason", "the field 'reason' is required");
        Y(amend, "a correction that sets nothing", "corrections:\n  - { fact: s0, set: {}, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].set", "a correction sets at least one field");
        Y(amend, "a correction without 'set'", "corrections:\n  - { fact: s0, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].set", "the field 'set' is required");
        Y(amend, "a correction of a retracted fact", "corrections:\n  - { fact: s-gone, set: { share: { exact: 5 } }, reason: r, sources: [ { source: wire, claim: stated } ] }\n", 400, "corrections[0].fact", "fact 's-gone' was retracted");
        Y(amend, "a retraction of an unknown fact", "retractions:\n  - { fact: nope, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "retractions[0].fact", "unknown fact 'nope'");
        Y(amend, "a retraction citing an unknown source", "retractions:\n  - { fact: s0, reason: r, sources: [ { source: nowhere, claim: denied } ] }\n", 400, "retractions[0].sources[0].source", "unknown source 'nowhere'");
        Y(amend, "an ending of an unknown fact", "endings:\n  - { fact: nope, on: 2024, sources: [ { source: press, claim: stated } ] }\n", 400, "endings[0].fact", "unknown fact 'nope'");

        const string text = "text";
        void Name(string name, string yamlName, string fragment) =>
            Y(text, name, Org($"id: q, name: {yamlName}, kind: company"), 400, "organizations[0].name", fragment);
        Name("a BEL control character", "\"Q\\a\"", "control character U+0007");
        Name("a terminal escape sequence", "\"\\e[31mQ\\e[0m\"", "control character U+001B");
        Name("a carriage return", "\"Q\\rR\"", "control character U+000D");
        Name("DEL", "\"Q\\x7f\"", "control character U+007F");
        Name("a C1 control (NEL)", "\"Q\\x85\"", "control character U+0085");
        Name("a NUL escape", "\"Q\\0\"", "control character U+0000");
        Name("only spaces", "\"   \"", "text must not be empty");
        Name("empty", "\"\"", "text must not be empty");
        Name("2,001 characters", new string('a', 2001), "text is 2001 characters long; at most 2000 are allowed");
        Name("2,001 emoji", "\"" + string.Concat(Enumerable.Repeat("😀", 2001)) + "\"", "text is 2001 characters long");
        Y(text, "a source title of 100,000 characters", Source($"id: q-src, title: {new string('t', 100_000)}, kind: third-party"), 400, "sources[0].title", "text is 100000 characters long");
        Y(text, "an alias with a control character", Org("id: q, name: Q, kind: company, aliases: [\"ok\", \"b\\x08ad\"]"), 400, "organizations[0].aliases[1]", "control character U+0008");

        const string injection = "injection strings";
        Y(injection, "SQL in an id", Org("id: \"x'; drop table dealledger.mt_events; --\", name: Q, kind: company"), 400, "organizations[0].id", "is not an id");
        Y(injection, "HTML in an id", Org("id: \"<script>alert(1)</script>\", name: Q, kind: company"), 400, "organizations[0].id", "is not an id");
        Y(injection, "a path in an id", Org("id: ../../etc/passwd, name: Q, kind: company"), 400, "organizations[0].id", "'../../etc/passwd' is not an id");
        Y(injection, "JSON in an id", Org("id: '\",\"kind\":\"fund', name: Q, kind: company"), 400, "organizations[0].id", "is not an id");
        Y(injection, "SQL as a holder", Deal(Stake(holder: "\"acme' or '1'='1\"")), 400, $"{F}.holder", "is not an id");
        Y(injection, "SQL as a fact to correct", "corrections:\n  - { fact: \"s0; delete from dealledger.fact_versions\", set: { share: { exact: 5 } }, reason: r, sources: [ { source: press, claim: stated } ] }\n", 400, "corrections[0].fact", "is not an id");
        Y(injection, "an event type smuggled as a field", Org("id: q, name: Q, kind: company, $type: \"Marten.Events.IEvent\""), 400, "organizations[0].$type", "unknown field '$type'");

        const string merges = "merges";
        Y(merges, "a merge of an organization with itself", "merges:\n  - { duplicate: acme, into: acme, reason: r }\n", 400, "merges[0].into", "'acme' cannot be merged with itself");
        Y(merges, "a merge of an unknown organization", "merges:\n  - { duplicate: nobody, into: acme, reason: r }\n", 400, "merges[0].duplicate", "unknown organization 'nobody'");
        Y(merges, "a merge without a reason", "merges:\n  - { duplicate: initech, into: acme }\n", 400, "merges[0].reason", "reason");
        Y(merges, "a merge into a merged record", "merges:\n  - { duplicate: initech, into: globex-old, reason: r }\n", 400, "merges[0].into", "'globex-old' is itself merged into 'globex': merge into 'globex'");
        Y(merges, "a merge of a survivor into its own merged record", "merges:\n  - { duplicate: globex, into: globex-old, reason: r }\n", 400, "merges[0].into", "'globex-old' is merged into 'globex' already: they are one organization");
        Y(merges, "a merged record merged elsewhere", "merges:\n  - { duplicate: globex-old, into: acme, reason: r }\n", 400, "merges[0].duplicate", "'globex-old' is merged into 'globex' already: undo that merge first");
        Y(merges, "an undo of a record not merged", "unmerges:\n  - { duplicate: acme, reason: r }\n", 400, "unmerges[0].duplicate", "'acme' is not merged into another organization");
        Y(merges, "an undo naming another organization", "unmerges:\n  - { duplicate: globex-old, into: acme, reason: r }\n", 400, "unmerges[0].into", "'globex-old' is merged into 'globex', not 'acme'");
        Y(merges, "a new fact of a merged record", Deal(Stake(subject: "globex-old")), 400, $"{F}.subject", "'globex-old' is merged into 'globex' (the same organization): record the fact of 'globex'");
        return list;
    }
    public static IReadOnlyList<BadRequest> Requests { get; } = BuildRequests();

    private static List<BadRequest> BuildRequests()
    {
        var list = new List<BadRequest>();
        void Post(string category, string name, string path, string? body, int status, string? field, string fragment,
            string? contentType = "application/json", Role role = Role.Writer, Dictionary<string, string>? headers = null) =>
            list.Add(new(category, name, "POST", path, role, contentType, body is null ? null : Encoding.UTF8.GetBytes(body), status, field, fragment)
            {
                Headers = headers ?? [],
            });
        void Get(string category, string name, string path, int status, string? field, string fragment, Dictionary<string, string>? headers = null) =>
            list.Add(new(category, name, "GET", path, Role.Reader, null, null, status, field, fragment) { Headers = headers ?? [] });

        const string size = "size limits";
        var entry = "{ \"id\": \"big\", \"name\": \"" + new string('n', 300 * 1024) + "\", \"kind\": \"company\" }";
        Post(size, "an entry over 256 KiB", "/api/organizations", entry, 413, null, "larger than the 256 KiB that POST /api/organizations accepts");
        Post(size, "a correction over 256 KiB", "/api/facts/s0/corrections", "{ \"reason\": \"" + new string('r', 300 * 1024) + "\" }", 413, null, "larger than the 256 KiB");
        Post(size, "a key request over 256 KiB", "/api/keys", "{ \"name\": \"" + new string('k', 300 * 1024) + "\" }", 413, null, "larger than the 256 KiB", role: Role.Admin);
        var document = "organizations:\n" + string.Concat(Enumerable.Range(0, 100_000).Select(i => $"  - {{ id: big-{i}, name: Big, kind: company }}\n"));
        Post(size, "a document over 4 MiB", "/api/import", document, 413, null, "larger than the 4096 KiB that POST /api/import accepts", "application/yaml");
        list.Add(new(size, "a document over 4 MiB, chunked", "POST", "/api/import", Role.Writer, "application/yaml", Encoding.UTF8.GetBytes(document), 413, null, "larger than")
        {
            Chunked = true,
        });

        const string bodies = "malformed bodies";
        Post(bodies, "no body", "/api/organizations", "", 400, null, "the request has no body");
        Post(bodies, "only spaces", "/api/organizations", "   ", 400, null, "not valid JSON");
        Post(bodies, "a list", "/api/organizations", "[]", 400, "$", "expected an object");
        Post(bodies, "null", "/api/organizations", "null", 400, "$", "expected an object");
        Post(bodies, "a number", "/api/sources", "5", 400, "$", "expected an object");
        Post(bodies, "YAML sent as JSON", "/api/organizations", "id: q\nname: Q\nkind: company\n", 400, null, "not valid JSON");
        Post(bodies, "truncated JSON", "/api/deals", "{ \"id\": ", 400, null, "not valid JSON");
        Post(bodies, "JSON nested 65 levels", "/api/deals", new string('[', 65) + new string(']', 65), 400, null, "maximum configured depth of 64");
        Post(bodies, "a lone surrogate escape", "/api/organizations", "{ \"id\": \"q\", \"name\": \"\\udc00\", \"kind\": \"company\" }", 400, "name", "not valid Unicode");
        list.Add(new(bodies, "invalid UTF-8 bytes", "POST", "/api/organizations", Role.Writer, "application/json",
            [.. "{ \"id\": \"q\", \"name\": \""u8, 0xff, .. "\", \"kind\": \"company\" }"u8], 400, null, "not valid UTF-8"));
        Post(bodies, "XML", "/api/organizations", "<organization id='q'/>", 415, null, "does not take a body of type 'application/xml'", "application/xml");
        Post(bodies, "YAML to an entry route", "/api/organizations", "id: q\n", 415, null, "send application/json", "application/yaml");
        Post(bodies, "plain text to the import", "/api/import", "organizations: []", 415, null, "send application/json or application/yaml", "text/plain");
        Post(bodies, "a form", "/api/keys", "name=x&role=reader", 415, null, "application/x-www-form-urlencoded", "application/x-www-form-urlencoded", Role.Admin);

        const string entries = "write entries";
        Post(entries, "an unknown field", "/api/organizations", "{ \"id\": \"q\", \"name\": \"Q\", \"kind\": \"company\", \"colour\": \"red\" }", 400, "colour", "unknown field 'colour'");
        Post(entries, "an id as a number", "/api/organizations", "{ \"id\": 7, \"name\": \"Q\", \"kind\": \"company\" }", 400, "id", "expected text, got '7'");
        Post(entries, "a share over 100", "/api/deals", """
            { "id": "d9", "parties": ["acme", "globex"], "facts": [ { "id": "s9", "type": "stake", "holder": "initech", "subject": "acme",
              "share": { "min": 10, "max": 120 }, "valid": { "from": "2024-03" }, "sources": [ { "source": "press", "claim": "stated" } ] } ] }
            """, 400, "facts[0].share.max", "a share is a percentage from 0 to 100, got 120");
        Post(entries, "an unknown holder", "/api/deals", """
            { "id": "d9", "parties": ["acme", "globex"], "facts": [ { "id": "s9", "type": "stake", "holder": "nobody", "subject": "acme",
              "share": { "exact": 5 }, "valid": { "from": "2024-03" }, "sources": [ { "source": "press", "claim": "stated" } ] } ] }
            """, 400, "facts[0].holder", "unknown organization 'nobody'");
        Post(entries, "a deal id recorded with other content", "/api/deals", """
            { "id": "d0", "parties": ["acme", "initech"], "facts": [ { "id": "s9", "type": "stake", "holder": "initech", "subject": "acme",
              "share": { "exact": 5 }, "valid": { "from": "2024-03" }, "sources": [ { "source": "press", "claim": "stated" } ] } ] }
            """, 409, "$", "deal 'd0' is already recorded with different details");
        Post(entries, "an organization registered again differently", "/api/organizations", "{ \"id\": \"acme\", \"name\": \"ACME\", \"kind\": \"company\" }", 409, "$", "already registered with different details");
        Post(entries, "a source with a javascript: URL", "/api/sources", "{ \"id\": \"q-src\", \"title\": \"T\", \"kind\": \"third-party\", \"url\": \"javascript:alert(1)\" }", 400, "url", "is not an absolute http(s) URL");
        Post(entries, "a claim with an unknown source", "/api/facts/s0/sources", "{ \"source\": \"nowhere\", \"claim\": \"stated\" }", 400, "source", "unknown source 'nowhere'");
        Post(entries, "a source changing its claim", "/api/facts/s0/sources", "{ \"source\": \"press\", \"claim\": \"denied\" }", 409, "source", "already speaks of fact 's0' with another claim");
        Post(entries, "a correction setting an unknown field", "/api/facts/s0/corrections", "{ \"set\": { \"holder\": \"globex\" }, \"reason\": \"r\", \"sources\": [ { \"source\": \"press\", \"claim\": \"stated\" } ] }", 400, "set.holder", "unknown field 'holder'");
        Post(entries, "a retraction without sources", "/api/facts/s0/retractions", "{ \"reason\": \"r\" }", 400, "sources", "at least one source is required");
        Post(entries, "an ending before the start", "/api/facts/s0/endings", "{ \"on\": \"2019-12-31\", \"sources\": [ { \"source\": \"press\", \"claim\": \"stated\" } ] }", 400, "on", "cannot end (2019-12-31) before or on the day it starts (2020-03)");
        Post(entries, "an ending on 30 February", "/api/facts/s0/endings", "{ \"on\": \"2024-02-30\", \"sources\": [ { \"source\": \"press\", \"claim\": \"stated\" } ] }", 400, "on", "2024-02 has no day 30");
        Post(entries, "a fact in the body other than the address", "/api/facts/s0/retractions", "{ \"fact\": \"p0\", \"reason\": \"r\", \"sources\": [ { \"source\": \"press\", \"claim\": \"denied\" } ] }", 400, "$", "'fact' is 'p0' here but 's0' in the address");
        var ok = "{ \"source\": \"wire\", \"claim\": \"stated\" }";
        const string cited = "\"sources\": [ { \"source\": \"wire\", \"claim\": \"stated\" } ]";
        foreach (var (amendment, body) in new[]
        {
            ("sources", ok),
            ("corrections", $"{{ \"set\": {{ \"share\": {{ \"exact\": 5 }} }}, \"reason\": \"r\", {cited} }}"),
            ("retractions", $"{{ \"reason\": \"r\", {cited} }}"),
            ("endings", $"{{ \"on\": \"2024\", {cited} }}"),
        })
        {
            Post(entries, $"an unknown fact in the address ({amendment})", $"/api/facts/no-such-fact/{amendment}", body, 404, "fact", "unknown fact 'no-such-fact'");
        }
        Post(entries, "a fact address that is not an id", "/api/facts/Bad%20Id/sources", ok, 400, "fact", "'Bad Id' is not an id");
        Post(entries, "a malformed If-Match", "/api/facts/s0/sources", ok, 400, "If-Match", "If-Match 'version 3' is not an ETag", headers: new() { ["If-Match"] = "version 3" });
        Post(entries, "a weak If-Match", "/api/facts/s0/sources", ok, 400, "If-Match", "is not an ETag", headers: new() { ["If-Match"] = "W/\"3\"" });
        Post(entries, "a stale If-Match", "/api/facts/s0/sources", ok, 412, null, "fact 's0' is at version 2, not 1: another writer changed it", headers: new() { ["If-Match"] = "\"1\"" });

        const string keys = "keys";
        void Key(string name, string body, int status, string? field, string fragment) => Post(keys, name, "/api/keys", body, status, field, fragment, role: Role.Admin);
        Key("malformed JSON", "{ \"name\": ", 400, null, "not valid JSON");
        Key("an unknown field", "{ \"name\": \"k1\", \"role\": \"reader\", \"expires\": \"never\" }", 400, "expires", "unknown field 'expires' (allowed here: name, role)");
        Key("no name", "{ \"role\": \"reader\" }", 400, "name", "the field 'name' is required");
        Key("a name as a number", "{ \"name\": 5, \"role\": \"reader\" }", 400, "name", "expected text, got '5'");
        Key("a name with spaces", "{ \"name\": \"my key\", \"role\": \"reader\" }", 400, "name", "key name 'my key' must be 1–64 characters");
        Key("a name of 65 characters", $"{{ \"name\": \"{new string('k', 65)}\", \"role\": \"reader\" }}", 400, "name", "must be 1–64 characters");
        Key("an unknown role", "{ \"name\": \"k1\", \"role\": \"root\" }", 400, "role", "role 'root' is not one of: reader, writer, admin");
        Key("a role in capitals", "{ \"name\": \"k1\", \"role\": \"Admin\" }", 400, "role", "role 'Admin' is not one of");
        Key("a name already taken", "{ \"name\": \"test-writer\", \"role\": \"reader\" }", 409, "name", "a key named 'test-writer' already exists");
        list.Add(new(keys, "revoking an unknown key", "DELETE", "/api/keys/no-such-key", Role.Admin, null, null, 404, "name", "unknown key 'no-such-key'"));

        const string query = "query arguments";
        Get(query, "at 30 February", "/api/holdings/acme/globex?at=2023-02-30", 400, "at", "at '2023-02-30' is not a date: use YYYY-MM-DD");
        Get(query, "at month 13", "/api/holdings/acme/globex?at=2024-13-01", 400, "at", "is not a date");
        Get(query, "at year 0", "/api/holdings/acme/globex?at=0000-01-01", 400, "at", "is not a date");
        Get(query, "at a month", "/api/holdings/acme/globex?at=2024-02", 400, "at", "at '2024-02' is not a date");
        Get(query, "at in words", "/api/holdings/acme/globex?at=yesterday", 400, "at", "at 'yesterday' is not a date");
        Get(query, "at an instant", "/api/holdings/acme/globex?at=2024-06-01T00:00:00Z", 400, "at", "is not a date");
        Get(query, "at with a control character", "/api/holdings/acme/globex?at=2024-06-01%1B", 400, "at", "at '2024-06-01\\u001b' is not a date");
        // Queries take the years documents can name (0001–9998), in every query that takes a day.
        const string LastYear = "the year must be between 0001 and 9998";
        Get(query, "at the last day of year 9999", "/api/holdings/acme/globex?at=9999-12-31", 400, "at", "at '9999-12-31' is not a date: " + LastYear);
        Get(query, "at the first day after the documents' years", "/api/holdings/acme/globex?at=9999-01-01", 400, "at", LastYear);
        Get(query, "relationships at year 9999", "/api/organizations/acme/relationships?at=9999-12-31", 400, "at", LastYear);
        Get(query, "owners at year 9999", "/api/organizations/globex/owners?at=9999-12-31", 400, "at", LastYear);
        Get(query, "graph at year 9999", "/api/graph?at=9999-12-31", 400, "at", LastYear);
        Get(query, "knownAt in words", "/api/holdings/acme/globex?knownAt=tomorrow", 400, "knownAt", "knownAt 'tomorrow' is not an instant");
        Get(query, "knownAt month 13", "/api/holdings/acme/globex?knownAt=2026-13-01T00:00:00Z", 400, "knownAt", "is not an instant");
        Get(query, "knownAt with SQL", "/api/holdings/acme/globex?knownAt=2026-01-01%27%3B%20drop%20table%20x%3B--", 400, "knownAt", "is not an instant");
        Get(query, "a holder in capitals", "/api/holdings/Acme/globex", 400, "holder", "holder 'Acme' is not an id");
        Get(query, "a holder with SQL", "/api/holdings/acme%27%20or%20%271%27%3D%271/globex", 400, "holder", "holder 'acme' or '1'='1' is not an id");
        Get(query, "a subject with HTML", "/api/holdings/acme/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400, "subject", "is not an id");
        Get(query, "a holder 5,000 characters long", "/api/holdings/" + new string('a', 5000) + "/globex", 400, "holder", "holder '" + new string('a', 60) + "…' is not an id");
        Get(query, "holder and subject the same", "/api/holdings/acme/acme", 400, "subject", "an organization holds no stake in itself");
        Get(query, "an unknown holder", "/api/holdings/nobody/globex", 404, "holder", "unknown organization 'nobody'");
        Get(query, "an unknown subject (history)", "/api/holdings/acme/nobody/history", 404, "subject", "unknown organization 'nobody'");
        Get(query, "history knownAt in words", "/api/holdings/acme/globex/history?knownAt=soon", 400, "knownAt", "is not an instant");
        Get(query, "relationships of an unknown organization", "/api/organizations/nobody/relationships", 404, "organization", "unknown organization 'nobody'");
        Get(query, "relationships of a path", "/api/organizations/..%2F..%2Fetc%2Fpasswd/relationships", 400, "organization", "is not an id");
        Get(query, "relationships at 30 February", "/api/organizations/acme/relationships?at=2024-02-30", 400, "at", "is not a date");
        Get(query, "relationships of a fact that is not an id", "/api/organizations/acme/relationships?fact=P0", 400, "fact", "fact 'P0' is not an id");
        Get(query, "owners of an unknown organization", "/api/organizations/nobody/owners", 404, "organization", "unknown organization 'nobody'");
        Get(query, "owners knownAt in words", "/api/organizations/acme/owners?knownAt=later", 400, "knownAt", "is not an instant");
        Get(query, "graph at 29 February 2023", "/api/graph?at=2023-02-29", 400, "at", "is not a date");
        Get(query, "graph knownAt in words", "/api/graph?knownAt=now", 400, "knownAt", "is not an instant");
        Get(query, "a fact that is not an id", "/api/facts/S0", 400, "fact", "fact 'S0' is not an id");
        Get(query, "an unknown fact", "/api/facts/no-such-fact", 404, "fact", "unknown fact 'no-such-fact'");
        Get(query, "events after -1", "/api/events?after=-1", 400, "after", "after '-1' is not a whole number of 0 or more");
        Get(query, "events after in words", "/api/events?after=ten", 400, "after", "is not a whole number");
        Get(query, "events after 1e3", "/api/events?after=1e3", 400, "after", "is not a whole number");
        Get(query, "events after beyond 64 bits", "/api/events?after=99999999999999999999", 400, "after", "is not a whole number");
        Get(query, "events limit 0", "/api/events?limit=0", 400, "limit", "limit must be between 1 and 10000, got 0");
        Get(query, "events limit 10,001", "/api/events?limit=10001", 400, "limit", "got 10001");
        Get(query, "events limit beyond 32 bits", "/api/events?limit=99999999999", 400, "limit", "limit must be between 1 and 10000, got 99999999999");
        Get(query, "events of an unknown type", "/api/events?type=fact_deleted", 400, "type", "unknown event type 'fact_deleted'");
        Get(query, "events of a type with SQL", "/api/events?type=x%27%20or%20%271%27%3D%271", 400, "type", "unknown event type");
        Get(query, "events of a stream with a NUL", "/api/events?stream=fact%3As0%00", 400, "stream", "is not a value to filter by");
        Get(query, "events of a writer with a control character", "/api/events?writer=key%3Aa%01", 400, "writer", "is not a value to filter by");
        Get(query, "events from in words", "/api/events?from=yesterday", 400, "from", "from 'yesterday' is not an instant");
        Get(query, "events to 30 February", "/api/events?to=2024-02-30T00:00:00Z", 400, "to", "is not an instant");
        Get(query, "feed after -1", "/api/feed?after=-1", 400, "after", "is not a whole number");
        Get(query, "feed limit 1,001", "/api/feed?limit=1001", 400, "limit", "limit must be between 1 and 1000, got 1001");
        Get(query, "feed of an organization that is not an id", "/api/feed?org=ACME", 400, "org", "org 'ACME' is not an id");
        Get(query, "feed of a pair without a subject", "/api/feed?pair=acme", 400, "pair", "pair 'acme' is not a pair: use HOLDER:SUBJECT");
        Get(query, "feed of a pair of three", "/api/feed?pair=acme:globex:initech", 400, "pair", "is not a pair");
        Get(query, "feed of an unknown kind", "/api/feed?kind=merger", 400, "kind", "kind 'merger' is not a kind of fact (known: stake, investment");
        Get(query, "feed stream of a kind in capitals", "/api/feed/stream?kind=Stake", 400, "kind", "kind 'Stake' is not a kind of fact");
        Get(query, "feed stream Last-Event-ID in words", "/api/feed/stream", 400, "Last-Event-ID", "Last-Event-ID 'abc' is not a whole number", new() { ["Last-Event-ID"] = "abc" });

        const string changes = "what changed";
        const string from = "knownFrom=2020-01-01T00:00:00Z";
        Get(changes, "changes without a moment", "/api/changes", 400, "knownFrom", "changes compares two moments: give knownFrom");
        Get(changes, "changes knownFrom in words", "/api/changes?knownFrom=yesterday", 400, "knownFrom", "knownFrom 'yesterday' is not an instant");
        Get(changes, "changes knownTo on 30 February", $"/api/changes?{from}&knownTo=2024-02-30T00:00:00Z", 400, "knownTo", "knownTo '2024-02-30T00:00:00Z' is not an instant");
        Get(changes, "changes knownFrom after knownTo", "/api/changes?knownFrom=2025-01-01T00:00:00Z&knownTo=2024-01-01T00:00:00Z", 400, "knownFrom",
            "knownFrom 2025-01-01T00:00:00Z is after knownTo 2024-01-01T00:00:00Z");
        Get(changes, "changes knownFrom in the future", "/api/changes?knownFrom=2999-01-01T00:00:00Z", 400, "knownFrom", "knownFrom 2999-01-01T00:00:00Z is in the future");
        Get(changes, "changes at 30 February", $"/api/changes?{from}&at=2024-02-30", 400, "at", "at '2024-02-30' is not a date");
        Get(changes, "changes with knownAt for a knowledge diff", $"/api/changes?{from}&knownAt=2024-01-01T00:00:00Z", 400, "knownAt", "give knownTo, not knownAt");
        Get(changes, "changes of both kinds at once", $"/api/changes?{from}&at=2024-01-01&toAt=2025-01-01", 400, "toAt", "toAt compares two dates, knownFrom two instants");
        Get(changes, "changes toAt without at", "/api/changes?toAt=2025-01-01", 400, "at", "give both dates");
        Get(changes, "changes at without toAt", "/api/changes?at=2024-01-01", 400, "toAt", "at alone is one date: give toAt too");
        Get(changes, "changes toAt before at", "/api/changes?at=2025-01-01&toAt=2024-01-01", 400, "toAt", "toAt 2024-01-01 is before at 2025-01-01");
        Get(changes, "changes with knownTo for a world diff", "/api/changes?at=2024-01-01&toAt=2025-01-01&knownTo=2026-01-01T00:00:00Z", 400, "knownTo", "give knownAt, not knownTo");
        Get(changes, "changes toAt in year 9999", "/api/changes?at=2024-01-01&toAt=9999-12-31", 400, "toAt", LastYear);
        Get(changes, "changes of an unknown organization", $"/api/changes?{from}&org=nobody", 404, "org", "unknown organization 'nobody'");
        Get(changes, "changes of an organization that is not an id", "/api/changes?at=2024-01-01&toAt=2025-01-01&org=Acme", 400, "org", "org 'Acme' is not an id");
        Get(changes, "changes after a cursor of three parts", $"/api/changes?{from}&after=a:b:c", 400, "after", "after 'a:b:c' is not where a page ended");
        Get(changes, "changes after a pair in capitals", $"/api/changes?{from}&after=Acme:globex", 400, "after", "after 'Acme' is not an id");
        Get(changes, "changes limit 1,001", $"/api/changes?{from}&limit=1001", 400, "limit", "limit must be between 1 and 1000, got 1001");

        Get(query, "knownAt misspelled", "/api/holdings/acme/globex?knwonAt=2020-01-01T00:00:00Z", 400, "knwonAt", "unknown query parameter 'knwonAt' (this route takes: at, knownAt)");
        Get(query, "a parameter the graph does not take", "/api/graph?holder=acme", 400, "holder", "unknown query parameter 'holder'");
        Post(query, "a query parameter on a write", "/api/organizations?dryRun=true", "{ \"id\": \"q\", \"name\": \"Q\", \"kind\": \"company\" }", 400, "dryRun", "unknown query parameter 'dryRun' (this route takes none)");

        const string hooks = "webhook subscriptions";
        void Subscribe(string name, string body, int status, string? field, string fragment) => Post(hooks, name, "/api/subscriptions", body, status, field, fragment, role: Role.Admin);
        const string secret = "\"secret\": \"0123456789abcdef-secret\"";
        Subscribe("a private address", $$"""{ "url": "http://10.0.0.5/hooks", {{secret}} }""", 400, "url", "resolves to 10.0.0.5, a private address: not a webhook target");
        Subscribe("the metadata service", $$"""{ "url": "http://169.254.169.254/latest/meta-data/", {{secret}} }""", 400, "url", "a link-local address (the metadata service's range)");
        Subscribe("loopback, not allowed here", $$"""{ "url": "http://127.0.0.1:9/hooks", {{secret}} }""", 400, "url", "a loopback address: not a webhook target (DealLedger:Webhooks:AllowLoopback can allow it)");
        Subscribe("a private address written as IPv6", $$"""{ "url": "http://[::ffff:192.168.0.1]/hooks", {{secret}} }""", 400, "url", "a private address");
        Subscribe("a unique-local IPv6 address", $$"""{ "url": "http://[fd00:ec2::254]/", {{secret}} }""", 400, "url", "a private (unique local) address");
        Subscribe("ftp", $$"""{ "url": "ftp://203.0.113.5/hooks", {{secret}} }""", 400, "url", "is not an absolute http or https URL");
        Subscribe("a relative url", $$"""{ "url": "/hooks", {{secret}} }""", 400, "url", "is not an absolute http or https URL");
        Subscribe("credentials in the url", $$"""{ "url": "https://user:pass@203.0.113.5/hooks", {{secret}} }""", 400, "url", "holds credentials");
        Subscribe("a short secret", """{ "url": "https://203.0.113.5/hooks", "secret": "short" }""", 400, "secret", "secret must be 16–200 characters");
        Subscribe("no secret", """{ "url": "https://203.0.113.5/hooks" }""", 400, "secret", "secret");
        Subscribe("a filter of an unknown kind", $$"""{ "url": "https://203.0.113.5/hooks", {{secret}}, "kind": "merger" }""", 400, "kind", "kind 'merger' is not a kind of fact");
        Subscribe("a pair filter without a subject", $$"""{ "url": "https://203.0.113.5/hooks", {{secret}}, "pair": "acme" }""", 400, "pair", "is not a pair");
        Subscribe("an unknown field", $$"""{ "url": "https://203.0.113.5/hooks", {{secret}}, "events": "all" }""", 400, "events", "events");
        list.Add(new(hooks, "deliveries of a status that is not one", "GET", "/api/subscriptions/sub-0000/deliveries?status=lost", Role.Admin, null, null, 400, "status",
            "status 'lost' is not one of delivered, retrying, failed"));
        list.Add(new(hooks, "an unknown subscription", "GET", "/api/subscriptions/sub-0000", Role.Admin, null, null, 404, "subscription", "unknown subscription 'sub-0000'"));
        Post(hooks, "a replay of a delivery id that is not one", "/api/subscriptions/sub-0000/deliveries/first/replay", null, 400, "delivery", "delivery 'first' is not a delivery id", role: Role.Admin);

        const string routes = "routes and methods";
        list.Add(new(routes, "PUT to a collection", "PUT", "/api/organizations", Role.Writer, "application/json", "{}"u8.ToArray(), 405, null, "/api/organizations does not take PUT"));
        list.Add(new(routes, "DELETE of a holding", "DELETE", "/api/holdings/acme/globex", Role.Admin, null, null, 405, null, "does not take DELETE"));
        Get(routes, "an unknown route", "/api/nothing-here", 404, null, "There is no GET /api/nothing-here");

        const string merging = "merges";
        Post(merging, "a merge with itself", "/api/organizations/acme/merge", "{ \"into\": \"acme\", \"reason\": \"r\" }", 400, "into", "'acme' cannot be merged with itself");
        Post(merging, "a merge of an unknown organization", "/api/organizations/nobody/merge", "{ \"into\": \"acme\", \"reason\": \"r\" }", 400, "duplicate", "unknown organization 'nobody'");
        Post(merging, "a merge naming another duplicate than the address", "/api/organizations/acme/merge", "{ \"duplicate\": \"initech\", \"into\": \"globex\", \"reason\": \"r\" }", 400, "$", "'duplicate' is 'initech' here but 'acme' in the address");
        Post(merging, "an undo of a record not merged", "/api/organizations/acme/unmerge", "{ \"reason\": \"r\" }", 400, "duplicate", "'acme' is not merged into another organization");
        return list;
    }

    public static IReadOnlyList<BadCommand> Commands { get; } = BuildCommands();

    private static List<BadCommand> BuildCommands()
    {
        var list = new List<BadCommand>();
        void Cli(string category, string name, string fragment, params string[] args) => list.Add(new(category, name, args, fragment));
        BadCommand With(string category, string name, string fragment, string[] args, params (string Name, string Text)[] files) =>
            new(category, name, args, fragment) { Files = files.ToDictionary(f => f.Name, f => Encoding.UTF8.GetBytes(f.Text)) };

        const string files = "file arguments";
        Cli(files, "a file that does not exist", "no-such.yaml: no such file", "import", "{dir}/no-such.yaml");
        Cli(files, "a path out of the folder (traversal)", "expected a mapping with fields organizations", "import", "{dir}/../../../../../../etc/passwd");
        Cli(files, "a folder", "is a folder; name the documents in it", "import", "{dir}");
        Cli(files, "/dev/null", "/dev/null: the document is empty", "import", "/dev/null");
        Cli(files, "/dev/zero (never ends)", "/dev/zero: larger than 64 MiB (or never ends)", "import", "/dev/zero");
        Cli(files, "a file name with a terminal escape", "\\u001b[31m.yaml: no such file", "import", "{dir}/\u001b[31m.yaml");
        Cli(files, "a file name with a newline", "a\\u000ab.yaml: no such file", "import", "{dir}/a\nb.yaml");
        list.Add(With(files, "a good and a bad document: neither is stored", "bad.yaml: deals[0].facts[0].holder (line 5): unknown organization 'nobody'",
            ["import", "{dir}/good.yaml", "{dir}/bad.yaml"],
            ("good.yaml", "organizations:\n  - { id: fresh-co, name: Fresh, kind: company }\n"),
            ("bad.yaml", "deals:\n  - id: d9\n    parties: [fresh-co]\n    facts:\n      - { id: s9, type: stake, holder: nobody, subject: fresh-co, share: { exact: 5 }, valid: { from: 2020 }, sources: [ { source: press, claim: stated } ] }\n")));
        list.Add(With(files, "a picture named .yaml", "not valid UTF-8", ["import", "{dir}/picture.yaml"]) with
        {
            Files = new Dictionary<string, byte[]> { ["picture.yaml"] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xd8] },
        });
        list.Add(With(files, "a JSON file named .json holding YAML", "not valid JSON", ["import", "{dir}/doc.json"], ("doc.json", "organizations: []\n")));
        Cli(files, "seed from a folder that does not exist", "no such seeds folder", "seed", "--dir", "{dir}/no-seeds");
        list.Add(With(files, "seed from a folder with a bad document", "unknown field 'colour'", ["seed", "--dir", "{dir}"],
            ("a.yaml", "organizations:\n  - { id: fresh-co, name: Fresh, kind: company, colour: red }\n")));
        list.Add(With(files, "export into a file", "is a file: export writes into a new or empty folder", ["export", "--out", "{dir}/taken"], ("taken", "x")));
        list.Add(With(files, "export into a folder that is not empty", "is not empty: export writes into a new or empty folder", ["export", "--out", "{dir}"], ("taken", "x")));

        const string args = "arguments";
        Cli(args, "no file to import", "Required argument missing for command: 'import'", "import");
        Cli(args, "an unknown verb", "Unrecognized command or argument 'delete'", "delete", "acme");
        Cli(args, "an unknown option", "Unrecognized command or argument '--force'", "holding", "acme", "globex", "--force");
        Cli(args, "an unknown option with a terminal escape", "Unrecognized command or argument '--\\u001b]0;pwned\\u0007'", "holding", "acme", "globex", "--\u001b]0;pwned\u0007");
        Cli(args, "a missing subject", "Required argument missing for command: 'holding'", "holding", "acme");
        Cli(args, "a missing role", "Option '--role' is required", "keys", "create", "--name", "k1");
        Cli(args, "a connection string that is not one", "the connection string is not valid", "holding", "acme", "globex", "--connection", "not a connection string");

        const string query = "query arguments";
        Cli(query, "--at 30 February", "--at '2023-02-30' is not a date: use YYYY-MM-DD", "holding", "acme", "globex", "--at", "2023-02-30");
        Cli(query, "--at month 13", "--at '2024-13-01' is not a date", "holding", "acme", "globex", "--at", "2024-13-01");
        Cli(query, "--at empty", "--at '' is not a date", "holding", "acme", "globex", "--at", "");
        Cli(query, "--at a month", "--at '2024-02' is not a date", "owners", "globex", "--at", "2024-02");
        Cli(query, "--at the last day of year 9999", "--at '9999-12-31' is not a date: the year must be between 0001 and 9998", "holding", "acme", "globex", "--at", "9999-12-31");
        Cli(query, "--at year 9999 for owners", "the year must be between 0001 and 9998", "owners", "globex", "--at", "9999-01-01");
        Cli(query, "--at year 9999 for relationships", "the year must be between 0001 and 9998", "relationships", "acme", "--at", "9999-12-31");
        Cli(query, "--at year 9999 for an export", "the year must be between 0001 and 9998", "export", "--format", "bods", "--out", "{dir}/bods.json", "--at", "9999-12-31");
        Cli(query, "--indirect for the auditors' bundle", "--at, --known-at and --indirect go with --format bods", "export", "--out", "{dir}/bundle", "--indirect");
        Cli(query, "--known-at in words", "--known-at 'tomorrow' is not an instant", "holding", "acme", "globex", "--known-at", "tomorrow");
        Cli(query, "--known-at for history in words", "--known-at 'soon' is not an instant", "history", "acme", "globex", "--known-at", "soon");
        Cli(query, "--known-at for replay in words", "--known-at 'then' is not an instant", "replay", "--known-at", "then");
        Cli(query, "a holder in capitals", "holder 'Acme' is not an id", "holding", "Acme", "globex");
        Cli(query, "a holder with a terminal escape", "holder '\\u001b[2Jacme' is not an id", "holding", "\u001b[2Jacme", "globex");
        Cli(query, "a subject with SQL", "subject 'globex'; drop table dealledger.mt_events; --' is not an id", "holding", "acme", "globex'; drop table dealledger.mt_events; --");
        Cli(query, "holder and subject the same", "an organization holds no stake in itself", "holding", "acme", "acme");
        Cli(query, "an unknown holder", "unknown organization 'nobody'", "holding", "nobody", "globex");
        Cli(query, "relationships of an unknown organization", "unknown organization 'nobody'", "relationships", "nobody");
        Cli(query, "relationships of a path", "organization '../../etc/passwd' is not an id", "relationships", "../../etc/passwd");
        Cli(query, "relationships of a fact that is not an id", "--fact 'p0; drop table x' is not an id", "relationships", "acme", "--fact", "p0; drop table x");
        Cli(query, "owners of HTML", "organization '<b>acme</b>' is not an id", "owners", "<b>acme</b>");
        Cli(query, "owners through chains of an unknown organization", "unknown organization 'nobody'", "owners", "nobody", "--through");
        Cli(query, "holdings of an unknown organization", "unknown organization 'nobody'", "holdings", "nobody", "--through");
        Cli(query, "--depth 0", "--depth must be between 1 and 20 stakes, got 0", "owners", "globex", "--through", "--depth", "0");
        Cli(query, "--depth 21", "--depth must be between 1 and 20 stakes, got 21", "holdings", "acme", "--through", "--depth", "21");
        Cli(query, "--depth without --through", "--depth needs --through", "owners", "globex", "--depth", "3");
        Cli(query, "--threshold above 100", "--threshold '120' is not a percentage above 0 and at most 100", "owners", "globex", "--through", "--threshold", "120");
        Cli(query, "--threshold with a percent sign", "--threshold '25%' is not a percentage", "owners", "globex", "--through", "--threshold", "25%");
        Cli(query, "--threshold without --through", "--threshold needs --through", "owners", "globex", "--threshold", "25");
        Cli(query, "--limit with --through", "--limit and --after page the direct owners", "owners", "globex", "--through", "--limit", "5");
        Cli(query, "changes without a moment", "changes compares two moments: give --known-from", "changes");
        Cli(query, "changes --known-from in words", "--known-from 'yesterday' is not an instant", "changes", "--known-from", "yesterday");
        Cli(query, "changes --known-from after --known-to", "--known-from 2025-01-01T00:00:00Z is after --known-to 2024-01-01T00:00:00Z",
            "changes", "--known-from", "2025-01-01T00:00:00Z", "--known-to", "2024-01-01T00:00:00Z");
        Cli(query, "changes --at alone", "--at alone is one date: give --to-at too", "changes", "--at", "2024-01-01");
        Cli(query, "changes --to-at before --at", "--to-at 2024-01-01 is before --at 2025-01-01", "changes", "--at", "2025-01-01", "--to-at", "2024-01-01");
        Cli(query, "changes of an unknown organization", "unknown organization 'nobody'", "changes", "--known-from", "2020-01-01T00:00:00Z", "--org", "nobody");
        Cli(query, "changes --after a cursor of three parts", "--after 'a:b:c' is not where a page ended", "changes", "--known-from", "2020-01-01T00:00:00Z", "--after", "a:b:c");
        Cli(query, "--limit in words", "--limit 'abc' is not a whole number of 0 or more", "events", "--limit", "abc");
        Cli(query, "--limit beyond 32 bits", "--limit must be between 1 and 10000, got 99999999999", "events", "--limit", "99999999999");
        Cli(query, "--limit 0", "--limit must be between 1 and 10000, got 0", "events", "--limit", "0");
        Cli(query, "--after -5", "--after '-5' is not a whole number", "events", "--after=-5");
        Cli(query, "--type unknown", "unknown event type 'fact_deleted'", "events", "--type", "fact_deleted");
        Cli(query, "--from in words", "--from 'yesterday' is not an instant", "events", "--from", "yesterday");
        Cli(query, "--stream with a control character", "stream 'fact:s0\\u0007' is not a value to filter by", "events", "--stream", "fact:s0\u0007");
        Cli(query, "an unknown projection to rebuild", "unknown projection 'no-such-projection'", "rebuild", "no-such-projection");

        const string keys = "keys";
        Cli(keys, "an unknown role", "role 'root' is not one of: reader, writer, admin", "keys", "create", "--name", "k1", "--role", "root");
        Cli(keys, "a name with spaces", "key name 'my key' must be 1–64 characters", "keys", "create", "--name", "my key", "--role", "reader");
        Cli(keys, "a name of 65 characters", "must be 1–64 characters", "keys", "create", "--name", new string('k', 65), "--role", "reader");
        Cli(keys, "a name already taken", "a key named 'taken' already exists", "keys", "create", "--name", "taken", "--role", "reader");
        Cli(keys, "revoking an unknown key", "unknown key 'no-such-key'", "keys", "revoke", "no-such-key");

        const string merging = "merges";
        Cli(merging, "a merge with itself", "'acme' cannot be merged with itself", "merge", "acme", "--into", "acme", "--reason", "r");
        Cli(merging, "a merge without --into", "into", "merge", "initech", "--reason", "r");
        Cli(merging, "an undo of a record not merged", "'acme' is not merged into another organization", "unmerge", "acme", "--reason", "r");
        return list;
    }
}
