using DealLedger.Time;

namespace DealLedger.Relationships;

/// <summary>
/// Which part of a list answer to give: at most <paramref name="Limit"/> items after the first
/// <paramref name="After"/>. Lists an organization can make as long as the ledger is large (its ties,
/// its owners, a neighbourhood) are answered a page at a time, so no request builds an unbounded answer.
/// </summary>
public sealed record PageRequest(int Limit, long After = 0)
{
    /// <summary>The page as a query gives it: limit (default <paramref name="fallback"/>, 1–<paramref name="max"/>) and after (default 0).</summary>
    public static PageRequest Parse(string? limit, string? after, int fallback, int max, string limitName = "limit", string afterName = "after")
    {
        var page = QueryArguments.Page(QueryArguments.Count(after, afterName, 0L), QueryArguments.Count(limit, limitName, fallback), max, afterName, limitName);
        return new PageRequest(page.Limit, page.After);
    }
}

/// <summary>
/// Where a page lies in its whole list: <paramref name="Total"/> items in all; <paramref name="Next"/>
/// is the <c>after</c> of the next page, or null on the last. Pages of one answer agree with each other
/// only as known at one instant: ask the next page with the answer's own knownAt.
/// </summary>
public sealed record ListPage(int Limit, long After, long Total, long? Next)
{
    /// <summary>The page of <paramref name="items"/> that <paramref name="request"/> asks for, and where it lies.</summary>
    public static (List<T> Items, ListPage Page) Of<T>(IReadOnlyList<T> items, PageRequest request)
    {
        var slice = items.Skip((int)Math.Min(request.After, items.Count)).Take(request.Limit).ToList();
        var end = request.After + slice.Count;
        return (slice, new ListPage(request.Limit, request.After, items.Count, end < items.Count ? end : null));
    }
}
