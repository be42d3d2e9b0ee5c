using System.Globalization;
using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Relationships;
using DealLedger.Sources;
using DealLedger.Time;

namespace DealLedger.Amounts;

/// <summary>
/// One investment an organization made, dated within the period asked (<paramref name="Within"/>: surely, or perhaps — its
/// date is imprecise, or only known to be by a date), with its amount as stated and in the other currencies.
/// </summary>
public sealed record InvestmentLine(string Fact, string Investee, string InvesteeName, DateWithPrecision Date, bool StartUnknown, TieStatus Within, Money? Amount,
    Money? ReportedEquivalent, Instrument Instrument, Confidence? Confidence, IReadOnlyList<ConvertedAmount> Converted, IReadOnlyList<SourceCitation> Sources, string Summary);

/// <summary>
/// What the investments add up to in one currency: <paramref name="Sure"/> over those surely in the period, <paramref name="Perhaps"/>
/// over those that may be; <paramref name="Undisclosed"/> investments without an amount and <paramref name="Unconverted"/> ones
/// without a rate are not counted, so the total is at least what it says.
/// </summary>
public sealed record InvestmentTotal(string Currency, decimal Sure, decimal Perhaps, int Counted, int Undisclosed, int Unconverted, string Explanation)
{
    /// <summary>Investments not counted because the total could not hold them (amounts near the largest a decimal holds).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int TooLarge { get; init; }
}

/// <summary>An organization's investments over a period, as known at an instant, and their totals in the ledger's currencies.</summary>
public sealed record InvestmentsAnswer(OrganizationProfile Investor, string? From, string? To, string KnownAt, IReadOnlyList<InvestmentLine> Investments, IReadOnlyList<InvestmentTotal> Totals)
{
    /// <summary>The merges of duplicate records this answer reads (as known at knownAt; null: none): the investor is the survivor.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<MergeNote>? Merges { get; init; }
}

