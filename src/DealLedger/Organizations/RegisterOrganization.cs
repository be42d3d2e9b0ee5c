using System.Text.RegularExpressions;
using DealLedger.Importing;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Organizations;

/// <summary>Registering an organization: a document's `organizations` entry, or POST /api/organizations.</summary>
internal static partial class RegisterOrganization
{
    public static OrganizationRegistered Read(DocumentNode node)
    {
        var f = Fields.Of(node, "id", "name", "aliases", "kind", "country", "identifiers");
        var country = f.OptionalText("country");
        if (country is not null && !CountryPattern().IsMatch(country))
        {
            throw f.Get("country")!.Error($"'{Fields.Clip(country)}' is not an ISO 3166-1 alpha-2 country code (e.g. FR)");
        }
        var identifiers = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (f.Get("identifiers") is { } ids)
        {
            var map = ids as MapNode ?? throw ids.Error("expected a mapping of identifier kinds to values (e.g. { wikidata: Q2283 })");
            foreach (var (key, value) in map.Fields)
            {
                RequireScheme(key, value);
                identifiers[key] = Fields.TextOf(value);
            }
        }
        return new OrganizationRegistered(f.Slug("id"), f.Text("name"), f.TextList("aliases"), f.Enum<OrganizationKind>("kind"), country, identifiers);
    }

    /// <returns>The event to record, or null when the ledger already holds this very registration.</returns>
    public static OrganizationRegistered? Decide(OrganizationRegistered entry, DocumentNode node, LedgerTransaction t) =>
        t.Registering(entry, t.Organization(entry.Id), $"organization:{entry.Id}", node, $"organization '{entry.Id}'",
            known => $"is already registered with different details (as \"{known.Name}\")");

    /// <summary>An identifier fact's `scheme`, spelled as a registration's identifier kinds are.</summary>
    public static string Scheme(Fields f)
    {
        var scheme = f.Text("scheme");
        RequireScheme(scheme, f.Get("scheme")!);
        return scheme;
    }

    private static void RequireScheme(string scheme, DocumentNode node)
    {
        if (!IdentifierKindPattern().IsMatch(scheme))
        {
            throw node.Error($"'{Fields.Clip(scheme)}' is not an identifier kind: use lowercase letters, digits and hyphens (lei, wikidata, …)");
        }
    }

    [GeneratedRegex("^[A-Z]{2}$")]
    private static partial Regex CountryPattern();

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex IdentifierKindPattern();
}
