using System.Reflection;
using DealLedger.Feed;
using JasperFx;
using JasperFx.CodeGeneration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Weasel.Core;
using Weasel.Core.Migrations;
using Wolverine;
using Wolverine.Postgresql;
using Wolverine.Postgresql.Transport;
using Wolverine.RDBMS;
using Wolverine.Runtime;

namespace DealLedger.Storage;

/// <summary>
/// Wolverine's configuration for every host that sends or receives the ledger's integration
/// events: the durable message store (schema wolverine) and the PostgreSQL queue they travel on
/// (schema wolverine_queues), in the ledger's database. Schema comes from migrations/ only.
/// </summary>
public static class LedgerMessaging
{
    public const string Schema = "wolverine";
    public const string QueueSchema = "wolverine_queues";
    public const string HoldingChangesQueue = "holding-changes";

    /// <param name="host">The host's own assembly, which holds its handlers' generated code (Internal/Generated). Named, not
    /// guessed: Wolverine otherwise pins the first host's assembly for the whole process (GH-3521), and an API hosted in a
    /// test process after another host would look for its code in the wrong assembly.</param>
    /// <param name="handlers">The message handlers this host runs; nothing is found by naming conventions
    /// (an ASP.NET "…Handler" class would be taken for one).</param>
    public static void Configure(WolverineOptions opts, string connectionString, string serviceName, Assembly host, params Type[] handlers)
    {
        opts.ApplicationAssembly = host;
        opts.ServiceName = serviceName;
        opts.Discovery.DisableConventionalDiscovery();
        foreach (var handler in handlers)
        {
            opts.Discovery.IncludeType(handler);
        }
        opts.UsePostgresqlPersistenceAndTransport(LedgerStore.WithClientCheck(connectionString), Schema, transportSchema: QueueSchema).EnableQueueNotifications();
        opts.AutoBuildMessageStorageOnStartup = AutoCreate.None;
        // 6.62's default envelope ids can collide between processes on one machine (fixed in 6.63).
        opts.EnvelopeIdGeneration = EnvelopeIdGeneration.GuidV7;
        // Release builds use the generated code checked in under Internal/Generated (no Roslyn at run time).
        opts.CodeGeneration.TypeLoadMode = Enum.Parse<TypeLoadMode>(Environment.GetEnvironmentVariable("DEALLEDGER_TYPELOAD") ?? nameof(TypeLoadMode.Static));
        opts.PublishMessage<HoldingChanged>().ToPostgresqlQueue(HoldingChangesQueue).UseDurableOutbox();
        // A node that died holding unsent messages is noticed within seconds, and its messages sent by
        // a live node; the defaults take over a minute. Not much lower: a paused node must not be ejected.
        opts.Durability.FirstHealthCheckExecution = TimeSpan.FromMilliseconds(500);
        opts.Durability.HealthCheckPollingTime = TimeSpan.FromSeconds(2);
        opts.Durability.StaleNodeTimeout = TimeSpan.FromSeconds(10);
        opts.Durability.FirstNodeReassignmentExecution = TimeSpan.FromMilliseconds(500);
        opts.Durability.NodeReassignmentPollingTime = TimeSpan.FromSeconds(2);
        opts.Durability.ScheduledJobFirstExecution = TimeSpan.FromMilliseconds(500);
        opts.Durability.ScheduledJobPollingTime = TimeSpan.FromSeconds(2);
        opts.Durability.OrphanedMessageSweepPollingTime = TimeSpan.FromSeconds(2);
    }

    /// <summary>The durable local queue webhook deliveries run on (its messages kept with Wolverine's own, in schema wolverine).</summary>
    public const string WebhooksQueue = "webhooks";

    /// <summary>
    /// For the host that delivers webhooks: <see cref="Subscriptions.WebhookDue"/> travels on a durable local queue, so a
    /// word sent with a write (through the outbox, in its transaction) or scheduled for a retry survives a crash of the node.
    /// </summary>
    public static void DeliverWebhooks(WolverineOptions opts)
    {
        opts.PublishMessage<Subscriptions.WebhookDue>().ToLocalQueue(WebhooksQueue);
        opts.LocalQueue(WebhooksQueue).UseDurableInbox().MaximumParallelMessages(4);
    }

    /// <summary>
    /// The SQL that creates Wolverine's tables as this configuration wants them (message store and
    /// queues), for migrations/. Built without starting Wolverine, so no database is needed.
    /// </summary>
    public static string SchemaScript()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseWolverine(o => Configure(o, "Host=localhost;Database=unused", "schema-script", typeof(LedgerMessaging).Assembly));
        using var host = builder.Build();
        var runtime = host.Services.GetRequiredService<IWolverineRuntime>();
        var script = ((IDatabase)(IMessageDatabase)runtime.Storage).ToDatabaseScript();
        // The queue tables are not among the store's objects; Wolverine keeps them on its queue type.
        var transport = runtime.Options.Transports.GetOrCreate<PostgresqlTransport>();
        var queues = new StringWriter();
        queues.WriteLine($"CREATE SCHEMA IF NOT EXISTS {transport.TransportSchemaName};");
        var migrator = new Weasel.Postgresql.PostgresqlMigrator();
        foreach (var queue in transport.Queues.OrderBy(q => q.Name, StringComparer.Ordinal))
        {
            foreach (var property in new[] { "QueueTable", "ScheduledTable" })
            {
                var table = (ISchemaObject)typeof(PostgresqlQueue).GetProperty(property, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)!.GetValue(queue)!;
                table.WriteCreateStatement(migrator, queues);
                queues.WriteLine();
            }
        }
        return script + "\n" + queues;
    }
}
