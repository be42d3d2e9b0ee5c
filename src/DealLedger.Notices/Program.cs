using DealLedger.Notices;
using DealLedger.Storage;
using JasperFx;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Wolverine;
using Wolverine.Postgresql;

// A downstream app that prefers messages to the change feed: it listens on the ledger's
// PostgreSQL queue (holding-changes) and records each HoldingChanged once, deduplicating by its id.
// Usage: ConnectionStrings__DealLedger=... dotnet DealLedger.Notices.dll [run | codegen write]
var builder = Host.CreateApplicationBuilder(args);
var connection = builder.Configuration.GetConnectionString("DealLedger");
if (string.IsNullOrWhiteSpace(connection))
{
    Console.Error.WriteLine($"dealledger-notices: no database: set {LedgerStore.EnvironmentVariable}");
    return 2;
}
builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connection));
builder.Services.AddHostedService<NoticeTable>();
builder.Services.AddLedgerTelemetry("dealledger-notices", builder.Configuration.GetValue<bool>("DealLedger:Telemetry:Traces"),
    builder.Configuration.GetValue<bool>("DealLedger:Telemetry:RequestMetrics"));
builder.UseWolverine(o =>
{
    LedgerMessaging.Configure(o, connection, "dealledger-notices", typeof(HoldingChangedHandler).Assembly, typeof(HoldingChangedHandler));
    o.ListenToPostgresqlQueue(LedgerMessaging.HoldingChangesQueue).UseDurableInbox();
});
return await builder.Build().RunJasperFxCommands(args);
