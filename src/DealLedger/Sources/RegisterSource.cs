using System.Text.RegularExpressions;
using DealLedger.Importing;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Sources;

/// <summary>Registering a source: a document's `sources` entry, or POST /api/sources.</summary>
internal static partial class RegisterSource
{
    public static SourceRegistered Read(DocumentNode node)
    {
        var f = Fields.Of(node, "id", "title", "publisher", "published", "language", "kind", "url", "contentHash");
        var language = f.OptionalText("language");
        if (language is not null && !LanguagePattern().IsMatch(language))
        {
            throw f.Get("language")!.Error($"'{Fields.Clip(language)}' is not a language tag (e.g. de, en, fr-CA)");
        }
        var url = f.OptionalText("url");
        if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            throw f.Get("url")!.Error($"'{Fields.Clip(url)}' is not an absolute http(s) URL");
        }
        var hash = f.OptionalText("contentHash");
        if (hash is not null && !HashPattern().IsMatch(hash))
        {
            throw f.Get("contentHash")!.Error("a content hash is 'sha256:' followed by 64 lowercase hex digits");
        }
        return new SourceRegistered(f.Slug("id"), f.Text("title"), f.OptionalText("publisher"), f.OptionalDate("published"),
            language, f.Enum<SourceKind>("kind"), url, hash);
    }

    /// <returns>The event to record, or null when the ledger already holds this very registration.</returns>
    public static SourceRegistered? Decide(SourceRegistered entry, DocumentNode node, LedgerTransaction t) =>
        t.Registering(entry, t.Source(entry.Id), $"source:{entry.Id}", node, $"source '{entry.Id}'",
            known => $"is already registered with different details (titled \"{known.Title}\")");

    [GeneratedRegex("^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    private static partial Regex LanguagePattern();

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex HashPattern();
}
