using System.Diagnostics;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>
/// A PostgreSQL server of one test's own, for tests that stop, crash and restart it: the shared
/// server the other test classes use must keep running. It is eng/pg's private cluster kept in a
/// temporary directory (DEALLEDGER_PG_STATE), so it is made as a developer's cluster is — as the
/// `postgres` OS user when the tests run as root — and stopped and started by the same script.
/// Dispose deletes it; a test run that died before doing so leaves a directory named after its
/// process, which the next one removes (cluster and all).
/// </summary>
public sealed class PrivateCluster : IAsyncDisposable
{
    private const string Prefix = "dealledger-pgtest-";
    private readonly string state;

    private PrivateCluster(string state, string connectionString)
    {
        this.state = state;
        ConnectionString = connectionString;
    }

    /// <summary>The connection string of its "dealledger" database (superuser).</summary>
    public string ConnectionString { get; }

    /// <summary>Creates and starts a cluster (initdb: a few seconds).</summary>
    public static async Task<PrivateCluster> StartAsync()
    {
        await RemoveAbandonedAsync();
        var state = Path.Combine(Path.GetTempPath(), $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}"[..(Prefix.Length + 20)]);
        try
        {
            return new PrivateCluster(state, await PgAsync(state, "start"));
        }
        catch
        {
            await PgAsync(state, "destroy");
            throw;
        }
    }

    /// <summary>Stops the server: a clean shutdown (connections are closed), or as if it crashed.</summary>
    public Task StopAsync(bool crash = false) => PgAsync(state, crash ? "stop --immediate" : "stop");

    /// <summary>Starts it again, on the same port (clients must find it where it was).</summary>
    public async Task StartAgainAsync()
    {
        var again = await PgAsync(state, "start");
        if (new NpgsqlConnectionStringBuilder(again).Port != new NpgsqlConnectionStringBuilder(ConnectionString).Port)
        {
            throw new InvalidOperationException($"the cluster came back on another port (its own was taken meanwhile): {again}");
        }
    }

    /// <summary>Starts a hot standby of it (eng/pg standby: pg_basebackup -R); with <paramref name="synchronous"/>, commits
    /// wait until the standby has applied them (remote_apply). Its connection string.</summary>
    public Task<string> StartStandbyAsync(bool synchronous = false, IReadOnlyDictionary<string, string>? environment = null) =>
        PgAsync(state, synchronous ? "standby start --sync" : "standby start", environment);

    /// <summary>Stops the standby (as if it crashed, with <paramref name="crash"/>); the primary is set back to asynchronous first.</summary>
    public Task StopStandbyAsync(bool crash = false) => PgAsync(state, crash ? "standby stop --immediate" : "standby stop");

    /// <summary>Promotes the standby (pg_ctl promote): it becomes a primary, on its own port.</summary>
    public Task PromoteStandbyAsync() => PgAsync(state, "standby promote");

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await PgAsync(state, "destroy");
    }

    /// <summary>Clusters of test runs whose process is gone.</summary>
    private static async Task RemoveAbandonedAsync()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            var name = Path.GetFileName(dir);
            if (int.TryParse(name[Prefix.Length..].Split('-')[0], out var pid) && !Alive(pid))
            {
                await PgAsync(dir, "destroy");
            }
        }
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Runs eng/pg on the cluster in <paramref name="state"/>; its stdout (the connection string for start).</summary>
    private static async Task<string> PgAsync(string state, string arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Path.Combine(TestDatabase.RepoRoot, "eng", "pg"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments.Split(' '))
        {
            info.ArgumentList.Add(a);
        }
        info.Environment["DEALLEDGER_PG_STATE"] = state;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"eng/pg {arguments} (DEALLEDGER_PG_STATE={state}) still runs after 120 s");
        }
        return process.ExitCode == 0
            ? (await stdout).Trim()
            : throw new InvalidOperationException($"eng/pg {arguments} (DEALLEDGER_PG_STATE={state}) failed with exit code {process.ExitCode}:\n{await stderr}");
    }
}
