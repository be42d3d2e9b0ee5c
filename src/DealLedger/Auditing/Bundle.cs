using System.Buffers;
using System.Data;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Auditing;

/// <summary>What an export wrote (or, when the ledger does not verify, why it wrote nothing).</summary>
public sealed record ExportResult(bool Ok, string Directory, long Events, long? FirstSequence, long? LastSequence, string HeadLink, int Sources, UnsealedTail? Unsealed, ChainBreak? Break);

/// <summary>
/// The export bundle (DESIGN §8; the format is docs/seals.md): a folder a third party can verify
/// offline, with no database.
/// <list type="bullet">
/// <item>events.jsonl — every sealed event, one per line: exactly its canonical bytes (<see cref="CanonicalEvent"/>), then \n.</item>
/// <item>seals.jsonl — line for line with events.jsonl: {"sequence","eventId","link"} (link in lowercase hex).</item>
/// <item>sources.json — the sources projection: the sources the facts cite.</item>
/// <item>manifest.json — format, creation time, counts, first/last sequence, head link, each file's size and
/// SHA-256, and a digest of the manifest itself, so that one byte changed anywhere is found.</item>
/// </list>
/// </summary>
public static class Bundle
{
    public const string Format = "dealledger-bundle/1";
    public const string EventsFile = "events.jsonl";
    public const string SealsFile = "seals.jsonl";
    public const string SourcesFile = "sources.json";
    public const string ManifestFile = "manifest.json";

    private static readonly string[] DataFiles = [EventsFile, SealsFile, SourcesFile];
    private static readonly byte[] DigestMarker = ",\"digest\":\""u8.ToArray();

    /// <summary>
    /// Seals what is not yet sealed, then writes the bundle into <paramref name="directory"/> (new or
    /// empty) from one snapshot, verifying the chain as it goes. When the ledger does not verify it
    /// writes nothing and says where the chain breaks.
    /// </summary>
    public static async Task<ExportResult> ExportAsync(this Ledger ledger, string directory, CancellationToken ct = default)
    {
        var dir = Path.GetFullPath(directory);
        if (File.Exists(dir))
        {
            throw LedgerException.Invalid($"{directory} is a file: export writes into a new or empty folder");
        }
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            throw LedgerException.Invalid($"{directory} is not empty: export writes into a new or empty folder");
        }
        Directory.CreateDirectory(dir);
        await ledger.SealAsync(ct);

        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        VerifyReport report;
        var files = new Dictionary<string, (long Bytes, string Sha256)>();
        await using (var events = new HashedFile(Path.Combine(dir, EventsFile)))
        await using (var seals = new HashedFile(Path.Combine(dir, SealsFile)))
        {
            report = await Seals.WalkAsync(c, async (sequence, id, canonical, link, token) =>
            {
                await events.WriteAsync(canonical, token);
                await events.WriteAsync("\n"u8.ToArray(), token);
                await seals.WriteAsync(Encoding.UTF8.GetBytes(SealLine(sequence, id, link) + "\n"), token);
            }, ct);
            files[EventsFile] = events.Finish();
            files[SealsFile] = seals.Finish();
        }
        if (!report.Ok)
        {
            foreach (var f in DataFiles)
            {
                File.Delete(Path.Combine(dir, f));
            }
            return new ExportResult(false, dir, 0, null, null, report.HeadLink, 0, report.Unsealed, report.Break);
        }

        var sources = await Sql.ListAsync(c,
            $"select id, recorded_at, sequence, data::text from {ProjectionTables.Name("sources")} order by id collate \"C\"",
            r => "{\"id\":" + CanonicalEvent.Quote(r.GetString(0)) + ",\"recordedAt\":" + CanonicalEvent.Quote(Instant.Format(r.GetFieldValue<DateTimeOffset>(1)))
                 + ",\"sequence\":" + r.GetInt64(2).ToString(CultureInfo.InvariantCulture) + ",\"data\":" + CanonicalEvent.Json(r.GetString(3)) + "}",
            ct);
        await using (var sourcesFile = new HashedFile(Path.Combine(dir, SourcesFile)))
        {
            await sourcesFile.WriteAsync(Encoding.UTF8.GetBytes(sources.Count == 0 ? "[]\n" : "[\n" + string.Join(",\n", sources) + "\n]\n"), ct);
            files[SourcesFile] = sourcesFile.Finish();
        }
        await tx.CommitAsync(ct);

