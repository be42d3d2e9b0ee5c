using System.Runtime.ExceptionServices;
using DealLedger.Deals;
using DealLedger.Storage;
using DealLedger.Writing;

namespace DealLedger.Importing;

/// <summary>
/// The set-based side of <see cref="Import.ImportAsync(Ledger, IReadOnlyList{ValueTuple{string, string}}, CancellationToken, WriteRequest?)"/>:
/// the documents are read in parallel; what the ledger already holds about the entries they name is
/// loaded in a few queries; the decisions then run in memory (the same decisions as an entry-by-entry
/// write), and the events and projection rows are written with binary COPY (<see cref="EventCopy"/>,
/// <see cref="ProjectionFold"/>): one write, all or nothing, without a round trip per entry.
/// </summary>
internal static class BulkImport
{
    /// <summary>A write of at least this many events refreshes the planner's statistics of the projection tables without any yet or grown by half since (<see cref="Projections.AnalyzeAsync"/>).</summary>
    public const int AnalyzeAfter = 10_000;

    /// <summary>Reads every document, in parallel; a bad document fails the import with its own error, the first in document order.</summary>
    public static List<LedgerDocument> ReadAll(IReadOnlyList<(string Name, string Text)> documents)
    {
        var parsed = new LedgerDocument?[documents.Count];
        var errors = new Exception?[documents.Count];
        Parallel.For(0, documents.Count, i =>
        {
            try
            {
                parsed[i] = LedgerDocument.Read(DocumentNode.Parse(documents[i].Name, documents[i].Text));
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } first)
        {
            ExceptionDispatchInfo.Capture(first).Throw();
        }
        return parsed.Select(d => d!).ToList();
    }

    /// <summary>Everything the documents name, loaded into the write in a few queries (what it holds already is not loaded again).</summary>
    public static async Task LoadAsync(LedgerTransaction t, IReadOnlyList<LedgerDocument> docs, CancellationToken ct)
    {
        var facts = docs.SelectMany(d => d.Facts.Select(f => f.Value)).ToList();
        var claims = facts.SelectMany(f => f.Sources)
            .Concat(docs.SelectMany(d => d.Claims.Select(x => x.Value.Claim)))
            .Concat(docs.SelectMany(d => d.Corrections.SelectMany(x => x.Value.Sources)))
            .Concat(docs.SelectMany(d => d.Retractions.SelectMany(x => x.Value.Sources)))
            .Concat(docs.SelectMany(d => d.Endings.SelectMany(x => x.Value.Sources)));
        await t.LoadAsync(
            organizations: docs.SelectMany(d => d.Organizations.Select(o => o.Value.Id).Concat(d.Deals.SelectMany(x => x.Value.Parties))
                    .Concat(d.Merges.SelectMany(m => new[] { m.Value.Duplicate, m.Value.Into })).Concat(d.Unmerges.Select(u => u.Value.Duplicate)))
                .Concat(facts.SelectMany(f => f.Organizations)),
            sources: docs.SelectMany(d => d.Sources.Select(s => s.Value.Id)).Concat(claims.Select(x => x.Source)),
            deals: docs.SelectMany(d => d.Deals.Select(x => x.Value.Id)),
            facts: docs.SelectMany(d => d.NamedFacts),
            pairs: facts.OfType<Stake>().Select(f => (f.Holder, f.Subject)),
            ct);
        // What was merged and undone before of the records merged or unmerged here (only when some are).
        await t.LoadMergeHistoryAsync(docs.SelectMany(d => d.Merges.Select(m => m.Value.Duplicate).Concat(d.Unmerges.Select(u => u.Value.Duplicate))), ct);
        // The rates of each currency pair a rate recorded, corrected or given another source here is of (those named are loaded by now).
        await t.LoadRatesAsync(facts.OfType<ExchangeRate>().Select(r => r.Pair)
            .Concat(docs.SelectMany(d => d.Corrections.Select(c => c.Value.Fact).Concat(d.Claims.Select(c => c.Value.Fact)))
                .Select(id => t.Loaded(id)?.Current).OfType<ExchangeRate>().Select(r => r.Pair)), ct);
    }
}
