using Npgsql;

namespace DealLedger.Mirror;

/// <summary>The mirror's settings: the API, its key and the mirror's own database, from flags or environment variables.</summary>
public sealed record MirrorArguments(Uri Api, string Key, string Database, int PageSize = 500, string? Organization = null)
{
    public const string Usage = """
        usage: dealledger-mirror --api URL --key KEY --database CONNECTION [--page-size N] [--org ID]
          --api        the DealLedger API's root, e.g. http://127.0.0.1:5000   (or DEALLEDGER_API)
          --key        an API key with the reader role                          (or DEALLEDGER_KEY)
          --database   Npgsql connection string of the mirror's own database    (or MIRROR_DATABASE)
          --page-size  feed messages asked for per request, 1–1000; default 500 (or MIRROR_PAGE_SIZE)
          --org        only the holdings of this organization (the filtered feed)  (or MIRROR_ORG)
        """;

    /// <summary>Reads flags (which win) and environment variables; a bad or missing value is an ArgumentException with one readable line.</summary>
    public static MirrorArguments Parse(string[] args, Func<string, string?> environment)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is not ("--api" or "--key" or "--database" or "--page-size" or "--org"))
            {
                throw new ArgumentException($"unknown argument '{name}' (expected --api, --key, --database, --page-size, --org; see --help)");
            }
            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"{name} needs a value");
            }
            given[name] = args[++i];
        }
        string Required(string flag, string variable) =>
            given.GetValueOrDefault(flag) is { Length: > 0 } v ? v
            : environment(variable) is { Length: > 0 } e ? e
            : throw new ArgumentException($"{flag} (or {variable}) is required");

        var apiText = Required("--api", "DEALLEDGER_API");
        if (!Uri.TryCreate(apiText, UriKind.Absolute, out var api) || api.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"--api '{apiText}' is not an http(s) URL");
        }
        var key = Required("--key", "DEALLEDGER_KEY");
        var database = Required("--database", "MIRROR_DATABASE");
        try
        {
            _ = new NpgsqlConnectionStringBuilder(database);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new ArgumentException($"--database is not an Npgsql connection string: {e.Message}");
        }
        var pageText = given.GetValueOrDefault("--page-size") ?? environment("MIRROR_PAGE_SIZE");
        var pageSize = 500;
        if (pageText is { Length: > 0 } && (!int.TryParse(pageText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > 1000))
        {
            throw new ArgumentException($"--page-size '{pageText}' is not a whole number from 1 to 1000");
        }
        var org = given.GetValueOrDefault("--org") ?? environment("MIRROR_ORG");
        if (org is { Length: 0 } || (org is not null && !System.Text.RegularExpressions.Regex.IsMatch(org, "^[a-z0-9]+(-[a-z0-9]+)*$")))
        {
            throw new ArgumentException($"--org '{org}' is not an organization id (lowercase letters, digits and single hyphens)");
        }
        return new MirrorArguments(api, key, database, pageSize, org);
    }
}
