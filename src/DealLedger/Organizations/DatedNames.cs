using DealLedger.Deals;
using DealLedger.Holdings;
using DealLedger.Relationships;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Organizations;

/// <summary>
/// A name an organization bore, as answers list them: when (valid time, with its precision), how it was used, and the fact
/// that says so. <paramref name="Until"/> is exclusive: the name was no longer borne on that date.
/// </summary>
public sealed record DatedName(string Fact, string Name, NameUse Use, DateWithPrecision From, bool StartUnknown, DateWithPrecision? Until);

/// <summary>
/// Organizations' names and identifiers over valid time (<see cref="OrganizationName"/> and <see cref="OrganizationIdentifier"/>
/// facts), as known at an instant. An organization is named on a day by its legal name surely in force then; where none is
/// (before the first, between two, or on a day an imprecise date leaves open), by the name it was registered under.
/// </summary>
internal static class DatedNames
{
    private static readonly string[] Kinds = [LedgerJson.Word(FactType.Name), LedgerJson.Word(FactType.Identifier)];

    /// <summary>
    /// The name and identifier facts of these organizations as known at k (retracted ones left out), by organization: one
    /// seek per organization in the index of these kinds by their subject.
    /// </summary>
    public static async Task<ILookup<string, FactState>> OfAsync(NpgsqlConnection c, IEnumerable<string> ids, DateTimeOffset k, CancellationToken ct) =>
        (await Sql.ListAsync(c, $"select state::text from {ProjectionTables.Of("fact_versions")} where holder is null and subject = any($2) and type = any($1) and recorded @> $3::timestamptz",
            r => FactVersions.Read(r.GetString(0)), ct, Kinds, ids.Distinct().ToArray(), k))
        .Where(f => !f.IsRetracted).ToLookup(f => f.Current.Organizations[0], StringComparer.Ordinal);

    /// <summary>The organization as named on the day: its legal name then, its aliases then added, its identifiers then over those registered.</summary>
    public static OrganizationRegistered On(OrganizationRegistered o, IEnumerable<FactState> facts, DateOnly day)
    {
        var inForce = InForce(facts, day);
        var identifiers = inForce.OfType<OrganizationIdentifier>().ToList();
        if (inForce.Count == 0)
        {
            return o;
        }
        var name = NameOn(o.Name, inForce);
        var ids = new SortedDictionary<string, string>(o.Identifiers.ToDictionary(), StringComparer.Ordinal);
        foreach (var i in identifiers.OrderBy(i => i.Valid.From.Start).ThenBy(i => i.Id, StringComparer.Ordinal))
        {
            ids[i.Scheme] = i.Value;
        }
        var aliases = o.Aliases.Concat(inForce.OfType<OrganizationName>().Where(n => n.Use == NameUse.Alias).Select(n => n.Name)).Where(a => a != name).Distinct().ToList();
        return o with { Name = name, Aliases = aliases, Identifiers = ids };
    }

    /// <summary>The legal name surely in force on the day (the latest to start, when the facts give two), else the registered one.</summary>
    private static string NameOn(string registered, IReadOnlyList<Fact> inForce) =>
        inForce.OfType<OrganizationName>().Where(n => n.Use == NameUse.Legal).OrderByDescending(n => n.Valid.From.Start).ThenBy(n => n.Id, StringComparer.Ordinal)
            .FirstOrDefault()?.Name ?? registered;

    /// <summary>The legal name surely in force on the day by these name facts, else <paramref name="registered"/>.</summary>
    public static string LegalNameOn(string registered, IEnumerable<FactState> facts, DateOnly day) => NameOn(registered, InForce(facts, day));

    private static List<Fact> InForce(IEnumerable<FactState> facts, DateOnly day) =>
        facts.Where(f => RelationshipsQuery.StatusAt(f, day) == TieStatus.InForce).Select(f => f.Current).ToList();

    /// <summary>Every name the facts give the organization, oldest first (null when none: answers then stay as they were).</summary>
    public static IReadOnlyList<DatedName>? Names(IEnumerable<FactState> facts) =>
        facts.Where(f => f.Current is OrganizationName).Select(f => (Fact: (OrganizationName)f.Current, f.EndsOn))
            .OrderBy(x => x.Fact.Valid.From.Start).ThenBy(x => x.Fact.Id, StringComparer.Ordinal)
            .Select(x => new DatedName(x.Fact.Id, x.Fact.Name, x.Fact.Use, DateWithPrecision.Of(x.Fact.Valid.From)!, x.Fact.Valid.OrEarlier, DateWithPrecision.Of(x.EndsOn)))
            .ToList() is { Count: > 0 } list ? list : null;

    /// <summary>A pair's names on the day, from the registered ones and their name and identifier facts (<see cref="OfAsync"/>).</summary>
    public static (string Holder, string Subject) On(string holderName, string subjectName, string holder, string subject, ILookup<string, FactState> facts, DateOnly day) =>
        (NameOn(holderName, InForce(facts[holder], day)), NameOn(subjectName, InForce(facts[subject], day)));

