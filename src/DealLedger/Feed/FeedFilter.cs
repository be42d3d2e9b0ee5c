using DealLedger.Deals;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Feed;

/// <summary>
/// What a follower of the change feed asks for (DESIGN §12): the writes that changed an organization's ties, one pair's
/// (holder → subject, a directed tie), or facts of one kind — all that are given, together. A holding change counts as
/// a change of kind stake.
/// </summary>
public sealed record FeedFilter(string? Organization, string? Holder, string? Subject, FactType? Kind)
{
    public bool IsEmpty => Organization is null && Holder is null && Kind is null;

    /// <summary>The filter as a query gives it: org, pair (HOLDER:SUBJECT) and kind (a fact kind as documents spell it).</summary>
    public static FeedFilter Parse(string? org, string? pair, string? kind, string orgName = "org", string pairName = "pair", string kindName = "kind")
    {
        var (holder, subject) = (default(string), default(string));
        if (pair is not null)
        {
            var parts = pair.Split(':');
            if (parts.Length != 2)
            {
                throw new LedgerException(LedgerErrorKind.InvalidInput, $"{pairName} '{QueryArguments.Shown(pair)}' is not a pair: use HOLDER:SUBJECT (e.g. microsoft:mistral-ai)") { Field = pairName };
            }
            (holder, subject) = (QueryArguments.Id(parts[0], pairName), QueryArguments.Id(parts[1], pairName));
        }
        FactType? type = kind is null ? null
            : Enum.GetValues<FactType>().Where(t => LedgerJson.Word(t) == kind).Select(t => (FactType?)t).FirstOrDefault()
                ?? throw new LedgerException(LedgerErrorKind.InvalidInput,
                    $"{kindName} '{QueryArguments.Shown(kind)}' is not a kind of fact (known: {string.Join(", ", Enum.GetValues<FactType>().Select(k => LedgerJson.Word(k)))})") { Field = kindName };
        return new FeedFilter(QueryArguments.Id(org, orgName), holder, subject, type);
    }

    /// <summary>Whether a holding change of this pair is one the filter names.</summary>
    internal bool Names(string holder, string subject) =>
        (Organization is null || holder == Organization || subject == Organization)
        && (Holder is null || (holder == Holder && subject == Subject))
        && Kind is null or FactType.Stake;
}
