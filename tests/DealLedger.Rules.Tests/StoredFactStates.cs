using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Sources;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Rules.Tests;

/// <summary>
/// A fact version's stored state (<see cref="FactVersions.Stored"/>) leaves out what it repeats, and reads back as the very
/// state the fold made — as does the longer form earlier versions stored (the answer's shape).
/// </summary>
public sealed class StoredFactStates
{
    private static EventRef At(long sequence, string type) =>
        new(new Guid((int)sequence, 0, 0, new byte[8]), sequence, type, new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero).AddSeconds(sequence));

    private static readonly Stake Stake = new()
    {
        Id = "f1", Deal = "d1", Valid = new ValidPeriod(ValidDate.Parse("2024-02")),
        Sources = [new Claim("ft", ClaimKind.Stated)], Holder = "microsoft", Subject = "mistral-ai", Share = Share.OfExact(10),
    };

    private static FactState Recorded => FactState.Recorded(new FactRecorded(Stake), At(1, "fact_recorded"));

    private static FactState Corrected => Recorded
        .Apply(new SourceAddedToFact("f1", new Claim("press-release", ClaimKind.Attributed, "Microsoft")), At(2, "source_added_to_fact"))
        .Apply(new FactCorrected("f1", new FactAmendment { Share = Share.OfExact(12) }, "misprint", [new Claim("ft", ClaimKind.Stated)], "c1"), At(3, "fact_corrected"))
        .Apply(new FactRetracted("f1", "withdrawn", [new Claim("ft", ClaimKind.Stated)], "r1"), At(4, "fact_retracted"));

    public static TheoryData<string> States => ["recorded", "corrected"];

    private static FactState Named(string name) => name == "recorded" ? Recorded : Corrected;

    [Theory]
    [MemberData(nameof(States))]
    public void a_stored_state_reads_back_as_the_state_the_fold_made(string name)
    {
        var state = Named(name);
        Assert.Equal(LedgerJson.Canonical(state), LedgerJson.Canonical(FactVersions.Read(FactVersions.Stored(state))));
    }

    [Theory]
    [MemberData(nameof(States))]
    public void the_longer_form_earlier_versions_stored_still_reads(string name)
    {
        var state = Named(name);
        Assert.Equal(LedgerJson.Canonical(state), LedgerJson.Canonical(FactVersions.Read(LedgerJson.Canonical(state))));
    }

    [Fact]
    public void the_original_is_stored_only_when_it_differs_and_no_null_is_stored()
    {
        var recorded = FactVersions.Stored(Recorded);
        Assert.DoesNotContain("\"original\"", recorded);
        Assert.DoesNotContain("null", recorded);
        Assert.True(recorded.Length * 2 < LedgerJson.Canonical(Recorded).Length, $"{recorded.Length} characters stored, {LedgerJson.Canonical(Recorded).Length} in the answer");
        var corrected = FactVersions.Stored(Corrected);
        Assert.Contains("\"original\"", corrected);
        Assert.Equal(10m, ((Stake)FactVersions.Read(corrected).Original).Share.Exact);
        Assert.Equal(12m, ((Stake)FactVersions.Read(corrected).Current).Share.Exact);
    }
}
