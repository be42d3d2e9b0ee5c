using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Organizations;
using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;
using NpgsqlTypes;

namespace DealLedger.Writing;

/// <summary>A row of organizations, sources or deals: one registration (organizations also keep the name).</summary>
internal sealed record RegistrationRow(string Id, string? Name, DateTimeOffset RecordedAt, long Sequence, string Data)
{
    public static RegistrationRow Of(object registration, EventRef at) => registration switch
    {
        OrganizationRegistered o => new(o.Id, o.Name, at.RecordedAt, at.Sequence, LedgerJson.Canonical(o)),
        SourceRegistered s => new(s.Id, null, at.RecordedAt, at.Sequence, LedgerJson.Canonical(s)),
        DealRecorded d => new(d.Id, null, at.RecordedAt, at.Sequence, LedgerJson.Canonical(d)),
        _ => throw new ArgumentException($"not a registration: {registration.GetType().Name}"),
    };

    /// <summary>The projection table a registration event goes to, or null for fact events.</summary>
    public static string? TableOf(object e) => e switch
    {
        OrganizationRegistered => "organizations",
        SourceRegistered => "sources",
        DealRecorded => "deals",
        _ => null,
    };
}

/// <summary>A version of a fact over recorded time (table fact_versions); open while <see cref="RecordedTo"/> is null. <see cref="Id"/> counts from 0 within a fold.</summary>
internal sealed class FactVersionRow(long id, FactState fact, DateTimeOffset recordedFrom, long sequence)
{
    public long Id { get; } = id;
    public FactState Fact { get; } = fact;
    public DateTimeOffset RecordedFrom { get; } = recordedFrom;
    public DateTimeOffset? RecordedTo { get; set; }
    public long Sequence { get; } = sequence;

    public string Type => LedgerJson.Word(Fact.Current.Type);

    /// <summary>Only stakes are found by pair.</summary>
    public string? Holder => (Fact.Current as Stake)?.Holder;

    /// <summary>
    /// A stake's subject; without a holder, what a fact found by it is about: the organization a name or an identifier is of
    /// (<see cref="DatedNames"/>), the currency pair of a rate (<see cref="ExchangeRate.Pair"/>).
    /// </summary>
    public string? Subject => Fact.Current switch
    {
        Stake s => s.Subject,
        OrganizationName n => n.Subject,
        OrganizationIdentifier i => i.Subject,
        ExchangeRate r => r.Pair,
        _ => null,
    };
}

/// <summary>A merge (table organization_merges), open over recorded time until undone (<see cref="Undo"/>). <see cref="Id"/> counts from 0 within a fold.</summary>
internal sealed class MergeRow(long id, OrganizationsMerged merge, DateTimeOffset recordedFrom, long sequence)
{
    public long Id { get; } = id;
    public OrganizationsMerged Merge { get; } = merge;
    public DateTimeOffset RecordedFrom { get; } = recordedFrom;
    public long Sequence { get; } = sequence;
    public DateTimeOffset? RecordedTo { get; set; }
    public long? ClosedSequence { get; set; }
    public OrganizationMergeUndone? Undo { get; set; }
}

/// <summary>
/// Writes projection rows: a small fold (a single entry, a few documents) in one round trip, as one batch of statements; a
/// bigger one with binary COPY, one statement per table, whatever the row count. The same rows either way.
/// </summary>
internal static class ProjectionCopy
{
    /// <summary>
    /// Up to this many new rows, a fold is stored in one batch (a write of a few facts made ~12 round trips with COPY). Above
    /// it COPY: the 100k import with every write batched took 26.2 / 21.3 / 21.0 s, with COPY 23.3 / 20.1 / 18.9 s.
    /// </summary>
    public const int BatchedRows = 500;

