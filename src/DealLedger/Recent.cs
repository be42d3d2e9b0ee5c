using System.Collections.Concurrent;

namespace DealLedger;

/// <summary>
/// A bounded map of what was read most recently: two generations; when the young one is full it becomes
/// the old one and the previous old one is dropped, and a hit in the old one is brought back to the young.
/// Memory stays under twice the capacity; what is used often stays. Nothing is ever invalidated: it keeps what
/// never changes once stored (citations, fact versions, holding segments), or values checked against the database when used.
/// </summary>
internal sealed class Recent<TKey, TValue>(int capacity, IEqualityComparer<TKey> comparer) where TKey : notnull
{
    private ConcurrentDictionary<TKey, TValue> young = new(comparer);
    private ConcurrentDictionary<TKey, TValue> old = new(comparer);
    // Counted here: ConcurrentDictionary.Count takes every lock of the map.
    private int count;
    private readonly Lock turning = new();

    /// <summary>How many are kept (under twice the capacity).</summary>
    public int Count => young.Count + old.Count;

    public bool TryGet(TKey key, out TValue value)
    {
        if (young.TryGetValue(key, out value!))
        {
            return true;
        }
        if (old.TryGetValue(key, out value!))
        {
            Add(key, value);
            return true;
        }
        return false;
    }

    /// <summary>Keeps a value under its key (replacing what the young generation holds under it).</summary>
    public void Add(TKey key, TValue value)
    {
        var generation = young;
        if (!generation.TryAdd(key, value))
        {
            generation[key] = value;
        }
        else if (Interlocked.Increment(ref count) >= capacity)
        {
            lock (turning)
            {
                if (ReferenceEquals(young, generation))
                {
                    old = generation;
                    young = new ConcurrentDictionary<TKey, TValue>(comparer);
                    count = 0;
                }
            }
        }
    }
}