/// <summary>`dealledger investments ORG --from --to` and GET /api/organizations/{id}/investments: what an organization invested over a period, totalled.</summary>
public static class InvestmentsQuery
{
    /// <param name="from">The period's first day (none: from the calendar's start).</param>
    /// <param name="to">The day after the period (none: no end).</param>
    public static Task<InvestmentsAnswer> InvestmentsAsync(this Ledger ledger, string investor, DateOnly? from, DateOnly? to, DateTimeOffset? knownAt, CancellationToken ct = default)
    {
        if (from is { } f && to is { } t && t <= f)
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, $"the period ends ({t:yyyy-MM-dd}) on or before the day it starts ({f:yyyy-MM-dd})") { Field = "to" };
        }
        return ledger.ReadAsync(knownAt, async (c, k, token) =>
        {
            var o = await OrganizationDirectory.RequireAsync(c, investor, token, k);
            // A merged record's investments are its survivor's, with those of every record merged into it.
            var merges = await OrganizationMerges.AsKnownAsync(c, k, token);
            var notes = merges.Behind(investor);
            var survivor = merges.Survivor(investor);
            if (survivor != investor)
            {
                investor = survivor;
                o = await OrganizationDirectory.RequireAsync(c, investor, token, k);
            }
            var records = merges.Members(investor);
            var facts = (await FactVersions.OfTypesAmongAsync(c, [FactType.Investment], records, k, token))
                .Where(x => !x.IsRetracted && records.Contains(((Investment)x.Current).Investor))
                .Select(x => (State: x, Within: Within(x.Current.Valid, from, to))).Where(x => x.Within is not null).ToList();
            var day = to?.AddDays(-1) ?? ledger.Today;
            var names = await DatedNames.OnAsync(c, facts.SelectMany(x => x.State.Current.Organizations).Append(investor), day, k, token);
            var sources = await ledger.Citations.SourcesAsync(c, facts.SelectMany(x => SourceCatalog.CitedBy(x.State)), token);
            var conversions = await Conversions.LoadAsync(c, ledger.Citations, ledger.Currencies,
                facts.Select(x => ((Investment)x.State.Current).Amount?.Currency).OfType<string>(), k, token);
            string Name(string id) => names.GetValueOrDefault(id, id);
            var lines = facts.OrderBy(x => x.State.Current.Valid.From.Start).ThenBy(x => x.State.Current.Id, StringComparer.Ordinal).Select(x =>
            {
                var i = (Investment)x.State.Current;
                return new InvestmentLine(i.Id, i.Investee, Name(i.Investee), DateWithPrecision.Of(i.Valid.From)!, i.Valid.OrEarlier, x.Within!.Value, i.Amount, i.ReportedEquivalent,
                    i.Instrument, ConfidenceRules.Of(i.Sources, id => sources.TryGetValue(id, out var s) ? s.Kind : SourceKind.ThirdParty),
                    i.Amount is { } amount ? conversions.Of(amount, i.Valid) : [],
                    SourceCatalog.CitedBy(x.State).Distinct().Select(id => SourceCitation.Of(id, sources)).ToList(), FactWords.Summary(i, Name));
            }).ToList();
            var profile = RelationshipsQuery.Profile(o);
            return new InvestmentsAnswer(profile with { Name = Name(investor) }, from is { } a ? ValidDate.OfDay(a).ToString() : null, to is { } b ? ValidDate.OfDay(b).ToString() : null,
                Instant.Format(k), lines, [.. ledger.Currencies.Select(currency => Total(currency, lines))]) { Merges = notes.Count == 0 ? null : notes };
        }, ct);
    }

    /// <summary>
    /// Whether an investment's date falls in [from, to): surely (every day it can mean does), perhaps (some do, or it is only
    /// known to be by its date and the period reaches back past it), or not (null).
    /// </summary>
    private static TieStatus? Within(ValidPeriod valid, DateOnly? from, DateOnly? to)
    {
        var first = valid.OrEarlier ? DateOnly.MinValue : valid.From.Start;
        var last = valid.From.LastDay;
        var start = from ?? DateOnly.MinValue;
        if (last < start || (to is { } end && first >= end))
        {
            return null;
        }
        return first >= start && (to is not { } e || last < e) ? TieStatus.InForce : TieStatus.Uncertain;
    }

    private static InvestmentTotal Total(string currency, IReadOnlyList<InvestmentLine> lines)
    {
        decimal sure = 0, perhaps = 0;
        int counted = 0, undisclosed = 0, unconverted = 0, tooLarge = 0;
        foreach (var line in lines)
        {
            var value = line.Amount is not { } amount ? null
                : amount.Currency == currency ? amount.Value
                : line.Converted.FirstOrDefault(x => x.Currency == currency)?.Value;
            if (line.Amount is null)
            {
                undisclosed++;
            }
            else if (value is null)
            {
                unconverted++;
            }
            else
            {
                try
                {
                    if (line.Within == TieStatus.InForce)
                    {
                        sure += value.Value;
                    }
                    else
                    {
                        perhaps += value.Value;
                    }
                    counted++;
                }
                catch (OverflowException)
                {
                    tooLarge++;
                }
            }
        }
        string Amount(decimal v) => new Money(v, currency).ToReadable();
        var words = new List<string> { $"At least {Amount(sure)} in the investments surely in the period" };
        if (perhaps > 0)
        {
            words.Add($"up to {Amount(perhaps)} more in those that may fall in it");
        }
        if (undisclosed > 0)
        {
            words.Add($"{undisclosed.ToString(CultureInfo.InvariantCulture)} with an undisclosed amount not counted");
        }
        if (unconverted > 0)
        {
            words.Add($"{unconverted.ToString(CultureInfo.InvariantCulture)} without a rate into {currency} not counted");
        }
        if (tooLarge > 0)
        {
            words.Add($"{tooLarge.ToString(CultureInfo.InvariantCulture)} too large to add up not counted");
        }
        return new InvestmentTotal(currency, sure, perhaps, counted, undisclosed, unconverted, string.Join("; ", words) + ".") { TooLarge = tooLarge };
    }
}
