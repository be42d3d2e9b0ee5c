using Weasel.Core;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace DealLedger.Storage;

/// <summary>
/// The projection tables, declared in code so Marten's migration writer puts them into
/// migrations/ beside its own, and a drift test can compare the two.
/// </summary>
public static class ProjectionTables
{
    public const string Schema = "dealledger";

    /// <summary>A table of the ledger's own schema, qualified: the log, keys, and the declarations below.</summary>
    public static string Name(string table) => $"{Schema}.{table}";

    /// <summary>
    /// A projection table as queries and projections name it: unqualified, so it resolves through the
    /// connection's search_path, whose first schema is the projection schema — the live one, or a
    /// scratch schema a replay or rebuild builds into (see <see cref="LedgerStore.DataSource"/>).
    /// </summary>
    public static string Of(string table) => table;

    /// <summary>
    /// The version of what the fold writes into the projections. Raise it with any change to the fold, a
    /// timeline rule or a finding's shape that makes the rows differ from what earlier code wrote: a
    /// ledger whose projections another version built says so (/health/ready, the CLI) until `rebuild`.
    /// </summary>
    public const int Version = 4; // 4: a holding finding holds its basis events (Finding.Basis); 3: a fact version stores its state without repeating it

    /// <summary>An organization id (an SQL expression) as the bigint key the holding segments' GiST indexes hold.</summary>
    public static string IdKey(string id) => $"hashtextextended({id}, 0)";

    // The same expression over a column, spelled so Weasel's schema check reads it as PostgreSQL writes it back.
    private static string IndexedKey(string column) => $"hashtextextended({column}, CAST('0' as bigint))";

    /// <summary>The tables every write keeps (and a replay or rebuild rebuilds), in dependency-free order.</summary>
    public static readonly string[] Projections = ["ledger_position", "organizations", "organization_merges", "sources", "deals", "fact_versions", "holding_segments"];

