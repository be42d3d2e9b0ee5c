using DealLedger.Api;

var app = ApiHost.Build(args);
await app.RunAsync();

/// <summary>The API's entry point (public so tests can host it in process).</summary>
public partial class Program;
