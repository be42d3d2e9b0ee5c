using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DealLedger.Benchmarks;

/// <summary>
/// The scaling curves as a PNG, drawn here (no native plotting library to install): throughput of every
/// events/s workload and its comparison against history size, both axes logarithmic, and the headline
/// query's p50 against size. A small 5×7 pixel font writes the labels.
/// </summary>
public static class ScalingChart
{
    private const int Width = 1000;
    private const int Height = 760;

    private static readonly (byte R, byte G, byte B)[] Palette =
    [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    ];

    public static void Write(string path, IReadOnlyList<Measurement> results)
    {
        var image = new Canvas(Width, Height);
        image.Text(20, 12, "DEALLEDGER BENCHMARKS: THROUGHPUT AND QUERY LATENCY BY HISTORY SIZE", (0, 0, 0), 2);

        var throughput = new List<(string Name, List<(double X, double Y)> Points)>();
        foreach (var group in results.Where(m => m.Unit == "events/s").GroupBy(m => m.Workload))
        {
            throughput.Add((group.Key, group.Select(m => ((double)m.Size, m.Measured)).ToList()));
            var comparison = group.Where(m => m.Comparison is not null).ToList();
            if (comparison.Count > 0)
            {
                throughput.Add((Short(comparison[0].Comparison!), comparison.Select(m => ((double)m.Size, m.ComparisonValue!.Value)).ToList()));
            }
        }
        throughput = throughput.GroupBy(s => s.Name).Select(g => g.First()).ToList();
        Panel(image, 70, 50, 560, 330, "EVENTS/S", throughput, "60K AND 100K AND 300K TARGETS DASHED", [60_000, 100_000, 300_000]);

        var latency = results.Where(m => m.Unit == "ms" && m.Workload.StartsWith("headline query in process", StringComparison.Ordinal))
            .GroupBy(m => m.Workload).Select(g => (g.Key, g.Select(m => ((double)m.Size, m.Measured)).ToList())).ToList();
        Panel(image, 70, 430, 560, 280, "MS", latency, "0.15 MS AND 1 MS TARGETS DASHED", [0.15, 1]);
        image.Save(path);
    }

    private static string Short(string comparison) => comparison.Split('(')[0].Trim();

    private static void Panel(Canvas image, int left, int top, int width, int height, string unit,
        List<(string Name, List<(double X, double Y)> Points)> series, string note, double[] targets)
    {
        var all = series.SelectMany(s => s.Points).Where(p => p.X > 0 && p.Y > 0).ToList();
        image.Rect(left, top, width, height, (0, 0, 0));
        image.Text(left, top + height + 26, note, (90, 90, 90), 1);
        if (all.Count == 0)
        {
            image.Text(left + 10, top + 10, "NO DATA", (0, 0, 0), 2);
            return;
        }
        var xs = all.Select(p => Math.Log10(p.X)).Concat([4.0]).ToList();
        var ys = all.Select(p => Math.Log10(p.Y)).Concat(targets.Select(Math.Log10)).ToList();
        double x0 = Math.Floor(xs.Min()), x1 = Math.Max(Math.Ceiling(xs.Max()), x0 + 1);
        double y0 = Math.Floor(ys.Min()), y1 = Math.Max(Math.Ceiling(ys.Max()), y0 + 1);
        int X(double v) => left + (int)((Math.Log10(v) - x0) / (x1 - x0) * (width - 20)) + 10;
        int Y(double v) => top + height - 10 - (int)((Math.Log10(v) - y0) / (y1 - y0) * (height - 20));
        for (var e = x0; e <= x1; e++)
        {
            var v = Math.Pow(10, e);
            image.Line(X(v), top + height, X(v), top + height + 5, (0, 0, 0));
            image.Text(X(v) - 12, top + height + 10, Label(v), (0, 0, 0), 1);
        }
        for (var e = y0; e <= y1; e++)
        {
            var v = Math.Pow(10, e);
            image.Line(left - 5, Y(v), left + width, Y(v), (225, 225, 225));
            image.Text(left - 60, Y(v) - 3, Label(v), (0, 0, 0), 1);
        }
        image.Text(left - 60, top - 14, unit, (0, 0, 0), 1);
        image.Text(left + width - 110, top + height + 26, "HISTORY (EVENTS)", (0, 0, 0), 1);
        foreach (var t in targets.Where(t => Math.Log10(t) >= y0 && Math.Log10(t) <= y1))
        {
            for (var x = left; x < left + width; x += 8)
            {
                image.Line(x, Y(t), x + 4, Y(t), (200, 0, 0));
            }
        }
        for (var i = 0; i < series.Count; i++)
        {
            var color = Palette[i % Palette.Length];
            var points = series[i].Points.Where(p => p.X > 0 && p.Y > 0).OrderBy(p => p.X).ToList();
            for (var j = 0; j < points.Count; j++)
            {
                image.Dot(X(points[j].X), Y(points[j].Y), color);
                if (j > 0)
                {
                    image.Line(X(points[j - 1].X), Y(points[j - 1].Y), X(points[j].X), Y(points[j].Y), color, thick: true);
                }
            }
            image.Fill(left + width + 20, top + 6 + i * 16, 10, 6, color);
            image.Text(left + width + 36, top + 5 + i * 16, series[i].Name.ToUpperInvariant(), (0, 0, 0), 1);
        }
    }

