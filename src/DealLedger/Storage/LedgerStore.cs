using DealLedger.Deals;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Time;
using JasperFx;
using JasperFx.Events;
using Marten;
using Npgsql;
using Weasel.Core;

namespace DealLedger.Storage;

/// <summary>How the ledger's event store is configured: one place, used by every host and test.</summary>
public static class LedgerStore
{
    public const string EnvironmentVariable = "ConnectionStrings__DealLedger";

    public static readonly Type[] EventTypes =
    [
        typeof(OrganizationRegistered), typeof(SourceRegistered), typeof(DealRecorded), typeof(FactRecorded),
        typeof(SourceAddedToFact), typeof(FactCorrected), typeof(FactRetracted), typeof(FactEnded),
        typeof(OrganizationsMerged), typeof(OrganizationMergeUndone),
    ];

    /// <param name="createSchema">Development and test only: let Marten create missing schema objects.
    /// Otherwise the schema comes from migrations/ and nothing is created at run time.</param>
    public static DocumentStore Create(NpgsqlDataSource dataSource, bool createSchema = false) =>
        DocumentStore.For(opts => Configure(opts, dataSource, createSchema));

    public static void Configure(StoreOptions opts, NpgsqlDataSource dataSource, bool createSchema)
    {
        opts.Connection(dataSource);
        opts.DatabaseSchemaName = ProjectionTables.Schema;
        opts.Events.DatabaseSchemaName = ProjectionTables.Schema;
        opts.Events.StreamIdentity = StreamIdentity.AsString;
        // Rich: timestamps come from the RecordingClock (set under the write lock), never from the
        // database session's clock, so the session's time zone cannot shift them (RECIPE §4).
        opts.Events.AppendMode = EventAppendMode.Rich;
        opts.Events.TimeProvider = new RecordingClock();
        opts.Events.MetadataConfig.CorrelationIdEnabled = true;
        opts.Events.MetadataConfig.HeadersEnabled = true;
        opts.Events.MetadataConfig.UserNameEnabled = true;
        opts.Events.AddEventTypes(EventTypes);
        opts.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase, LedgerJson.Configure);
        opts.Storage.ExtendedSchemaObjects.AddRange(ProjectionTables.All());
        opts.AutoCreateSchemaObjects = createSchema ? AutoCreate.CreateOrUpdate : AutoCreate.None;
        opts.DisableNpgsqlLogging = true;
    }

    /// <summary>How often a server backend busy with a ledger connection's statement checks that its client is still there.</summary>
    public static readonly TimeSpan ClientCheck = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The connection string as every ledger connection (queries, writes, Wolverine) uses it: the server checks every
    /// <see cref="ClientCheck"/> that the client of a running statement is still there (client_connection_check_interval,
    /// PostgreSQL 14+). An idle backend notices a killed client at once; a busy one would otherwise run its statement to
    /// the end first, holding its locks — for a rebuild's bulk copy under the write lock, minutes in which no node can
    /// write. A connection string that sets client_connection_check_interval itself is left as it is (docs/nodes.md).
    /// </summary>
    public static string WithClientCheck(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        CheckClient(builder);
        return builder.ConnectionString;
    }

    private static void CheckClient(NpgsqlConnectionStringBuilder builder)
    {
        if (builder.Options?.Contains("client_connection_check_interval", StringComparison.Ordinal) != true)
        {
            builder.Options = $"{builder.Options} -c client_connection_check_interval={ClientCheck.TotalMilliseconds:0}".Trim();
        }
        // Several hosts: writes, sealing, the feed and Wolverine go to whichever is the primary now, so a standby promoted
        // meanwhile takes them without a restart (docs/nodes.md); reads may go to the others (Replicas). Npgsql's default
        // ("any") would take the first host that answers, a standby included.
        if (IsMultiHost(builder.ConnectionString))
        {
            if (string.IsNullOrEmpty(builder.TargetSessionAttributes))
            {
                builder.TargetSessionAttributes = "primary";
            }
            // Npgsql trusts what it last saw of a host (a standby, or down) for this long: after a promotion, writes wait
            // that long at most. Its default, 10 s, is shortened unless the connection string says otherwise.
            if (!Sets(builder, "Host Recheck Seconds"))
            {
                builder.HostRecheckSeconds = (int)HostRecheck.TotalSeconds;
            }
        }
    }

    /// <summary>How long a multi-host connection string's hosts' roles are trusted before Npgsql looks again.</summary>
    public static readonly TimeSpan HostRecheck = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether a connection string sets a setting itself (its keyword as Npgsql spells it: "Timeout"), under any of the
    /// spellings Npgsql accepts: the builder writes every setting given under its one keyword.
    /// </summary>
    internal static bool Sets(NpgsqlConnectionStringBuilder builder, string keyword) =>
        new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.ConnectionString }.ContainsKey(keyword);

    /// <summary>Whether a connection string names several hosts (Host=a,b:5433,…).</summary>
    public static bool IsMultiHost(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString).Host?.Contains(',', StringComparison.Ordinal) == true;

    /// <param name="projectionSchema">Where queries find the projection tables (unqualified names):
    /// the live schema, or a scratch schema that a replay or rebuild fills.</param>
    public static NpgsqlDataSource DataSource(string connectionString, string projectionSchema = ProjectionTables.Schema)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        CheckClient(builder.ConnectionStringBuilder);
        builder.ConnectionStringBuilder.SearchPath = $"{projectionSchema}, public";
        // A connection taken back by the pool is not reset (Npgsql would otherwise send RESET ALL, UNLISTEN *, CLOSE ALL,
        // pg_advisory_unlock_all() and DISCARDs with its next use: about 0.03 ms of every read, a quarter of a headline query).
        // The ledger keeps no session state on pooled connections: settings are SET LOCAL, locks are transaction locks, and
        // the two session-level uses (a shadow's owner lock, the API's LISTEN) undo themselves before the connection goes back.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        // Queries repeat with new values: let Npgsql prepare them, so PostgreSQL plans each once per connection.
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }
        return builder.Build();
    }
}
