using System.Text.Json;
using DealLedger.Auditing;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>A small ledger of several writes, sealed, in a database of its own: for one tampering each.</summary>
internal sealed class SealedLedger : IAsyncDisposable
{
    private SealedLedger(TestDatabase db, Ledger ledger)
    {
        Db = db;
        Ledger = ledger;
    }

    public TestDatabase Db { get; }
    public Ledger Ledger { get; }

    /// <summary>The sequences of the log, in order.</summary>
    public long[] Sequences { get; private set; } = [];

    public static async Task<SealedLedger> CreateAsync(bool withGap = false)
    {
        var db = await TestDatabase.CreateAsync();
        var ledger = db.Connect();
        var l = new SealedLedger(db, ledger);
        await ledger.ImportYamlAsync(Seeds.Basics);
        await ledger.ImportYamlAsync(Seeds.Deal("d1", Seeds.Stake("s1", "{ exact: 10 }", "{ from: 2020 }")));
        if (withGap)
        {
            // A write that fails just before commit leaves its sequences unused: a gap in the log.
            ledger.BeforeCommit = _ => throw new InvalidOperationException("fails on purpose");
            await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.ImportYamlAsync(Seeds.Deal("lost", Seeds.Stake("lost-stake", "{ exact: 5 }", "{ from: 2019 }"))));
            ledger.BeforeCommit = null;
        }
        await ledger.ImportYamlAsync(Seeds.Deal("d2", Seeds.Stake("s2", "{ exact: 20 }", "{ from: 2021 }", holder: "initech")));
        await ledger.ImportYamlAsync("""
            claims:
              - { fact: s1, source: wire, claim: stated }
            """);
        await ledger.SealAsync();
        await l.RefreshAsync();
        return l;
    }

    public async Task RefreshAsync()
    {
        await using var c = new NpgsqlConnection(Db.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"select seq_id from {ProjectionTables.Name("mt_events")} order by seq_id", c);
        var list = new List<long>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            list.Add(r.GetInt64(0));
        }
        Sequences = [.. list];
    }

    /// <summary>Direct SQL behind the ledger's back.</summary>
    public async Task TamperAsync(string sql)
    {
        await using var c = new NpgsqlConnection(Db.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Inserts a copy of the event at <paramref name="source"/> under a new id at <paramref name="sequence"/>.</summary>
    public string InsertCopy(long sequence, long source) =>
        $"insert into dealledger.mt_events (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type, correlation_id, headers, user_name, is_archived) " +
        $"select {sequence}, gen_random_uuid(), stream_id, version + 1000, data, type, timestamp, tenant_id, mt_dotnet_type, correlation_id, headers, user_name, is_archived " +
        $"from dealledger.mt_events where seq_id = {source}";

    public async ValueTask DisposeAsync()
    {
        await Ledger.DisposeAsync();
        await Db.DisposeAsync();
    }
}

/// <summary>Seals and verify (DESIGN §8): an untouched ledger verifies; each kind of tampering by direct SQL is named at its sequence.</summary>
public sealed class SealTests
{
    private static async Task<ChainBreak> BrokenAsync(SealedLedger l)
    {
        var report = await l.Ledger.VerifyAsync();
        Assert.False(report.Ok);
        return report.Break!;
    }

    [Fact]
    public async Task an_untouched_sealed_ledger_verifies_clean_with_every_event_checked()
    {
        await using var l = await SealedLedger.CreateAsync();

        var report = await l.Ledger.VerifyAsync();

        Assert.True(report.Ok, report.Break?.Summary);
        Assert.Equal(l.Sequences.Length, report.EventsChecked);
        Assert.Equal(l.Sequences[^1], report.SealedHead);
        Assert.Equal(0, report.Unsealed!.Count);
        Assert.Null(report.Break);
    }

    [Fact]
    public async Task events_written_after_the_last_seal_are_the_unsealed_tail_until_sealed()
    {
        await using var l = await SealedLedger.CreateAsync();
        var head = l.Sequences[^1];
        await l.Ledger.ImportYamlAsync(Seeds.Deal("d3", Seeds.Stake("s3", "{ exact: 30 }", "{ from: 2022 }", holder: "globex", subject: "initech")));

        var before = await l.Ledger.VerifyAsync();
        var sealing = await l.Ledger.SealAsync();
        var after = await l.Ledger.VerifyAsync();
        var again = await l.Ledger.SealAsync();

        Assert.True(before.Ok);
        Assert.Equal(head, before.SealedHead);
        Assert.Equal(new UnsealedTail(2, head + 1, head + 2, 0), before.Unsealed);
        Assert.Equal(2, sealing.Sealed);
        Assert.Equal(head + 2, sealing.Head);
        Assert.True(after.Ok);
        Assert.Equal(0, after.Unsealed!.Count);
        Assert.Equal(sealing.HeadLink, after.HeadLink);
        Assert.Equal(0, again.Sealed);
        Assert.Equal(sealing.HeadLink, again.HeadLink);
    }

    [Fact]
    public async Task a_changed_payload_is_named_as_altered_at_its_sequence()
    {
        await using var l = await SealedLedger.CreateAsync();
        var target = l.Sequences[2];
        await l.TamperAsync($"update dealledger.mt_events set data = jsonb_set(data, '{{name}}', '\"Evil Corp\"') where seq_id = {target}");

        var b = await BrokenAsync(l);

        Assert.Equal((BreakKind.Altered, target), (b.Kind, b.Sequence));
        Assert.Contains("content", b.Explanation);
    }

    [Fact]
    public async Task a_recorded_time_moved_by_one_microsecond_is_named_as_altered()
    {
        await using var l = await SealedLedger.CreateAsync();
        var target = l.Sequences[5];
        await l.TamperAsync($"update dealledger.mt_events set timestamp = timestamp + interval '1 microsecond' where seq_id = {target}");

        var b = await BrokenAsync(l);

        Assert.Equal((BreakKind.Altered, target), (b.Kind, b.Sequence));
    }

    [Fact]
    public async Task a_changed_event_type_is_named_as_altered()
    {
        await using var l = await SealedLedger.CreateAsync();
        var target = l.Sequences[^1];
        await l.TamperAsync($"update dealledger.mt_events set type = 'fact_corrected' where seq_id = {target}");

        var b = await BrokenAsync(l);

        Assert.Equal((BreakKind.Altered, target), (b.Kind, b.Sequence));
    }

    [Fact]
    public async Task a_changed_writer_is_named_as_altered()
    {
        await using var l = await SealedLedger.CreateAsync();
        var target = l.Sequences[9];
        await l.TamperAsync($"update dealledger.mt_events set user_name = 'key:someone-else' where seq_id = {target}");

        var b = await BrokenAsync(l);

        Assert.Equal((BreakKind.Altered, target), (b.Kind, b.Sequence));
    }

    [Fact]
    public async Task a_deleted_event_is_named_as_missing()
    {
        await using var l = await SealedLedger.CreateAsync();
        var target = l.Sequences[4];
        await l.TamperAsync($"delete from dealledger.mt_events where seq_id = {target}");

        var b = await BrokenAsync(l);

        Assert.Equal((BreakKind.Missing, target), (b.Kind, b.Sequence));
        Assert.Contains("deleted", b.Explanation);
    }

    [Fact]
    public async Task an_event_inserted_into_a_gap_below_the_sealed_head_is_named_as_inserted()
    {
        await using var l = await SealedLedger.CreateAsync(withGap: true);
        Assert.True((await l.Ledger.VerifyAsync()).Ok, "a gap left by a failed write is not tampering");
        var gap = l.Sequences.Zip(l.Sequences.Skip(1)).First(p => p.Second > p.First + 1).First + 1;
        await l.TamperAsync(l.InsertCopy(gap, l.Sequences[3]));

        var b = await BrokenAsync(l);

        Assert.Equal((BreakKind.Inserted, gap), (b.Kind, b.Sequence));
    }

    [Fact]
    public async Task an_event_inserted_by_renumbering_the_log_is_named_as_inserted_where_it_was_put()
    {
        await using var l = await SealedLedger.CreateAsync();
        var at = l.Sequences[6];
        await l.TamperAsync(
            $"update dealledger.mt_events set seq_id = -seq_id where seq_id >= {at};" +
            $"update dealledger.mt_events set seq_id = -seq_id + 1 where seq_id < 0;" +
            l.InsertCopy(at, l.Sequences[2]));

        var b = await BrokenAsync(l);

        Assert.Equal((BreakKind.Inserted, at), (b.Kind, b.Sequence));
        Assert.Contains("renumbered", b.Explanation);
    }

    [Fact]
    public async Task an_event_inserted_above_the_sealed_head_is_unsealed_tail_not_tampering()
    {
        await using var l = await SealedLedger.CreateAsync();
        var above = l.Sequences[^1] + 1;
        await l.TamperAsync(l.InsertCopy(above, l.Sequences[2]));

        var report = await l.Ledger.VerifyAsync();

        Assert.True(report.Ok);
        // Reported as tail; and as lying above the last committed write, which the ledger did not write.
        Assert.Equal(new UnsealedTail(1, above, above, 1), report.Unsealed);
    }

    [Fact]
    public async Task two_swapped_rows_are_named_as_reordered_at_the_first_of_them()
    {
        await using var l = await SealedLedger.CreateAsync();
        var (a, b) = (l.Sequences[3], l.Sequences[8]);
        await l.TamperAsync(
            $"update dealledger.mt_events set seq_id = -1 where seq_id = {a};" +
            $"update dealledger.mt_events set seq_id = {a} where seq_id = {b};" +
            $"update dealledger.mt_events set seq_id = {b} where seq_id = -1;");

        var broken = await BrokenAsync(l);

        Assert.Equal((BreakKind.Reordered, a), (broken.Kind, broken.Sequence));
        Assert.Contains($"sealed at sequence {b}", broken.Explanation);
    }

    [Fact]
    public async Task two_rows_with_swapped_payloads_are_named_as_altered_at_the_first_of_them()
    {
        await using var l = await SealedLedger.CreateAsync();
        var (a, b) = (l.Sequences[1], l.Sequences[2]);
        await l.TamperAsync(
            $"update dealledger.mt_events e set data = o.data from dealledger.mt_events o " +
            $"where (e.seq_id = {a} and o.seq_id = {b}) or (e.seq_id = {b} and o.seq_id = {a})");

        var broken = await BrokenAsync(l);

        Assert.Equal((BreakKind.Altered, a), (broken.Kind, broken.Sequence));
    }

    [Fact]
    public async Task a_changed_seal_is_named_at_its_sequence()
    {
        await using var l = await SealedLedger.CreateAsync();
        var target = l.Sequences[7];
        await l.TamperAsync($"update dealledger.seals set link = sha256('forged'::bytea) where sequence = {target}");

        var b = await BrokenAsync(l);

        Assert.Equal((BreakKind.Altered, target), (b.Kind, b.Sequence));
    }

    [Fact]
    public async Task the_last_events_deleted_with_their_seals_are_named_at_the_last_committed_write()
    {
        await using var l = await SealedLedger.CreateAsync();
        var cut = l.Sequences[^2];
        await l.TamperAsync($"delete from dealledger.seals where sequence >= {cut}; delete from dealledger.mt_events where seq_id >= {cut}");

        var b = await BrokenAsync(l);

        Assert.Equal((BreakKind.Missing, l.Sequences[^1]), (b.Kind, b.Sequence));
    }

    [Fact]
    public async Task verify_cut_into_any_number_of_ranges_answers_as_one_walk_from_the_first_event()
    {
        // Verify reads ranges of sequences at once, each chain starting from the seal below it: whatever
        // the cut, the report is the one walk's, and the first break is named even with more after it.
        string[] tamperings =
        [
            "",
            "update dealledger.mt_events set data = jsonb_set(data, '{name}', '\"Evil Corp\"') where seq_id = {late}",
            "update dealledger.seals set link = sha256('forged'::bytea) where sequence = {middle}",
            "update dealledger.mt_events set user_name = 'x' where seq_id in ({early}, {late}); delete from dealledger.seals where sequence = {middle}",
            "delete from dealledger.mt_events where seq_id = {first}",
        ];
        foreach (var tampering in tamperings)
        {
            await using var l = await SealedLedger.CreateAsync(withGap: true);
            var s = l.Sequences;
            await l.Ledger.ImportYamlAsync(Seeds.Deal("tail", Seeds.Stake("tail-stake", "{ exact: 3 }", "{ from: 2018 }", holder: "globex", subject: "initech")));
            if (tampering.Length > 0)
            {
                await l.TamperAsync(tampering.Replace("{first}", $"{s[0]}").Replace("{early}", $"{s[2]}").Replace("{middle}", $"{s[s.Length / 2]}").Replace("{late}", $"{s[^2]}"));
            }

            var one = await l.Ledger.VerifyAsync(1);
            Assert.Equal(tampering.Length == 0, one.Ok);
            for (var partitions = 2; partitions <= 9; partitions++)
            {
                Assert.Equal(one, await l.Ledger.VerifyAsync(partitions));
            }
        }
    }

    [Fact]
    public async Task two_sealers_at_once_seal_each_event_once()
    {
        await using var l = await SealedLedger.CreateAsync();
        for (var i = 0; i < 5; i++)
        {
            await l.Ledger.ImportYamlAsync(Seeds.Deal($"more-{i}", Seeds.Stake($"more-stake-{i}", $"{{ exact: {i + 1} }}", $"{{ from: 201{i}, to: 201{i + 1} }}", holder: "globex", subject: "initech")));
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => l.Ledger.SealAsync()));

        Assert.Equal(10, results.Sum(r => r.Sealed));
        Assert.True((await l.Ledger.VerifyAsync()).Ok);
    }

    [Fact]
    public async Task the_api_seals_the_log_in_the_background_and_again_soon_after_a_commit()
    {
        var api = new ApiHostFixture();
        await api.InitializeAsync();
        try
        {
            using var client = api.Client();
            var atStart = await SealedWithinAsync(api.Ledger, TimeSpan.FromSeconds(15));
            await api.Ledger.ImportYamlAsync(Seeds.Basics);
            var afterCommit = await SealedWithinAsync(api.Ledger, TimeSpan.FromSeconds(15));

            Assert.True(atStart.EventsChecked > 0);
            Assert.True(afterCommit.EventsChecked > atStart.EventsChecked);
        }
        finally
        {
            await api.DisposeAsync();
        }
    }

    private static async Task<VerifyReport> SealedWithinAsync(Ledger ledger, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var report = await ledger.VerifyAsync();
            Assert.True(report.Ok, report.Break?.Summary);
            if (report.Unsealed!.Count == 0 || DateTime.UtcNow > deadline)
            {
                Assert.Equal(0, report.Unsealed.Count);
                return report;
            }
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task cli_verify_of_a_tampered_ledger_exits_1_with_one_line_naming_the_sequence()
    {
        await using var l = await SealedLedger.CreateAsync();
        var target = l.Sequences[4];
        await l.TamperAsync($"delete from dealledger.mt_events where seq_id = {target}");

        var (code, stdout, stderr) = await HeadlineTests.RunCliAsync(["verify", "--connection", l.Db.ConnectionString]);
        var (jsonCode, json, _) = await HeadlineTests.RunCliAsync(["verify", "--json", "--connection", l.Db.ConnectionString]);

        Assert.Equal(1, code);
        Assert.Contains("does NOT verify", stdout);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith($"dealledger: sequence {target}: missing", line);
        Assert.Equal(1, jsonCode);
        var root = JsonDocument.Parse(json).RootElement;
        Assert.False(root.GetProperty("ok").GetBoolean());
        Assert.Equal("missing", root.GetProperty("break").GetProperty("kind").GetString());
        Assert.Equal(target, root.GetProperty("break").GetProperty("sequence").GetInt64());
    }

    [Fact]
    public async Task cli_seal_then_verify_exits_0()
    {
        await using var l = await SealedLedger.CreateAsync();
        await l.Ledger.ImportYamlAsync(Seeds.Deal("d9", Seeds.Stake("s9", "{ exact: 9 }", "{ from: 2022 }", holder: "globex", subject: "initech")));

        var (sealCode, sealOut, _) = await HeadlineTests.RunCliAsync(["seal", "--connection", l.Db.ConnectionString]);
        var (code, stdout, stderr) = await HeadlineTests.RunCliAsync(["verify", "--connection", l.Db.ConnectionString]);

        Assert.Equal(0, sealCode);
        Assert.Contains("Sealed 2 event(s)", sealOut);
        Assert.Equal(0, code);
        Assert.Contains("verifies", stdout);
        Assert.Equal("", stderr);
    }
}

/// <summary>The export bundle, verified offline: intact it passes; one byte flipped anywhere fails at the right file, line and sequence.</summary>
public sealed class BundleSealTests : IAsyncLifetime
{
    private SealedLedger l = null!;
    private string bundle = "";

    public async Task InitializeAsync()
    {
        l = await SealedLedger.CreateAsync();
        // Events written since the last seal: export seals them first.
        await l.Ledger.ImportYamlAsync(Seeds.Deal("d3", Seeds.Stake("s3", "{ exact: 30 }", "{ from: 2022 }", holder: "globex", subject: "initech")));
        await l.RefreshAsync();
        bundle = Path.Combine(Path.GetTempPath(), $"bundle-{Guid.NewGuid():N}");
        var result = await l.Ledger.ExportAsync(bundle);
        Assert.True(result.Ok);
    }

    public async Task DisposeAsync()
    {
        Directory.Delete(bundle, true);
        await l.DisposeAsync();
    }

    private string Copy()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"bundle-{Guid.NewGuid():N}");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(bundle))
        {
            File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        }
        return copy;
    }

    /// <summary>Verifies a copy of the bundle with the byte at <paramref name="offset"/> of <paramref name="file"/> flipped.</summary>
    private VerifyReport Flipped(string copy, string file, int offset, byte mask = 0x01)
    {
        var path = Path.Combine(copy, file);
        var bytes = File.ReadAllBytes(path);
        bytes[offset] ^= mask;
        File.WriteAllBytes(path, bytes);
        try
        {
            return Bundle.Verify(copy);
        }
        finally
        {
            bytes[offset] ^= mask;
            File.WriteAllBytes(path, bytes);
        }
    }

    /// <summary>The 1-based line of each byte of a file.</summary>
    private static int[] LineOf(byte[] bytes)
    {
        var lines = new int[bytes.Length];
        var line = 1;
        for (var i = 0; i < bytes.Length; i++)
        {
            lines[i] = line;
            if (bytes[i] == '\n')
            {
                line++;
            }
        }
        return lines;
    }

    /// <summary>Offsets to flip: every few bytes, plus the first and last byte (the newline) of every line.</summary>
    private static IEnumerable<int> Offsets(byte[] bytes, int stride) =>
        Enumerable.Range(0, bytes.Length).Where(i => i % stride == 0 || bytes[i] == '\n' || i == 0 || bytes[i - 1] == '\n');

    [Fact]
    public async Task an_exported_bundle_verifies_offline_with_every_event_and_the_ledgers_head()
    {
        var report = Bundle.Verify(bundle);
        var ledger = await l.Ledger.VerifyAsync();

        Assert.True(report.Ok, report.Break?.Summary);
        Assert.Equal(l.Sequences.Length, report.EventsChecked);
        Assert.Equal(l.Sequences[^1], report.SealedHead);
        Assert.Equal(ledger.HeadLink, report.HeadLink);
        Assert.Equal(l.Sequences.Length, File.ReadAllLines(Path.Combine(bundle, Bundle.EventsFile)).Length);
        Assert.Contains("\"id\":\"press\"", File.ReadAllText(Path.Combine(bundle, Bundle.SourcesFile)));
    }

    [Fact]
    public void each_line_of_events_jsonl_is_the_canonical_event_with_its_sequence_first()
    {
        var lines = File.ReadAllLines(Path.Combine(bundle, Bundle.EventsFile));

        for (var i = 0; i < lines.Length; i++)
        {
            var root = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal(["sequence", "id", "stream", "version", "type", "recordedAt", "writer", "correlationId", "headers", "data"], root.EnumerateObject().Select(p => p.Name));
            Assert.Equal(l.Sequences[i], root.GetProperty("sequence").GetInt64());
            Assert.EndsWith("Z", root.GetProperty("recordedAt").GetString());
            var keys = root.GetProperty("data").EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
        }
    }

    [Fact]
    public void a_byte_flipped_anywhere_in_events_jsonl_fails_at_the_sequence_of_its_line()
    {
        var copy = Copy();
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(copy, Bundle.EventsFile));
            var lines = LineOf(bytes);
            foreach (var offset in Offsets(bytes, 29))
            {
                var report = Flipped(copy, Bundle.EventsFile, offset);

                Assert.False(report.Ok, $"flipping byte {offset} went unnoticed");
                Assert.Equal((Bundle.EventsFile, (long?)lines[offset], (long?)l.Sequences[lines[offset] - 1]), (report.Break!.File, report.Break.Line, report.Break.Sequence));
            }
        }
        finally
        {
            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public void a_changed_letter_in_one_events_data_names_that_sequence()
    {
        var copy = Copy();
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(copy, Bundle.EventsFile));
            var offset = System.Text.Encoding.UTF8.GetString(bytes).IndexOf("\"name\":\"Globex\"", StringComparison.Ordinal) + 9;
            var line = LineOf(bytes)[offset];

            var report = Flipped(copy, Bundle.EventsFile, offset, 0x20);

            Assert.Equal(BreakKind.Altered, report.Break!.Kind);
            Assert.Equal(l.Sequences[line - 1], report.Break.Sequence);
            Assert.Contains("does not hash to its seal", report.Break.Explanation);
        }
        finally
        {
            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public void a_byte_flipped_anywhere_in_seals_jsonl_fails_naming_seals_jsonl_and_the_sequence()
    {
        var copy = Copy();
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(copy, Bundle.SealsFile));
            var lines = LineOf(bytes);
            foreach (var offset in Offsets(bytes, 7))
            {
                var report = Flipped(copy, Bundle.SealsFile, offset);

                Assert.False(report.Ok, $"flipping byte {offset} went unnoticed");
                Assert.Equal((Bundle.SealsFile, (long?)lines[offset], (long?)l.Sequences[lines[offset] - 1]), (report.Break!.File, report.Break.Line, report.Break.Sequence));
            }
        }
        finally
        {
            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public void a_byte_flipped_anywhere_in_the_manifest_or_sources_fails_naming_that_file()
    {
        var copy = Copy();
        try
        {
            foreach (var file in new[] { Bundle.ManifestFile, Bundle.SourcesFile })
            {
                var length = new FileInfo(Path.Combine(copy, file)).Length;
                for (var offset = 0; offset < length; offset++)
                {
                    var report = Flipped(copy, file, offset);

                    Assert.False(report.Ok, $"flipping byte {offset} of {file} went unnoticed");
                    Assert.Equal(file, report.Break!.File);
                }
            }
        }
        finally
        {
            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public void events_cut_from_the_end_of_the_bundle_are_found_against_the_manifest()
    {
        var copy = Copy();
        try
        {
            foreach (var file in new[] { Bundle.EventsFile, Bundle.SealsFile })
            {
                var path = Path.Combine(copy, file);
                File.WriteAllLines(path, File.ReadAllLines(path).SkipLast(1));
            }

            var report = Bundle.Verify(copy);

            Assert.False(report.Ok);
            Assert.Equal(BreakKind.Missing, report.Break!.Kind);
            Assert.Contains("removed", report.Break.Explanation);
        }
        finally
        {
            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public async Task cli_verify_bundle_exits_0_when_intact_and_1_naming_the_file_when_not()
    {
        var copy = Copy();
        try
        {
            var (ok, stdout, _) = await HeadlineTests.RunCliAsync(["verify", "--bundle", copy]);
            var path = Path.Combine(copy, Bundle.SourcesFile);
            var bytes = File.ReadAllBytes(path);
            bytes[10] ^= 1;
            File.WriteAllBytes(path, bytes);
            var (broken, _, stderr) = await HeadlineTests.RunCliAsync(["verify", "--bundle", copy]);

            Assert.Equal(0, ok);
            Assert.Contains("verifies", stdout);
            Assert.Equal(1, broken);
            Assert.StartsWith("dealledger: sources.json: altered", Assert.Single(stderr.TrimEnd().Split('\n')));
        }
        finally
        {
            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public async Task cli_export_refuses_a_folder_that_is_not_empty_with_exit_2()
    {
        var (code, stdout, stderr) = await HeadlineTests.RunCliAsync(["export", "--out", bundle, "--connection", l.Db.ConnectionString]);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("is not empty", Assert.Single(stderr.TrimEnd().Split('\n')));
    }

    [Fact]
    public async Task cli_export_of_a_tampered_ledger_writes_nothing_and_exits_1()
    {
        await using var tampered = await SealedLedger.CreateAsync();
        await tampered.TamperAsync($"update dealledger.mt_events set type = 'fact_corrected' where seq_id = {tampered.Sequences[3]}");
        var dir = Path.Combine(Path.GetTempPath(), $"bundle-{Guid.NewGuid():N}");
        try
        {
            var (code, _, stderr) = await HeadlineTests.RunCliAsync(["export", "--out", dir, "--connection", tampered.Db.ConnectionString]);

            Assert.Equal(1, code);
            Assert.StartsWith($"dealledger: sequence {tampered.Sequences[3]}: altered", Assert.Single(stderr.TrimEnd().Split('\n')));
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