    private static string Label(double v) => v switch
    {
        >= 1_000_000 => $"{v / 1_000_000:0.#}M",
        >= 1_000 => $"{v / 1_000:0.#}K",
        >= 1 => $"{v:0.#}",
        _ => $"{v:0.###}",
    };

    private sealed class Canvas(int width, int height)
    {
        private readonly byte[] pixels = Enumerable.Repeat((byte)255, width * height * 3).ToArray();

        public void Set(int x, int y, (byte R, byte G, byte B) c)
        {
            if (x < 0 || y < 0 || x >= width || y >= height)
            {
                return;
            }
            var i = (y * width + x) * 3;
            (pixels[i], pixels[i + 1], pixels[i + 2]) = c;
        }

        public void Fill(int x, int y, int w, int h, (byte, byte, byte) c)
        {
            for (var i = 0; i < w; i++)
            {
                for (var j = 0; j < h; j++)
                {
                    Set(x + i, y + j, c);
                }
            }
        }

        public void Rect(int x, int y, int w, int h, (byte, byte, byte) c)
        {
            Line(x, y, x + w, y, c);
            Line(x, y + h, x + w, y + h, c);
            Line(x, y, x, y + h, c);
            Line(x + w, y, x + w, y + h, c);
        }

        public void Dot(int x, int y, (byte, byte, byte) c) => Fill(x - 3, y - 3, 7, 7, c);

        public void Line(int x0, int y0, int x1, int y1, (byte, byte, byte) c, bool thick = false)
        {
            int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
            while (true)
            {
                Set(x0, y0, c);
                if (thick)
                {
                    Set(x0 + 1, y0, c);
                    Set(x0, y0 + 1, c);
                }
                if (x0 == x1 && y0 == y1)
                {
                    return;
                }
                var e2 = 2 * err;
                if (e2 >= dy)
                {
                    err += dy;
                    x0 += sx;
                }
                if (e2 <= dx)
                {
                    err += dx;
                    y0 += sy;
                }
            }
        }

        public void Text(int x, int y, string text, (byte, byte, byte) c, int scale)
        {
            foreach (var ch in text.ToUpperInvariant())
            {
                if (Font.TryGetValue(ch, out var rows))
                {
                    for (var row = 0; row < 7; row++)
                    {
                        for (var col = 0; col < 5; col++)
                        {
                            if (rows[row][col] == '#')
                            {
                                Fill(x + col * scale, y + row * scale, scale, scale, c);
                            }
                        }
                    }
                }
                x += 6 * scale;
            }
        }

