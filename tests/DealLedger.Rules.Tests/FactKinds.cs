using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Storage;

namespace DealLedger.Rules.Tests;

/// <summary>
/// Each kind of fact is a type of its own, with only the fields its kind has; the ledger writes every kind in the one JSON
/// shape it has always written (in events, fact states and answers), so logs, fingerprints and seals made before read and
/// hash alike. The expected text below is what the single record of nullable fields wrote for the same entries.
/// </summary>
public sealed class FactKinds
{
    private static readonly EventRef At = new(Guid.Empty, 1, "fact_recorded", DateTimeOffset.UnixEpoch);

    [Theory]
    [InlineData(typeof(Stake),
        """{ "id": "s1", "type": "stake", "holder": "a", "subject": "b", "share": { "min": 0, "max": 50 }, "valid": { "from": "2024-02" }, "sources": [ { "source": "ft", "claim": "stated" } ] }""",
        """{"id":"s1","deal":"d1","type":"stake","valid":{"from":"2024-02","to":null,"orEarlier":false},"sources":[{"source":"ft","kind":"stated","attributedTo":null,"note":null}],"holder":"a","subject":"b","share":{"exact":null,"min":0,"minInclusive":true,"max":50,"maxInclusive":true,"wording":null},"role":null,"investor":null,"investee":null,"amount":null,"reportedEquivalent":null,"instrument":null,"acquirer":null,"target":null,"parties":null,"scope":null,"title":null,"direction":{},"organizations":["a","b"]}""",
        """{"current":{"id":"s1","deal":"d1","type":"stake","valid":{"from":"2024-02","orEarlier":false},"sources":[{"source":"ft","kind":"stated"}],"holder":"a","subject":"b","share":{"min":0,"minInclusive":true,"max":50,"maxInclusive":true},"direction":{},"organizations":["a","b"]},"basis":[{"eventId":"00000000-0000-0000-0000-000000000000","sequence":1,"type":"fact_recorded","recordedAt":"1970-01-01T00:00:00Z"}],"corrections":[],"amendments":{}}""")]
    // A kind added since (a stated indirect stake): the same shape, its fields where a stake's are.
    [InlineData(typeof(IndirectStake),
        """{ "id": "x1", "type": "indirect-stake", "holder": "a", "subject": "b", "share": { "exact": 30 }, "valid": { "from": "2017-11-01" }, "sources": [ { "source": "ft", "claim": "stated" } ] }""",
        """{"id":"x1","deal":"d1","type":"indirect-stake","valid":{"from":"2017-11-01","to":null,"orEarlier":false},"sources":[{"source":"ft","kind":"stated","attributedTo":null,"note":null}],"holder":"a","subject":"b","share":{"exact":30,"min":null,"minInclusive":true,"max":null,"maxInclusive":true,"wording":null},"role":null,"investor":null,"investee":null,"amount":null,"reportedEquivalent":null,"instrument":null,"acquirer":null,"target":null,"parties":null,"scope":null,"title":null,"direction":{},"organizations":["a","b"]}""",
        """{"current":{"id":"x1","deal":"d1","type":"indirect-stake","valid":{"from":"2017-11-01","orEarlier":false},"sources":[{"source":"ft","kind":"stated"}],"holder":"a","subject":"b","share":{"exact":30,"minInclusive":true,"maxInclusive":true},"direction":{},"organizations":["a","b"]},"basis":[{"eventId":"00000000-0000-0000-0000-000000000000","sequence":1,"type":"fact_recorded","recordedAt":"1970-01-01T00:00:00Z"}],"corrections":[],"amendments":{}}""")]
    [InlineData(typeof(Investment),
        """{ "id": "i1", "type": "investment", "investor": "a", "investee": "b", "amount": { "value": 100, "currency": "EUR" }, "reportedEquivalent": { "value": 110, "currency": "USD" }, "instrument": "convertible-note", "scope": "series B", "valid": { "from": "2024" }, "sources": [ { "source": "ft", "claim": "attributed", "attributedTo": "Reuters" } ] }""",
        """{"id":"i1","deal":"d1","type":"investment","valid":{"from":"2024","to":null,"orEarlier":false},"sources":[{"source":"ft","kind":"attributed","attributedTo":"Reuters","note":null}],"holder":null,"subject":null,"share":null,"role":null,"investor":"a","investee":"b","amount":{"value":100,"currency":"EUR"},"reportedEquivalent":{"value":110,"currency":"USD"},"instrument":"convertible-note","acquirer":null,"target":null,"parties":null,"scope":"series B","title":null,"direction":{},"organizations":["a","b"]}""",
        """{"current":{"id":"i1","deal":"d1","type":"investment","valid":{"from":"2024","orEarlier":false},"sources":[{"source":"ft","kind":"attributed","attributedTo":"Reuters"}],"investor":"a","investee":"b","amount":{"value":100,"currency":"EUR"},"reportedEquivalent":{"value":110,"currency":"USD"},"instrument":"convertible-note","scope":"series B","direction":{},"organizations":["a","b"]},"basis":[{"eventId":"00000000-0000-0000-0000-000000000000","sequence":1,"type":"fact_recorded","recordedAt":"1970-01-01T00:00:00Z"}],"corrections":[],"amendments":{}}""")]
    [InlineData(typeof(Partnership),
        """{ "id": "p1", "type": "partnership", "parties": ["a", "b", "c"], "scope": "cloud", "valid": { "from": "2023" }, "sources": [ { "source": "ft", "claim": "stated" } ] }""",
        """{"id":"p1","deal":"d1","type":"partnership","valid":{"from":"2023","to":null,"orEarlier":false},"sources":[{"source":"ft","kind":"stated","attributedTo":null,"note":null}],"holder":null,"subject":null,"share":null,"role":null,"investor":null,"investee":null,"amount":null,"reportedEquivalent":null,"instrument":null,"acquirer":null,"target":null,"parties":["a","b","c"],"scope":"cloud","title":null,"direction":null,"organizations":["a","b","c"]}""",
        """{"current":{"id":"p1","deal":"d1","type":"partnership","valid":{"from":"2023","orEarlier":false},"sources":[{"source":"ft","kind":"stated"}],"parties":["a","b","c"],"scope":"cloud","organizations":["a","b","c"]},"basis":[{"eventId":"00000000-0000-0000-0000-000000000000","sequence":1,"type":"fact_recorded","recordedAt":"1970-01-01T00:00:00Z"}],"corrections":[],"amendments":{}}""")]
    [InlineData(typeof(BoardSeat),
        """{ "id": "b2", "type": "board-seat", "holder": "a", "subject": "b", "valid": { "by": "2022" }, "sources": [ { "source": "ft", "claim": "stated" } ] }""",
        """{"id":"b2","deal":"d1","type":"board-seat","valid":{"from":"2022","to":null,"orEarlier":true},"sources":[{"source":"ft","kind":"stated","attributedTo":null,"note":null}],"holder":"a","subject":"b","share":null,"role":null,"investor":null,"investee":null,"amount":null,"reportedEquivalent":null,"instrument":null,"acquirer":null,"target":null,"parties":null,"scope":null,"title":null,"direction":{},"organizations":["a","b"]}""",
        """{"current":{"id":"b2","deal":"d1","type":"board-seat","valid":{"from":"2022","orEarlier":true},"sources":[{"source":"ft","kind":"stated"}],"holder":"a","subject":"b","direction":{},"organizations":["a","b"]},"basis":[{"eventId":"00000000-0000-0000-0000-000000000000","sequence":1,"type":"fact_recorded","recordedAt":"1970-01-01T00:00:00Z"}],"corrections":[],"amendments":{}}""")]
    [InlineData(typeof(Control),
        """{ "id": "c1", "type": "control", "holder": "a", "subject": "b", "means": "voting rights", "share": { "exact": 51 }, "valid": { "from": "2021" }, "sources": [ { "source": "ft", "claim": "stated" } ] }""",
        """{"id":"c1","deal":"d1","type":"control","valid":{"from":"2021","to":null,"orEarlier":false},"sources":[{"source":"ft","kind":"stated","attributedTo":null,"note":null}],"holder":"a","subject":"b","share":{"exact":51,"min":null,"minInclusive":true,"max":null,"maxInclusive":true,"wording":null},"role":null,"investor":null,"investee":null,"amount":null,"reportedEquivalent":null,"instrument":null,"acquirer":null,"target":null,"parties":null,"scope":null,"title":null,"means":"voting rights","direction":{},"organizations":["a","b"]}""",
        """{"current":{"id":"c1","deal":"d1","type":"control","valid":{"from":"2021","orEarlier":false},"sources":[{"source":"ft","kind":"stated"}],"holder":"a","subject":"b","share":{"exact":51,"minInclusive":true,"maxInclusive":true},"means":"voting rights","direction":{},"organizations":["a","b"]},"basis":[{"eventId":"00000000-0000-0000-0000-000000000000","sequence":1,"type":"fact_recorded","recordedAt":"1970-01-01T00:00:00Z"}],"corrections":[],"amendments":{}}""")]
    [InlineData(typeof(Acquisition),
        """{ "id": "q2", "type": "acquisition", "acquirer": "a", "target": "b", "valid": { "from": "2020-06" }, "sources": [ { "source": "ft", "claim": "stated" } ] }""",
        """{"id":"q2","deal":"d1","type":"acquisition","valid":{"from":"2020-06","to":null,"orEarlier":false},"sources":[{"source":"ft","kind":"stated","attributedTo":null,"note":null}],"holder":null,"subject":null,"share":null,"role":null,"investor":null,"investee":null,"amount":null,"reportedEquivalent":null,"instrument":null,"acquirer":"a","target":"b","parties":null,"scope":null,"title":null,"direction":{},"organizations":["a","b"]}""",
        """{"current":{"id":"q2","deal":"d1","type":"acquisition","valid":{"from":"2020-06","orEarlier":false},"sources":[{"source":"ft","kind":"stated"}],"acquirer":"a","target":"b","direction":{},"organizations":["a","b"]},"basis":[{"eventId":"00000000-0000-0000-0000-000000000000","sequence":1,"type":"fact_recorded","recordedAt":"1970-01-01T00:00:00Z"}],"corrections":[],"amendments":{}}""")]
    [InlineData(typeof(Announcement),
        """{ "id": "n1", "type": "announcement", "parties": ["a"], "title": "a plan", "scope": "europe", "valid": { "from": "2019" }, "sources": [ { "source": "ft", "claim": "stated" } ] }""",
        """{"id":"n1","deal":"d1","type":"announcement","valid":{"from":"2019","to":null,"orEarlier":false},"sources":[{"source":"ft","kind":"stated","attributedTo":null,"note":null}],"holder":null,"subject":null,"share":null,"role":null,"investor":null,"investee":null,"amount":null,"reportedEquivalent":null,"instrument":null,"acquirer":null,"target":null,"parties":["a"],"scope":"europe","title":"a plan","direction":null,"organizations":["a"]}""",
        """{"current":{"id":"n1","deal":"d1","type":"announcement","valid":{"from":"2019","orEarlier":false},"sources":[{"source":"ft","kind":"stated"}],"parties":["a"],"scope":"europe","title":"a plan","organizations":["a"]},"basis":[{"eventId":"00000000-0000-0000-0000-000000000000","sequence":1,"type":"fact_recorded","recordedAt":"1970-01-01T00:00:00Z"}],"corrections":[],"amendments":{}}""")]
    public void a_fact_is_read_as_its_kind_and_written_as_the_ledger_always_wrote_it(Type kind, string entry, string answer, string stored)
    {
        var fact = RecordDeal.ReadFact(DocumentNode.Parse("entry.json", entry), "d1");
        Assert.IsType(kind, fact);
        Assert.Equal(answer, LedgerJson.Canonical(fact));
        Assert.Equal(stored, FactVersions.Stored(FactState.Recorded(new FactRecorded(fact), At)));
        var read = FactVersions.Read(stored).Current;
        Assert.IsType(kind, read);
        Assert.Equal(answer, LedgerJson.Canonical(read));
        Assert.Equal(answer, LedgerJson.Canonical(LedgerJson.Deserialize<Fact>(answer)));
    }

