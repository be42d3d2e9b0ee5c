using DealLedger.Amounts;
using DealLedger.Auditing;
using DealLedger.Relationships;

namespace DealLedger.Tests;

/// <summary>Issue 19, item 4: exchange rates as sourced facts; amounts converted beside the original, by the rate of their date, or said not to be; totals over a period.</summary>
public sealed class AmountTests
{
    private const string Rates = """
        sources:
          - { id: ecb, title: ECB reference rates, kind: official-register }
          - { id: ecb-monthly, title: ECB monthly averages, kind: official-register }
          - { id: fed, title: Federal Reserve H.10, kind: official-register }
        deals:
          - id: rates-2024
            title: Reference rates, 2024
            facts:
              - { id: eur-usd-0226, type: exchange-rate, base: EUR, quote: USD, rate: 1.0852, valid: { from: 2024-02-26, to: 2024-02-27 }, sources: [ { source: ecb, claim: stated } ] }
              - { id: usd-eur-march, type: exchange-rate, base: USD, quote: EUR, rate: 0.92, valid: { from: 2024-03-01, to: 2024-04-01 }, sources: [ { source: ecb-monthly, claim: stated } ] }
              - { id: eur-usd-june, type: exchange-rate, base: EUR, quote: USD, rate: 1.07, valid: { from: 2024-06-01, to: 2024-07-01 }, sources: [ { source: ecb-monthly, claim: stated } ] }
        """;

    // Acme's investments: in euros on a day, in dollars in a month, undisclosed, in pounds (no rate), one before the period,
    // and one only known to have happened by June 2024.
    private const string Investments = """
        deals:
          - id: d1
            parties: [acme, globex, initech]
            facts:
              - { id: inv-eur, type: investment, investor: acme, investee: globex, amount: { value: 15000000, currency: EUR }, valid: { from: 2024-02-26 }, sources: [ { source: press, claim: stated } ] }
              - { id: inv-usd, type: investment, investor: acme, investee: initech, amount: { value: 2000000, currency: USD }, valid: { from: 2024-03 }, sources: [ { source: press, claim: stated } ] }
              - { id: inv-secret, type: investment, investor: acme, investee: globex, valid: { from: 2024-05-01 }, sources: [ { source: press, claim: stated } ] }
              - { id: inv-gbp, type: investment, investor: acme, investee: initech, amount: { value: 1000000, currency: GBP }, valid: { from: 2024-04-10 }, sources: [ { source: press, claim: stated } ] }
              - { id: inv-old, type: investment, investor: acme, investee: initech, amount: { value: 5000000, currency: EUR }, valid: { from: 2023-12 }, sources: [ { source: press, claim: stated } ] }
              - { id: inv-by, type: investment, investor: acme, investee: globex, amount: { value: 3000000, currency: EUR }, valid: { by: 2024-06 }, sources: [ { source: wire, claim: stated } ] }
        """;

    private static readonly DateOnly From = new(2024, 1, 1);
    private static readonly DateOnly To = new(2025, 1, 1);

