namespace DealLedger.Ownership;

/// <summary>One stake the walk may follow: holder → subject, counted as <see cref="Share"/>.</summary>
internal readonly record struct Link(string Holder, string Subject, Bounds Share);

/// <summary>A chain of stakes, as indexes into the links, from its first holder to its last subject; its share is the product along it.</summary>
internal sealed record Chain(IReadOnlyList<int> Links, Bounds Share);

/// <summary>An organization reached through chains: its look-through share, its own direct stake (a link's index), its strongest chains and how many there are.</summary>
internal sealed record Reach(string Organization, Bounds Share, int? Direct, IReadOnlyList<Chain> Strongest, int Chains);

/// <summary>What the walk found: who is reached and how; the cross-holdings met (each the organizations of one cycle); whether every chain was counted.</summary>
internal sealed record Walked(IReadOnlyList<Reach> Reached, IReadOnlyList<IReadOnlyList<string>> Cycles, bool AllChainsCounted, IReadOnlySet<string> Organizations);

/// <summary>
/// Look-through shares by the sums of chains (DESIGN §11), in memory. The share of X in Y is the sum over every
/// walk of stakes from X to Y that meets Y only at its end, of the product of the shares along it. Walks may go
/// round cross-holdings any number of times: the sums are the limit of the series, found exactly by solving the
/// linear system of each cycle's organizations (their strongly connected component), never by an endless walk.
/// A cycle whose shares do not shrink (its product can be 100 %) has no finite limit: what flows through it is
/// capped at 100 %. Lower and upper bounds are each such a sum — the shares only ever add and multiply, so the
/// least picks give the least sum and the greatest the greatest.
/// </summary>
internal static class ChainSums
{
    /// <summary>Chains listed for each organization reached, strongest first.</summary>
    public const int Strongest = 10;

    /// <summary>Chains walked to list and count them, at most: past it the counts are lower bounds (said in the answer).</summary>
    public const int ChainBudget = 200_000;

    /// <summary>Who holds <paramref name="end"/> through chains of at most <paramref name="depth"/> stakes (owners within that many steps).</summary>
    public static Walked Owners(IReadOnlyList<Link> links, string end, int depth) => Walk(links, end, depth, towardEnd: true);

    /// <summary>What <paramref name="start"/> holds through chains of at most <paramref name="depth"/> stakes.</summary>
    public static Walked Holdings(IReadOnlyList<Link> links, string start, int depth) => Walk(links, start, depth, towardEnd: false);

    /// <summary>
    /// What chains of stakes through intermediaries give <paramref name="holder"/> of <paramref name="end"/>: the sums
    /// without the direct stake between the two, if any; null when no such chain of at most <paramref name="depth"/> stakes reaches.
    /// The reach's chains index <c>Links</c>, the stakes without that direct one.
    /// </summary>
    public static (Reach Reach, IReadOnlyList<Link> Links)? Indirect(IReadOnlyList<Link> links, string holder, string end, int depth)
    {
        var without = links.Where(l => (l.Holder, l.Subject) != (holder, end)).ToList();
        return Owners(without, end, depth).Reached.FirstOrDefault(r => r.Organization == holder) is { } reach ? (reach, without) : null;
    }

