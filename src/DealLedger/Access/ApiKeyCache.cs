using System.Collections.Concurrent;

namespace DealLedger.Access;

/// <summary>
/// The keys an API process has accepted, by hash, so a request with a known key costs no round trip.
/// Sound only while the process hears every change on <see cref="ApiKeys.Channel"/>: its listener calls
/// <see cref="Listening"/> once LISTEN is in force, <see cref="Forget"/> on each notification and
/// <see cref="Deaf"/> when the connection is lost; while deaf nothing is kept, so a missed notification
/// can never keep a revoked key accepted.
/// Unknown and revoked keys are not kept: they are typos or guesses (throttled per address by the rate
/// limiter), and keeping them would let guessing fill the cache; real keys are few, so the bound holds.
/// </summary>
public sealed class ApiKeyCache(int capacity = ApiKeyCache.DefaultCapacity)
{
    public const int DefaultCapacity = 10_000;

    private readonly ConcurrentDictionary<string, (string Name, Role Role)> accepted = new(StringComparer.Ordinal);
    private readonly Lock changing = new();
    // Moves on every forgetting and every change of hearing: a lookup that saw it move may have read the
    // key before a revocation committed, so its answer is used once, never kept.
    private long generation;
    private bool listening;

    /// <summary>The key's name and role, or null when the key is unknown or revoked.</summary>
    public async Task<(string Name, Role Role)?> AuthenticateAsync(Ledger ledger, string secret, CancellationToken ct = default)
    {
        if (ApiKeys.HashOf(secret) is not { } hash)
        {
            return null;
        }
        var id = Convert.ToBase64String(hash);
        if (accepted.TryGetValue(id, out var known))
        {
            return known;
        }
        var seen = Interlocked.Read(ref generation);
        var found = await ledger.AuthenticateAsync(hash, ct);
        if (found is { } key)
        {
            lock (changing)
            {
                if (listening && generation == seen && accepted.Count < capacity)
                {
                    accepted[id] = key;
                }
            }
        }
        return found;
    }

    /// <summary>LISTEN is in force: what is looked up from now on may be kept.</summary>
    public void Listening() => Reset(listening: true);

    /// <summary>Notifications may be missed: forget everything, keep nothing until <see cref="Listening"/>.</summary>
    public void Deaf() => Reset(listening: false);

    /// <summary>The key named <paramref name="name"/> was created or revoked.</summary>
    public void Forget(string name)
    {
        lock (changing)
        {
            Interlocked.Increment(ref generation);
            foreach (var (id, key) in accepted)
            {
                if (key.Name == name)
                {
                    accepted.TryRemove(id, out _);
                }
            }
        }
    }

    private void Reset(bool listening)
    {
        lock (changing)
        {
            Interlocked.Increment(ref generation);
            this.listening = listening;
            accepted.Clear();
        }
    }
}
