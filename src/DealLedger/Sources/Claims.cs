namespace DealLedger.Sources;

/// <summary>What kind of document a source is; it decides how much its statements weigh.</summary>
public enum SourceKind { SelfDeclaration, ThirdParty, OfficialRegister, PrimaryResearch }

/// <summary>How a source speaks of a fact.</summary>
public enum ClaimKind
{
    /// <summary>The source states it as fact.</summary>
    Stated,
    /// <summary>The source says a named third party reported it.</summary>
    Attributed,
    /// <summary>A party to the fact claims it, unverified.</summary>
    Claimed,
    /// <summary>The source denies it.</summary>
    Denied,
}

/// <summary>One source's word on a fact, with an optional note on what exactly it says.</summary>
public sealed record Claim(string Source, ClaimKind Kind, string? AttributedTo = null, string? Note = null)
{
    /// <summary>A source that asserts both (a denial asserts nothing), or null: what makes two incompatible facts a contradiction (DESIGN §6).</summary>
    public static string? SharedAsserting(IEnumerable<Claim> a, IEnumerable<Claim> b) =>
        a.Where(c => c.Kind != ClaimKind.Denied).Select(c => c.Source).Intersect(b.Where(c => c.Kind != ClaimKind.Denied).Select(c => c.Source)).FirstOrDefault();
}

/// <summary>How far a fact can be trusted, derived from its claims (DESIGN §3 rule 6), never typed in.</summary>
public enum Confidence { Confirmed, Reported, Claimed, Disputed, Retracted }

public static class ConfidenceRules
{
    /// <summary>Rule 6: stated by a party or a register → confirmed; stated/attributed → reported; only claimed → claimed; a denial next to a positive claim → disputed.</summary>
    public static Confidence Of(IEnumerable<Claim> claims, Func<string, SourceKind> kindOf)
    {
        var list = claims.ToList();
        var positive = list.Where(c => c.Kind != ClaimKind.Denied).ToList();
        if (list.Any(c => c.Kind == ClaimKind.Denied))
        {
            return Confidence.Disputed;
        }
        if (positive.Any(c => c.Kind == ClaimKind.Stated && kindOf(c.Source) is SourceKind.SelfDeclaration or SourceKind.OfficialRegister))
        {
            return Confidence.Confirmed;
        }
        return positive.Any(c => c.Kind is ClaimKind.Stated or ClaimKind.Attributed) ? Confidence.Reported : Confidence.Claimed;
    }

    /// <summary>Strongest first: the order a combined state takes its confidence from.</summary>
    public static int Strength(Confidence c) => c switch
    {
        Confidence.Confirmed => 3,
        Confidence.Reported => 2,
        Confidence.Claimed => 1,
        _ => 0,
    };
}
