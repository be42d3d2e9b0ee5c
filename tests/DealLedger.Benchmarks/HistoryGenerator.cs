using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DealLedger.Benchmarks;

/// <summary>One import: ledger documents (JSON) stored in one write, and how many events they make.</summary>
public sealed record HistoryBatch(IReadOnlyList<(string Name, string Text)> Documents, int Events);

/// <summary>
/// A realistic, deterministic ledger history as ledger documents (DESIGN §9), in batches (one write
/// each): organizations of every kind, sources of every kind with imprecise publication dates,
/// deals with stakes (exact and ranged shares, day/month/year dates, successions, same-state facts
/// from several sources, disputes, stakes ended by a 0 %), investments, partnerships, board seats,
/// acquisitions and announcements; later batches add sources to facts, correct, end and retract them.
/// Every document is valid against what came before: importing a history stores exactly
/// <see cref="HistoryBatch.Events"/> events per batch.
/// <para>
/// Two pairs are made on purpose for the history-length workload: <see cref="LongHolder"/> →
/// <see cref="LongSubject"/> gets <see cref="LongPairEvents"/> events spread over the batches, and
/// <see cref="ShortHolder"/> → <see cref="ShortSubject"/> gets 20 in the first.
/// </para>
/// </summary>
public sealed class HistoryGenerator
{
    public const string LongHolder = "long-holder";
    public const string LongSubject = "long-subject";
    public const string ShortHolder = "short-holder";
    public const string ShortSubject = "short-subject";

    /// <summary>A date inside a held state of both special pairs (and of most generated pairs).</summary>
    public static readonly DateOnly QueryDate = new(2015, 6, 15);

    private const int EventsPerDocument = 100;
    private static readonly string[] Currencies = ["EUR", "USD", "GBP", "CHF", "JPY", "SEK"];
    private static readonly string[] Scopes = ["distribution", "cloud hosting", "joint research and development", "data centres", "public-sector cooperation"];
    private static readonly string[] Publishers = ["Financial Times", "Reuters", "Handelsblatt", "Le Monde", "Bloomberg", "Nikkei"];
    private static readonly string[] Languages = ["en", "de", "fr", "ja", "nl"];

    private readonly Random random;
    private readonly int totalEvents;
    private readonly int longPairEvents;
    private readonly List<string> organizations = [];
    private readonly List<(string Id, string Kind)> sources = [];
    private readonly List<Pair> pairs = [];
    private readonly Dictionary<(string, string), Pair> pairIndex = [];
    private readonly List<FactInfo> facts = [];
    private readonly List<FactInfo> amendable = [];
    private int deals;
    private int amendments;

    private sealed class Pair(string holder, string subject)
    {
        public string Holder { get; } = holder;
        public string Subject { get; } = subject;
        /// <summary>The exclusive end of the latest state's start window: the next state starts after it.</summary>
        public DateOnly NextStart { get; set; }
        public FactInfo? Last { get; set; }
        public int Facts { get; set; }
    }

    private sealed class FactInfo(string id, string type, Pair? pair, DateOnly start, DateOnly startEnd, decimal? exact, HashSet<string>? state = null)
    {
        /// <summary>The sources speaking of this fact's state (the facts whose starts coincide with it): a new claim comes from none of them.</summary>
        public HashSet<string> State { get; } = state ?? [];
        public string Id { get; } = id;
        public string Type { get; } = type;
        public Pair? Pair { get; } = pair;
        public DateOnly Start { get; } = start;
        public DateOnly StartEnd { get; } = startEnd;
        public decimal? Exact { get; set; } = exact;
        public bool Ended { get; set; }
        public bool Retracted { get; set; }
        public bool HasEnd { get; set; }
    }

    /// <param name="events">Events in the whole history (approximately: batches end on whole documents).</param>
    /// <param name="batches">How many writes the history is imported in.</param>
    public HistoryGenerator(int events, int batches, int seed = 42, int longPairEvents = 2_000)
    {
        random = new Random(seed);
        totalEvents = events;
        Batches = Math.Max(1, batches);
        this.longPairEvents = Math.Min(longPairEvents, events / 4);
    }

    public int Batches { get; }

    public int LongPairEvents => longPairEvents;

