using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Holdings;

/// <summary>
/// The sources and log events stored findings cite, kept in the process once read, so a read asks the
/// database only for those it has not seen. Both never change once recorded (the log is append-only, a
/// source registered again with other details is refused), so nothing kept ever needs invalidating.
/// It belongs to one ledger, i.e. one database: sequences and source ids mean nothing elsewhere.
/// Only what committed reads returned is kept (<see cref="For"/>'s keep): a write's own transaction can see
/// rows that then roll back, and a source id may later be registered with other details.
/// </summary>
internal sealed class Citations
{
    private readonly Recent<string, SourceRegistered> sources;
    private readonly Recent<long, BasisEvent> events;

    public Citations(int sourceCapacity = 20_000, int eventCapacity = 200_000)
    {
        sources = new Recent<string, SourceRegistered>(sourceCapacity, StringComparer.Ordinal);
        events = new Recent<long, BasisEvent>(eventCapacity, EqualityComparer<long>.Default);
    }

    /// <summary>What rendering these findings needs: what is kept already, and the statements that read the rest.</summary>
    public Need For(IEnumerable<Finding> findings, bool keep = true)
    {
        var need = new Need(this, keep);
        foreach (var f in findings)
        {
            need.Cite(f.Sources, f.Basis);
        }
        return need;
    }

    /// <summary>Sources by id (those not registered left out), read from the database only when not kept yet.</summary>
    public async Task<Dictionary<string, SourceRegistered>> SourcesAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct)
    {
        var need = new Need(this, keep: true);
        need.Cite(ids, []);
        await need.LoadAsync(c, ct);
        return need.Sources;
    }

    /// <summary>
    /// The citations of some findings: <see cref="Sources"/> and <see cref="Events"/> hold the kept ones;
    /// <see cref="AddTo"/> puts the statements reading the missing ones into a batch (none when nothing is
    /// missing) and <see cref="ReadAsync"/> reads their results, in that order.
    /// </summary>
    public sealed class Need(Citations owner, bool keep)
    {
        public Dictionary<string, SourceRegistered> Sources { get; } = new(StringComparer.Ordinal);
        public Dictionary<long, BasisEvent> Events { get; } = [];
        internal HashSet<string> MissingSources { get; } = new(StringComparer.Ordinal);
        internal HashSet<long> MissingEvents { get; } = [];

        public bool Complete => MissingSources.Count == 0 && MissingEvents.Count == 0;

        internal void Cite(IEnumerable<string> sources, IEnumerable<long> basis)
        {
            Take(sources, owner.sources, Sources, MissingSources);
            Take(basis, owner.events, Events, MissingEvents);
        }

        /// <summary>Each id once: from what is kept when it is there, else to be read.</summary>
        private static void Take<TKey, TValue>(IEnumerable<TKey> ids, Recent<TKey, TValue> kept, Dictionary<TKey, TValue> found, HashSet<TKey> missing)
            where TKey : notnull
        {
            foreach (var id in ids)
            {
                if (!found.ContainsKey(id) && !missing.Contains(id))
                {
                    if (kept.TryGet(id, out var value))
                    {
                        found[id] = value;
                    }
                    else
                    {
                        missing.Add(id);
                    }
                }
            }
        }

        public void AddTo(NpgsqlBatch batch)
        {
            if (MissingSources.Count > 0)
            {
                batch.BatchCommands.Add(new(SourceCatalog.ByIds) { Parameters = { new() { Value = MissingSources.ToArray() } } });
            }
            if (MissingEvents.Count > 0)
            {
                batch.BatchCommands.Add(new($"select seq_id, id, type, timestamp from {ProjectionTables.Name("mt_events")} where seq_id = any($1)")
                    { Parameters = { new() { Value = MissingEvents.ToArray() } } });
            }
        }

        /// <summary>Reads the results of <see cref="AddTo"/>'s statements; the reader stands before the first of them.</summary>
        public async Task ReadAsync(NpgsqlDataReader r, CancellationToken ct)
        {
            var next = false;
            if (MissingSources.Count > 0)
            {
                next = true;
                while (await r.ReadAsync(ct))
                {
                    var source = SourceCatalog.Read(r);
                    Sources[source.Id] = source;
                    if (keep)
                    {
                        owner.sources.Add(source.Id, source);
                    }
                }
            }
            if (MissingEvents.Count > 0)
            {
                if (next)
                {
                    await r.NextResultAsync(ct);
                }
                while (await r.ReadAsync(ct))
                {
                    var e = new BasisEvent(r.GetGuid(1), r.GetInt64(0), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3));
                    Events[e.Sequence] = e;
                    if (keep)
                    {
                        owner.events.Add(e.Sequence, e);
                    }
                }
            }
        }

        /// <summary>Reads the missing citations in a round trip of their own (none when nothing is missing).</summary>
        public async Task LoadAsync(NpgsqlConnection c, CancellationToken ct)
        {
            if (Complete)
            {
                return;
            }
            await using var batch = new NpgsqlBatch(c);
            AddTo(batch);
            await using var r = await batch.ExecuteReaderAsync(ct);
            await ReadAsync(r, ct);
        }
    }
}
