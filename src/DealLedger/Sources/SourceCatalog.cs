using DealLedger.Deals;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Sources;

/// <summary>Sources as the projections cite them (table sources).</summary>
internal static class SourceCatalog
{
    public static async Task<Dictionary<string, SourceRegistered>> LoadAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct)
    {
        var list = await Sql.ListAsync(c, ByIds, Read, ct, (object)ids.Distinct().ToArray());
        return list.ToDictionary(s => s.Id, StringComparer.Ordinal);
    }

    /// <summary>The sources whose ids are in $1 (text[]), a row each, for <see cref="Read"/>; also sent in batches with other reads.</summary>
    public static string ByIds => $"select data::text from {ProjectionTables.Of("sources")} where id = any($1)";

    public static SourceRegistered Read(NpgsqlDataReader r) => LedgerJson.Deserialize<SourceRegistered>(r.GetString(0));

    /// <summary>Every source a fact's story cites: its claims, corrections, retraction and ending.</summary>
    public static IEnumerable<string> CitedBy(FactState f) =>
        f.Current.Sources.Select(c => c.Source)
            .Concat(f.Corrections.SelectMany(c => c.Sources.Select(x => x.Source)))
            .Concat(f.Retraction?.Sources.Select(x => x.Source) ?? [])
            .Concat(f.Ending?.Sources.Select(x => x.Source) ?? []);
}
