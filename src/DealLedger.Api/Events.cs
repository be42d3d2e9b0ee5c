using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using DealLedger.Access;
using DealLedger.Auditing;
using DealLedger.Deals;
using DealLedger.Feed;
using DealLedger.Storage;
using DealLedger.Time;
using Microsoft.AspNetCore.Mvc;

namespace DealLedger.Api;

/// <summary>The log as it is: raw events, single facts (with their ETag), and the change feed for followers (DESIGN §7).</summary>
public static class Events
{
    public static void Map(RouteGroupBuilder api)
    {
        var reader = api.MapGroup("").RequireAuthorization(nameof(Role.Reader));
        reader.MapGet("/events", (Ledger ledger, string? after, string? limit, string? stream, string? type, string? from, string? to, string? writer, CancellationToken ct) =>
            {
                var page = Page(after, limit, EventLog.MaxLimit);
                return ledger.EventsAsync(new EventFilter(page.After, page.Limit, stream, type,
                    QueryArguments.KnownAt(from, "from"), QueryArguments.KnownAt(to, "to"), writer), ct);
            })
            .WithTags("Events").WithSummary("The raw event log in sequence order; filters: stream, type, recorded time (from inclusive, to exclusive), writer");
        reader.MapGet("/facts/{fact}", async (Ledger ledger, string fact, HttpContext http, CancellationToken ct) =>
            {
                var state = await ledger.FactAsync(fact, ct);
                http.Response.Headers.ETag = Writing.ETagOf(state.Version);
                return state;
            })
            .WithTags("Events").WithSummary("A fact as the ledger holds it now, with what touched it; its ETag is its version (send it as If-Match when amending)");

        var feed = reader.MapGroup("/feed").WithTags("Feed");
        feed.MapGet("", (Ledger ledger, string? after, string? limit, string? org, string? pair, string? kind, CancellationToken ct) =>
            {
                var page = Page(after, limit, ChangeFeed.MaxLimit);
                return ledger.FeedAsync(page.After, page.Limit, FeedFilter.Parse(org, pair, kind), ct);
            })
            .WithSummary("A page of the change feed after a checkpoint: events up to the high-water mark, each with the projection changes it made. " +
                "org, pair (HOLDER:SUBJECT) and kind (a fact kind) keep only the writes that changed what they name; next is then the sequence looked up to, the after of the next page");
        feed.MapGet("/stream", (Ledger ledger, LogSignal signal, HttpResponse response, string? after, string? org, string? pair, string? kind,
                [FromHeader(Name = "Last-Event-ID")] string? lastEventId, CancellationToken ct) =>
                TypedResults.ServerSentEvents(StreamAsync(ledger, signal, response, QueryArguments.Count(lastEventId, "Last-Event-ID", QueryArguments.Count(after, "after", 0L)),
                    FeedFilter.Parse(org, pair, kind), ct)))
            .WithSummary("The change feed as Server-Sent Events: id is the global sequence; reconnect with Last-Event-ID to resume. With org, pair or kind, a checkpoint event " +
                "(its id the sequence looked up to) follows a stretch of the log that named nothing, so a reconnection resumes past it");
    }

    private static async IAsyncEnumerable<SseItem<string>> StreamAsync(Ledger ledger, LogSignal signal, HttpResponse response, long after, FeedFilter filter,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var started = false;
        LedgerTelemetry.FeedFollowers.Add(1);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var wake = signal.NextAsync();
                var page = await ledger.FeedAsync(after, ChangeFeed.MaxLimit, filter, ct);
                LedgerTelemetry.FeedFollowerLag.Record(Math.Max(0, page.HighWaterMark - after));
                foreach (var m in page.Messages)
                {
                    yield return new SseItem<string>(LedgerJson.Serialize(m), "change") { EventId = m.Sequence.ToString(CultureInfo.InvariantCulture) };
                }
                if (page.Next > (page.Messages.Count > 0 ? page.Messages[^1].Sequence : after))
                {
                    // A filtered feed looked past its last message: say so, or a reconnection would look again from there.
                    yield return new SseItem<string>(LedgerJson.Serialize(new { lookedUpTo = page.Next }), "checkpoint") { EventId = page.Next.ToString(CultureInfo.InvariantCulture) };
                }
                var full = filter.IsEmpty ? page.Messages.Count == ChangeFeed.MaxLimit : page.Next < page.HighWaterMark;
                after = page.Next;
                if (full)
                {
                    continue;
                }
                if (!started)
                {
                    // Send the headers now, not with the first change: a follower (a browser's
                    // EventSource among them) then knows it is connected while the log is idle.
                    await response.Body.FlushAsync(ct);
                    started = true;
                }
                // Caught up: wait for the next commit (or the signal's timer).
                await signal.WaitAsync(wake, ct);
            }
        }
        finally
        {
            LedgerTelemetry.FeedFollowers.Add(-1);
        }
    }

    /// <summary>The paging arguments as the query string gives them.</summary>
    private static (long After, int Limit) Page(string? after, string? limit, int maxLimit) =>
        QueryArguments.Page(QueryArguments.Count(after, "after", 0L), QueryArguments.Count(limit, "limit", 100L), maxLimit);
}
