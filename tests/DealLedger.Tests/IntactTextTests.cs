using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DealLedger.Access;

namespace DealLedger.Tests;

/// <summary>
/// Issue 5, the other side of bad input: text that only looks strange — right-to-left scripts,
/// emoji sequences, combining characters, markup and SQL, names at the length limit — is stored
/// and returned exactly, byte for byte, whichever way it came in (a JSON entry over HTTP, a YAML
/// document over HTTP, a YAML file given to the CLI) and whichever way it is read back (HTTP, the
/// CLI's --json, the raw event).
/// </summary>
public sealed class IntactTextTests(ApiHostFixture api) : IClassFixture<ApiHostFixture>
{
    private static readonly Dictionary<string, string> Samples = new()
    {
        ["Arabic"] = "شركة الاتصالات السعودية",
        ["Hebrew with geresh"] = "בנק הפועלים בע״מ",
        ["mixed directions and digits"] = "Aramco أرامكو 2024 (المملكة)",
        ["explicit direction marks"] = "\u200Fשלום\u200E ABC \u2067عربي\u2069",
        ["emoji"] = "Rocket 🚀 Labs 🦄",
        ["emoji joined by ZWJ"] = "👨‍👩‍👧‍👦 Family Office",
        ["flags and skin tones"] = "🇫🇷🇩🇪 Alliance 👍🏽",
        ["combining accents (NFD, never normalized)"] = "Cafe\u0301 Ame\u0301lie",
        ["precomposed accents (NFC)"] = "Café Amélie",
        ["stacked combining marks"] = "Z\u0351\u0352\u0353a\u0354\u0355l\u0356g\u0357o",
        ["CJK"] = "株式会社ソニー 索尼集团",
        ["Devanagari"] = "टाटा संस प्राइवेट लिमिटेड",
        ["mathematical letters beyond the BMP"] = "𝔄𝔠𝔪𝔢 𝕮𝖔𝖗𝖕",
        ["HTML and script"] = "<script>alert('x')</script> & <b>Co</b>",
        ["SQL"] = "Robert'); DROP TABLE dealledger.organizations;--",
        ["JSON and quotes"] = "{\"kind\":\"fund\",\"id\":\"x\"} \\ \" ' `",
        ["YAML syntax"] = "- key: &a *b # not a comment ---",
        ["other spaces"] = "Acme\u00A0Corp\u2003Ltd\tTab",
        ["two lines"] = "Line one\nLine two",
        ["zero-width characters"] = "Zero\u200BWidth\u200CNon\u200DJoiner",
        ["2,000 characters"] = string.Concat(Enumerable.Range(0, 2000).Select(i => (char)('a' + i % 26))),
        ["2,000 emoji"] = string.Concat(Enumerable.Repeat("😀", 2000)),
    };

    public static TheoryData<string> Names => [.. Samples.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task text_is_stored_and_returned_byte_for_byte(string sample)
    {
        var text = Samples[sample];
        var n = Samples.Keys.ToList().IndexOf(sample);
        var writer = api.Client(Role.Writer);

        var entry = JsonSerializer.Serialize(new { id = $"intact-{n}-entry", name = text, aliases = new[] { text }, kind = "company" });
        Assert.Equal(HttpStatusCode.Created, (await writer.PostAsync("/api/organizations", new StringContent(entry, Encoding.UTF8, "application/json"))).StatusCode);
        var document = new StringContent(Yaml($"intact-{n}-import", text), Encoding.UTF8, "application/yaml");
        var imported = await writer.PostAsync("/api/import", document);
        Assert.True(imported.IsSuccessStatusCode, await imported.Content.ReadAsStringAsync());
        var file = Path.Combine(Path.GetTempPath(), $"intact-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, Yaml($"intact-{n}-cli", text), new UTF8Encoding(false));
        try
        {
            var (code, _, stderr) = await HeadlineTests.RunCliAsync(["import", file, "--connection", api.ConnectionString]);
            Assert.True(code == 0, stderr);
        }
        finally
        {
            File.Delete(file);
        }

        foreach (var id in new[] { $"intact-{n}-entry", $"intact-{n}-import", $"intact-{n}-cli" })
        {
            var http = JsonNode.Parse(await api.Client(Role.Reader).GetStringAsync($"/api/organizations/{id}/relationships"))!["organization"]!;
            var (code, cli, stderr) = await HeadlineTests.RunCliAsync(["relationships", id, "--json", "--connection", api.ConnectionString]);
            Assert.True(code == 0, stderr);
            var logged = JsonNode.Parse(await api.Client(Role.Reader).GetStringAsync($"/api/events?stream=organization:{id}"))!.AsArray().Single()!["data"]!;

            foreach (var (where, node) in new[] { ("HTTP", http), ("CLI --json", JsonNode.Parse(cli)!["organization"]!), ("the event", logged) })
            {
                Intact($"{id}: name through {where}", text, node["name"]!.GetValue<string>());
                Intact($"{id}: alias through {where}", text, node["aliases"]![0]!.GetValue<string>());
            }
        }
    }

    private static void Intact(string what, string expected, string actual) =>
        Assert.True(Encoding.UTF8.GetBytes(expected).AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(actual)),
            $"{what}: expected {Escaped(expected)}, got {Escaped(actual)}");

    private static string Escaped(string s) => string.Concat(s.Take(80).Select(c => c < 128 && !char.IsControl(c) ? c.ToString() : $"\\u{(int)c:x4}"));

    /// <summary>A document registering the organization, its text in a double-quoted YAML scalar: raw characters, escapes only where YAML needs them.</summary>
    private static string Yaml(string id, string text)
    {
        var quoted = string.Concat(text.Select(c => c switch
        {
            '\\' => "\\\\",
            '"' => "\\\"",
            '\n' => "\\n",
            '\t' => "\\t",
            _ => c.ToString(),
        }));
        return $"organizations:\n  - id: {id}\n    name: \"{quoted}\"\n    aliases: [\"{quoted}\"]\n    kind: company\n";
    }
}
