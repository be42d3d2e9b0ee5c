namespace DealLedger.Cli;

/// <summary>Finds a folder of this checkout (seeds/, migrations/) from the working directory or the program's own location.</summary>
internal static class Checkout
{
    public static string Find(string folder)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, folder);
                if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "DealLedger.sln")))
                {
                    return candidate;
                }
            }
        }
        return Path.Combine(Directory.GetCurrentDirectory(), folder);
    }
}
