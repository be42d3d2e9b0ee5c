using System.Globalization;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Amounts;

/// <summary>
/// An amount in another currency, beside the original and never instead of it: the value by the rate of the amount's date,
/// which rate (as recorded: its pair, value, valid date and fact) and who gives it — or, when no rate is recorded in force
/// then, no value and the reason.
/// </summary>
public sealed record ConvertedAmount(string Currency, decimal? Value, string? RatePair, decimal? Rate, DateWithPrecision? RateFrom, string? RateFact, string Explanation,
    IReadOnlyList<SourceCitation> Sources);

/// <summary>
/// Converts amounts by the exchange rates recorded (<see cref="ExchangeRate"/> facts) as known at an instant. An amount of a
/// date is converted by a rate surely in force over the whole date (a month's date by a rate of that whole month), else by
/// the rate in force on the date's first day, saying so; a rate of the pair's other direction converts by its inverse. The
/// rate recorded directly, then the latest to start, is chosen. No rate in force: no value, never a guess.
/// </summary>
internal sealed class Conversions
{
    private readonly ILookup<string, FactState> rates;
    private readonly IReadOnlyDictionary<string, SourceRegistered> sources;

    public IReadOnlyList<string> Currencies { get; }

    private Conversions(IReadOnlyList<string> currencies, ILookup<string, FactState> rates, IReadOnlyDictionary<string, SourceRegistered> sources)
    {
        Currencies = currencies;
        this.rates = rates;
        this.sources = sources;
    }

    /// <summary>The rates (as known at k) that converting amounts in <paramref name="from"/> into <paramref name="currencies"/> reads, with their sources: one statement by the index of rates by pair.</summary>
    public static async Task<Conversions> LoadAsync(NpgsqlConnection c, Citations citations, IReadOnlyList<string> currencies, IEnumerable<string> from, DateTimeOffset k,
        CancellationToken ct)
    {
        var pairs = from.Distinct().SelectMany(a => currencies.Where(t => t != a).SelectMany(t => new[] { ExchangeRate.Key(a, t), ExchangeRate.Key(t, a) })).Distinct().ToArray();
        if (pairs.Length == 0)
        {
            return new Conversions(currencies, Array.Empty<FactState>().ToLookup(f => ""), new Dictionary<string, SourceRegistered>());
        }
        var found = (await Sql.ListAsync(c,
                $"select state::text from {ProjectionTables.Of("fact_versions")} where holder is null and subject = any($1) and type = $2 and recorded @> $3::timestamptz",
                r => FactVersions.Read(r.GetString(0)), ct, pairs, LedgerJson.Word(FactType.ExchangeRate), k))
            .Where(f => !f.IsRetracted).ToList();
        var cited = await citations.SourcesAsync(c, found.SelectMany(SourceCatalog.CitedBy), ct);
        return new Conversions(currencies, found.ToLookup(f => ((ExchangeRate)f.Current).Pair, StringComparer.Ordinal), cited);
    }

    /// <summary>The amount in each currency of these conversions but its own, by the rate of its date (<paramref name="valid"/>'s start).</summary>
    public IReadOnlyList<ConvertedAmount> Of(Money amount, ValidPeriod valid) =>
        [.. Currencies.Where(t => t != amount.Currency).Select(t => Convert(amount, valid.From, valid.OrEarlier, t))];

    private ConvertedAmount Convert(Money amount, ValidDate date, bool orEarlier, string target)
    {
        var pair = rates[ExchangeRate.Key(amount.Currency, target)].Select(f => (Fact: f, Inverse: false))
            .Concat(rates[ExchangeRate.Key(target, amount.Currency)].Select(f => (Fact: f, Inverse: true))).ToList();
        // A rate is the rate of the whole date when it is in force to its last day and no later rate of the pair (the next of
        // a series) starts within it.
        bool Superseded(FactState f) => pair.Any(o => o.Fact.Id != f.Id && o.Fact.Current.Valid.From.Start > f.Current.Valid.From.Start
            && o.Fact.Current.Valid.From.Start <= date.LastDay);
        var candidates = pair
            .Where(x => RelationshipsQuery.StatusAt(x.Fact, date.Start) == TieStatus.InForce)
            .Select(x => (x.Fact, x.Inverse, Whole: RelationshipsQuery.StatusAt(x.Fact, date.LastDay) == TieStatus.InForce && !Superseded(x.Fact)))
            .OrderByDescending(x => x.Whole).ThenBy(x => x.Inverse).ThenByDescending(x => x.Fact.Current.Valid.From.Start).ThenBy(x => x.Fact.Id, StringComparer.Ordinal)
            .ToList();
        if (candidates.Count == 0)
        {
            return new ConvertedAmount(target, null, null, null, null, null,
                $"Not converted: no {amount.Currency}/{target} rate is recorded in force on {(date.Precision == DatePrecision.Day ? date.ToString() : $"{date.Start:yyyy-MM-dd}, the first day of {date}")}.", []);
        }
        var (fact, inverse, whole) = candidates[0];
        var rate = (ExchangeRate)fact.Current;
        var cited = SourceCatalog.CitedBy(fact).Distinct().Select(id => SourceCitation.Of(id, sources)).ToList();
        var by = $"{rate.Pair} {rate.Rate.ToString(CultureInfo.InvariantCulture)} from {rate.Valid.From}" + (inverse ? ", inverted" : "");
        decimal value;
        try
        {
            value = Math.Round(inverse ? amount.Value / rate.Rate : amount.Value * rate.Rate, 2, MidpointRounding.AwayFromZero);
        }
        catch (OverflowException)
        {
            // An amount and a rate each within what a decimal holds can multiply past it: no value, never a crash.
            return new ConvertedAmount(target, null, rate.Pair, rate.Rate, DateWithPrecision.Of(rate.Valid.From), fact.Id,
                $"Not converted: {amount.ToReadable()} at {by} is too large an amount for the ledger to give in {target}.", cited);
        }
        var when = (whole || date.Precision == DatePrecision.Day ? "" : $"; the date is known only to the {LedgerJson.Word(date.Precision)}: the rate of its first day")
            + (orEarlier ? $"; the date is only known to be {date} or earlier: the rate of {date}" : "");
        return new ConvertedAmount(target, value, rate.Pair, rate.Rate, DateWithPrecision.Of(rate.Valid.From), fact.Id,
            $"{amount.ToReadable()} ≈ {new Money(value, target).ToReadable()} at {by} ({string.Join(", ", cited.Select(s => s.Title))}){when}.", cited);
    }
}
