using System.Text.Json;
using System.Text.Json.Nodes;
using DealLedger.Importing;
using DealLedger.Organizations;

namespace DealLedger.Bods;

/// <summary>
/// BODS entities and persons as ledger organizations. People are organizations of kind `person`
/// (DESIGN §9 has the kind), so a person's holdings answer exactly like a company's.
/// </summary>
internal static class BodsParties
{
    /// <summary>The identifier kind that keeps the BODS recordId exactly as published.</summary>
    public const string RecordIdentifier = "bods-record";

    private static readonly string[] KeptOfEntities = ["isComponent", "entityType", "name", "alternateNames", "jurisdiction", "identifiers"];
    private static readonly string[] KeptOfPersons = ["isComponent", "personType", "names", "identifiers"];

    public static JsonObject Organization(BodsStatement s, List<string> notes)
    {
        var d = s.Details;
        var person = s.RecordType == "person";
        var (name, aliases) = person ? PersonNames(d, s.RecordId) : EntityNames(d, s.RecordId);
        var kind = person ? OrganizationKind.Person : EntityKind(d, notes);
        var identifiers = new JsonObject { [RecordIdentifier] = s.RecordId };
        foreach (var id in BodsStatement.List(d, "identifiers"))
        {
            var value = BodsStatement.Text(id, "id");
            var scheme = BodsStatement.Text(id, "scheme") ?? BodsStatement.Text(id, "schemeName");
            if (value is null || scheme is null)
            {
                notes.Add($"an identifier without {(value is null ? "an id" : "a scheme")} is not kept");
                continue;
            }
            var key = scheme == "XI-LEI" ? "lei" : BodsIds.Slug(scheme, 60);
            for (var n = 2; identifiers.ContainsKey(key); n++)
            {
                key = $"{BodsIds.Slug(scheme, 56)}-{n}";
            }
            identifiers[key] = BodsTranslation.Clip(value);
        }
        var kept = person ? KeptOfPersons : KeptOfEntities;
        var dropped = d.EnumerateObject().Select(p => p.Name).Where(n => !kept.Contains(n)).ToList();
        if (dropped.Count > 0)
        {
            notes.Add($"not kept, the ledger has no field for them: {string.Join(", ", dropped)}");
        }
        var org = new JsonObject
        {
            ["id"] = BodsIds.Organization(s.RecordId),
            ["name"] = BodsTranslation.Clip(name),
            ["aliases"] = new JsonArray(aliases.Where(a => a != name).Distinct().Select(a => (JsonNode)BodsTranslation.Clip(a)).ToArray()),
            ["kind"] = Storage.LedgerJson.Word(kind),
            ["identifiers"] = identifiers,
        };
        // An ISO 3166-2 subdivision (US-DE) begins with its country's ISO 3166-1 code.
        if (!person && BodsStatement.Get(d, "jurisdiction") is { } j && BodsStatement.Text(j, "code") is { Length: >= 2 } code
            && char.IsAsciiLetterUpper(code[0]) && char.IsAsciiLetterUpper(code[1]) && (code.Length == 2 || code[2] == '-'))
        {
            org["country"] = code[..2];
        }
        return org;
    }

    /// <summary>The organization as the import reads it (the same rules), to compare with one registered before.</summary>
    public static OrganizationRegistered Registered(JsonObject org) =>
        RegisterOrganization.Read(DocumentNode.Parse("organization.json", org.ToJsonString()));

    private static (string, IReadOnlyList<string>) PersonNames(JsonElement d, string recordId)
    {
        var names = BodsStatement.List(d, "names").Select(n => (Type: BodsStatement.Text(n, "type"), Full: BodsStatement.Text(n, "fullName")))
            .Where(n => !string.IsNullOrWhiteSpace(n.Full)).ToList();
        if (names.Count == 0)
        {
            var type = BodsStatement.Text(d, "personType") == "unknownPerson" ? "Unknown person" : "Anonymous person";
            return ($"{type} (BODS record {recordId})", []);
        }
        var main = names.FirstOrDefault(n => n.Type == "legal").Full ?? names[0].Full!;
        return (main, names.Select(n => n.Full!).ToList());
    }

    private static (string, IReadOnlyList<string>) EntityNames(JsonElement d, string recordId)
    {
        var aliases = BodsStatement.List(d, "alternateNames").Where(a => a.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(a.GetString()))
            .Select(a => a.GetString()!).ToList();
        if (BodsStatement.Text(d, "name") is { } name && !string.IsNullOrWhiteSpace(name))
        {
            return (name, aliases);
        }
        var type = BodsStatement.Get(d, "entityType") is { } et && BodsStatement.Text(et, "type") == "unknownEntity" ? "Unknown entity" : "Unnamed entity";
        return ($"{type} (BODS record {recordId})", aliases);
    }

    /// <summary>BODS entity types among the ledger's kinds; what has no kind of its own is a company, said in a note.</summary>
    private static OrganizationKind EntityKind(JsonElement d, List<string> notes)
    {
        var type = BodsStatement.Get(d, "entityType") is { } et ? BodsStatement.Text(et, "type") : null;
        switch (type)
        {
            case "state":
                return OrganizationKind.Government;
            case "stateBody":
                return OrganizationKind.PublicBody;
            case "registeredEntity" or "legalEntity":
                return OrganizationKind.Company;
            default:
                notes.Add($"entity type {type ?? "(none)"} has no kind of its own in the ledger; registered as a company");
                return OrganizationKind.Company;
        }
    }
}