    public static IEnumerable<ISchemaObject> All()
    {
        // GiST indexes mix text equality with range containment.
        yield return new Extension("btree_gist");

        var position = new Table(Name("ledger_position"));
        position.AddColumn<int>("id").AsPrimaryKey();
        position.AddColumn<long>("last_sequence").NotNull();
        position.AddColumn("last_recorded_at", "timestamptz").NotNull();
        // Which version of the fold built the projections (set by the first write and by a rebuild, never by later writes).
        position.AddColumn<int>("projection_version").NotNull().DefaultValueByExpression("1");
        // The last write that recorded or amended a name fact (0: none ever): the headline probe reads it with the position, so
        // a process knows without another statement whether, and since when, names over time may apply (DatedNames).
        position.AddColumn<long>("names_sequence").NotNull().DefaultValueByExpression("0");
        yield return position;

        var organizations = new Table(Name("organizations"));
        organizations.AddColumn<string>("id").AsPrimaryKey();
        organizations.AddColumn<string>("name").NotNull();
        organizations.AddColumn("recorded_at", "timestamptz").NotNull();
        organizations.AddColumn<long>("sequence").NotNull();
        organizations.AddColumn("data", "jsonb").NotNull();
        yield return organizations;

        // Duplicate records merged, over recorded time: open while the merge is in force, closed by its undo (who, why, when).
        var merges = new Table(Name("organization_merges"));
        merges.AddColumn<long>("id").AsPrimaryKey().BigAutoIncrement();
        merges.AddColumn<string>("duplicate").NotNull();
        merges.AddColumn<string>("merged_into").NotNull();
        merges.AddColumn("recorded", "tstzrange").NotNull();
        merges.AddColumn<long>("sequence").NotNull();
        merges.AddColumn<long>("closed_sequence").AllowNulls();
        merges.AddColumn<string>("reason").NotNull();
        merges.AddColumn<string>("writer").NotNull();
        merges.AddColumn<string>("undo_reason").AllowNulls();
        merges.AddColumn<string>("undo_writer").AllowNulls();
        // One merge in force per record: a second is refused by the write, and the database holds it too.
        merges.Indexes.Add(new IndexDefinition("ix_organization_merges_current") { Columns = ["duplicate"], IsUnique = true, Predicate = "upper_inf(recorded)" });
        yield return merges;

        var sources = new Table(Name("sources"));
        sources.AddColumn<string>("id").AsPrimaryKey();
        sources.AddColumn("recorded_at", "timestamptz").NotNull();
        sources.AddColumn<long>("sequence").NotNull();
        sources.AddColumn("data", "jsonb").NotNull();
        yield return sources;

        var deals = new Table(Name("deals"));
        deals.AddColumn<string>("id").AsPrimaryKey();
        deals.AddColumn("recorded_at", "timestamptz").NotNull();
        deals.AddColumn<long>("sequence").NotNull();
        deals.AddColumn("data", "jsonb").NotNull();
        yield return deals;

        // Every version of every fact over recorded time: relationships of every kind as of any knownAt.
        var facts = new Table(Name("fact_versions"));
        facts.AddColumn<long>("id").AsPrimaryKey().BigAutoIncrement();
        facts.AddColumn<string>("fact_id").NotNull();
        facts.AddColumn<string>("type").NotNull();
        facts.AddColumn<string>("holder").AllowNulls();
        facts.AddColumn<string>("subject").AllowNulls();
        facts.AddColumn("orgs", "text[]").NotNull();
        facts.AddColumn("recorded", "tstzrange").NotNull();
        facts.AddColumn<long>("sequence").NotNull();
        // json, not jsonb: read back whole, never queried inside, so stored as written without conversion.
        facts.AddColumn("state", "json").NotNull();
        facts.Indexes.Add(new IndexDefinition("ix_fact_versions_current") { Columns = ["fact_id"], IsUnique = true, Predicate = "upper_inf(recorded)" });
        // A pair's current facts; with their sequences, so a write finds a pair's newest version in one seek (KeptRows' heads).
        facts.Indexes.Add(new IndexDefinition("ix_fact_versions_pair") { Columns = ["holder", "subject", "sequence"], Predicate = "upper_inf(recorded)" });
        facts.Indexes.Add(new IndexDefinition("ix_fact_versions_orgs") { Columns = ["orgs"], Method = IndexMethod.gin });
        // Facts found by what they are about, without a holder: names and identifiers by their organization (a hub's thousands
        // of facts are not read to find them), rates by their currency pair.
        facts.Indexes.Add(new IndexDefinition("ix_fact_versions_about") { Columns = ["subject", "type"], Predicate = "holder is null and subject is not null" });
        // The change feed reads what each write changed by its sequence.
        facts.Indexes.Add(new IndexDefinition("ix_fact_versions_sequence") { Columns = ["sequence"] });
        yield return facts;

        // The holdings of every pair over valid time × recorded time: the headline query is one lookup here.
        var holdings = new Table(Name("holding_segments"));
        holdings.AddColumn<long>("id").AsPrimaryKey().BigAutoIncrement();
        holdings.AddColumn<string>("holder").NotNull();
        holdings.AddColumn<string>("subject").NotNull();
        holdings.AddColumn("valid", "daterange").NotNull();
        holdings.AddColumn("recorded", "tstzrange").NotNull();
        holdings.AddColumn<string>("status").NotNull();
        holdings.AddColumn<long>("sequence").NotNull();
        holdings.AddColumn<long>("closed_sequence").AllowNulls();
        // json, not jsonb: kept as written (the fold's canonical text is a segment's key) and stored without conversion.
        holdings.AddColumn("finding", "json").NotNull();
        // Over both time axes, keyed by the organizations' ids hashed to bigint (IdKey; HoldingQuery.OfPair):
        // GiST keeps a bigint for a fraction of what it pays to keep a string, and these two are most of a
        // write's index upkeep. The hash only narrows; every query also compares the ids themselves.
        holdings.Indexes.Add(new IndexDefinition("ix_holding_segments_pair") { Columns = [IndexedKey("holder"), IndexedKey("subject"), "recorded", "valid"], Method = IndexMethod.gist });
        holdings.Indexes.Add(new IndexDefinition("ix_holding_segments_subject") { Columns = [IndexedKey("subject"), "recorded", "valid"], Method = IndexMethod.gist });
        // The headline query as known now: a pair's open segments in valid-time order (ranges sort by their start).
        holdings.Indexes.Add(new IndexDefinition("ix_holding_segments_current") { Columns = ["holder", "subject", "valid"], Predicate = "upper_inf(recorded)" });
        // An organization's owners as known now (owners, look-through level by level): a btree seek, about 0.1 ms a
        // lookup, where the GiST index by subject took 0.2 ms on a generated ledger and 1.6 ms on a group's (docs/benchmarks.md).
        holdings.Indexes.Add(new IndexDefinition("ix_holding_segments_current_subject") { Columns = ["subject", "valid"], Predicate = "upper_inf(recorded)" });
        // The change feed: the segments a write opened (sequence) and closed (closed_sequence).
        holdings.Indexes.Add(new IndexDefinition("ix_holding_segments_sequence") { Columns = ["sequence"] });
        holdings.Indexes.Add(new IndexDefinition("ix_holding_segments_closed_sequence") { Columns = ["closed_sequence"], Predicate = "closed_sequence is not null" });

        // API keys: only a hash of each key is kept; a key's name is what its writes are recorded under.
        var keys = new Table(Name("api_keys"));
        keys.AddColumn<string>("name").AsPrimaryKey();
        keys.AddColumn<string>("role").NotNull();
        keys.AddColumn("key_hash", "bytea").NotNull();
        keys.AddColumn("created_at", "timestamptz").NotNull();
        keys.AddColumn<string>("created_by").NotNull();
        keys.AddColumn("revoked_at", "timestamptz").AllowNulls();
        keys.Indexes.Add(new IndexDefinition("ix_api_keys_hash") { Columns = ["key_hash"], IsUnique = true });
        yield return keys;

        // Webhook subscriptions (issue 15): where each stands in the feed (delivered_up_to, a sequence) and when its
        // next attempt is due after a failure. The secret is kept to sign deliveries; answers never show it.
        var subscriptions = new Table(Name("webhook_subscriptions"));
        subscriptions.AddColumn<string>("id").AsPrimaryKey();
        subscriptions.AddColumn<string>("url").NotNull();
        subscriptions.AddColumn<string>("secret").NotNull();
        subscriptions.AddColumn<string>("org").AllowNulls();
        subscriptions.AddColumn<string>("holder").AllowNulls();
        subscriptions.AddColumn<string>("subject").AllowNulls();
        subscriptions.AddColumn<string>("kind").AllowNulls();
        subscriptions.AddColumn("created_at", "timestamptz").NotNull();
        subscriptions.AddColumn<string>("created_by").NotNull();
        subscriptions.AddColumn("deleted_at", "timestamptz").AllowNulls();
        subscriptions.AddColumn<long>("delivered_up_to").NotNull();
        subscriptions.AddColumn("next_attempt_at", "timestamptz").AllowNulls();
        yield return subscriptions;

        // Each write delivered (or being retried, or given up) to a subscription: the feed's messages of the writes in
        // (after_sequence, sequence], the outcome of the last attempt.
        var deliveries = new Table(Name("webhook_deliveries"));
        deliveries.AddColumn("id", "uuid").AsPrimaryKey();
        deliveries.AddColumn<string>("subscription_id").NotNull();
        deliveries.AddColumn<long>("after_sequence").NotNull();
        deliveries.AddColumn<long>("sequence").NotNull();
        deliveries.AddColumn<string>("status").NotNull();
        deliveries.AddColumn<int>("attempts").NotNull();
        deliveries.AddColumn("first_attempt_at", "timestamptz").NotNull();
        deliveries.AddColumn("last_attempt_at", "timestamptz").NotNull();
        deliveries.AddColumn("delivered_at", "timestamptz").AllowNulls();
        deliveries.AddColumn<int>("response_status").AllowNulls();
        deliveries.AddColumn<string>("error").AllowNulls();
        deliveries.Indexes.Add(new IndexDefinition("ix_webhook_deliveries_subscription") { Columns = ["subscription_id", "sequence"] });
        yield return deliveries;
        yield return holdings;
        yield return Auditing.Seals.Declaration();
    }
}
