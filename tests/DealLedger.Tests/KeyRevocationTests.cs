using System.Diagnostics;
using System.Net;
using DealLedger.Access;

namespace DealLedger.Tests;

/// <summary>
/// Each API process remembers the keys it accepted; a revocation reaches every process through NOTIFY,
/// and a process that lost its LISTEN connection forgets everything.
/// </summary>
public sealed class KeyRevocationTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    private static readonly TimeSpan Promised = TimeSpan.FromSeconds(1);
    private const string Read = "api/events?after=0&limit=1";

    [Fact]
    public async Task a_key_revoked_through_one_node_or_the_cli_is_refused_by_every_node_within_a_second()
    {
        await using var ledger = db.Connect();
        var admin = (await ledger.CreateKeyAsync("revocation-admin", Role.Admin, "tests")).Key;
        var overHttp = (await ledger.CreateKeyAsync("revoked-over-http", Role.Reader, "tests")).Key;
        var fromCli = (await ledger.CreateKeyAsync("revoked-from-cli", Role.Reader, "tests")).Key;
        await using var a = new ApiProcess($"{db.ConnectionString};Application Name=node-a", "node-a");
        await using var b = new ApiProcess($"{db.ConnectionString};Application Name=node-b", "node-b");
        await Task.WhenAll(a.StartAsync(), b.StartAsync());

        foreach (var node in new[] { a, b })
        {
            foreach (var key in new[] { overHttp, fromCli })
            {
                await ExpectAsync(node, key, HttpStatusCode.OK);
                await ExpectAsync(node, key, HttpStatusCode.OK); // now from the node's cache
            }
        }

        using (var http = a.Client(admin, TimeSpan.FromSeconds(30)))
        {
            (await http.DeleteAsync("api/keys/revoked-over-http")).EnsureSuccessStatusCode();
        }
        var since = Stopwatch.StartNew();
        await RefusedWithinAsync(b, overHttp, since);
        await ExpectAsync(a, overHttp, HttpStatusCode.Unauthorized);

        var (code, _, stderr) = await HeadlineTests.RunCliAsync(["keys", "revoke", "revoked-from-cli", "--connection", db.ConnectionString]);
        Assert.True(code == 0, stderr);
        since.Restart();
        await Task.WhenAll(RefusedWithinAsync(a, fromCli, since), RefusedWithinAsync(b, fromCli, since));
    }

    [Fact]
    public async Task a_node_that_lost_its_listen_connection_forgets_every_key_it_remembered()
    {
        await using var ledger = db.Connect();
        var key = (await ledger.CreateKeyAsync("revoked-unheard", Role.Reader, "tests")).Key;
        await using var node = new ApiProcess($"{db.ConnectionString};Application Name=node-deaf", "node-deaf");
        await node.StartAsync();
        // Keys are remembered only once the node listens.
        var started = Stopwatch.StartNew();
        while (await ExecAsync(Listener + " and state = 'idle'") == 0)
        {
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), "the node never listened");
            await Task.Delay(50);
        }
        await Task.Delay(200);
        await ExpectAsync(node, key, HttpStatusCode.OK);

        // Revoked behind the ledger's back, with no notification: the node keeps accepting the key it
        // remembers, which shows that it remembers it.
        await ExecAsync("update dealledger.api_keys set revoked_at = clock_timestamp() where name = 'revoked-unheard'");
        await ExpectAsync(node, key, HttpStatusCode.OK);

        // A lost LISTEN connection could have missed a revocation: the node must forget.
        Assert.Equal(1, await ExecAsync(Listener.Replace("select pid", "select pg_terminate_backend(pid)", StringComparison.Ordinal)));
        await RefusedWithinAsync(node, key, Stopwatch.StartNew(), TimeSpan.FromSeconds(5));
    }

    private const string Listener = "select pid from pg_stat_activity where datname = current_database() and application_name = 'node-deaf' and query like 'listen %'";

    private static async Task ExpectAsync(ApiProcess node, string key, HttpStatusCode expected)
    {
        using var http = node.Client(key, TimeSpan.FromSeconds(30));
        using var response = await http.GetAsync(Read);
        Assert.Equal(expected, response.StatusCode);
    }

    private static async Task RefusedWithinAsync(ApiProcess node, string key, Stopwatch since, TimeSpan? within = null)
    {
        using var http = node.Client(key, TimeSpan.FromSeconds(30));
        while (true)
        {
            using var response = await http.GetAsync(Read);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                break;
            }
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await Task.Delay(20);
        }
        Assert.True(since.Elapsed <= (within ?? Promised), $"refused after {since.Elapsed.TotalMilliseconds:F0} ms");
    }

    private async Task<int> ExecAsync(string sql)
    {
        await using var c = new Npgsql.NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(sql, c);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = 0;
        while (await r.ReadAsync())
        {
            rows++;
        }
        return rows;
    }
}