    [Fact]
    public async Task investments_are_converted_by_the_rate_of_their_date_beside_the_original_and_totalled_saying_what_is_not_counted()
    {
        await using var s = await Scenario.StartAsync();
        var invested = await s.ImportAsync(Investments);
        var rated = await s.ImportAsync(Rates);

        var answer = await s.Ledger.InvestmentsAsync("acme", From, To, null);
        Assert.Equal(["inv-eur", "inv-usd", "inv-gbp", "inv-secret", "inv-by"], answer.Investments.Select(i => i.Fact));
        var eur = answer.Investments.Single(i => i.Fact == "inv-eur");
        Assert.Equal(15000000m, eur.Amount!.Value);
        var usd = Assert.Single(eur.Converted);
        Assert.Equal(("USD", 16278000.00m, "EUR/USD", 1.0852m, "eur-usd-0226"), (usd.Currency, usd.Value, usd.RatePair, usd.Rate, usd.RateFact));
        Assert.Equal("15,000,000 EUR ≈ 16,278,000 USD at EUR/USD 1.0852 from 2024-02-26 (ECB reference rates).", usd.Explanation);
        Assert.Equal(["ecb"], usd.Sources.Select(x => x.Id));
        // A month's date by the month's rate, recorded the other way round: inverted.
        var march = Assert.Single(answer.Investments.Single(i => i.Fact == "inv-usd").Converted);
        Assert.Equal(("EUR", 1840000.00m, "USD/EUR"), (march.Currency, march.Value, march.RatePair));
        // No rate: no value, and why.
        var gbp = answer.Investments.Single(i => i.Fact == "inv-gbp").Converted;
        Assert.All(gbp, x => Assert.Null(x.Value));
        Assert.Equal("Not converted: no GBP/EUR rate is recorded in force on 2024-04-10.", gbp.Single(x => x.Currency == "EUR").Explanation);
        Assert.Equal(TieStatus.Uncertain, answer.Investments.Single(i => i.Fact == "inv-by").Within);

        var totalEur = answer.Totals.Single(t => t.Currency == "EUR");
        Assert.Equal((16840000m, 3000000m, 3, 1, 1), (totalEur.Sure, totalEur.Perhaps, totalEur.Counted, totalEur.Undisclosed, totalEur.Unconverted));
        Assert.Equal("At least 16,840,000 EUR in the investments surely in the period; up to 3,000,000 EUR more in those that may fall in it; " +
            "1 with an undisclosed amount not counted; 1 without a rate into EUR not counted.", totalEur.Explanation);
        var totalUsd = answer.Totals.Single(t => t.Currency == "USD");
        Assert.Equal((18278000m, 3210000m), (totalUsd.Sure, totalUsd.Perhaps));

        // Relationships give the converted amount beside the stated one too.
        var tie = (await s.Ledger.RelationshipsAsync("acme", new DateOnly(2024, 6, 1))).Relationships.Single(r => r.Fact == "inv-eur");
        Assert.Equal(16278000.00m, Assert.Single(tie.Converted!).Value);
        Assert.Null((await s.Ledger.RelationshipsAsync("globex", new DateOnly(2024, 6, 1))).Relationships.Single(r => r.Fact == "inv-secret").Converted);

        // As known before the rates were recorded: nothing converted, nothing guessed.
        var before = await s.Ledger.InvestmentsAsync("acme", From, To, rated.RecordedAt!.Value.AddTicks(-10));
        Assert.All(before.Investments.SelectMany(i => i.Converted), x => Assert.Null(x.Value));
        Assert.Equal(15000000m, before.Totals.Single(t => t.Currency == "EUR").Sure);
        Assert.Empty((await s.Ledger.InvestmentsAsync("acme", From, To, invested.RecordedAt!.Value.AddTicks(-10))).Investments);

        // A corrected rate is followed from its recorded time on; a retracted one converts nothing.
        var corrected = await s.ImportAsync("corrections:\n  - { fact: eur-usd-0226, set: { rate: 1.09 }, reason: misread, sources: [ { source: ecb, claim: stated } ] }\n");
        Assert.Equal(16350000.00m, (await s.Ledger.InvestmentsAsync("acme", From, To, null)).Investments.Single(i => i.Fact == "inv-eur").Converted.Single().Value);
        Assert.Equal(16278000.00m, (await s.Ledger.InvestmentsAsync("acme", From, To, corrected.RecordedAt!.Value.AddTicks(-10))).Investments.Single(i => i.Fact == "inv-eur").Converted.Single().Value);
        await s.ImportAsync("retractions:\n  - { fact: eur-usd-0226, reason: wrong day, sources: [ { source: ecb, claim: stated } ] }\n");
        Assert.Null((await s.Ledger.InvestmentsAsync("acme", From, To, null)).Investments.Single(i => i.Fact == "inv-eur").Converted.Single().Value);

        Assert.True((await s.Ledger.ReplayAsync(null)).Agrees);
    }