    /// <summary>The organizations registered among these ids, each as named on the day as known at k (<see cref="On"/>), in one statement.</summary>
    public static async Task<Dictionary<string, OrganizationRegistered>> RegisteredOnAsync(NpgsqlConnection c, IEnumerable<string> ids, DateOnly day, DateTimeOffset k,
        CancellationToken ct)
    {
        var rows = await Sql.ListAsync(c,
            $"select data::text, null::text from {ProjectionTables.Of("organizations")} where id = any($1) union all " +
            $"select null, state::text from {ProjectionTables.Of("fact_versions")} where holder is null and subject = any($1) and type = any($2) and recorded @> $3::timestamptz",
            r => (Data: r.IsDBNull(0) ? null : r.GetString(0), State: r.IsDBNull(1) ? null : r.GetString(1)), ct, ids.Distinct().ToArray(), Kinds, k);
        var dated = rows.Where(r => r.State is not null).Select(r => FactVersions.Read(r.State!)).Where(f => !f.IsRetracted)
            .ToLookup(f => f.Current.Organizations[0], StringComparer.Ordinal);
        return rows.Where(r => r.Data is not null).Select(r => OrganizationDirectory.FromStored(r.Data!))
            .ToDictionary(o => o.Id, o => On(o, dated[o.Id], day), StringComparer.Ordinal);
    }

    /// <summary>
    /// The organizations' names on the day as known at k (registered ones only, as <see cref="OrganizationDirectory.NamesAsync"/>):
    /// the registrations and the name facts in one statement, so answers that name many organizations (a neighbourhood's) pay
    /// no round trip more than they did before names had dates.
    /// </summary>
    public static async Task<Dictionary<string, string>> OnAsync(NpgsqlConnection c, IEnumerable<string> ids, DateOnly day, DateTimeOffset k, CancellationToken ct)
    {
        var rows = await Sql.ListAsync(c,
            $"select id, name, null::text from {ProjectionTables.Of("organizations")} where id = any($1) union all " +
            $"select subject, null, state::text from {ProjectionTables.Of("fact_versions")} where holder is null and subject = any($1) and type = any($2) and recorded @> $3::timestamptz",
            r => (Id: r.GetString(0), Name: r.IsDBNull(1) ? null : r.GetString(1), State: r.IsDBNull(2) ? null : r.GetString(2)), ct, ids.Distinct().ToArray(), Kinds, k);
        var names = rows.Where(r => r.Name is not null).ToDictionary(r => r.Id, r => r.Name!, StringComparer.Ordinal);
        foreach (var facts in rows.Where(r => r.State is not null).Select(r => FactVersions.Read(r.State!)).Where(f => !f.IsRetracted)
                     .ToLookup(f => f.Current.Organizations[0], StringComparer.Ordinal))
        {
            if (names.TryGetValue(facts.Key, out var registered))
            {
                names[facts.Key] = NameOn(registered, InForce(facts, day));
            }
        }
        return names;
    }
}

/// <summary>
/// The organizations that have name facts, as a process last read them, and as of which write (the ledger position's
/// names_sequence). The headline probe reads that sequence with its row; only when it shows a later write than this is
/// the set read again (one statement), and only a pair with a name fact reads its names: a ledger without names over
/// time pays one column. A set read after a probe's snapshot is a superset of the one then: it never misses a name.
/// </summary>
internal sealed class NamedOrganizations
{
    private sealed record Known(long Sequence, HashSet<string> Ids, HashSet<string> Merged);

    private Known known = new(0, [], []);

    /// <summary>
    /// Whether either organization may have names over time, and whether either is in a merge (ever recorded: as known at an
    /// earlier instant it may be in force), as of the probe's names sequence (which merges move too).
    /// </summary>
    public async ValueTask<(bool Named, bool Merged)> EitherAsync(Func<CancellationToken, ValueTask<NpgsqlConnection>> connect, long sequence, string a, string b, CancellationToken ct)
    {
        var now = Volatile.Read(ref known);
        if (now.Sequence < sequence)
        {
            var ids = await Sql.ListAsync(await connect(ct),
                $"select distinct subject, false from {ProjectionTables.Of("fact_versions")} where holder is null and subject is not null and type = $1 " +
                $"union select duplicate, true from {ProjectionTables.Of("organization_merges")} union select merged_into, true from {ProjectionTables.Of("organization_merges")}",
                r => (Id: r.GetString(0), Merged: r.GetBoolean(1)), ct, LedgerJson.Word(FactType.Name));
            now = new Known(sequence, ids.Where(x => !x.Merged).Select(x => x.Id).ToHashSet(StringComparer.Ordinal),
                ids.Where(x => x.Merged).Select(x => x.Id).ToHashSet(StringComparer.Ordinal));
            Volatile.Write(ref known, now);
        }
        return (now.Ids.Contains(a) || now.Ids.Contains(b), now.Merged.Contains(a) || now.Merged.Contains(b));
    }
}