    [Fact]
    public void a_correction_sets_only_what_its_kind_has_and_keeps_the_kind()
    {
        var stake = (Stake)RecordDeal.ReadFact(DocumentNode.Parse("entry.json", """{ "id": "s1", "type": "stake", "holder": "a", "subject": "b", "share": { "min": 0, "max": 50 }, "valid": { "from": "2024-02" }, "sources": [ { "source": "ft", "claim": "stated" } ] }"""), "d1");
        var corrected = new FactAmendment { Share = Share.OfExact(12), Valid = new Time.ValidPeriod(Time.ValidDate.Parse("2024-03")) }.ApplyTo(stake);
        var now = Assert.IsType<Stake>(corrected);
        Assert.Equal(12m, now.Share.Exact);
        Assert.Equal("2024-03", now.Valid.From!.ToString());
        Assert.Equal((stake.Holder, stake.Subject), (now.Holder, now.Subject));
        // A share set on an investment has nowhere to go: its kind has money, not a share.
        var investment = RecordDeal.ReadFact(DocumentNode.Parse("entry.json",
            """{ "id": "i2", "type": "investment", "investor": "a", "investee": "b", "valid": { "from": "2024" }, "sources": [ { "source": "ft", "claim": "stated" } ] }"""), "d1");
        var amended = Assert.IsType<Investment>(new FactAmendment { Share = Share.OfExact(12), Amount = new Money(5, "EUR") }.ApplyTo(investment));
        Assert.Equal(new Money(5, "EUR"), amended.Amount);
        Assert.Contains("\"share\":null", LedgerJson.Canonical<Fact>(amended));
    }

    [Fact]
    public void a_stored_fact_without_a_field_its_kind_needs_is_refused_by_name()
    {
        var error = Assert.Throws<System.Text.Json.JsonException>(() => LedgerJson.Deserialize<Fact>(
            """{"id":"s1","deal":"d1","type":"stake","valid":{"from":"2024-02","to":null,"orEarlier":false},"sources":[],"holder":"a","subject":"b"}"""));
        Assert.Contains("'share'", error.Message);
    }
}
