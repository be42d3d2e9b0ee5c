using System.Text.Json;
using System.Text.Json.Serialization;
using DealLedger.Storage;
using DealLedger.Time;
using Npgsql;

namespace DealLedger.Deals;

/// <summary>The projection of every fact's versions over recorded time (table fact_versions; written by <see cref="ProjectionFold"/>).</summary>
internal static class FactVersions
{
    private static readonly string Table = ProjectionTables.Of("fact_versions");

    /// <summary>
    /// A fact's state as its row stores it (column state): the answer's shape without what it repeats — <c>original</c> only
    /// when a correction or an added source made it differ from <c>current</c>, no null field, none of the values derived
    /// from the rest (id, version …). The repetition was about half of the bytes an import or a rebuild stored for a fact.
    /// </summary>
    public static string Stored(FactState state) => JsonSerializer.Serialize(
        new StoredState(ReferenceEquals(state.Original, state.Current) ? null : state.Original, state.Current, state.Basis,
            state.Corrections, state.Retraction, state.Ending, state.Amendments), StoredForm);

    /// <summary>A stored state read back (also the longer form earlier versions stored).</summary>
    public static FactState Read(string json) => From(JsonSerializer.Deserialize<StoredState>(json, StoredForm));

    /// <summary>As the other form, from the UTF-8 bytes the database sends (a write's loads read many: no string made to be parsed).</summary>
    public static FactState Read(ReadOnlySpan<byte> json) => From(JsonSerializer.Deserialize<StoredState>(json, StoredForm));

    private static FactState From(StoredState? stored)
    {
        if (stored is null)
        {
            throw new InvalidOperationException("empty fact state");
        }
        return new FactState
        {
            Original = stored.Original ?? stored.Current,
            Current = stored.Current,
            Basis = stored.Basis,
            Corrections = stored.Corrections ?? [],
            Retraction = stored.Retraction,
            Ending = stored.Ending,
            Amendments = stored.Amendments ?? new Dictionary<string, string>(),
        };
    }

    private sealed record StoredState(Fact? Original, Fact Current, IReadOnlyList<EventRef> Basis, IReadOnlyList<CorrectionNote>? Corrections,
        RetractionNote? Retraction, EndingNote? Ending, IReadOnlyDictionary<string, string>? Amendments);

    private static readonly JsonSerializerOptions StoredForm = CreateStoredForm();

