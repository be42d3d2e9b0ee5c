using Microsoft.Net.Http.Headers;

namespace DealLedger.Api;

/// <summary>
/// Browsers on other origins (DealLedger:Cors:Origins): none by default, so no response carries
/// Access-Control-Allow-Origin and preflights are refused. Listed origins may send keys and bodies
/// (never cookies: keys travel in a header) and read the headers clients act on.
/// </summary>
public static class CrossOrigin
{
    public const string Section = "DealLedger:Cors:Origins";

    /// <summary>The configured origins: a list, or one string of origins separated by commas or spaces.</summary>
    public static string[] Origins(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var listed = section.Value is { } one ? one.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : section.GetChildren().Select(c => c.Value?.Trim()).OfType<string>().Where(v => v.Length > 0).ToArray();
        foreach (var origin in listed)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")
                || uri is not { AbsolutePath: "/", Query: "", Fragment: "", UserInfo: "" } || origin.EndsWith('/'))
            {
                throw new InvalidOperationException($"{Section}: '{origin}' is not an origin (scheme://host[:port], e.g. https://app.example.com)");
            }
        }
        return listed;
    }

    /// <returns>Whether any origin is allowed (then the host must call UseCors).</returns>
    public static bool Add(IServiceCollection services, string[] origins)
    {
        if (origins.Length == 0)
        {
            return false;
        }
        services.AddCors(o => o.AddDefaultPolicy(p => p
            .WithOrigins(origins)
            .WithMethods(HttpMethods.Get, HttpMethods.Post, HttpMethods.Delete)
            .WithHeaders(ApiKeyAuthentication.Header, HeaderNames.ContentType, HeaderNames.IfMatch, "Last-Event-ID")
            .WithExposedHeaders(HeaderNames.ETag, HeaderNames.Location, HeaderNames.RetryAfter)));
        return true;
    }
}
