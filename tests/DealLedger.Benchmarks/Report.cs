using System.Globalization;
using System.Text;

namespace DealLedger.Benchmarks;

/// <summary>The results as one table (stdout), as CSV, and as a PNG of the scaling curves.</summary>
public static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Size(long size) => size switch
    {
        0 => "—",
        >= 1_000_000 when size % 1_000_000 == 0 => $"{size / 1_000_000}M",
        >= 1_000 when size % 1_000 == 0 => $"{size / 1_000}k",
        _ => size.ToString("N0", Invariant),
    };

    public static string Value(double value, string unit) => unit switch
    {
        "ms" => value.ToString(value < 10 ? "0.000" : "0.0", Invariant) + " ms",
        "MB" => value.ToString("N0", Invariant) + " MB",
        "×" => value.ToString("0.00", Invariant) + "×",
        _ => value.ToString("N0", Invariant) + " " + unit,
    };

    public static string Line(Measurement m) =>
        $"{m.Workload} @ {Size(m.Size)}: {Value(m.Measured, m.Unit)} (target {m.Target}{(m.Met is { } met ? met ? ", met" : ", missed" : "")})"
        + (m.Comparison is null ? "" : $"; vs {m.Comparison}: {Value(m.ComparisonValue!.Value, m.Unit)}, ratio {Ratio(m.Ratio)} (target {m.RatioTarget}{(m.RatioMet is { } r ? r ? ", met" : ", missed" : "")})")
        + (m.Note is null ? "" : $" — {m.Note}");

    private static string Ratio(double? ratio) => ratio is { } r ? r.ToString(r < 10 ? "0.00" : "N0", Invariant) + "×" : "—";

    public static string Table(IReadOnlyList<Measurement> results, string header)
    {
        var rows = results.Select(m => new[]
        {
            m.Workload, Size(m.Size), m.Target, Value(m.Measured, m.Unit),
            m.Comparison is null ? "—" : $"{m.Comparison}: {Value(m.ComparisonValue!.Value, m.Unit)}",
            m.Ratio is null ? "—" : $"{Ratio(m.Ratio)} ({m.RatioTarget})",
            m.AllMet is { } ok ? ok ? "met" : "MISSED" : "—",
            m.Runs.ToString(Invariant),
        }).ToList();
        string[] titles = ["workload", "size", "target", "measured (median)", "comparison (same run)", "ratio", "met", "runs"];
        var widths = titles.Select((t, i) => Math.Max(t.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        text.AppendLine(header);
        text.AppendLine(string.Join(" | ", titles.Select((t, i) => t.PadRight(widths[i]))));
        text.AppendLine(string.Join("-|-", widths.Select(w => new string('-', w))));
        foreach (var r in rows)
        {
            text.AppendLine(string.Join(" | ", r.Select((c, i) => c.PadRight(widths[i]))));
        }
        foreach (var note in results.Where(m => m.Note is not null))
        {
            text.AppendLine($"  note ({m(note)}): {note.Note}");
        }
        return text.ToString();

        static string m(Measurement x) => $"{x.Workload} @ {Size(x.Size)}";
    }

    public static string Csv(IReadOnlyList<Measurement> results)
    {
        var text = new StringBuilder("workload,size,unit,measured,target,met,comparison,comparison_value,ratio,ratio_target,ratio_met,runs,note\n");
        foreach (var m in results)
        {
            text.AppendLine(string.Join(",", new[]
            {
                Quote(m.Workload), m.Size.ToString(Invariant), Quote(m.Unit), m.Measured.ToString("R", Invariant), Quote(m.Target), Flag(m.Met),
                Quote(m.Comparison ?? ""), m.ComparisonValue?.ToString("R", Invariant) ?? "", m.Ratio?.ToString("R", Invariant) ?? "", Quote(m.RatioTarget ?? ""),
                Flag(m.RatioMet), m.Runs.ToString(Invariant), Quote(m.Note ?? ""),
            }));
        }
        return text.ToString();

        static string Quote(string s) => s.Contains(',') || s.Contains('"') ? $"\"{s.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : s;
        static string Flag(bool? b) => b is { } v ? v ? "yes" : "no" : "";
    }
}
