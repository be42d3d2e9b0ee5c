using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using DealLedger.Access;
using DealLedger.Storage;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace DealLedger.Tests;

/// <summary>Telemetry (issue 16, item 1): a write over HTTP is one trace from the request to the commit, its database spans in it; the ledger's counters move; /metrics is an admin's.</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task a_write_over_http_is_one_trace_down_to_its_sql_and_the_write_counters_move()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using (var ledger = db.Connect())
        {
            await ledger.ImportYamlAsync(Seeds.Basics);
        }
        string writerKey, adminKey;
        await using (var ledger = db.Connect())
        {
            writerKey = (await ledger.CreateKeyAsync("otel-writer", Role.Writer, "tests")).Key;
            adminKey = (await ledger.CreateKeyAsync("otel-admin", Role.Admin, "tests")).Key;
        }
        var spans = new List<Activity>();
        await using var api = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("ConnectionStrings:DealLedger", db.ConnectionString);
            b.UseSetting("DealLedger:Telemetry:Traces", "true");
            b.ConfigureServices(s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        });
        long writes = 0, events = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LedgerTelemetry.Name && instrument.Name is "dealledger.writes" or "dealledger.events.appended")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "dealledger.writes")
            {
                Interlocked.Add(ref writes, value);
            }
            else
            {
                Interlocked.Add(ref events, value);
            }
        });
        listener.Start();

        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", writerKey);
        // Our own trace id, sent as the W3C traceparent the API continues: other tests' hosts in this process publish to the
        // same sources, and the request's own span ends only after its answer reached us.
        var trace = ActivityTraceId.CreateRandom();
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/organizations")
        {
            Content = new StringContent("""{ "id": "traced-co", "name": "Traced", "kind": "company" }""", Encoding.UTF8, "application/json"),
        };
        post.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        var response = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        List<Activity> ours = [];
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(50))
        {
            api.Services.GetRequiredService<TracerProvider>().ForceFlush();
            // The exporter adds as other hosts' spans end: copied by index, never enumerated while it grows.
            ours = [];
            for (var i = 0; i < spans.Count; i++)
            {
                if (spans[i] is { } a && a.TraceId == trace)
                {
                    ours.Add(a);
                }
            }
            if (ours.Any(a => a.Kind == ActivityKind.Server))
            {
                break;
            }
        }

        var request = ours.Single(a => a.Kind == ActivityKind.Server);
        Assert.StartsWith("POST /api/organizations", request.DisplayName);
        var write = ours.SingleOrDefault(a => a.DisplayName == "ledger.write")
            ?? throw new Xunit.Sdk.XunitException("no ledger.write in the request's trace; spans: " + string.Join("; ", ours.Select(a => $"{a.Source.Name}/{a.DisplayName}")));
        Assert.Equal(request.SpanId, write.ParentSpanId);
        Assert.Equal(1, write.GetTagItem("dealledger.events"));
        var sql = ours.Where(a => a.Source.Name == "Npgsql").ToList();
        // The write's statements (its reads under the write lock, then its events and rows) are spans of the write.
        var under = sql.Where(a => IsUnder(a, write, ours)).ToList();
        Assert.True(under.Count >= 2, $"{under.Count} database spans under the write");
        Assert.All(under, a => Assert.InRange(a.StartTimeUtc, write.StartTimeUtc, write.StartTimeUtc + write.Duration));
        listener.RecordObservableInstruments();
        Assert.True(Interlocked.Read(ref writes) >= 1 && Interlocked.Read(ref events) >= 1, $"writes {writes}, events {events}");

        // The scrape is an admin's: refused without a key and to a writer; an admin reads the ledger's counters in it.
        using var anonymous = api.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/metrics")).StatusCode);
        using var admin = api.CreateClient();
        admin.DefaultRequestHeaders.Add("X-Api-Key", adminKey);
        var scrape = await admin.GetStringAsync("/metrics");
        Assert.Contains("dealledger_writes", scrape);
        Assert.DoesNotContain(writerKey, scrape);
    }

    [Fact]
    public async Task a_cli_import_exports_one_trace_and_its_metrics_over_otlp_when_asked()
    {
        await using var db = await TestDatabase.CreateAsync();
        // An OTLP/HTTP receiver of our own: what the CLI posts, by path.
        var port = ChildProcess.FreePort();
        using var receiver = new HttpListener { Prefixes = { $"http://127.0.0.1:{port}/" } };
        receiver.Start();
        var received = new System.Collections.Concurrent.ConcurrentBag<(string Path, byte[] Body)>();
        var receiving = Task.Run(async () =>
        {
            while (receiver.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await receiver.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                received.Add((context.Request.Url!.AbsolutePath, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });
        var file = Path.Combine(Path.GetTempPath(), $"otel-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, Seeds.Basics);
        try
        {
            var cli = ChildProcess.StartDll("dealledger.dll", ["import", file, "--connection", db.ConnectionString], new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            }, name: "dealledger import (otlp)");
            Assert.Equal(0, await cli.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
        finally
        {
            File.Delete(file);
            receiver.Stop();
        }
        // Protobuf keeps names as UTF-8: the run's span, the write under it, a statement's span, and the write counter.
        bool Holds(string path, string text) => received.Any(r => r.Path == path && Encoding.UTF8.GetString(r.Body).Contains(text, StringComparison.Ordinal));
        Assert.True(Holds("/v1/traces", "dealledger import"), "no span named after the verb");
        Assert.True(Holds("/v1/traces", "ledger.write"), "no ledger.write span");
        Assert.True(Holds("/v1/traces", "dealledger-cli"), "no service name");
        Assert.True(Holds("/v1/metrics", "dealledger.writes"), "no dealledger.writes metric");
    }

    private static bool IsUnder(Activity span, Activity ancestor, List<Activity> all)
    {
        for (var parent = span.ParentSpanId; parent != default;)
        {
            if (parent == ancestor.SpanId)
            {
                return true;
            }
            parent = all.FirstOrDefault(a => a.SpanId == parent)?.ParentSpanId ?? default;
        }
        return false;
    }
}
