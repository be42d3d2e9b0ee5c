using DealLedger.Holdings;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>migrations/ is the schema: it matches the code, applies once, and nothing else creates schema.</summary>
public sealed class SchemaTests
{
    private static string Migrations => Path.Combine(TestDatabase.RepoRoot, "migrations");

    [Fact]
    public async Task the_migrations_create_exactly_the_schema_the_code_declares()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();

        // Fails with the list of differences when code and migrations drift: write a new migration (dealledger migrate --new NAME).
        await ledger.AssertSchemaMatchesCodeAsync();
    }

    [Fact]
    public async Task applying_migrations_again_applies_nothing()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();

        var report = await ledger.ApplyAsync(Migrations);

        Assert.Empty(report.Applied);
        Assert.Contains("0001_initial.sql", report.AlreadyApplied);
    }

    [Fact]
    public async Task a_migration_changed_after_it_was_applied_is_refused()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var ledger = db.Connect();
        var copy = Directory.CreateTempSubdirectory("migrations-").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(Migrations))
            {
                File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
            }
            File.AppendAllText(Path.Combine(copy, "0001_initial.sql"), "\n-- edited\n");

            var e = await Assert.ThrowsAsync<LedgerException>(() => ledger.ApplyAsync(copy));
            Assert.Contains("0001_initial.sql was changed after it was applied", e.Message);
        }
        finally
        {
            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public async Task without_migrations_the_ledger_creates_no_schema_and_says_so()
    {
        var name = $"t_{Guid.NewGuid():N}";
        await using var admin = new NpgsqlConnection(TestDatabase.ServerConnectionString);
        await admin.OpenAsync();
        await using (var create = new NpgsqlCommand($"create database {name}", admin))
        {
            await create.ExecuteNonQueryAsync();
        }
        try
        {
            var cs = new NpgsqlConnectionStringBuilder(TestDatabase.ServerConnectionString) { Database = name, Pooling = false }.ConnectionString;
            await using (var ledger = Ledger.Connect(cs))
            {
                var e = await Assert.ThrowsAsync<PostgresException>(() => ledger.HoldingAsync("a", "b"));
                Assert.Equal("42P01", e.SqlState);
            }
            await using var c = new NpgsqlConnection(cs);
            await c.OpenAsync();
            await using var count = new NpgsqlCommand($"select count(*) from information_schema.tables where table_schema = '{ProjectionTables.Schema}'", c);
            Assert.Equal(0L, await count.ExecuteScalarAsync());
        }
        finally
        {
            await using var drop = new NpgsqlCommand($"drop database {name} with (force)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task an_api_hosted_in_process_after_another_wolverine_host_still_finds_its_generated_handlers()
    {
        // A Wolverine host of the core's assembly first (in a test process, whichever host starts first pins its assembly
        // for all the others unless they name their own: Wolverine GH-3521), then the API, whose handler code is its own.
        _ = LedgerMessaging.SchemaScript();
        await using var db = await TestDatabase.CreateAsync();
        await using var api = new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>()
            .WithWebHostBuilder(b => b.UseSetting("ConnectionStrings:DealLedger", db.ConnectionString));
        using var client = api.CreateClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public void the_messaging_migration_creates_exactly_the_tables_wolverine_is_configured_for()
    {
        var migration = Directory.GetFiles(Migrations, "*_messaging.sql").Single();

        // On drift: dealledger migrate --new messaging_NAME --messaging, and keep the old file.
        Assert.Equal(File.ReadAllText(migration), LedgerMessaging.SchemaScript());
    }

    [Theory]
    [InlineData("DealLedger.Notices")]
    [InlineData("DealLedger.Api")]
    public async Task the_generated_wolverine_code_checked_in_is_current(string host)
    {
        var checkedIn = Path.Combine(TestDatabase.RepoRoot, "src", host, "Internal", "Generated");
        var scratch = Directory.CreateTempSubdirectory("codegen-").FullName;
        try
        {
            var info = new System.Diagnostics.ProcessStartInfo("dotnet") { WorkingDirectory = scratch, RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add(TestDatabase.BuiltHost(host));
            info.ArgumentList.Add("codegen");
            info.ArgumentList.Add("write");
            info.Environment[LedgerStore.EnvironmentVariable] = "Host=localhost;Database=unused";
            using var process = System.Diagnostics.Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"codegen write failed: {await output}{errors}");

            var generated = Path.Combine(scratch, "Internal", "Generated");
            string[] Files(string root) => Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order().ToArray();
            // On drift: cd src/HOST && dotnet bin/Release/net10.0/HOST.dll codegen write, then commit.
            Assert.Equal(Files(checkedIn), Files(generated));
            foreach (var file in Files(generated))
            {
                Assert.Equal(File.ReadAllText(Path.Combine(checkedIn, file)), File.ReadAllText(Path.Combine(generated, file)));
            }
        }
        finally
        {
            Directory.Delete(scratch, true);
        }
    }
}
