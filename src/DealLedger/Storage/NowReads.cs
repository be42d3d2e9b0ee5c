using Npgsql;

namespace DealLedger.Storage;

/// <summary>
/// One-statement "now" reads (<see cref="Ledger.AtHighWater"/>), sent together when many are in flight: while a round
/// trip is out (one per two cores), a read that arrives waits and goes in the next one, one batch of the statements
/// waiting. A read that finds a round trip free goes at once, from its own thread, so a lone read pays nothing. Under
/// load this spares PostgreSQL and this process a wake-up, a socket read and a write per read, which is most of what a
/// read costs (docs/benchmarks.md). Each statement of a batch takes its own snapshot (READ COMMITTED) and reads its own
/// high-water mark, so its answer is the one it would have got alone.
/// </summary>
/// <param name="mostInFlight">How many round trips may be out at once. By default one per two cores: on two cores
/// shared with PostgreSQL, one gave 1–3 % more requests a second than two, and four 15 % fewer (docs/benchmarks.md).</param>
internal sealed class NowReads(NpgsqlDataSource database, int? mostInFlight = null)
{
    private readonly int mostOut = mostInFlight ?? Math.Max(1, Environment.ProcessorCount / 2);

    private readonly object gate = new();
    private List<Read> waiting = [];
    private int inFlight;

    /// <summary>How many round trips may be out at once.</summary>
    internal int MostInFlight => mostOut;

    /// <summary>How many reads wait for the next round trip (tests hold the round trips out to see them gather).</summary>
    internal int Waiting
    {
        get
        {
            lock (gate)
            {
                return waiting.Count;
            }
        }
    }

    /// <summary>The statement's one row: the high-water mark (its column 0) and what <paramref name="row"/> reads from column 1; null for no row.</summary>
    public async Task<(DateTimeOffset At, TRow Row)?> ReadAsync<TRow>(NpgsqlBatchCommand statement, Func<NpgsqlDataReader, int, TRow> row, CancellationToken ct)
    {
        var read = new Read<TRow>(statement, row);
        bool now;
        lock (gate)
        {
            // A free round trip means nothing waits (whoever ends a round trip sends what waits before freeing it).
            now = inFlight < mostOut;
            if (now)
            {
                inFlight++;
            }
            else
            {
                waiting.Add(read);
            }
        }
        // A read given up leaves its place (or its round trip goes on without it): the others' answers do not depend on it.
        await (now ? SendAsync([read]) : read.Answered.Task).WaitAsync(ct);
        return read.Answer();
    }

    /// <summary>Sends a batch, answers its reads, then hands what waited meanwhile to a round trip of its own (or frees this one).</summary>
    private async Task SendAsync(List<Read> batch)
    {
        try
        {
            await SendTogetherAsync(batch);
        }
        catch (PostgresException e) when (batch.Count > 1 && e.InvariantSeverity == "ERROR")
        {
            // A statement that fails ends the batch (one implicit transaction): the reads not answered go again, each
            // alone, so a read fails only for its own statement. A broken connection or a server going away fails them
            // all at once below, as each would have failed alone.
            foreach (var read in batch.Where(r => !r.Answered.Task.IsCompleted))
            {
                try
                {
                    await SendTogetherAsync([read]);
                }
                catch (Exception alone)
                {
                    read.Answered.TrySetException(alone);
                }
            }
        }
        catch (Exception e)
        {
            foreach (var read in batch)
            {
                read.Answered.TrySetException(e);
            }
        }
        List<Read>? next = null;
        lock (gate)
        {
            if (waiting.Count > 0)
            {
                next = waiting;
                waiting = [];
            }
            else
            {
                inFlight--;
            }
        }
        if (next is not null)
        {
            // On the thread pool: this caller's own answer is ready and must not wait for the next round trip.
            ThreadPool.UnsafeQueueUserWorkItem(static s => _ = s.Owner.SendAsync(s.Next), (Owner: this, Next: next), preferLocal: false);
        }
    }

    private async Task SendTogetherAsync(List<Read> batch)
    {
        // Not the callers' tokens: a read given up must not fail the others sent with it.
        await using var connection = await database.OpenConnectionAsync();
        await using var command = new NpgsqlBatch(connection);
        foreach (var read in batch)
        {
            command.BatchCommands.Add(read.Statement);
        }
        await using var reader = await command.ExecuteReaderAsync();
        for (var i = 0; i < batch.Count; i++)
        {
            if (i > 0)
            {
                await reader.NextResultAsync();
            }
            batch[i].Take(await reader.ReadAsync() ? reader : null);
        }
    }

    private abstract class Read(NpgsqlBatchCommand statement)
    {
        public NpgsqlBatchCommand Statement { get; } = statement;

        /// <summary>Set once the statement's row (or none) is read; continuations leave the sender's thread.</summary>
        public TaskCompletionSource Answered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Reads the statement's row (null: it returned none).</summary>
        public abstract void Take(NpgsqlDataReader? row);
    }

    private sealed class Read<TRow>(NpgsqlBatchCommand statement, Func<NpgsqlDataReader, int, TRow> row) : Read(statement)
    {
        private (DateTimeOffset At, TRow Row)? answer;

        public override void Take(NpgsqlDataReader? reader)
        {
            try
            {
                if (reader is not null)
                {
                    answer = (reader.GetFieldValue<DateTimeOffset>(0), row(reader, 1));
                }
                Answered.TrySetResult();
            }
            catch (Exception e)
            {
                Answered.TrySetException(e);
            }
        }

        /// <summary>The answer once <see cref="Read.Answered"/> is set; its failure rethrown.</summary>
        public (DateTimeOffset At, TRow Row)? Answer()
        {
            Answered.Task.GetAwaiter().GetResult();
            return answer;
        }
    }
}