    /// <summary>
    /// Stores what a fold made: closes the stored rows it closed (one UPDATE per table), takes a block
    /// of surrogate ids per table (the fold numbered its rows from 0, in the order it made them),
    /// stores the new rows and moves ledger_position. Returns the id the fold's first new segment got.
    /// </summary>
    /// <param name="also">Statements sent after the rows: in their batch when they are batched, else in a batch of their own.</param>
    public static async Task<long> WriteAsync(NpgsqlConnection c, ProjectionFold fold, CancellationToken ct, IReadOnlyList<NpgsqlBatchCommand>? also = null)
    {
        if (fold.FactVersions.Count + fold.Segments.Count + fold.Registrations.Values.Sum(r => r.Count) <= BatchedRows)
        {
            return await WriteBatchedAsync(c, fold, also, ct);
        }
        await Sql.ExecAsync(c, Closing(fold), ct);
        await WriteRegistrationsAsync(c, fold, ct);
        await WriteFactVersionsAsync(c, fold, ct);
        var first = await WriteSegmentsAsync(c, fold, ct);
        await Sql.ExecAsync(c, also ?? [], ct);
        return first;
    }

    /// <summary>
    /// The UPDATEs that close the stored rows a fold closed, one per instant (a fold of one write has one): the rows by id
    /// alone, "= any($1)", which a btree index answers whatever the plan. Joined to arrays of (id, instant) instead, a plan
    /// made for a few thousand rows hashed the whole table (a sequential scan every large write), and a generic plan kept
    /// "= any" as a filter on each joined row: quadratic (24 s for 24,479 facts of the 1M ledger).
    /// </summary>
    private static IEnumerable<NpgsqlBatchCommand> Closing(ProjectionFold fold)
    {
        foreach (var at in fold.ClosedStoredFacts.GroupBy(x => x.At))
        {
            yield return Sql.Statement($"update {ProjectionTables.Of("fact_versions")} set recorded = tstzrange(lower(recorded), $2, '[)') " +
                "where fact_id = any($1::text[]) and upper_inf(recorded)", at.Select(x => x.Fact).ToArray(), at.Key);
        }
        foreach (var (duplicate, at, sequence, undo) in fold.ClosedStoredMerges)
        {
            yield return Sql.Statement($"update {ProjectionTables.Of("organization_merges")} set recorded = tstzrange(lower(recorded), $2, '[)'), closed_sequence = $3, " +
                "undo_reason = $4, undo_writer = $5 where duplicate = $1 and upper_inf(recorded)", duplicate, at, sequence, undo.Reason, undo.Writer);
        }
        foreach (var at in fold.ClosedStoredSegments.GroupBy(x => (x.At, x.Sequence)))
        {
            yield return Sql.Statement($"update {ProjectionTables.Of("holding_segments")} set recorded = tstzrange(lower(recorded), $2, '[)'), closed_sequence = $3 " +
                "where id = any($1::bigint[])", at.Select(x => x.Id).ToArray(), at.Key.At, at.Key.Sequence);
        }
    }

