using DealLedger.Importing;

namespace DealLedger.Tests;

/// <summary>Documents the tests write: the seeds, and small YAML histories.</summary>
public static class Seeds
{
    public static string Folder => Path.Combine(TestDatabase.RepoRoot, "seeds");

    public static Task<ImportReport> LoadAsync(Ledger ledger) =>
        ledger.ImportFilesAsync(Directory.GetFiles(Folder).Order(StringComparer.Ordinal));

    public static Task<ImportReport> ImportYamlAsync(this Ledger ledger, string yaml, string name = "test.yaml") =>
        ledger.ImportAsync([(name, yaml)]);

    /// <summary>A JSON document of <paramref name="count"/> companies, org-00, org-01 …, and two sources: src-a (third-party) and src-b (self-declaration).</summary>
    public static string Companies(int count) => System.Text.Json.JsonSerializer.Serialize(new
    {
        organizations = Enumerable.Range(0, count).Select(i => new { id = $"org-{i:D2}", name = $"Organization {i}", kind = "company" }),
        sources = new object[]
        {
            new { id = "src-a", title = "A trade paper", kind = "third-party" },
            new { id = "src-b", title = "A company filing", kind = "self-declaration" },
        },
    });

    /// <summary>Two companies and one source of each kind.</summary>
    public const string Basics = """
        organizations:
          - { id: acme, name: Acme Holdings, kind: company, country: US }
          - { id: globex, name: Globex, kind: company }
          - { id: initech, name: Initech, kind: company }
        sources:
          - { id: press, title: "A newspaper report", kind: third-party, language: en }
          - { id: wire, title: "A wire report", kind: third-party }
          - { id: filing, title: "Annual filing", kind: official-register }
          - { id: acme-release, title: "Acme press release", kind: self-declaration }
          - { id: globex-release, title: "Globex press release", kind: self-declaration }
        """;

    /// <summary>A document with one deal holding the given facts (YAML list items, indented as facts).</summary>
    public static string Deal(string id, params string[] facts) =>
        $"deals:\n  - id: {id}\n    parties: [acme, globex]\n    facts:\n" + string.Concat(facts.Select(f => Indent(f, 6)));

    public static string Stake(string id, string share, string valid, string sources = "[ { source: press, claim: stated } ]", string holder = "acme", string subject = "globex") =>
        $"- id: {id}\n  type: stake\n  holder: {holder}\n  subject: {subject}\n  share: {share}\n  valid: {valid}\n  sources: {sources}\n";

    /// <summary>A document merging a duplicate record into an organization.</summary>
    public static string MergeOf(string duplicate, string into, string reason = "registered twice") =>
        $"merges:\n  - {{ duplicate: {duplicate}, into: {into}, reason: {reason} }}\n";

    /// <summary>A document undoing the merge of a duplicate record.</summary>
    public static string UnmergeOf(string duplicate, string reason = "two companies after all") =>
        $"unmerges:\n  - {{ duplicate: {duplicate}, reason: {reason} }}\n";

    private static string Indent(string text, int spaces) =>
        string.Concat(text.Split('\n').Where(l => l.Length > 0).Select(l => new string(' ', spaces) + l + "\n"));
}
