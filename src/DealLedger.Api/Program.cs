using DealLedger.Api;
using JasperFx;

// Usage: dotnet DealLedger.Api.dll [codegen write]  (codegen write: the Wolverine handlers' code under Internal/Generated)
var app = ApiHost.Build(args);
if (args is ["codegen", ..])
{
    return await app.RunJasperFxCommands(args);
}
await app.RunAsync();
return 0;

/// <summary>The API's entry point (public so tests can host it in process).</summary>
public partial class Program;
