using DealLedger.Sources;
using DealLedger.Storage;
using Npgsql;

namespace DealLedger.Holdings;

/// <summary>
/// The sources stored findings cite, kept in the process once read, so a read asks the database only for
/// those it has not seen (a finding holds its basis events itself). A source never changes once recorded (one
/// registered again with other details is refused), so nothing kept ever needs invalidating.
/// It belongs to one ledger, i.e. one database: source ids mean nothing elsewhere.
/// Only what committed reads returned is kept (<see cref="For"/>'s keep): a write's own transaction can see
/// rows that then roll back, and a source id may later be registered with other details.
/// </summary>
internal sealed class Citations
{
    private readonly Recent<string, SourceRegistered> sources;

    public Citations(int sourceCapacity = 20_000)
    {
        sources = new Recent<string, SourceRegistered>(sourceCapacity, StringComparer.Ordinal);
    }

    /// <summary>What rendering these findings needs: what is kept already, and the statements that read the rest.</summary>
    public Need For(IEnumerable<Finding> findings, bool keep = true)
    {
        var need = new Need(this, keep);
        foreach (var f in findings)
        {
            need.Cite(f.Sources);
        }
        return need;
    }

    /// <summary>Sources by id (those not registered left out), read from the database only when not kept yet.</summary>
    public async Task<Dictionary<string, SourceRegistered>> SourcesAsync(NpgsqlConnection c, IEnumerable<string> ids, CancellationToken ct)
    {
        var need = new Need(this, keep: true);
        need.Cite(ids);
        await need.LoadAsync(c, ct);
        return need.Sources;
    }

    /// <summary>
    /// The sources some findings cite: <see cref="Sources"/> holds the kept ones; <see cref="AddTo"/> puts the
    /// statement reading the missing ones into a batch (none when nothing is missing) and <see cref="ReadAsync"/>
    /// reads its result.
    /// </summary>
    public sealed class Need(Citations owner, bool keep)
    {
        public Dictionary<string, SourceRegistered> Sources { get; } = new(StringComparer.Ordinal);
        internal HashSet<string> MissingSources { get; } = new(StringComparer.Ordinal);

        public bool Complete => MissingSources.Count == 0;

        /// <summary>Each id once: from what is kept when it is there, else to be read.</summary>
        internal void Cite(IEnumerable<string> sources)
        {
            foreach (var id in sources)
            {
                if (!Sources.ContainsKey(id) && !MissingSources.Contains(id))
                {
                    if (owner.sources.TryGet(id, out var source))
                    {
                        Sources[id] = source;
                    }
                    else
                    {
                        MissingSources.Add(id);
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
        }

        /// <summary>Reads the result of <see cref="AddTo"/>'s statement; the reader stands before it.</summary>
        public async Task ReadAsync(NpgsqlDataReader r, CancellationToken ct)
        {
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