        public void Save(string path)
        {
            var raw = new MemoryStream();
            for (var y = 0; y < height; y++)
            {
                raw.WriteByte(0);
                raw.Write(pixels, y * width * 3, width * 3);
            }
            var compressed = new MemoryStream();
            using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                raw.Position = 0;
                raw.CopyTo(z);
            }
            using var file = File.Create(path);
            file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
            var header = new byte[13];
            BinaryPrimitives.WriteInt32BigEndian(header, width);
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
            header[8] = 8; // bit depth
            header[9] = 2; // truecolour
            Chunk(file, "IHDR", header);
            Chunk(file, "IDAT", compressed.ToArray());
            Chunk(file, "IEND", []);
        }

        private static void Chunk(Stream file, string type, byte[] data)
        {
            var head = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
            Encoding.ASCII.GetBytes(type, head.AsSpan(4));
            file.Write(head);
            file.Write(data);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(head.AsSpan(4), data));
            file.Write(crc);
        }

        private static uint Crc32(ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
        {
            var crc = 0xFFFFFFFFu;
            foreach (var span in new[] { type.ToArray(), data.ToArray() })
            {
                foreach (var b in span)
                {
                    crc ^= b;
                    for (var k = 0; k < 8; k++)
                    {
                        crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
                    }
                }
            }
            return crc ^ 0xFFFFFFFFu;
        }
    }

    /// <summary>5×7 glyphs, rows top to bottom.</summary>
    private static readonly Dictionary<char, string[]> Font = new()
    {
        ['A'] = [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
        ['B'] = ["####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."],
        ['C'] = [".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."],
        ['D'] = ["####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."],
        ['E'] = ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
        ['F'] = ["#####", "#....", "#....", "####.", "#....", "#....", "#...."],
        ['G'] = [".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"],
        ['H'] = ["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
        ['I'] = [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
        ['J'] = ["..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."],
        ['K'] = ["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"],
        ['L'] = ["#....", "#....", "#....", "#....", "#....", "#....", "#####"],
        ['M'] = ["#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"],
        ['N'] = ["#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"],
        ['O'] = [".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
        ['P'] = ["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."],
        ['Q'] = [".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"],
        ['R'] = ["####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"],
        ['S'] = [".####", "#....", "#....", ".###.", "....#", "....#", "####."],
        ['T'] = ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."],
        ['U'] = ["#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
        ['V'] = ["#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
        ['W'] = ["#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."],
        ['X'] = ["#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"],
        ['Y'] = ["#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."],
        ['Z'] = ["#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"],
        ['0'] = [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
        ['1'] = ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
        ['2'] = [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
        ['3'] = ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
        ['4'] = ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
        ['5'] = ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
        ['6'] = ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
        ['7'] = ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
        ['8'] = [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
        ['9'] = [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
        ['.'] = [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
        [','] = [".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."],
        [':'] = [".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."],
        ['-'] = [".....", ".....", ".....", "#####", ".....", ".....", "....."],
        ['/'] = [".....", "....#", "...#.", "..#..", ".#...", "#....", "....."],
        ['('] = ["...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."],
        [')'] = [".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."],
        ['%'] = ["##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"],
        ['×'] = [".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "....."],
        ['≥'] = [".#...", "..#..", "...#.", "..#..", ".#...", ".....", "#####"],
        ['≤'] = ["...#.", "..#..", ".#...", "..#..", "...#.", ".....", "#####"],
        ['÷'] = ["..#..", ".....", "#####", ".....", "..#..", ".....", "....."],
        ['+'] = [".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."],
        ['→'] = [".....", "..#..", "...#.", "#####", "...#.", "..#..", "....."],
        ['\''] = ["..#..", "..#..", ".....", ".....", ".....", ".....", "....."],
    };
}