    /// <summary>
    /// A small fold in one batch: the closing UPDATEs, the new rows inserted from arrays (each table's ids taken as a block in
    /// the same statement, as <see cref="IdBlockAsync"/> takes them), ledger_position; the last statement answers the first segment's id.
    /// </summary>
    private static async Task<long> WriteBatchedAsync(NpgsqlConnection c, ProjectionFold fold, IReadOnlyList<NpgsqlBatchCommand>? also, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(c);
        void Add(string sql, params object[] args) => batch.BatchCommands.Add(Sql.Statement(sql, args));
        static NpgsqlParameter Typed(object value, NpgsqlDbType type) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Array | type };
        foreach (var statement in Closing(fold))
        {
            batch.BatchCommands.Add(statement);
        }
        foreach (var (table, rows) in fold.Registrations.Where(r => r.Value.Count > 0))
        {
            var named = table == "organizations";
            Add($"insert into {ProjectionTables.Of(table)} (id, {(named ? "name, " : "")}recorded_at, sequence, data) " +
                $"select * from unnest($1::text[], {(named ? "$5::text[], " : "")}$2::timestamptz[], $3::bigint[], $4::jsonb[])",
                [rows.Select(r => r.Id).ToArray(), rows.Select(r => r.RecordedAt).ToArray(), rows.Select(r => r.Sequence).ToArray(), Typed(rows.Select(r => r.Data).ToArray(), NpgsqlDbType.Jsonb),
                    .. named ? new object[] { rows.Select(r => r.Name!).ToArray() } : []]);
        }
        foreach (var m in fold.Merges)
        {
            // A merge is a rare write of its own: a statement per row.
            Add($"insert into {ProjectionTables.Of("organization_merges")} (duplicate, merged_into, recorded, sequence, closed_sequence, reason, writer, undo_reason, undo_writer) " +
                "values ($1, $2, tstzrange($3, $4, '[)'), $5, $6, $7, $8, $9, $10)", MergeValues(m));
        }
        if (fold.Position is { } position)
        {
            Add(Projections.PositionSql, position.Sequence, position.RecordedAt, ProjectionTables.Version, position.NamesSequence);
        }
        string Block(string table) =>
            $"with block (last) as ({Sequences.LastOfBlock($"pg_get_serial_sequence('{ProjectionTables.Of(table)}', 'id')")}) ";
        if (fold.FactVersions.Count > 0)
        {
            var rows = fold.FactVersions;
            // Each row's organizations as a JSON array: unnest cannot take an array of arrays of different lengths.
            Add(Block("fact_versions") +
                $"insert into {ProjectionTables.Of("fact_versions")} (id, fact_id, type, holder, subject, orgs, recorded, sequence, state) " +
                "select (select last from block) - $1 + x.n, x.fact_id, x.type, x.holder, x.subject, array(select json_array_elements_text(x.orgs)), " +
                "tstzrange(x.recorded_from, x.recorded_to, '[)'), x.sequence, x.state " +
                "from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::json[], $7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::json[]) " +
                "with ordinality x (fact_id, type, holder, subject, orgs, recorded_from, recorded_to, sequence, state, n)",
                (long)rows.Count, rows.Select(r => r.Fact.Id).ToArray(), rows.Select(r => r.Type).ToArray(),
                Typed(rows.Select(r => r.Holder).ToArray(), NpgsqlDbType.Text), Typed(rows.Select(r => r.Subject).ToArray(), NpgsqlDbType.Text),
                Typed(rows.Select(r => LedgerJson.Canonical(r.Fact.Current.Organizations)).ToArray(), NpgsqlDbType.Json),
                rows.Select(r => r.RecordedFrom).ToArray(), Typed(rows.Select(r => r.RecordedTo).ToArray(), NpgsqlDbType.TimestampTz),
                rows.Select(r => r.Sequence).ToArray(), Typed(rows.Select(r => FactVersions.Stored(r.Fact)).ToArray(), NpgsqlDbType.Json));
        }
        var segments = fold.Segments;
        if (segments.Count > 0)
        {
            Add(Block("holding_segments") + ", stored as (" +
                $"insert into {ProjectionTables.Of("holding_segments")} (id, holder, subject, valid, recorded, status, sequence, closed_sequence, finding) " +
                "select (select last from block) - $1 + x.n, x.holder, x.subject, daterange(x.valid_from, x.valid_to, '[)'), " +
                "tstzrange(x.recorded_from, x.recorded_to, '[)'), x.status, x.sequence, x.closed_sequence, x.finding " +
                "from unnest($2::text[], $3::text[], $4::date[], $5::date[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::bigint[], $10::bigint[], $11::json[]) " +
                "with ordinality x (holder, subject, valid_from, valid_to, recorded_from, recorded_to, status, sequence, closed_sequence, finding, n)) " +
                "select last - $1 + 1 from block",
                (long)segments.Count, segments.Select(r => r.Holder).ToArray(), segments.Select(r => r.Subject).ToArray(),
                Typed(segments.Select(r => r.From).ToArray(), NpgsqlDbType.Date), Typed(segments.Select(r => r.To).ToArray(), NpgsqlDbType.Date),
                segments.Select(r => r.RecordedFrom).ToArray(), Typed(segments.Select(r => r.RecordedTo).ToArray(), NpgsqlDbType.TimestampTz),
                segments.Select(r => r.Status).ToArray(), segments.Select(r => r.Sequence).ToArray(),
                Typed(segments.Select(r => r.ClosedSequence).ToArray(), NpgsqlDbType.Bigint), Typed(segments.Select(r => r.Finding).ToArray(), NpgsqlDbType.Json));
        }
        foreach (var statement in also ?? [])
        {
            batch.BatchCommands.Add(statement);
        }
        if (batch.BatchCommands.Count == 0)
        {
            return 0;
        }
        await using var reader = await batch.ExecuteReaderAsync(ct);
        // The segments' statement is the first that answers rows (only `also` comes after it); every statement's outcome is
        // read to the end, so one that fails fails the write here.
        long? first = null;
        do
        {
            if (segments.Count > 0 && first is null && await reader.ReadAsync(ct))
            {
                first = reader.GetInt64(0);
            }
        }
        while (await reader.NextResultAsync(ct));
        return segments.Count == 0 ? 0 : first ?? throw new InvalidOperationException("the segments' insert answered no first id");
    }

    /// <summary>
    /// Stores what a fold made from an empty start (a rebuild's shadow, outside any one transaction):
    /// each table on a connection of its own, at the same time, so the server builds their indexes in parallel.
    /// </summary>
    public static async Task WriteInParallelAsync(NpgsqlDataSource target, ProjectionFold fold, CancellationToken ct)
    {
        if (fold.ClosedStoredFacts.Count > 0 || fold.ClosedStoredSegments.Count > 0)
        {
            throw new InvalidOperationException("a fold that closes stored rows is written in its write's own transaction");
        }
        async Task On(Func<NpgsqlConnection, Task> work)
        {
            await using var c = await target.OpenConnectionAsync(ct);
            await work(c);
        }
        await Task.WhenAll(
            On(c => WriteRegistrationsAsync(c, fold, ct)),
            On(c => WriteFactVersionsAsync(c, fold, ct)),
            On(c => WriteSegmentsAsync(c, fold, ct)));
    }

    /// <summary>A merge row's values, in the order of the insert's columns.</summary>
    private static object[] MergeValues(MergeRow m) =>
        [m.Merge.Duplicate, m.Merge.Into, m.RecordedFrom, (object?)m.RecordedTo ?? DBNull.Value, m.Sequence, (object?)m.ClosedSequence ?? DBNull.Value,
            m.Merge.Reason, m.Merge.Writer, (object?)m.Undo?.Reason ?? DBNull.Value, (object?)m.Undo?.Writer ?? DBNull.Value];

    /// <summary>The registrations (organizations, sources, deals), the merges and the ledger position a fold made.</summary>
    private static async Task WriteRegistrationsAsync(NpgsqlConnection c, ProjectionFold fold, CancellationToken ct)
    {
        foreach (var (table, rows) in fold.Registrations)
        {
            await RegistrationsAsync(c, table, rows, ct);
        }
        foreach (var m in fold.Merges)
        {
            await Sql.ExecAsync(c, $"insert into {ProjectionTables.Of("organization_merges")} (duplicate, merged_into, recorded, sequence, closed_sequence, reason, writer, undo_reason, undo_writer) " +
                "values ($1, $2, tstzrange($3, $4, '[)'), $5, $6, $7, $8, $9, $10)", ct, MergeValues(m));
        }
        if (fold.Position is { } position)
        {
            await Projections.PositionAsync(c, position.Sequence, position.RecordedAt, position.NamesSequence, ct);
        }
    }

    private static async Task WriteFactVersionsAsync(NpgsqlConnection c, ProjectionFold fold, CancellationToken ct)
    {
        if (fold.FactVersions.Count > 0)
        {
            await FactVersionsAsync(c, fold.FactVersions, await IdBlockAsync(c, "fact_versions", fold.FactVersions.Count, ct), ct);
        }
    }

    private static async Task<long> WriteSegmentsAsync(NpgsqlConnection c, ProjectionFold fold, CancellationToken ct)
    {
        if (fold.Segments.Count == 0)
        {
            return 0;
        }
        var first = await IdBlockAsync(c, "holding_segments", fold.Segments.Count, ct);
        await HoldingSegmentsAsync(c, fold.Segments, first, ct);
        return first;
    }

    /// <summary>The first of <paramref name="count"/> ids taken from the table's id sequence at once (the fold's row 0 gets it).</summary>
    private static async Task<long> IdBlockAsync(NpgsqlConnection c, string table, int count, CancellationToken ct)
    {
        var last = (await Sql.ListAsync(c, Sequences.LastOfBlock($"pg_get_serial_sequence('{ProjectionTables.Of(table)}', 'id')"), r => r.GetInt64(0), ct, (long)count))[0];
        return last - count + 1;
    }

    public static async Task RegistrationsAsync(NpgsqlConnection c, string table, IReadOnlyCollection<RegistrationRow> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }
        var named = table == "organizations";
        await using var copy = await c.BeginBinaryImportAsync(
            $"copy {ProjectionTables.Of(table)} (id, {(named ? "name, " : "")}recorded_at, sequence, data) from stdin (format binary)", ct);
        foreach (var r in rows)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(r.Id, NpgsqlDbType.Text, ct);
            if (named)
            {
                await copy.WriteAsync(r.Name!, NpgsqlDbType.Text, ct);
            }
            await copy.WriteAsync(r.RecordedAt, NpgsqlDbType.TimestampTz, ct);
            await copy.WriteAsync(r.Sequence, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(r.Data, NpgsqlDbType.Jsonb, ct);
        }
        await copy.CompleteAsync(ct);
    }

    public static async Task FactVersionsAsync(NpgsqlConnection c, IEnumerable<FactVersionRow> rows, long firstId, CancellationToken ct)
    {
        await using var copy = await c.BeginBinaryImportAsync(
            $"copy {ProjectionTables.Of("fact_versions")} (id, fact_id, type, holder, subject, orgs, recorded, sequence, state) from stdin (format binary)", ct);
        foreach (var r in rows)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(firstId + r.Id, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(r.Fact.Id, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Type, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(copy, r.Holder, ct);
            await WriteNullableAsync(copy, r.Subject, ct);
            await copy.WriteAsync(r.Fact.Current.Organizations.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text, ct);
            await copy.WriteAsync(Recorded(r.RecordedFrom, r.RecordedTo), NpgsqlDbType.TimestampTzRange, ct);
            await copy.WriteAsync(r.Sequence, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(FactVersions.Stored(r.Fact), NpgsqlDbType.Json, ct);
        }
        await copy.CompleteAsync(ct);
    }

    public static async Task HoldingSegmentsAsync(NpgsqlConnection c, IEnumerable<HoldingSegmentRow> rows, long firstId, CancellationToken ct)
    {
        await using var copy = await c.BeginBinaryImportAsync(
            $"copy {ProjectionTables.Of("holding_segments")} (id, holder, subject, valid, recorded, status, sequence, closed_sequence, finding) from stdin (format binary)", ct);
        foreach (var r in rows)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(firstId + r.Id, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(r.Holder, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Subject, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(Valid(r.From, r.To), NpgsqlDbType.DateRange, ct);
            await copy.WriteAsync(Recorded(r.RecordedFrom, r.RecordedTo), NpgsqlDbType.TimestampTzRange, ct);
            await copy.WriteAsync(r.Status, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Sequence, NpgsqlDbType.Bigint, ct);
            if (r.ClosedSequence is { } closed)
            {
                await copy.WriteAsync(closed, NpgsqlDbType.Bigint, ct);
            }
            else
            {
                await copy.WriteNullAsync(ct);
            }
            await copy.WriteAsync(r.Finding, NpgsqlDbType.Json, ct);
        }
        await copy.CompleteAsync(ct);
    }

    /// <summary>[from, to) over recorded time, open-ended while the row is current — as tstzrange($1, null, '[)') stores it.</summary>
    private static NpgsqlRange<DateTime> Recorded(DateTimeOffset from, DateTimeOffset? to) =>
        to is { } t
            ? new NpgsqlRange<DateTime>(from.UtcDateTime, true, false, t.UtcDateTime, false, false)
            : new NpgsqlRange<DateTime>(from.UtcDateTime, true, false, default, false, true);

    /// <summary>[from, to) over valid time, either end unbounded when null — as daterange($1, $2, '[)') stores it.</summary>
    private static NpgsqlRange<DateOnly> Valid(DateOnly? from, DateOnly? to) =>
        new(from ?? default, from is not null, from is null, to ?? default, false, to is null);

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken ct)
    {
        if (value is null)
        {
            await copy.WriteNullAsync(ct);
        }
        else
        {
            await copy.WriteAsync(value, NpgsqlDbType.Text, ct);
        }
    }
}
