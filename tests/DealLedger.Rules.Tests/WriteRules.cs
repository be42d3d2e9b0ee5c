using DealLedger.Deals;
using DealLedger.Importing;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Writing;

namespace DealLedger.Rules.Tests;

/// <summary>
/// Each write's rules, decided in memory: the state a write reads is the events recorded before it
/// (here, in the same in-memory write), and a decision is events out or a precise error — no database.
/// </summary>
public sealed class WriteRules
{
    private readonly LedgerTransaction write = LedgerTransaction.InMemory(new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero));

    public WriteRules()
    {
        Record(RegisterOrganization.Decide(RegisterOrganization.Read(Entry("""{ "id": "microsoft", "name": "Microsoft Corporation", "kind": "company" }""")), Node, write));
        Record(RegisterOrganization.Decide(RegisterOrganization.Read(Entry("""{ "id": "mistral-ai", "name": "Mistral AI", "kind": "company" }""")), Node, write));
        Record(RegisterSource.Decide(RegisterSource.Read(Entry("""{ "id": "ft", "title": "FT", "kind": "third-party" }""")), Node, write));
        Record(RegisterSource.Decide(RegisterSource.Read(Entry("""{ "id": "press-release", "title": "Press release", "kind": "self-declaration" }""")), Node, write));
    }

    private static DocumentNode Node => Entry("{}");

    private static DocumentNode Entry(string json) => DocumentNode.Parse("entry.json", json);

    private void Record(object? e)
    {
        if (e is not null)
        {
            write.Record(e);
        }
    }

    private static string Stake(string id, string share, string from, string source = "ft") => $$"""
        { "id": "{{id}}-deal", "parties": ["microsoft", "mistral-ai"], "facts": [ { "id": "{{id}}", "type": "stake", "holder": "microsoft", "subject": "mistral-ai",
          "share": {{share}}, "valid": { "from": "{{from}}" }, "sources": [ { "source": "{{source}}", "claim": "stated" } ] } ] }
        """;

    /// <summary>Decides a deal entry and its facts, recording what they decide; the facts' events.</summary>
    private List<FactRecorded?> RecordDealOf(string json)
    {
        var (deal, facts) = RecordDeal.Read(Entry(json));
        Record(RecordDeal.Decide(deal.Value, deal.Node, write));
        var decided = new List<FactRecorded?>();
        foreach (var (fact, node) in facts)
        {
            var e = RecordDeal.DecideFact(fact, node, write);
            Record(e);
            decided.Add(e);
        }
        return decided;
    }

    [Fact]
    public void registering_an_organization_again_with_the_same_details_records_nothing()
    {
        var again = RegisterOrganization.Read(Entry("""{ "id": "microsoft", "name": "Microsoft Corporation", "kind": "company" }"""));
        Assert.Null(RegisterOrganization.Decide(again, Node, write));
    }

    [Fact]
    public void one_organization_id_with_two_contents_in_one_write_is_the_documents_mistake()
    {
        var other = RegisterOrganization.Read(Entry("""{ "id": "microsoft", "name": "Microsoft Corp.", "kind": "company" }"""));
        var error = Assert.Throws<LedgerException>(() => RegisterOrganization.Decide(other, Node, write));
        Assert.Equal(LedgerErrorKind.InvalidInput, error.Kind);
        Assert.Contains("organization 'microsoft' appears twice in this import with different details", error.Message);
    }

    [Fact]
    public void a_stake_of_an_unregistered_organization_is_refused_naming_it()
    {
        var json = Stake("s1", """{ "exact": 10 }""", "2024-02").Replace("\"mistral-ai\"]", "\"openai\"]").Replace("\"subject\": \"mistral-ai\"", "\"subject\": \"openai\"");
        var error = Assert.Throws<LedgerException>(() => RecordDealOf(json));
        Assert.Contains("unknown organization 'openai': register it under 'organizations' first", error.Message);
    }

    [Fact]
    public void a_stake_is_recorded_once_and_the_same_fact_again_is_already_known()
    {
        Assert.NotNull(Assert.Single(RecordDealOf(Stake("s1", """{ "exact": 10 }""", "2024-02"))));
        var fact = write.Fact("s1")!;
        Assert.Equal(10m, Assert.IsType<Stake>(fact.Current).Share.Exact);
        var again = RecordDeal.ReadFact(Entry("""{ "id": "s1", "type": "stake", "holder": "microsoft", "subject": "mistral-ai", "share": { "exact": 10 }, "valid": { "from": "2024-02" }, "sources": [ { "source": "ft", "claim": "stated" } ] }"""), "s1-deal");
        var error = Assert.Throws<LedgerException>(() => RecordDeal.DecideFact(again, Node, write));
        Assert.Contains("the fact id 's1' is used twice in this import", error.Message);
    }

    [Fact]
    public void one_source_cannot_tell_two_sizes_of_one_stake_for_the_same_period()
    {
        RecordDealOf(Stake("s1", """{ "exact": 10 }""", "2024-02"));
        var error = Assert.Throws<LedgerException>(() => RecordDealOf(Stake("s2", """{ "exact": 20 }""", "2024-02")));
        Assert.Contains("stake 's2' (20 %) contradicts stake 's1' (10 %) from the same source 'ft' over an overlapping period", error.Message);
    }

    [Fact]
    public void two_sources_may_disagree_and_a_later_state_from_the_same_source_is_a_change()
    {
        RecordDealOf(Stake("s1", """{ "exact": 10 }""", "2024-02"));
        Assert.NotNull(Assert.Single(RecordDealOf(Stake("s2", """{ "exact": 20 }""", "2024-02", source: "press-release"))));
        Assert.NotNull(Assert.Single(RecordDealOf(Stake("s3", """{ "exact": 30 }""", "2025-06"))));
    }

    [Fact]
    public void a_source_that_already_speaks_of_a_fact_cannot_claim_it_again_otherwise()
    {
        RecordDealOf(Stake("s1", """{ "exact": 10 }""", "2024-02"));
        var same = AddSource.Read(Entry("""{ "fact": "s1", "source": "ft", "claim": "stated" }"""));
        Assert.Null(AddSource.Decide(same, Node, write));
        var other = AddSource.Read(Entry("""{ "fact": "s1", "source": "ft", "claim": "claimed" }"""));
        var error = Assert.Throws<LedgerException>(() => AddSource.Decide(other, Node, write));
        Assert.Equal(LedgerErrorKind.Conflict, error.Kind);
        var added = AddSource.Read(Entry("""{ "fact": "s1", "source": "press-release", "claim": "stated" }"""));
        Assert.Equal(added, AddSource.Decide(added, Node, write));
    }

    [Fact]
    public void a_retracted_fact_cannot_be_corrected_and_retracting_it_again_adds_nothing()
    {
        RecordDealOf(Stake("s1", """{ "exact": 10 }""", "2024-02"));
        var retraction = RetractFact.Read(Entry("""{ "fact": "s1", "reason": "misread", "sources": [ { "source": "ft", "claim": "stated" } ] }"""));
        Record(RetractFact.Decide(retraction, Node, write));
        Assert.Null(RetractFact.Decide(retraction, Node, write));
        var correction = CorrectFact.Read(Entry("""{ "fact": "s1", "set": { "share": { "exact": 12 } }, "reason": "typo", "sources": [ { "source": "ft", "claim": "stated" } ] }"""));
        var error = Assert.Throws<LedgerException>(() => CorrectFact.Decide(correction, Node, write));
        Assert.Contains("fact 's1' was retracted; a retracted fact cannot be corrected", error.Message);
    }

    [Fact]
    public void a_correction_may_not_set_a_field_the_facts_kind_lacks_nor_move_its_start_past_its_end()
    {
        RecordDealOf(Stake("s1", """{ "exact": 10 }""", "2024-02"));
        var amount = CorrectFact.Read(Entry("""{ "fact": "s1", "set": { "amount": { "value": 5, "currency": "EUR" } }, "reason": "r", "sources": [ { "source": "ft", "claim": "stated" } ] }"""));
        Assert.Contains("'amount' cannot be set on a stake fact", Assert.Throws<LedgerException>(() => CorrectFact.Decide(amount, Node, write)).Message);
        Record(EndFact.Decide(EndFact.Read(Entry("""{ "fact": "s1", "on": "2025-01-01", "sources": [ { "source": "ft", "claim": "stated" } ] }""")), Node, write));
        var late = CorrectFact.Read(Entry("""{ "fact": "s1", "set": { "valid": { "from": "2025-03" } }, "reason": "r", "sources": [ { "source": "ft", "claim": "stated" } ] }"""));
        Assert.Contains("would start (2025-03) after its recorded ending (2025-01-01)", Assert.Throws<LedgerException>(() => CorrectFact.Decide(late, Node, write)).Message);
    }

    [Fact]
    public void a_fact_cannot_end_before_it_starts_nor_end_twice_on_different_dates()
    {
        RecordDealOf(Stake("s1", """{ "exact": 10 }""", "2024-02"));
        var early = EndFact.Read(Entry("""{ "fact": "s1", "on": "2024-01-15", "sources": [ { "source": "ft", "claim": "stated" } ] }"""));
        Assert.Contains("cannot end (2024-01-15) before or on the day it starts (2024-02)", Assert.Throws<LedgerException>(() => EndFact.Decide(early, Node, write)).Message);
        var ending = EndFact.Read(Entry("""{ "fact": "s1", "on": "2025-01-01", "sources": [ { "source": "ft", "claim": "stated" } ] }"""));
        Record(EndFact.Decide(ending, Node, write));
        Assert.Null(EndFact.Decide(ending, Node, write));
        var other = EndFact.Read(Entry("""{ "fact": "s1", "on": "2025-02-01", "sources": [ { "source": "ft", "claim": "stated" } ] }"""));
        Assert.Contains("the ending of fact 's1' appears twice in this import with different details", Assert.Throws<LedgerException>(() => EndFact.Decide(other, Node, write)).Message);
    }

    [Fact]
    public void an_amendment_id_names_one_content()
    {
        RecordDealOf(Stake("s1", """{ "exact": 10 }""", "2024-02"));
        var first = CorrectFact.Read(Entry("""{ "id": "fix-1", "fact": "s1", "set": { "share": { "exact": 12 } }, "reason": "typo", "sources": [ { "source": "ft", "claim": "stated" } ] }"""));
        Record(CorrectFact.Decide(first, Node, write));
        Assert.Null(CorrectFact.Decide(first, Node, write));
        var other = CorrectFact.Read(Entry("""{ "id": "fix-1", "fact": "s1", "set": { "share": { "exact": 13 } }, "reason": "typo", "sources": [ { "source": "ft", "claim": "stated" } ] }"""));
        Assert.Contains("'fix-1' appears twice in this import with different details", Assert.Throws<LedgerException>(() => CorrectFact.Decide(other, Node, write)).Message);
    }
}
