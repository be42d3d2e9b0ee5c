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

    /// <summary>How often PostgreSQL checks, during a statement, that the ledger's client is still there.</summary>
    public const int ClientCheckMilliseconds = 2000;

    public static readonly Type[] EventTypes =
    [
        typeof(OrganizationRegistered), typeof(SourceRegistered), typeof(DealRecorded), typeof(FactRecorded),
        typeof(SourceAddedToFact), typeof(FactCorrected), typeof(FactRetracted), typeof(FactEnded),
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

    /// <param name="projectionSchema">Where queries find the projection tables (unqualified names):
    /// the live schema, or a scratch schema that a replay or rebuild fills.</param>
    public static NpgsqlDataSource DataSource(string connectionString, string projectionSchema = ProjectionTables.Schema)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.SearchPath = $"{projectionSchema}, public";
        // A backend whose client died (kill -9, a lost network) notices within seconds, even in a long statement
        // or a lock wait, and rolls back: it must not hold the write lock, or a rebuild's switch, meanwhile.
        // (PostgreSQL 14 or later.)
        if (builder.ConnectionStringBuilder.Options?.Contains("client_connection_check_interval", StringComparison.Ordinal) != true)
        {
            builder.ConnectionStringBuilder.Options = $"{builder.ConnectionStringBuilder.Options} -c client_connection_check_interval={ClientCheckMilliseconds}".Trim();
        }
        // Queries repeat with new values: let Npgsql prepare them, so PostgreSQL plans each once per connection.
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }
        return builder.Build();
    }
}