    private static Walked Walk(IReadOnlyList<Link> all, string origin, int depth, bool towardEnd)
    {
        // The organizations within depth steps of the origin (against the stakes' direction for owners), and the links among them.
        var ids = new Dictionary<string, int>(StringComparer.Ordinal) { [origin] = 0 };
        var names = new List<string> { origin };
        var byNear = all.Select((l, i) => (l, i)).ToLookup(x => towardEnd ? x.l.Subject : x.l.Holder);
        var frontier = new List<string> { origin };
        for (var step = 1; step <= depth && frontier.Count > 0; step++)
        {
            var next = new List<string>();
            foreach (var near in frontier)
            {
                foreach (var (l, _) in byNear[near])
                {
                    var far = towardEnd ? l.Holder : l.Subject;
                    if (ids.TryAdd(far, names.Count))
                    {
                        names.Add(far);
                        next.Add(far);
                    }
                }
            }
            frontier = next;
        }
        var n = names.Count;
        var links = new List<(int From, int To, int Link)>();
        for (var i = 0; i < all.Count; i++)
        {
            if (ids.TryGetValue(all[i].Holder, out var h) && ids.TryGetValue(all[i].Subject, out var s) && h != s)
            {
                links.Add((h, s, i));
            }
        }
        var cycles = Components(n, links.Select(x => (x.From, x.To)).ToList()).Where(c => c.Count > 1)
            .Select(c => (IReadOnlyList<string>)c.Select(i => names[i]).Order(StringComparer.Ordinal).ToList())
            .OrderBy(c => c[0], StringComparer.Ordinal).ToList();

        // Owners: walks to the origin that meet it only at their end — the origin's own stakes are never followed.
        // Holdings: walks from the origin; a walk meets its end once, which the division by the end's returns gives.
        var used = towardEnd ? links.Where(x => x.From != 0).ToList() : links;
        var edges = used.Select(x => towardEnd ? (x.From, x.To, x.Link) : (From: x.To, To: x.From, x.Link)).ToList();
        var lower = Sums(n, edges, all, 0, b => b.Lower);
        var upper = Sums(n, edges, all, 0, b => b.Upper);
        var lowerOpen = Unreached(n, edges, all, lower.Value, b => b.Lower, b => b.LowerInclusive, towardEnd);
        var upperOpen = Unreached(n, edges, all, upper.Value, b => b.Upper, b => b.UpperInclusive, towardEnd);

        Bounds ShareOf(int x)
        {
            // Above 100 % (a cycle without a limit, or owners' recorded shares that add up to more) reads as 100 %, reached.
            var lo = Share(lower, x, towardEnd);
            var hi = Share(upper, x, towardEnd);
            return new Bounds(lo ?? 1m, lo is null || !lowerOpen.Contains(x), hi ?? 1m, hi is null || !upperOpen.Contains(x));
        }

        var (strongest, counts, complete) = Chains(n, used, all, towardEnd, depth);
        // Each organization's own stake in the origin (owners), or the origin's in it (holdings): the first such link.
        var directOf = new Dictionary<int, int>();
        foreach (var l in used.Where(l => towardEnd ? l.To == 0 : l.From == 0))
        {
            directOf.TryAdd(towardEnd ? l.From : l.To, l.Link);
        }
        var reached = new List<Reach>();
        for (var x = 1; x < n; x++)
        {
            var share = ShareOf(x);
            if (share.Upper == 0m)
            {
                continue;
            }
            reached.Add(new Reach(names[x], share, directOf.TryGetValue(x, out var direct) ? direct : null, strongest[x], counts[x]));
        }
        reached.Sort((a, b) => b.Share.Lower != a.Share.Lower ? b.Share.Lower.CompareTo(a.Share.Lower)
            : b.Share.Upper != a.Share.Upper ? b.Share.Upper.CompareTo(a.Share.Upper)
            : string.CompareOrdinal(a.Organization, b.Organization));
        return new Walked(reached, cycles, complete, names.ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>
    /// The sums s solving s_x = [x = origin] + Σ over edges x → y of w · s_y, component by component (successors
    /// first), each cycle's component by its inverse: null where the series has no finite limit. Also the
    /// returns r_x (walks from x back to x, 1 off cycles), by which a walk's first meeting of its end is counted.
    /// </summary>
    private static (decimal?[] Value, decimal?[] Returns) Sums(int n, List<(int From, int To, int Link)> edges, IReadOnlyList<Link> all, int origin, Func<Bounds, decimal> weight)
    {
        var outOf = edges.ToLookup(e => e.From);
        var value = new decimal?[n];
        var returns = new decimal?[n];
        var component = new int[n];
        var components = Components(n, edges.Select(e => (e.From, e.To)).ToList());
        for (var ci = 0; ci < components.Count; ci++)
        {
            foreach (var x in components[ci])
            {
                component[x] = ci;
            }
        }
        for (var ci = 0; ci < components.Count; ci++)
        {
            var members = components[ci];
            var at = new Dictionary<int, int>();
            for (var i = 0; i < members.Count; i++)
            {
                at[members[i]] = i;
            }
            // What flows in from components already solved, and the weights inside this one.
            var b = new decimal?[members.Count];
            var big = members.Count > ExactComponent;
            var inside = new decimal[big ? 1 : members.Count, big ? 1 : members.Count];
            var sparse = new List<(int From, int To, double W)>();
            for (var i = 0; i < members.Count; i++)
            {
                decimal? sum = members[i] == origin ? 1m : 0m;
                foreach (var e in outOf[members[i]])
                {
                    var w = weight(all[e.Link].Share);
                    if (component[e.To] == ci)
                    {
                        if (big)
                        {
                            sparse.Add((i, at[e.To], (double)w));
                        }
                        else
                        {
                            inside[i, at[e.To]] += w;
                        }
                    }
                    else if (w > 0m)
                    {
                        sum = sum is { } s && value[e.To] is { } v ? s + w * v : null;
                    }
                }
                b[i] = sum;
            }
            if (members.Count == 1)
            {
                value[members[0]] = b[0];
                returns[members[0]] = 1m;
                continue;
            }
            if (big)
            {
                Iterate(members, b, sparse, value, returns);
                continue;
            }
            var inverse = Inverse(inside);
            for (var i = 0; i < members.Count; i++)
            {
                if (inverse is null)
                {
                    // No finite limit: everything that flows through the cycle is unbounded (capped by the caller).
                    value[members[i]] = b.Any(x => x is null || x > 0m) ? null : 0m;
                    returns[members[i]] = null;
                    continue;
                }
                decimal? sum = 0m;
                for (var j = 0; j < members.Count; j++)
                {
                    if (inverse[i, j] > 0m && b[j] is not 0m)
                    {
                        sum = sum is { } s && b[j] is { } v ? s + inverse[i, j] * v : null;
                    }
                }
                value[members[i]] = sum;
                returns[members[i]] = inverse[i, i];
            }
        }
        return (value, returns);
    }

    /// <summary>Organizations in one cycle's component solved exactly (an inverse costs the cube of their count); larger ones by iteration.</summary>
    private const int ExactComponent = 64;

    /// <summary>
    /// A large component (a generated or real web of cross-holdings can tie hundreds together): the sums by Gauss–Seidel
    /// sweeps in doubles over its links, until they stop moving (null when they grow without limit or do not settle).
    /// A walk's returns to where it ends are taken as 1 there, so the holdings direction counts walks that meet their
    /// end more than once: its sums are then upper bounds (said in docs/benchmarks.md).
    /// </summary>
    private static void Iterate(List<int> members, decimal?[] b, List<(int From, int To, double W)> sparse, decimal?[] value, decimal?[] returns)
    {
        var k = members.Count;
        var x = new double[k];
        var from = sparse.ToLookup(e => e.From);
        var unbounded = b.Any(v => v is null);
        var settled = false;
        for (var sweep = 0; sweep < 10_000 && !unbounded && !settled; sweep++)
        {
            var moved = 0.0;
            for (var i = 0; i < k; i++)
            {
                var next = (double)b[i]!.Value + from[i].Sum(e => e.W * x[e.To]);
                moved = Math.Max(moved, Math.Abs(next - x[i]));
                x[i] = next;
            }
            unbounded = x.Any(v => v > 1e6);
            settled = moved < 1e-15;
        }
        for (var i = 0; i < k; i++)
        {
            value[members[i]] = unbounded || !settled ? (x[i] == 0 && !unbounded ? 0m : null) : (decimal)x[i];
            returns[members[i]] = 1m;
        }
    }

    /// <summary>The look-through share of x (0–1), or null above 100 % (read as 100 %).</summary>
    private static decimal? Share((decimal?[] Value, decimal?[] Returns) sums, int x, bool towardEnd)
    {
        // Owners: the sums already count walks to the origin that stop on meeting it. Holdings: walks from the
        // origin to x, divided by x's returns, are those that meet x only at their end.
        var s = towardEnd ? sums.Value[x] : sums.Value[x] is { } v && sums.Returns[x] is { } r ? v / r : null;
        return s is { } f && f <= 1m ? f : null;
    }

    /// <summary>
    /// The organizations whose bound (lower or upper) is only approached, not reached: some link with an open end
    /// can still move it — a chain runs from the organization to that link through links that count (weight above 0),
    /// and on from it to the end. Off cycles this is exact; on a cycle of the holdings direction the bound is said reached.
    /// </summary>
    private static HashSet<int> Unreached(int n, List<(int From, int To, int Link)> edges, IReadOnlyList<Link> all, decimal?[] value,
        Func<Bounds, decimal> weight, Func<Bounds, bool> reached, bool towardEnd)
    {
        var open = new HashSet<int>();
        var counts = edges.Where(e => weight(all[e.Link].Share) > 0m).ToList();
        if (towardEnd)
        {
            // Edges run from each owner toward the origin: an open link x → y matters when y reaches the origin.
            var into = counts.ToLookup(e => e.To);
            var stack = new Stack<int>(edges.Where(e => !reached(all[e.Link].Share) && value[e.To] is not 0m).Select(e => e.From));
            while (stack.TryPop(out var x))
            {
                if (open.Add(x))
                {
                    foreach (var e in into[x])
                    {
                        stack.Push(e.From);
                    }
                }
            }
            return open;
        }
        // Edges run from each subject back toward the origin: an open link matters when the origin reaches its holder.
        var from = counts.ToLookup(e => e.To);
        var seeds = edges.Where(e => !reached(all[e.Link].Share) && value[e.To] is not 0m).Select(e => e.From);
        var walk = new Stack<int>(seeds);
        while (walk.TryPop(out var x))
        {
            if (open.Add(x))
            {
                foreach (var e in from[x])
                {
                    walk.Push(e.From);
                }
            }
        }
        // Said reached on cycles, where a walk could only use the link after meeting its end (sound: the range keeps the end).
        var cyclic = Components(n, edges.Select(e => (e.From, e.To)).ToList()).Where(c => c.Count > 1).SelectMany(c => c);
        open.ExceptWith(cyclic);
        return open;
    }

    /// <summary>
    /// The simple chains (no organization twice) of at most <paramref name="depth"/> stakes from each organization to
    /// the end (owners) or from the origin to each (holdings), by one depth-first walk from the origin: the strongest
    /// kept for each, all counted up to the budget.
    /// </summary>
    private static (List<Chain>[] Strongest, int[] Counts, bool Complete) Chains(int n, List<(int From, int To, int Link)> used, IReadOnlyList<Link> all, bool towardEnd, int depth)
    {
        var strongest = Enumerable.Range(0, n).Select(_ => new List<Chain>()).ToArray();
        var counts = new int[n];
        // Walk away from the origin: to holders for owners, to subjects for holdings.
        var away = used.ToLookup(e => towardEnd ? e.To : e.From);
        var onPath = new bool[n];
        var path = new List<int>();
        var walked = 0;
        var complete = true;

        void Visit(int x, Bounds share)
        {
            if (path.Count == depth)
            {
                return;
            }
            foreach (var e in away[x])
            {
                var next = towardEnd ? e.From : e.To;
                if (onPath[next])
                {
                    continue;
                }
                if (++walked > ChainBudget)
                {
                    complete = false;
                    return;
                }
                var s = share.Times(all[e.Link].Share);
                path.Add(e.Link);
                counts[next]++;
                if (strongest[next].Count < Strongest || Stronger(s, path.Count, strongest[next][^1]))
                {
                    Keep(strongest[next], new Chain(towardEnd ? Enumerable.Reverse(path).ToList() : path.ToList(), s));
                }
                onPath[next] = true;
                Visit(next, s);
                onPath[next] = false;
                path.RemoveAt(path.Count - 1);
                if (!complete)
                {
                    return;
                }
            }
        }

        onPath[0] = true;
        Visit(0, Bounds.Whole);
        return (strongest, counts, complete);
    }

    private static void Keep(List<Chain> kept, Chain chain)
    {
        var at = kept.FindIndex(k => Stronger(chain.Share, chain.Links.Count, k));
        if (at < 0)
        {
            if (kept.Count < Strongest)
            {
                kept.Add(chain);
            }
            return;
        }
        kept.Insert(at, chain);
        if (kept.Count > Strongest)
        {
            kept.RemoveAt(kept.Count - 1);
        }
    }

    private static bool Stronger(Bounds share, int links, Chain b) =>
        share.Upper != b.Share.Upper ? share.Upper > b.Share.Upper
        : share.Lower != b.Share.Lower ? share.Lower > b.Share.Lower
        : links < b.Links.Count;

    /// <summary>
    /// Chains that pass control to the end (owners) or on from the origin (holdings): every link a control fact
    /// (voting or appointment rights; no share) or a stake surely above half, at least one of them a control fact, at
    /// most <paramref name="depth"/> links. For each organization at the chains' far end, its shortest chains (link indexes, holder first).
    /// </summary>
    public static IReadOnlyList<(string Organization, IReadOnlyList<IReadOnlyList<int>> Chains)> Control(
        IReadOnlyList<(string Holder, string Subject, Bounds? Share)> ties, string origin, int depth, bool towardEnd)
    {
        var links = ties.Select(t => (t.Holder, t.Subject, Fact: t.Share is null)).ToList();
        var away = links.Select((l, i) => (l, i)).Where(x => ties[x.i].Share is not { } s || s.SurelyMajority)
            .ToLookup(x => towardEnd ? x.l.Subject : x.l.Holder);
        var found = new Dictionary<string, List<IReadOnlyList<int>>>(StringComparer.Ordinal);
        var onPath = new HashSet<string>(StringComparer.Ordinal) { origin };
        var path = new List<int>();
        var walked = 0;

        void Visit(string x, bool control)
        {
            if (path.Count == depth)
            {
                return;
            }
            foreach (var (l, i) in away[x])
            {
                var next = towardEnd ? l.Holder : l.Subject;
                if (!onPath.Add(next))
                {
                    continue;
                }
                if (++walked > ChainBudget)
                {
                    return;
                }
                path.Add(i);
                if (control || l.Fact)
                {
                    var chains = found.TryGetValue(next, out var c) ? c : found[next] = [];
                    chains.Add(towardEnd ? Enumerable.Reverse(path).ToList() : path.ToList());
                }
                Visit(next, control || l.Fact);
                path.RemoveAt(path.Count - 1);
                onPath.Remove(next);
            }
        }

        Visit(origin, false);
        return found.Select(f => (f.Key, (IReadOnlyList<IReadOnlyList<int>>)f.Value.OrderBy(c => c.Count).Take(Strongest).ToList()))
            .OrderBy(f => f.Item2[0].Count).ThenBy(f => f.Key, StringComparer.Ordinal).ToList();
    }

    /// <summary>Strongly connected components (Tarjan), each component after every component it leads to.</summary>
    internal static List<List<int>> Components(int n, List<(int From, int To)> edges)
    {
        var outOf = edges.ToLookup(e => e.From, e => e.To);
        var index = new int[n];
        var low = new int[n];
        var onStack = new bool[n];
        Array.Fill(index, -1);
        var stack = new Stack<int>();
        var result = new List<List<int>>();
        var counter = 0;
        // Iterative, so a long chain of organizations cannot overflow the call stack.
        for (var root = 0; root < n; root++)
        {
            if (index[root] >= 0)
            {
                continue;
            }
            var work = new Stack<(int Node, IEnumerator<int> Next)>();
            index[root] = low[root] = counter++;
            stack.Push(root);
            onStack[root] = true;
            work.Push((root, outOf[root].GetEnumerator()));
            while (work.Count > 0)
            {
                var (v, next) = work.Peek();
                if (next.MoveNext())
                {
                    var w = next.Current;
                    if (index[w] < 0)
                    {
                        index[w] = low[w] = counter++;
                        stack.Push(w);
                        onStack[w] = true;
                        work.Push((w, outOf[w].GetEnumerator()));
                    }
                    else if (onStack[w])
                    {
                        low[v] = Math.Min(low[v], index[w]);
                    }
                    continue;
                }
                work.Pop();
                if (work.Count > 0)
                {
                    var parent = work.Peek().Node;
                    low[parent] = Math.Min(low[parent], low[v]);
                }
                if (low[v] == index[v])
                {
                    var c = new List<int>();
                    int w;
                    do
                    {
                        w = stack.Pop();
                        onStack[w] = false;
                        c.Add(w);
                    }
                    while (w != v);
                    result.Add(c);
                }
            }
        }
        return result;
    }

    /// <summary>
    /// (I − A)⁻¹ for a cycle's weights A, or null when the series I + A + A² … has no finite limit: for the weights
    /// of one strongly connected component that is exactly when the inverse is missing or has an entry below 0.
    /// </summary>
    private static decimal[,]? Inverse(decimal[,] a)
    {
        var k = a.GetLength(0);
        var m = new decimal[k, 2 * k];
        for (var i = 0; i < k; i++)
        {
            for (var j = 0; j < k; j++)
            {
                m[i, j] = (i == j ? 1m : 0m) - a[i, j];
            }
            m[i, k + i] = 1m;
        }
        for (var col = 0; col < k; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < k; r++)
            {
                if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col]))
                {
                    pivot = r;
                }
            }
            if (Math.Abs(m[pivot, col]) < 1e-18m)
            {
                return null;
            }
            if (pivot != col)
            {
                for (var j = 0; j < 2 * k; j++)
                {
                    (m[col, j], m[pivot, j]) = (m[pivot, j], m[col, j]);
                }
            }
            var p = m[col, col];
            for (var j = 0; j < 2 * k; j++)
            {
                m[col, j] /= p;
            }
            for (var r = 0; r < k; r++)
            {
                if (r != col && m[r, col] != 0m)
                {
                    var f = m[r, col];
                    for (var j = 0; j < 2 * k; j++)
                    {
                        m[r, j] -= f * m[col, j];
                    }
                }
            }
        }
        var inverse = new decimal[k, k];
        for (var i = 0; i < k; i++)
        {
            for (var j = 0; j < k; j++)
            {
                var v = m[i, k + j];
                if (v < -1e-18m)
                {
                    return null;
                }
                inverse[i, j] = Math.Max(v, 0m);
            }
        }
        return inverse;
    }
}