    /// <summary>The history, batch by batch (generated lazily: a 1M-event history is never all in memory as text).</summary>
    public IEnumerable<HistoryBatch> Generate()
    {
        var perBatch = totalEvents / Batches;
        var longPerBatch = longPairEvents / Batches;
        for (var b = 0; b < Batches; b++)
        {
            var documents = new List<(string, string)>();
            var events = 0;
            if (b == 0)
            {
                events += Registrations(documents);
                events += ShortPair(documents);
            }
            events += LongPair(documents, b == Batches - 1 ? longPairEvents - longPerBatch * (Batches - 1) : longPerBatch, b);
            while (events < perBatch)
            {
                events += Document(documents, b > 0 ? 0.3 : 0.1);
            }
            yield return new HistoryBatch(documents, events);
        }
    }

    private int Registrations(List<(string, string)> documents)
    {
        var orgCount = Math.Max(60, totalEvents / 40);
        var sourceCount = Math.Max(30, totalEvents / 150);
        var events = 0;
        string[] kinds = ["company", "company", "company", "company", "company", "company", "fund", "fund", "government", "public-body"];
        string[] countries = ["US", "FR", "DE", "GB", "JP", "NL", "CH", "SG", "LU", "SE"];
        foreach (var chunk in Enumerable.Range(0, orgCount).Chunk(500))
        {
            documents.Add(($"organizations-{chunk[0]}.json", Json(w =>
            {
                w.WriteStartArray("organizations");
                foreach (var i in chunk)
                {
                    var id = i switch { 0 => LongHolder, 1 => LongSubject, 2 => ShortHolder, 3 => ShortSubject, _ => $"org-{i:D6}" };
                    organizations.Add(id);
                    w.WriteStartObject();
                    w.WriteString("id", id);
                    w.WriteString("name", $"Organization {i} {(i % 7 == 0 ? "Holding AG" : i % 5 == 0 ? "Capital Partners" : "Inc.")}");
                    w.WriteStartArray("aliases");
                    if (i % 3 == 0)
                    {
                        w.WriteStringValue($"Org {i}");
                    }
                    w.WriteEndArray();
                    w.WriteString("kind", kinds[i % kinds.Length]);
                    if (i % 4 != 3)
                    {
                        w.WriteString("country", countries[random.Next(countries.Length)]);
                    }
                    if (i % 6 == 0)
                    {
                        w.WriteStartObject("identifiers");
                        w.WriteString("wikidata", $"Q{1000 + i}");
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                    events++;
                }
                w.WriteEndArray();
            })));
        }
        string[] sourceKinds = ["third-party", "third-party", "third-party", "third-party", "third-party", "third-party", "self-declaration", "self-declaration", "official-register", "primary-research"];
        foreach (var chunk in Enumerable.Range(0, sourceCount).Chunk(500))
        {
            documents.Add(($"sources-{chunk[0]}.json", Json(w =>
            {
                w.WriteStartArray("sources");
                foreach (var i in chunk)
                {
                    var id = $"src-{i:D6}";
                    var kind = sourceKinds[i % sourceKinds.Length];
                    sources.Add((id, kind));
                    w.WriteStartObject();
                    w.WriteString("id", id);
                    w.WriteString("title", $"Report {i} on stakes and deals");
                    if (kind == "third-party")
                    {
                        w.WriteString("publisher", Publishers[random.Next(Publishers.Length)]);
                    }
                    else
                    {
                        w.WriteNull("publisher");
                    }
                    var published = new DateOnly(1985, 1, 1).AddDays(random.Next(40 * 365));
                    w.WriteString("published", Date(published, random.Next(3)));
                    w.WriteString("language", Languages[random.Next(Languages.Length)]);
                    w.WriteString("kind", kind);
                    if (i % 2 == 0)
                    {
                        w.WriteString("url", $"https://example.org/reports/{i}");
                    }
                    w.WriteEndObject();
                    events++;
                }
                w.WriteEndArray();
            })));
        }
        return events;
    }

    /// <summary>20 fact events (4 successive stakes, each with 4 amendments), and their 4 deals.</summary>
    private int ShortPair(List<(string, string)> documents)
    {
        var pair = PairOf(ShortHolder, ShortSubject);
        pair.NextStart = new DateOnly(2008, 1, 1);
        var events = 0;
        documents.Add(("short-pair.json", Json(w =>
        {
            var made = new List<FactInfo>();
            w.WriteStartArray("deals");
            for (var i = 0; i < 4; i++)
            {
                events += Deal(w, $"short-deal-{i}", [ShortHolder, ShortSubject], () => [Stake(w, pair, months: 24)], made);
            }
            w.WriteEndArray();
            events += Amendments(w, made.SelectMany(f => Enumerable.Repeat(f, 4)).ToList(), claimsAndCorrectionsOnly: true);
        })));
        return events;
    }

    /// <summary>The long pair's share of this batch: successive stakes (a new state a month), then claims and corrections on them.</summary>
    private int LongPair(List<(string, string)> documents, int budget, int batch)
    {
        if (budget <= 0)
        {
            return 0;
        }
        var pair = PairOf(LongHolder, LongSubject);
        if (batch == 0)
        {
            pair.NextStart = new DateOnly(1980, 1, 1);
        }
        var events = 0;
        var facts = Math.Max(1, budget / 4);
        documents.Add(($"long-pair-{batch}.json", Json(w =>
        {
            var made = new List<FactInfo>();
            w.WriteStartArray("deals");
            events += Deal(w, $"long-deal-{batch}", [LongHolder, LongSubject], () => Enumerable.Range(0, facts).Select(_ => Stake(w, pair, months: 1, exactDaysOnly: true)), made);
            w.WriteEndArray();
            var targets = new List<FactInfo>();
            while (events + targets.Count < budget)
            {
                targets.Add(made[random.Next(made.Count)]);
            }
            events += Amendments(w, targets, claimsAndCorrectionsOnly: true);
        })));
        return events;
    }

    /// <summary>A document of about a hundred events: new deals, and (with the given share) amendments of earlier facts.</summary>
    private int Document(List<(string, string)> documents, double amendShare)
    {
        var events = 0;
        var name = $"doc-{documents.Count}-{deals}.json";
        documents.Add((name, Json(w =>
        {
            w.WriteStartArray("deals");
            var newEvents = (int)(EventsPerDocument * (1 - amendShare));
            var made = new List<FactInfo>();
            while (events < newEvents)
            {
                var a = organizations[4 + random.Next(organizations.Count - 4)];
                var b = organizations[4 + random.Next(organizations.Count - 4)];
                if (a == b)
                {
                    continue;
                }
                events += Deal(w, $"deal-{deals}", [a, b], () => Facts(w, a, b), made);
            }
            w.WriteEndArray();
            var targets = new List<FactInfo>();
            for (var i = 0; i < EventsPerDocument - events && amendable.Count > 0; i++)
            {
                targets.Add(amendable[random.Next(amendable.Count)]);
            }
            events += Amendments(w, targets, claimsAndCorrectionsOnly: false);
            amendable.AddRange(made);
        })));
        return events;
    }

    private int Deal(Utf8JsonWriter w, string id, string[] parties, Func<IEnumerable<FactInfo>> facts, List<FactInfo> made)
    {
        deals++;
        w.WriteStartObject();
        w.WriteString("id", id);
        if (random.Next(3) > 0)
        {
            w.WriteString("title", $"Deal {deals} between {parties[0]} and {parties[1]}");
        }
        w.WriteStartArray("parties");
        foreach (var p in parties)
        {
            w.WriteStringValue(p);
        }
        w.WriteEndArray();
        w.WriteStartArray("facts");
        var count = 0;
        foreach (var f in facts())
        {
            made.Add(f);
            this.facts.Add(f);
            count++;
        }
        w.WriteEndArray();
        w.WriteEndObject();
        return 1 + count;
    }

    private IEnumerable<FactInfo> Facts(Utf8JsonWriter w, string a, string b)
    {
        var n = 1 + random.Next(3);
        for (var i = 0; i < n; i++)
        {
            var roll = random.Next(100);
            if (roll < 62)
            {
                // Mostly follow a known pair (a new state, or another source on the latest one), else a new pair.
                var pair = pairs.Count > 20 && random.Next(100) < 65 ? pairs[random.Next(pairs.Count)] : PairOf(a, b);
                if (pair.Holder == ShortHolder || pair.Holder == LongHolder)
                {
                    pair = PairOf(a, b);
                }
                if (pair.Last is { Retracted: false } last && random.Next(100) < 12)
                {
                    yield return SameState(w, pair, last);
                }
                else
                {
                    yield return Stake(w, pair, months: 6 + random.Next(60));
                }
            }
            else
            {
                yield return OtherFact(w, roll, a, b);
            }
        }
    }

    private Pair PairOf(string holder, string subject)
    {
        if (!pairIndex.TryGetValue((holder, subject), out var pair))
        {
            pair = new Pair(holder, subject) { NextStart = new DateOnly(1990, 1, 1).AddDays(random.Next(25 * 365)) };
            pairIndex[(holder, subject)] = pair;
            if (holder != LongHolder && holder != ShortHolder)
            {
                pairs.Add(pair);
            }
        }
        return pair;
    }

    /// <summary>A new state of the pair: it starts after every earlier start's window (rule 4: a change, never a contradiction).</summary>
    private FactInfo Stake(Utf8JsonWriter w, Pair pair, int months, bool exactDaysOnly = false)
    {
        var precision = exactDaysOnly ? 0 : random.Next(100) switch { < 45 => 0, < 85 => 1, _ => 2 };
        var day = pair.NextStart.AddDays(random.Next(28));
        var (start, end) = Window(day, precision);
        if (start < pair.NextStart)
        {
            (start, end) = Window(precision == 1 ? start.AddMonths(1) : start.AddYears(1), precision);
        }
        pair.NextStart = end.AddMonths(months);
        var id = $"f-{facts.Count:D7}";
        decimal? exact = null;
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("type", "stake");
        w.WriteString("holder", pair.Holder);
        w.WriteString("subject", pair.Subject);
        w.WriteStartObject("share");
        var shape = random.Next(100);
        if (shape < 3 && pair.Facts > 0)
        {
            exact = 0;
            w.WriteNumber("exact", 0);
            w.WriteString("wording", "sold its whole stake");
        }
        else if (shape < 60)
        {
            exact = Math.Round((decimal)(random.NextDouble() * 60 + 0.1), 1);
            w.WriteNumber("exact", exact.Value);
        }
        else if (shape < 85)
        {
            w.WriteNumber("min", 0);
            w.WriteBoolean("minInclusive", false);
            w.WriteNumber("max", 50);
            w.WriteBoolean("maxInclusive", false);
            w.WriteString("wording", "minority stake");
        }
        else
        {
            var low = random.Next(1, 40);
            w.WriteNumber("min", low);
            w.WriteNumber("max", low + 5 + random.Next(20));
        }
        w.WriteEndObject();
        w.WriteStartObject("valid");
        w.WriteString("from", Date(start, precision));
        var info = new FactInfo(id, "stake", pair, start, end, exact);
        if (random.Next(100) < 8 && !exactDaysOnly)
        {
            var to = end.AddMonths(3 + random.Next(36));
            w.WriteString("to", Date(to, 1));
            pair.NextStart = to.AddMonths(2) > pair.NextStart ? to.AddMonths(2) : pair.NextStart;
            info.HasEnd = true;
        }
        w.WriteEndObject();
        WriteSources(w, info, 1 + (random.Next(100) < 25 ? 1 : 0));
        w.WriteEndObject();
        pair.Last = info;
        pair.Facts++;
        return info;
    }

    /// <summary>Another source on the pair's latest state (rule 5): the same start, more precise, a compatible share — or, rarely, an incompatible one (disputed).</summary>
    private FactInfo SameState(Utf8JsonWriter w, Pair pair, FactInfo last)
    {
        var id = $"f-{facts.Count:D7}";
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("type", "stake");
        w.WriteString("holder", pair.Holder);
        w.WriteString("subject", pair.Subject);
        w.WriteStartObject("share");
        decimal? exact = null;
        if (random.Next(100) < 20)
        {
            exact = Math.Round((last.Exact ?? 20m) + 1.5m, 1);
            w.WriteNumber("exact", exact.Value);
        }
        else if (last.Exact is { } e && e < 50)
        {
            w.WriteNumber("min", 0);
            w.WriteBoolean("minInclusive", false);
            w.WriteNumber("max", 50);
            w.WriteBoolean("maxInclusive", false);
            w.WriteString("wording", "less than half");
        }
        else
        {
            w.WriteNumber("min", 0);
            w.WriteNumber("max", 100);
        }
        w.WriteEndObject();
        w.WriteStartObject("valid");
        var day = last.Start.AddDays(random.Next(Math.Max(1, last.StartEnd.DayNumber - last.Start.DayNumber)));
        w.WriteString("from", Date(day, 0));
        w.WriteEndObject();
        var info = new FactInfo(id, "stake", pair, day, day.AddDays(1), exact, last.State);
        WriteSources(w, info, 1);
        w.WriteEndObject();
        pair.Facts++;
        return info;
    }

    private FactInfo OtherFact(Utf8JsonWriter w, int roll, string a, string b)
    {
        var id = $"f-{facts.Count:D7}";
        var start = new DateOnly(1990, 1, 1).AddDays(random.Next(33 * 365));
        var precision = random.Next(3);
        var type = roll switch { < 76 => "investment", < 86 => "partnership", < 91 => "board-seat", < 96 => "acquisition", _ => "announcement" };
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("type", type);
        switch (type)
        {
            case "investment":
                w.WriteString("investor", a);
                w.WriteString("investee", b);
                if (random.Next(4) > 0)
                {
                    Money(w, "amount");
                }
                else
                {
                    w.WriteNull("amount");
                }
                w.WriteString("instrument", new[] { "equity", "convertible-note", "loan", "grant", "unknown" }[random.Next(5)]);
                break;
            case "partnership":
                w.WriteStartArray("parties");
                w.WriteStringValue(a);
                w.WriteStringValue(b);
                w.WriteEndArray();
                w.WriteString("scope", Scopes[random.Next(Scopes.Length)]);
                break;
            case "board-seat":
                w.WriteString("holder", a);
                w.WriteString("subject", b);
                w.WriteString("role", random.Next(2) == 0 ? "non-executive director" : "observer");
                break;
            case "acquisition":
                w.WriteString("acquirer", a);
                w.WriteString("target", b);
                Money(w, "amount");
                break;
            default:
                w.WriteStartArray("parties");
                w.WriteStringValue(a);
                w.WriteEndArray();
                w.WriteString("title", "Product launch");
                w.WriteString("scope", Scopes[random.Next(Scopes.Length)]);
                break;
        }
        w.WriteStartObject("valid");
        w.WriteString(random.Next(10) == 0 && type != "stake" ? "by" : "from", Date(start, precision));
        w.WriteEndObject();
        var (s, e) = Window(start, precision);
        var info = new FactInfo(id, type, null, s, e, null);
        WriteSources(w, info, 1 + random.Next(2));
        w.WriteEndObject();
        return info;
    }

    /// <summary>Claims, corrections, endings and retractions of the given facts (each at most one retraction, one ending).</summary>
    private int Amendments(Utf8JsonWriter w, List<FactInfo> targets, bool claimsAndCorrectionsOnly)
    {
        var claims = new List<Action>();
        var corrections = new List<Action>();
        var endings = new List<Action>();
        var retractions = new List<Action>();
        var events = 0;
        foreach (var f in targets)
        {
            if (f.Retracted)
            {
                continue;
            }
            var roll = random.Next(100);
            var source = FreshSource(f);
            if (source is null)
            {
                continue;
            }
            var amendment = $"a-{amendments++}";
            if (roll < 45)
            {
                var kind = random.Next(100) < 8 ? "denied" : random.Next(100) < 15 ? "attributed" : "stated";
                claims.Add(() =>
                {
                    w.WriteStartObject();
                    if (random.Next(3) == 0)
                    {
                        w.WriteString("id", amendment);
                    }
                    w.WriteString("fact", f.Id);
                    w.WriteString("source", source);
                    w.WriteString("claim", kind);
                    if (kind == "attributed")
                    {
                        w.WriteString("attributedTo", Publishers[random.Next(Publishers.Length)]);
                    }
                    w.WriteEndObject();
                });
            }
            else if (roll < 80 || claimsAndCorrectionsOnly)
            {
                if (f.Type is "board-seat" or "announcement")
                {
                    continue;
                }
                var exact = Math.Round((decimal)(random.NextDouble() * 49 + 0.5), 2);
                f.Exact = f.Type == "stake" ? exact : null;
                corrections.Add(() =>
                {
                    w.WriteStartObject();
                    w.WriteString("fact", f.Id);
                    w.WriteStartObject("set");
                    switch (f.Type)
                    {
                        case "stake":
                            w.WriteStartObject("share");
                            w.WriteNumber("exact", exact);
                            w.WriteEndObject();
                            break;
                        case "partnership":
                            w.WriteString("scope", Scopes[random.Next(Scopes.Length)] + " (corrected)");
                            break;
                        default:
                            Money(w, "amount");
                            break;
                    }
                    w.WriteEndObject();
                    w.WriteString("reason", "a later filing gives the exact figure");
                    WriteClaim(w, source);
                    w.WriteEndObject();
                });
            }
            else if (roll < 93 && !f.Ended && !f.HasEnd)
            {
                f.Ended = true;
                var on = f.StartEnd.AddMonths(1 + random.Next(48));
                if (f.Pair is { } p && p.NextStart <= on)
                {
                    p.NextStart = on.AddMonths(1);
                }
                endings.Add(() =>
                {
                    w.WriteStartObject();
                    w.WriteString("fact", f.Id);
                    w.WriteString("on", Date(on, 1));
                    w.WriteString("reason", "sold to a fund");
                    WriteClaim(w, source);
                    w.WriteEndObject();
                });
            }
            else
            {
                f.Retracted = true;
                retractions.Add(() =>
                {
                    w.WriteStartObject();
                    w.WriteString("fact", f.Id);
                    w.WriteString("reason", "the report was wrong");
                    WriteClaim(w, source);
                    w.WriteEndObject();
                });
            }
            events++;
        }
        foreach (var (section, list) in new[] { ("claims", claims), ("corrections", corrections), ("endings", endings), ("retractions", retractions) })
        {
            if (list.Count == 0)
            {
                continue;
            }
            w.WriteStartArray(section);
            foreach (var write in list)
            {
                write();
            }
            w.WriteEndArray();
        }
        return claims.Count + corrections.Count + endings.Count + retractions.Count;
    }

    /// <summary>A source not yet speaking of the fact's state: so no source ever tells two sizes of one state (DESIGN §6).</summary>
    private string? FreshSource(FactInfo f)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var (id, _) = sources[random.Next(sources.Count)];
            if (f.State.Add(id))
            {
                return id;
            }
        }
        return null;
    }

    private void WriteSources(Utf8JsonWriter w, FactInfo f, int count)
    {
        w.WriteStartArray("sources");
        for (var i = 0; i < count; i++)
        {
            var source = FreshSource(f) ?? throw new InvalidOperationException("too few sources for the generator");
            w.WriteStartObject();
            w.WriteString("source", source);
            var kind = random.Next(100) switch { < 70 => "stated", < 85 => "attributed", _ => "claimed" };
            w.WriteString("claim", kind);
            if (kind == "attributed")
            {
                w.WriteString("attributedTo", Publishers[random.Next(Publishers.Length)]);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteClaim(Utf8JsonWriter w, string source)
    {
        w.WriteStartArray("sources");
        w.WriteStartObject();
        w.WriteString("source", source);
        w.WriteString("claim", "stated");
        w.WriteEndObject();
        w.WriteEndArray();
    }

    private void Money(Utf8JsonWriter w, string name)
    {
        w.WriteStartObject(name);
        w.WriteNumber("value", random.Next(1, 5000) * 100_000m);
        w.WriteString("currency", Currencies[random.Next(Currencies.Length)]);
        w.WriteEndObject();
    }

    /// <summary>The window of days a date at a precision (0 day, 1 month, 2 year) stands for.</summary>
    private static (DateOnly Start, DateOnly End) Window(DateOnly day, int precision) => precision switch
    {
        0 => (day, day.AddDays(1)),
        1 => (new DateOnly(day.Year, day.Month, 1), new DateOnly(day.Year, day.Month, 1).AddMonths(1)),
        _ => (new DateOnly(day.Year, 1, 1), new DateOnly(day.Year + 1, 1, 1)),
    };

    private static string Date(DateOnly day, int precision) => precision switch
    {
        0 => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        1 => day.ToString("yyyy-MM", CultureInfo.InvariantCulture),
        _ => day.ToString("yyyy", CultureInfo.InvariantCulture),
    };

    private static string Json(Action<Utf8JsonWriter> body)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