    private static JsonSerializerOptions CreateStoredForm()
    {
        var options = new JsonSerializerOptions { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        LedgerJson.Configure(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static async Task<FactState?> CurrentAsync(NpgsqlConnection c, string id, CancellationToken ct)
    {
        await using var cmd = Sql.Command(c, $"select state::text from {Table} where fact_id = $1 and upper_inf(recorded)", id);
        return await cmd.ExecuteScalarAsync(ct) is string json ? Read(json) : null;
    }

    /// <summary>The current facts that tie all of <paramref name="orgs"/> together.</summary>
    public static Task<List<FactState>> AmongAsync(NpgsqlConnection c, IReadOnlyList<string> orgs, CancellationToken ct) =>
        Sql.ListAsync(c, $"select state::text from {Table} where orgs @> $1::text[] and upper_inf(recorded)",
            r => Read(r.GetString(0)), ct, (object)orgs.ToArray());

    /// <summary>Every fact of these kinds as known at an instant.</summary>
    public static Task<List<FactState>> OfTypesAsync(NpgsqlConnection c, DateTimeOffset knownAt, IReadOnlyList<FactType> types, CancellationToken ct) =>
        Sql.ListAsync(c, $"select state::text from {Table} where type = any($1) and recorded @> $2::timestamptz order by fact_id",
            r => Read(r.GetString(0)), ct, types.Select(LedgerJson.Word).ToArray(), knownAt);

    /// <summary>
    /// The stake facts not retracted of each of these pairs (holder, subject), as known at an instant, as an answer naming
    /// them needs them (<see cref="Holdings.StakeFactMark"/>, read from the stored state without making the whole of it),
    /// in one statement: when nothing was recorded after it, the current versions by the pairs' btree; else by the
    /// organizations' index, at the instant.
    /// </summary>
    public static async Task<List<Holdings.StakeFactMark>> StakeMarksOfPairsAsync(NpgsqlConnection c, IReadOnlyCollection<(string Holder, string Subject)> pairs,
        DateTimeOffset knownAt, CancellationToken ct) =>
        Marks(await Sql.ListAsync(c,
            $"with k as materialized (select {Ledger.NothingRecordedAfter("$4::timestamptz")} now) " +
            "select p.holder, p.subject, f.state::text from unnest($1::text[], $2::text[]) p(holder, subject) cross join lateral (" +
            $"select state from {Table} where (select now from k) and upper_inf(recorded) and holder = p.holder and subject = p.subject and type = $3 union all " +
            $"select state from {Table} where not (select now from k) and orgs @> array[p.holder, p.subject]::text[] and holder = p.holder and subject = p.subject " +
            "and type = $3 and recorded @> $4::timestamptz) f",
            MarkRow, ct, pairs.Select(p => p.Holder).ToArray(), pairs.Select(p => p.Subject).ToArray(), LedgerJson.Word(FactType.Stake), knownAt));

    /// <summary>
    /// The stake facts not retracted, as known at an instant, that tie any of these organizations (the records of one merged
    /// organization), as marks: an answer that shows a page of its ties needs no more of them. In no order: sorting a hub's
    /// thousands by id cost PostgreSQL about as long as finding them.
    /// </summary>
    public static async Task<List<Holdings.StakeFactMark>> StakeMarksInvolvingAnyAsync(NpgsqlConnection c, IReadOnlyList<string> orgs, DateTimeOffset knownAt,
        CancellationToken ct) =>
        Marks(await Sql.ListAsync(c,
            $"select holder, subject, state::text from {Table} where orgs && $1::text[] and type = $2 and recorded @> $3::timestamptz",
            MarkRow, ct, orgs.ToArray(), LedgerJson.Word(FactType.Stake), knownAt));

    /// <summary>A row of (holder, subject, stored state) as the parts of it a mark needs.</summary>
    private static (string Holder, string Subject, MarkOfState State) MarkRow(NpgsqlDataReader r) =>
        (r.GetString(0), r.GetString(1), JsonSerializer.Deserialize<MarkOfState>(r.GetString(2), StoredForm)!);

    /// <summary>The marks of the facts read, retracted ones left out.</summary>
    private static List<Holdings.StakeFactMark> Marks(List<(string Holder, string Subject, MarkOfState State)> read) =>
        read.Where(x => x.State.Retraction is null).Select(x => x.State.Mark(x.Holder, x.Subject)).ToList();

    /// <summary>The parts of a stored state a <see cref="Holdings.StakeFactMark"/> needs (the serializer skips the rest: parsing a state's JSON in the server is slower).</summary>
    private sealed record MarkOfState(MarkOfFact Current, IReadOnlyList<MarkOfEvent> Basis, JsonElement? Retraction, MarkOfEnding? Ending)
    {
        /// <summary>As <see cref="FactState.EndsOn"/>: its ending's day, else the end its dates give.</summary>
        public Holdings.StakeFactMark Mark(string holder, string subject) =>
            new(holder, subject, Current.Id, Basis[0].Sequence, Current.Valid.From, Ending?.On ?? Current.Valid.To);
    }

    private sealed record MarkOfFact(string Id, ValidPeriod Valid);

    private sealed record MarkOfEvent(long Sequence);

    private sealed record MarkOfEnding(ValidDate On);

    /// <summary>
    /// The facts of these kinds that touch any of these organizations, as known at an instant: by the organizations' index for
    /// a few of them; for many (a portfolio of thousands), every fact of the kinds read once, which is cheaper than thousands of probes.
    /// </summary>
    public static async Task<List<FactState>> OfTypesAmongAsync(NpgsqlConnection c, IReadOnlyList<FactType> types, IReadOnlyCollection<string> orgs, DateTimeOffset knownAt,
        CancellationToken ct)
    {
        if (orgs.Count <= 200)
        {
            return await Sql.ListAsync(c, $"select state::text from {Table} where orgs && $1::text[] and type = any($2) and recorded @> $3::timestamptz order by fact_id",
                r => Read(r.GetString(0)), ct, orgs.ToArray(), types.Select(LedgerJson.Word).ToArray(), knownAt);
        }
        var among = orgs.ToHashSet(StringComparer.Ordinal);
        return (await OfTypesAsync(c, knownAt, types, ct)).Where(f => f.Current.Organizations.Any(among.Contains)).ToList();
    }

    /// <summary>
    /// The facts, as known at <paramref name="knownAt"/>, that tie any of these organizations (the records of one merged
    /// organization), each once; none of the kind <paramref name="except"/> names (what is read another way).
    /// </summary>
    public static Task<List<FactState>> InvolvingAnyAsync(NpgsqlConnection c, IReadOnlyList<string> orgs, DateTimeOffset knownAt, CancellationToken ct,
        FactType? except = null) =>
        Sql.ListAsync(c, $"select state::text from {Table} where orgs && $1::text[] and ($3::text is null or type <> $3) and recorded @> $2::timestamptz " +
            "order by fact_id", r => Read(r.GetString(0)), ct, orgs.ToArray(), knownAt, except is { } kind ? LedgerJson.Word(kind) : null);
}
