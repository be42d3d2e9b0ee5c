using System.Diagnostics;
using System.Globalization;

namespace DealLedger.Benchmarks;

/// <summary>
/// Where a workload's time went: the wall clock, the CPU this process used and the CPU PostgreSQL's processes used (every
/// process named postgres: the backends, the WAL writer, the checkpointer). What neither used is waiting: on the disk, or
/// each on the other (a round trip leaves one side idle). And what this process allocated, and the collections that cost it.
/// </summary>
public readonly record struct CpuTime(TimeSpan Wall, TimeSpan Ours, TimeSpan Server, long Allocated, int Collections, TimeSpan Paused)
{
    // /proc/PID/stat counts in clock ticks of USER_HZ, 100 a second on Linux.
    private const double TicksPerSecond = 100;

    public static CpuTime Now() => new(TimeSpan.FromTicks(Stopwatch.GetTimestamp() * TimeSpan.TicksPerSecond / Stopwatch.Frequency),
        Process.GetCurrentProcess().TotalProcessorTime, TimeSpan.FromSeconds(ServerTicks() / TicksPerSecond),
        GC.GetTotalAllocatedBytes(precise: false), GC.CollectionCount(0), GC.GetTotalPauseDuration());

    public static CpuTime operator -(CpuTime a, CpuTime b) =>
        new(a.Wall - b.Wall, a.Ours - b.Ours, a.Server - b.Server, a.Allocated - b.Allocated, a.Collections - b.Collections, a.Paused - b.Paused);

    /// <summary>
    /// Seconds of CPU the whole machine spent busy since boot (every core, every process: /proc/stat's first line less its
    /// idle and iowait), zero where /proc cannot be read. The difference over a run, divided by what the run served, is
    /// the CPU one request took of the machine, whoever spent it.
    /// </summary>
    public static double MachineBusySeconds()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First();
            // cpu user nice system idle iowait irq softirq steal …
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            return (fields.Sum() - fields[3] - fields[4]) / TicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    /// <summary>utime + stime of every process named postgres that can be read (zero where /proc cannot be).</summary>
    private static long ServerTicks()
    {
        long ticks = 0;
        foreach (var dir in Directory.Exists("/proc") ? Directory.EnumerateDirectories("/proc") : [])
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // pid (comm) state ppid …: the name may hold spaces, so fields are counted after its closing parenthesis.
                var close = stat.LastIndexOf(')');
                if (close < 0 || !stat.AsSpan(0, close).EndsWith("(postgres", StringComparison.Ordinal))
                {
                    continue;
                }
                var fields = stat[(close + 2)..].Split(' ');
                // After the name: state is field 3, utime field 14, stime field 15.
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }
        return ticks;
    }
}
