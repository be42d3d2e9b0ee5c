using DealLedger.Access;

namespace DealLedger.Tests;

/// <summary>API keys from the CLI: created with a role, shown once, stored hashed, revoked at once.</summary>
public sealed class KeysTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    private Task<(int Code, string Stdout, string Stderr)> Cli(params string[] args) =>
        HeadlineTests.RunCliAsync([.. args, "--connection", db.ConnectionString]);

    [Fact]
    public async Task a_key_is_shown_once_stored_only_as_a_hash_and_stops_working_when_revoked()
    {
        await using var ledger = db.Connect();
        var (code, stdout, _) = await Cli("keys", "create", "--name", "analyst", "--role", "writer");
        Assert.Equal(0, code);
        var secret = stdout.Trim().Split('\n')[^1];
        Assert.StartsWith("dlk_", secret);
        Assert.Equal(("analyst", Role.Writer), await ledger.AuthenticateAsync(secret));

        var (_, list, _) = await Cli("keys", "list");
        Assert.Contains("analyst", list);
        Assert.DoesNotContain(secret, list);
        await using (var c = await ledger.Database.OpenConnectionAsync())
        await using (var cmd = new Npgsql.NpgsqlCommand("select count(*) from dealledger.api_keys where encode(key_hash, 'escape') like '%' || $1 || '%'", c))
        {
            cmd.Parameters.Add(new() { Value = secret[4..] });
            Assert.Equal(0L, await cmd.ExecuteScalarAsync());
        }

        Assert.Equal(0, (await Cli("keys", "revoke", "analyst")).Code);
        Assert.Null(await ledger.AuthenticateAsync(secret));
    }

    [Theory]
    [InlineData("role 'owner' is not one of: reader, writer, admin", "keys", "create", "--name", "x", "--role", "owner")]
    [InlineData("key name 'Bad Name' must be", "keys", "create", "--name", "Bad Name", "--role", "reader")]
    [InlineData("unknown key 'nobody'", "keys", "revoke", "nobody")]
    public async Task bad_key_commands_get_one_error_line_and_exit_code_2(string message, params string[] args)
    {
        var (code, _, stderr) = await Cli(args);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task a_key_name_is_never_reused()
    {
        Assert.Equal(0, (await Cli("keys", "create", "--name", "once", "--role", "reader")).Code);
        await Cli("keys", "revoke", "once");
        var (code, _, stderr) = await Cli("keys", "create", "--name", "once", "--role", "reader");
        Assert.Equal(2, code);
        Assert.Contains("already exists", stderr);
    }
}
