using System.Security.Cryptography;
using System.Text;

namespace DealLedger.Bods;

/// <summary>
/// The ledger ids of BODS records and statements: natural keys, so importing a package again finds
/// what it recorded before. BODS ids are case-sensitive free text; ids here are slugs, so two ids
/// that differ only in case or punctuation meet under one slug — the original id is kept with what
/// is registered (an organization's `bods-record` identifier, a deal's or source's title), so such a
/// meeting is a conflict the import reports, never a silent merge.
/// </summary>
public static class BodsIds
{
    public const int MaxId = 100;

    public static string Organization(string recordId) => "bods-" + Slug(recordId, 90);

    public static string Deal(string recordId) => "bods-" + Slug(recordId, 90);

    public static string Source(string statementId) => "bods-" + Slug(statementId, 90);

    /// <summary>A fact of a relationship record: its interest type and start (or "undated"), plus a suffix for later states.</summary>
    public static string Fact(string recordId, string interestWord, string start) =>
        $"bods-{Slug(recordId, 40)}-{interestWord}-{start}";

    /// <summary>Lowercase letters, digits and single hyphens; an over-long id keeps its head and a hash of the whole.</summary>
    public static string Slug(string text, int max)
    {
        var s = new StringBuilder(text.Length);
        foreach (var ch in text.ToLowerInvariant())
        {
            if (ch is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                s.Append(ch);
            }
            else if (s.Length > 0 && s[^1] != '-')
            {
                s.Append('-');
            }
        }
        var slug = s.ToString().Trim('-');
        if (slug.Length > 0 && slug.Length <= max)
        {
            return slug;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
        return slug.Length == 0 ? hash : $"{slug[..(max - 13)].TrimEnd('-')}-{hash}";
    }

    /// <summary>The BODS interest type as a word of an id ("votingRights" → "voting-rights").</summary>
    public static string Word(string interestType) =>
        System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(interestType);
}