        var createdAt = Instant.Format(Instant.TruncateToMicroseconds(ledger.Clock.GetUtcNow()));
        await File.WriteAllBytesAsync(Path.Combine(dir, ManifestFile),
            Manifest(createdAt, report.EventsChecked, report.FirstSequence, report.EventsChecked == 0 ? null : report.SealedHead, report.HeadLink, files), ct);
        return new ExportResult(true, dir, report.EventsChecked, report.FirstSequence, report.EventsChecked == 0 ? null : report.SealedHead,
            report.HeadLink, sources.Count, report.Unsealed, null);
    }

    internal static string SealLine(long sequence, Guid id, ReadOnlySpan<byte> link) =>
        $"{{\"sequence\":{sequence.ToString(CultureInfo.InvariantCulture)},\"eventId\":\"{id:D}\",\"link\":\"{Seals.Hex(link)}\"}}";

    /// <summary>The manifest's bytes: one JSON line whose last member, digest, is the SHA-256 of the line without that member.</summary>
    private static byte[] Manifest(string createdAt, long count, long? first, long? last, string head, Dictionary<string, (long Bytes, string Sha256)> files)
    {
        static string Number(long? n) => n is { } v ? v.ToString(CultureInfo.InvariantCulture) : "null";
        var body = new StringBuilder("{");
        body.Append($"\"format\":\"{Format}\",\"createdAt\":\"{createdAt}\",\"genesis\":\"{new string('0', 64)}\",");
        body.Append($"\"eventCount\":{Number(count)},\"firstSequence\":{Number(first)},\"lastSequence\":{Number(last)},\"headLink\":\"{head}\",\"files\":{{");
        body.Append(string.Join(",", DataFiles.Select(f => $"\"{f}\":{{\"bytes\":{Number(files[f].Bytes)},\"sha256\":\"{files[f].Sha256}\"}}")));
        body.Append('}');
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body + "}")));
        return Encoding.UTF8.GetBytes($"{body},\"digest\":\"{digest}\"}}\n");
    }

    /// <summary>
    /// Checks a bundle offline: the manifest against its digest, each file against the manifest, and the
    /// chain recomputed from events.jsonl against seals.jsonl line by line. Names the first break: the
    /// file, and for events and seals the line and sequence.
    /// </summary>
    public static VerifyReport Verify(string directory)
    {
        var dir = Path.GetFullPath(directory);
        long checkedCount = 0;
        long? first = null;
        long last = 0;
        var link = new byte[32];
        VerifyReport Fail(BreakKind kind, long? sequence, string? file, long? line, string explanation) =>
            new(false, dir, checkedCount, first, last, Seals.Hex(link), null, new ChainBreak(kind, sequence, file, line, explanation));

        if (!Directory.Exists(dir))
        {
            throw LedgerException.Invalid($"{directory}: no such bundle folder");
        }
        foreach (var f in DataFiles.Prepend(ManifestFile))
        {
            if (!File.Exists(Path.Combine(dir, f)))
            {
                return Fail(BreakKind.Missing, null, f, null, $"the bundle has no {f}.");
            }
        }
        if (ReadManifest(File.ReadAllBytes(Path.Combine(dir, ManifestFile))) is not { } manifest)
        {
            return Fail(BreakKind.Malformed, null, ManifestFile, null, "not a manifest of this format (one JSON line ending with its digest member, then a newline).");
        }
        if (manifest.Error is { } error)
        {
            return Fail(error.Kind, null, ManifestFile, null, error.Message);
        }
        var changed = new HashSet<string>();
        foreach (var f in DataFiles)
        {
            var (bytes, sha) = HashFile(Path.Combine(dir, f));
            if (!manifest.Files.TryGetValue(f, out var expected) || expected.Bytes != bytes || expected.Sha256 != sha)
            {
                changed.Add(f);
            }
        }
        var eventsChanged = changed.Contains(EventsFile);
        var sealsChanged = changed.Contains(SealsFile);

        using (var events = new LineReader(Path.Combine(dir, EventsFile)))
        using (var seals = new LineReader(Path.Combine(dir, SealsFile)))
        {
            for (long line = 1; ; line++)
            {
                var hasEvent = events.Next(out var eventBytes, out var eventEnded);
                var hasSeal = seals.Next(out var sealBytes, out var sealEnded);
                if (!hasEvent && !hasSeal)
                {
                    break;
                }
                Seal? seal = null;
                if (hasSeal)
                {
                    seal = ParseSeal(sealBytes.Span);
                    if (seal is null || !sealEnded)
                    {
                        return Fail(BreakKind.Malformed, hasEvent ? EventSequence(eventBytes.Span) : null, SealsFile, line,
                            "not a seal line ({\"sequence\",\"eventId\",\"link\"} ending with a newline).");
                    }
                }
                if (seal is null)
                {
                    return sealsChanged && !eventsChanged
                        ? Fail(BreakKind.Missing, EventSequence(eventBytes.Span), SealsFile, line, "the seal of this event is missing: seals.jsonl was cut short.")
                        : Fail(BreakKind.Inserted, EventSequence(eventBytes.Span), EventsFile, line, "an event with no seal follows the last seal: it was added.");
                }
                if (!hasEvent)
                {
                    return eventsChanged || !sealsChanged
                        ? Fail(BreakKind.Missing, seal.Sequence, EventsFile, line, $"no event for the seal of sequence {seal.Sequence}: events.jsonl was cut short.")
                        : Fail(BreakKind.Inserted, seal.Sequence, SealsFile, line, "a seal with no event follows the last event: it was added.");
                }
                if (!eventEnded || ParseEvent(eventBytes.Span) is not { } e)
                {
                    return Fail(BreakKind.Malformed, seal.Sequence, EventsFile, line, "not a canonical event (a JSON object with sequence and id, ending with a newline).");
                }
                var next = Seals.Link(link, eventBytes.Span);
                var sealsToBlame = sealsChanged && !eventsChanged;
                if (e.Sequence != seal.Sequence)
                {
                    return sealsToBlame
                        ? Fail(BreakKind.Altered, e.Sequence, SealsFile, line, $"this seal is for sequence {seal.Sequence}, but the event on the same line of events.jsonl has sequence {e.Sequence}.")
                        : Fail(BreakKind.Reordered, seal.Sequence, EventsFile, line, $"the event on this line has sequence {e.Sequence}, but its seal is for sequence {seal.Sequence}.");
                }
                if (seal.Sequence <= last)
                {
                    return Fail(BreakKind.Reordered, seal.Sequence, sealsToBlame ? SealsFile : EventsFile, line, $"sequence {seal.Sequence} follows sequence {last}: the log must ascend.");
                }
                if (!next.AsSpan().SequenceEqual(seal.Link) || e.Id != seal.EventId)
                {
                    return sealsToBlame
                        ? Fail(BreakKind.Altered, seal.Sequence, SealsFile, line, $"the seal of sequence {seal.Sequence} does not match the chain recomputed from events.jsonl: the seal was changed.")
                        : Fail(BreakKind.Altered, seal.Sequence, EventsFile, line, e.Id == seal.EventId
                            ? $"event {e.Id} does not hash to its seal: its bytes were changed."
                            : $"the line holds event {e.Id}, but event {seal.EventId} was sealed at sequence {seal.Sequence}.");
                }
                link = next;
                checkedCount++;
                first ??= seal.Sequence;
                last = seal.Sequence;
            }
        }
        var headLink = Seals.Hex(link);
        if (checkedCount != manifest.EventCount || first != manifest.FirstSequence || (checkedCount == 0 ? null : last) != manifest.LastSequence || headLink != manifest.HeadLink)
        {
            var file = eventsChanged || !sealsChanged ? EventsFile : SealsFile;
            return Fail(BreakKind.Missing, checkedCount == 0 ? null : last, file, checkedCount,
                $"the chain has {checkedCount} events up to sequence {(checkedCount == 0 ? "none" : last)} with head {headLink}, but the manifest says {manifest.EventCount} up to {manifest.LastSequence?.ToString(CultureInfo.InvariantCulture) ?? "none"} with head {manifest.HeadLink}: events were removed or added.");
        }
        foreach (var f in DataFiles.Where(changed.Contains))
        {
            return Fail(BreakKind.Altered, null, f, null, $"{f} differs from the size and SHA-256 recorded in manifest.json: it was changed.");
        }
        return new VerifyReport(true, dir, checkedCount, first, last, headLink, new UnsealedTail(0, null, null, 0), null);
    }

    private sealed record Seal(long Sequence, Guid EventId, byte[] Link);

    private sealed record EventHead(long Sequence, Guid Id);

    private sealed record ManifestFacts(long EventCount, long? FirstSequence, long? LastSequence, string HeadLink, Dictionary<string, (long Bytes, string Sha256)> Files, (BreakKind Kind, string Message)? Error);

    private static Seal? ParseSeal(ReadOnlySpan<byte> line)
    {
        try
        {
            var r = JsonDocument.Parse(line.ToArray()).RootElement;
            if (r.ValueKind != JsonValueKind.Object || r.EnumerateObject().Count() != 3)
            {
                return null;
            }
            var hex = r.GetProperty("link").GetString()!;
            if (hex.Length != 64 || hex.Any(ch => !char.IsAsciiHexDigitLower(ch) && !char.IsAsciiDigit(ch)))
            {
                return null;
            }
            var bytes = Encoding.UTF8.GetBytes(SealLine(r.GetProperty("sequence").GetInt64(), Guid.ParseExact(r.GetProperty("eventId").GetString()!, "D"), Convert.FromHexString(hex)));
            // Only the one spelling counts: a seal line is exactly what the exporter writes.
            return bytes.AsSpan().SequenceEqual(line)
                ? new Seal(r.GetProperty("sequence").GetInt64(), Guid.ParseExact(r.GetProperty("eventId").GetString()!, "D"), Convert.FromHexString(hex))
                : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static EventHead? ParseEvent(ReadOnlySpan<byte> line)
    {
        try
        {
            var r = JsonDocument.Parse(line.ToArray()).RootElement;
            return r.ValueKind == JsonValueKind.Object
                ? new EventHead(r.GetProperty("sequence").GetInt64(), Guid.ParseExact(r.GetProperty("id").GetString()!, "D"))
                : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static long? EventSequence(ReadOnlySpan<byte> line) => ParseEvent(line)?.Sequence;

    /// <summary>The manifest, if its shape is right; Error says what is wrong with an intact-looking one.</summary>
    private static ManifestFacts? ReadManifest(byte[] bytes)
    {
        // {…,"digest":"<64 hex>"}\n
        var tail = DigestMarker.Length + 64 + 3;
        if (bytes.Length < tail + 1 || bytes[^1] != '\n' || bytes[^2] != '}' || bytes[^3] != '"' || bytes[0] != '{')
        {
            return null;
        }
        var at = bytes.Length - tail;
        if (!bytes.AsSpan(at, DigestMarker.Length).SequenceEqual(DigestMarker))
        {
            return null;
        }
        var digest = Encoding.ASCII.GetString(bytes, at + DigestMarker.Length, 64);
        var signed = bytes.AsSpan(0, at).ToArray().Append((byte)'}').ToArray();
        if (Convert.ToHexStringLower(SHA256.HashData(signed)) != digest)
        {
            return new ManifestFacts(0, null, null, "", [], (BreakKind.Altered, "manifest.json does not match its own digest: it was changed."));
        }
        try
        {
            var r = JsonDocument.Parse(signed).RootElement;
            if (r.GetProperty("format").GetString() != Format)
            {
                return new ManifestFacts(0, null, null, "", [], (BreakKind.Malformed, $"the format is not {Format}."));
            }
            static long? Number(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetInt64();
            var files = r.GetProperty("files").EnumerateObject().ToDictionary(p => p.Name, p => (p.Value.GetProperty("bytes").GetInt64(), p.Value.GetProperty("sha256").GetString()!));
            return new ManifestFacts(r.GetProperty("eventCount").GetInt64(), Number(r.GetProperty("firstSequence")), Number(r.GetProperty("lastSequence")),
                r.GetProperty("headLink").GetString()!, files, null);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return new ManifestFacts(0, null, null, "", [], (BreakKind.Malformed, $"manifest.json is not the manifest of a bundle: {e.Message}"));
        }
    }

    private static (long Bytes, string Sha256) HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        var hash = SHA256.HashData(stream);
        return (stream.Length, Convert.ToHexStringLower(hash));
    }

    /// <summary>A file written while its size and SHA-256 are counted.</summary>
    private sealed class HashedFile(string path) : IAsyncDisposable
    {
        private readonly FileStream stream = new(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long bytes;

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
        {
            hash.AppendData(data.Span);
            bytes += data.Length;
            await stream.WriteAsync(data, ct);
        }

        public (long Bytes, string Sha256) Finish() => (bytes, Convert.ToHexStringLower(hash.GetHashAndReset()));

        public async ValueTask DisposeAsync()
        {
            await stream.DisposeAsync();
            hash.Dispose();
        }
    }

    /// <summary>Reads a file line by line as bytes (lines end with \n), without holding the file in memory.</summary>
    private sealed class LineReader(string path) : IDisposable
    {
        private readonly FileStream stream = File.OpenRead(path);
        private readonly byte[] buffer = new byte[1 << 16];
        private readonly ArrayBufferWriter<byte> line = new();
        private int start;
        private int end;
        private bool eof;

        /// <summary>The next line (valid until the next call); <paramref name="ended"/> is false for a last line with no \n.</summary>
        public bool Next(out ReadOnlyMemory<byte> content, out bool ended)
        {
            line.ResetWrittenCount();
            while (true)
            {
                if (start == end)
                {
                    if (eof || (end = stream.Read(buffer, 0, buffer.Length)) == 0)
                    {
                        eof = true;
                        start = end = 0;
                        content = line.WrittenMemory;
                        ended = false;
                        return line.WrittenCount > 0;
                    }
                    start = 0;
                }
                var newline = Array.IndexOf(buffer, (byte)'\n', start, end - start);
                if (newline < 0)
                {
                    line.Write(buffer.AsSpan(start, end - start));
                    start = end;
                    continue;
                }
                line.Write(buffer.AsSpan(start, newline - start));
                start = newline + 1;
                content = line.WrittenMemory;
                ended = true;
                return true;
            }
        }

        public void Dispose() => stream.Dispose();
    }
}
