using Microsoft.Extensions.FileProviders;

namespace DealLedger.Api;

/// <summary>
/// The explorer page at / (files in Page/): plain HTML, CSS and JavaScript modules embedded in this
/// assembly, so the API serves them from wherever it runs (eng/run, Docker, tests) with no internet
/// access. The page shows only the API's own answers; it holds no rule of the ledger.
/// </summary>
public static class Page
{
    /// <summary>The page loads nothing from elsewhere: scripts, styles and data come from this origin only.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static void Map(WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(Page).Assembly, $"{typeof(Page).Namespace}.Page");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = c =>
            {
                var headers = c.Context.Response.Headers;
                // Revalidate every time (a 304 when unchanged), so a new build's page is picked up at once.
                headers.CacheControl = "no-cache";
                headers.XContentTypeOptions = "nosniff";
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers["Referrer-Policy"] = "no-referrer";
            },
        });
    }
}
