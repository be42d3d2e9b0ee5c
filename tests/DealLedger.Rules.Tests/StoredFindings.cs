using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Rules.Tests;

/// <summary>
/// A stored finding reads back as the finding written: read fast when its text is as the ledger writes it (the explanation's
/// case first), and the same when its keys come in another order (as jsonb keeps them).
/// </summary>
public sealed class StoredFindings
{
    private static readonly Finding Held = new(HoldingStatus.Held, Share.OfExact(10), null, null, Confidence.Reported, ["ft"],
        [new EventRef(new Guid(7, 0, 0, new byte[8]), 7, "fact_recorded", new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero))],
        new HeldFrom(Share.OfExact(10), ValidDate.Parse("2024-02"), null, new Evidence(Confidence.Reported, 1)));

    [Fact]
    public void a_finding_reads_back_as_written()
    {
        var text = Held.Canonical();
        Assert.Contains("\"explanation\":{\"case\":\"held\"", text, StringComparison.Ordinal);
        Assert.Equal(text, Finding.Parse(text).Canonical());
    }

    [Fact]
    public void a_finding_whose_case_is_not_first_reads_back_the_same()
    {
        var text = Held.Canonical();
        var moved = text.Replace("{\"case\":\"held\",", "{", StringComparison.Ordinal).Replace("\"evidence\":", "\"case\":\"held\",\"evidence\":", StringComparison.Ordinal);
        Assert.NotEqual(text, moved);
        Assert.Equal(text, Finding.Parse(moved).Canonical());
    }

    [Fact]
    public void a_findings_reading_is_the_findings_own_without_its_explanation()
    {
        var disputed = Held with
        {
            Status = HoldingStatus.Uncertain,
            Since = DateWithPrecision.Of(ValidDate.Parse("2024-02")),
            Alternatives = [new ShareClaim(Share.OfExact(30), "f1", ["ft"])],
        };

        var reading = Reading.Parse(disputed.Canonical());

        Assert.Equal((disputed.Status, disputed.Share, disputed.Since, disputed.Until, disputed.Confidence),
            (reading.Status, reading.Share, reading.Since, reading.Until, reading.Confidence));
        Assert.Equal(disputed.Sources, reading.Sources);
        Assert.Equal(disputed.Basis, reading.Basis);
        Assert.Equal(disputed.Alternatives!.Select(a => a.Share), reading.Alternatives!.Select(a => a.Share));
    }

    [Fact]
    public void text_that_is_no_finding_is_refused_as_another_versions_also_for_its_reading()
    {
        Assert.Equal(LedgerErrorKind.Conflict, Assert.Throws<LedgerException>(() => Reading.Parse("{\"status\":\"held\"}")).Kind);
        Assert.Equal(LedgerErrorKind.Conflict, Assert.Throws<LedgerException>(() => Reading.Parse("[1, 2]")).Kind);
    }

    [Fact]
    public void text_that_is_no_finding_is_refused_as_another_versions()
    {
        var e = Assert.Throws<LedgerException>(() => Finding.Parse("{\"status\":\"held\",\"explanation\":{\"case\":\"no-such-case\"}}"));
        Assert.Equal(LedgerErrorKind.Conflict, e.Kind);
    }
}