    [Theory]
    [InlineData("rate: 1.0852", "rate: 0", "a rate must be more than 0")]
    [InlineData("rate: 1.0852", "rate: -1.2", "a rate must be more than 0")]
    [InlineData("quote: USD, rate: 1.0852", "quote: EUR, rate: 1.0852", "not EUR into itself")]
    [InlineData("base: EUR, quote: USD, rate: 1.0852", "base: EUX, quote: USD, rate: 1.0852", "'EUX' is not an ISO 4217 currency code")]
    public async Task a_bad_rate_is_refused_precisely_and_nothing_is_stored(string field, string bad, string message)
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Investments);
        var e = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(Rates.Replace(field, bad, StringComparison.Ordinal)));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.All((await s.Ledger.InvestmentsAsync("acme", From, To, null)).Investments.SelectMany(i => i.Converted), x => Assert.Null(x.Value));
    }

    [Fact]
    public async Task one_source_cannot_give_two_rates_for_overlapping_days_but_two_sources_may_disagree()
    {
        await using var s = await Scenario.StartAsync();
        await s.ImportAsync(Rates);
        const string other = "deals:\n  - id: rates-again\n    facts:\n      - { id: eur-usd-again, type: exchange-rate, base: EUR, quote: USD, rate: 1.2, valid: { from: 2024-02-26, to: 2024-03-01 }, sources: [ { source: SOURCE, claim: stated } ] }\n";
        var e = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(other.Replace("SOURCE", "ecb", StringComparison.Ordinal)));
        Assert.Contains("rate 'eur-usd-again' (EUR/USD 1.2) contradicts rate 'eur-usd-0226' (1.0852) from the same source 'ecb' over an overlapping period", e.Message, StringComparison.Ordinal);
        // In one document too, and by a correction.
        var twice = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(other.Replace("SOURCE", "fed", StringComparison.Ordinal)
            + "      - { id: eur-usd-third, type: exchange-rate, base: EUR, quote: USD, rate: 1.3, valid: { from: 2024-02-26 }, sources: [ { source: fed, claim: stated } ] }\n"));
        Assert.Contains("contradicts rate 'eur-usd-again'", twice.Message, StringComparison.Ordinal);
        await s.ImportAsync(other.Replace("SOURCE", "fed", StringComparison.Ordinal));
        await s.ImportAsync("deals:\n  - id: rates-april\n    facts:\n      - { id: eur-usd-april, type: exchange-rate, base: EUR, quote: USD, rate: 1.25, valid: { from: 2024-04-01, to: 2024-04-02 }, sources: [ { source: fed, claim: stated } ] }\n");
        var corrected = await Assert.ThrowsAsync<LedgerException>(() => s.ImportAsync(
            "corrections:\n  - { fact: eur-usd-april, set: { valid: { from: 2024-02-26, to: 2024-02-27 } }, reason: r, sources: [ { source: fed, claim: stated } ] }\n"));
        Assert.Contains("rate 'eur-usd-april' (EUR/USD 1.25) contradicts rate 'eur-usd-again' (1.2)", corrected.Message, StringComparison.Ordinal);
        // A later start is the next rate of a series, not a contradiction; nor is the same rate again.
        await s.ImportAsync("deals:\n  - id: rates-next\n    facts:\n      - { id: eur-usd-0227, type: exchange-rate, base: EUR, quote: USD, rate: 1.0830, valid: { from: 2024-02-27 }, sources: [ { source: ecb, claim: stated } ] }\n");
        // The same rate again from the same source is no contradiction.
        await s.ImportAsync("deals:\n  - id: rates-same\n    facts:\n      - { id: eur-usd-same, type: exchange-rate, base: EUR, quote: USD, rate: 1.0852, valid: { from: 2024-02-26 }, sources: [ { source: ecb, claim: stated } ] }\n");
    }

    [Fact]
    public async Task a_period_that_ends_before_it_starts_and_a_bad_currency_setting_are_refused()
    {
        await using var s = await Scenario.StartAsync();
        var e = await Assert.ThrowsAsync<LedgerException>(() => s.Ledger.InvestmentsAsync("acme", To, From, null));
        Assert.Equal(("to", "the period ends (2024-01-01) on or before the day it starts (2025-01-01)"), (e.Field, e.Message));
        Assert.Equal(LedgerErrorKind.NotFound, (await Assert.ThrowsAsync<LedgerException>(() => s.Ledger.InvestmentsAsync("nobody", From, To, null))).Kind);
        Assert.Contains("'EURO' is not an ISO 4217 currency code", Assert.Throws<LedgerException>(() => Ledger.CheckCurrencies(["EUR", "EURO"])).Message, StringComparison.Ordinal);
        Assert.Equal(["GBP", "EUR"], Ledger.CheckCurrencies([" GBP", "EUR", "GBP"]));
    }
}
