using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DealLedger.Tests;

/// <summary>
/// Tests that run hosts as child processes and time them (kills every few seconds, catch-up
/// deadlines) run alone, not next to the whole suite on a small machine.
/// </summary>
[CollectionDefinition(ChildProcess.Collection, DisableParallelization = true)]
public sealed class ChildProcessCollection;

/// <summary>
/// A host run as a child process of the test (`dotnet X.dll`), for tests that must crash it for
/// real: started with its own arguments and environment, its output kept (the last lines, for
/// failure messages), waited for, killed with SIGKILL, and always killed on dispose.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    public const string Collection = "child processes";
    private const int KeptLines = 200;
    private readonly Process process;
    private readonly Queue<string> tail = new();
    private readonly Lock gate = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> watchers = [];
    private List<string>? all;

    private ChildProcess(string name, Process process)
    {
        Name = name;
        this.process = process;
    }

    public string Name { get; }
    public int Id { get; private set; }
    public bool HasExited => process.HasExited;
    public int? ExitCode => process.HasExited ? process.ExitCode : null;

    /// <summary>How many lines it wrote to stderr so far.</summary>
    public int ErrorLines => Volatile.Read(ref errorLines);
    private int errorLines;

    /// <summary>
    /// Starts `dotnet DLL ARGS` from the test's own bin folder (a ProjectReference puts hosts
    /// there). <paramref name="environment"/> adds to or (value null) removes from the test's own
    /// environment; the working directory is the DLL's folder.
    /// </summary>
    /// <param name="keepAllOutput">Keep every line, not just the last ones (<see cref="AllOutput"/>): for tests that search the whole output.</param>
    public static ChildProcess StartDll(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? name = null, bool keepAllOutput = false)
    {
        var path = Path.IsPathRooted(dll) ? dll : Path.Combine(AppContext.BaseDirectory, dll);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"no {dll} next to the tests (is the project referenced?)", path);
        }
        var info = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = Path.GetDirectoryName(path)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(path);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name ?? Path.GetFileNameWithoutExtension(path), process) { all = keepAllOutput ? [] : null };
        process.OutputDataReceived += (_, e) => child.Line(e.Data, "");
        process.ErrorDataReceived += (_, e) => child.Line(e.Data, "! ");
        process.Start();
        child.Id = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// A loopback port nobody listens on right now, and never handed to another test of this run: a server a test takes
    /// down for a while (a webhook receiver's outage, an API killed and started again) keeps its port, where another test's
    /// server, given the same port meanwhile, would answer in its place.
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (HandedOut.TryAdd(port, true))
            {
                return port;
            }
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> HandedOut = new();

    /// <summary>The last lines of its stdout and stderr (stderr lines start with "! "), oldest first.</summary>
    public string Tail(int lines = 40)
    {
        lock (gate)
        {
            return string.Join('\n', tail.Skip(Math.Max(0, tail.Count - lines)));
        }
    }

    /// <summary>Every line it wrote so far (stderr lines start with "! "), when started with keepAllOutput.</summary>
    public IReadOnlyList<string> AllOutput()
    {
        lock (gate)
        {
            return all?.ToList() ?? throw new InvalidOperationException($"{Name} was not started with keepAllOutput");
        }
    }

    /// <summary>Waits until <paramref name="url"/> answers 200, failing early (with the output) if the process ends.</summary>
    public async Task WaitForHttpAsync(Uri url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await WaitUntilAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync(url);
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, timeout, $"{url} to answer 200");
    }

    /// <summary>Polls <paramref name="condition"/> until true; fails with the process's output on timeout or if it ends first.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? every = null)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return;
            }
            if (process.HasExited)
            {
                // It may have ended between the look and now, making the condition true (an import that committed): look once more.
                if (await condition())
                {
                    return;
                }
                throw new InvalidOperationException($"{Name} (pid {process.Id}) exited with code {process.ExitCode} while waiting for {what}:\n{Tail()}");
            }
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name} (pid {process.Id}): no {what} within {timeout.TotalSeconds:0} s:\n{Tail()}");
            }
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>Waits for an output line that matches (also one already printed); fails with the output otherwise.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            if (tail.FirstOrDefault(match) is { } already)
            {
                return already;
            }
            watchers.Add((match, seen));
        }
        var exited = process.WaitForExitAsync();
        var done = await Task.WhenAny(seen.Task, exited, Task.Delay(timeout));
        return done == seen.Task
            ? await seen.Task
            : throw new TimeoutException(done == exited
                ? $"{Name} (pid {process.Id}) exited with code {process.ExitCode} before printing {what}:\n{Tail()}"
                : $"{Name} (pid {process.Id}) printed no {what} within {timeout.TotalSeconds:0} s:\n{Tail()}");
    }

    /// <summary>Kills it and its children with SIGKILL (no shutdown code runs) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or AggregateException)
        {
            // Already exited (or exiting while its tree was walked).
        }
        await process.WaitForExitAsync();
    }

    /// <summary>Waits for it to end on its own; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} (pid {process.Id}) still runs after {timeout.TotalSeconds:0} s:\n{Tail()}");
        }
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }

    private void Line(string? line, string prefix)
    {
        if (line is null)
        {
            return;
        }
        if (prefix.Length > 0)
        {
            Interlocked.Increment(ref errorLines);
        }
        lock (gate)
        {
            all?.Add(prefix + line);
            tail.Enqueue(prefix + line);
            while (tail.Count > KeptLines)
            {
                tail.Dequeue();
            }
            foreach (var w in watchers.Where(w => w.Match(prefix + line)).ToList())
            {
                watchers.Remove(w);
                w.Seen.TrySetResult(prefix + line);
            }
        }
    }

    /// <summary>The dotnet host running the tests (the SDK sets DOTNET_HOST_PATH for its children), else `dotnet` on PATH.</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : "dotnet";
}
