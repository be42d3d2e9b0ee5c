using DealLedger.Amounts;
using System.CommandLine;
using DealLedger.Access;
using DealLedger.Auditing;
using DealLedger.Bods;
using DealLedger.Changes;
using DealLedger.Holdings;
using DealLedger.Importing;
using DealLedger.Ownership;
using DealLedger.Relationships;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Cli;

/// <summary>The `dealledger` verbs: parse, call the core, render. No query lives here.</summary>
public static class Commands
{
    private static readonly Option<string?> Connection = new("--connection")
    {
        Description = $"Npgsql connection string (default: the {LedgerStore.EnvironmentVariable} environment variable)",
        Recursive = true,
    };
    internal static readonly Option<bool> Json = new("--json") { Description = "Print the answer as JSON" };
    internal static readonly Option<string?> At = new("--at") { Description = "Valid date: what was true in the world on this day (YYYY-MM-DD, years 0001–9998; default: today)" };
    internal static readonly Option<string?> KnownAt = new("--known-at")
    {
        Description = "Recorded instant: answer with only what the ledger had recorded by then (ISO 8601, e.g. 2026-01-01T00:00:00Z; default: now)",
    };

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = Build(stdout, stderr);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // A mistyped verb or option is what the user needs to hear about, before what is then missing.
            var error = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
            await stderr.WriteLineAsync($"dealledger: {Failure.OneLine(error.Message)} (see dealledger --help)");
            return 2;
        }
        // With OTEL_EXPORTER_OTLP_ENDPOINT set, the run is one trace (named after its verb) with its metrics, exported at exit.
        using var telemetry = TelemetryWiring.ExportFor("dealledger-cli", Operation(parsed));
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            var (code, message) = Failure.Describe(e);
            await stderr.WriteLineAsync($"dealledger: {message}");
            return code;
        }
    }

    /// <summary>What a run does, in the words typed: "dealledger import", "dealledger keys create".</summary>
    private static string Operation(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, r.Parent is null ? "dealledger" : r.Command.Name);
        }
        return string.Join(' ', names);
    }

    private static RootCommand Build(TextWriter o, TextWriter e)
    {
        var root = new RootCommand("DealLedger: the history of corporate relationships — deals, stakes, investments, partnerships — as an append-only, explainable ledger.");
        root.Options.Add(Connection);

        var holder = new Argument<string>("holder") { Description = "Organization id of the holder (e.g. microsoft)" };
        var subject = new Argument<string>("subject") { Description = "Organization id of the organization held (e.g. mistral-ai)" };
        var org = new Argument<string>("organization") { Description = "Organization id (e.g. mistral-ai)" };

        var holding = new Command("holding", "What was HOLDER's stake in SUBJECT on a date, and how do we know?") { holder, subject, At, KnownAt, Json };
        Queries(holding, o, e, (l, p, ct) => l.HoldingAsync(p.GetValue(holder)!, p.GetValue(subject)!, ParseAt(p), ParseKnownAt(p), ct), Render.Holding);

        var history = new Command("history", "Every period of HOLDER's stake in SUBJECT over time, with sources and corrections") { holder, subject, KnownAt, Json };
        Queries(history, o, e, (l, p, ct) => l.HistoryAsync(p.GetValue(holder)!, p.GetValue(subject)!, ParseKnownAt(p), ct), Render.History);

        // Lists are pages, as over HTTP: read as text, so a bad number gets the core's message.
        Option<string?> PageLimit(string what, int fallback, int max) => new("--limit") { Description = $"At most this many {what} (1–{max}; default {fallback})" };
        Option<string?> PageAfter(string what) => new("--after") { Description = $"Skip the first this many {what} (the answer's page.next; ask with the answer's --known-at)" };

        var relationshipsLimit = PageLimit("ties", RelationshipsQuery.DefaultLimit, RelationshipsQuery.MaxLimit);
        var relationshipsAfter = PageAfter("ties");
        var relationshipsFact = new Option<string?>("--fact") { Description = "Only the tie of this fact (e.g. microsoft-mistral-azure); none when it is not in force on the date" };
        var relationships = new Command("relationships", "An organization's profile and its relationships on a date, incoming and outgoing (a page of them)") { org, At, KnownAt, relationshipsLimit, relationshipsAfter, relationshipsFact, Json };
        Queries(relationships, o, e, (l, p, ct) => l.RelationshipsAsync(p.GetValue(org)!, ParseAt(p), ParseKnownAt(p),
            PageRequest.Parse(p.GetValue(relationshipsLimit), p.GetValue(relationshipsAfter), RelationshipsQuery.DefaultLimit, RelationshipsQuery.MaxLimit, "--limit", "--after"),
            QueryArguments.Id(p.GetValue(relationshipsFact), "--fact"), ct), Render.Relationships);

        var investmentsFrom = new Option<string?>("--from") { Description = "The period's first day, YYYY-MM-DD (default: from the start)" };
        var investmentsTo = new Option<string?>("--to") { Description = "The day after the period, YYYY-MM-DD (default: no end)" };
        var investments = new Command("investments", "The investments an organization made in a period, each with its amount converted into the ledger's currencies, and their totals")
            { org, investmentsFrom, investmentsTo, KnownAt, Json };
        Queries(investments, o, e, (l, p, ct) => l.InvestmentsAsync(p.GetValue(org)!, QueryArguments.Day(p.GetValue(investmentsFrom), "--from"),
            QueryArguments.Day(p.GetValue(investmentsTo), "--to"), ParseKnownAt(p), ct), Render.Investments);

        var ownersLimit = PageLimit("owners", OwnersPaging.DefaultLimit, OwnersPaging.MaxLimit);
        var ownersAfter = PageAfter("owners");
        var through = new Option<bool>("--through") { Description = "Look through chains of stakes: indirect and ultimate holders, each with its look-through share and its chains (DESIGN §11)" };
        var depth = new Option<string?>("--depth") { Description = $"With --through: chains of at most this many stakes (1–{LookThroughRequest.MaxDepth}; default {LookThroughRequest.DefaultDepth})" };
        var threshold = new Option<string?>("--threshold") { Description = "With --through: split holders by this look-through share in percent (e.g. 25): certainly at or above, possibly, below" };
        LookThroughRequest? LookThrough(ParseResult p) => LookThroughRequest.Parse(p.GetValue(through), p.GetValue(depth), p.GetValue(threshold), "--through", "--depth", "--threshold");
        var owners = new Command("owners", "Who held stakes in an organization on a date (a page of them) and the bounds of their known total; with --through, who held it through chains of stakes")
            { org, At, KnownAt, ownersLimit, ownersAfter, through, depth, threshold, Json };
        Queries(owners, o, e, async (l, p, ct) => LookThrough(p) is { } request
            ? p.GetValue(ownersLimit) is null && p.GetValue(ownersAfter) is null
                ? await l.OwnersThroughAsync(p.GetValue(org)!, ParseAt(p), ParseKnownAt(p), request, ct)
                : throw LedgerException.Invalid("--limit and --after page the direct owners: an answer with --through is whole")
            : (object)await l.OwnersAsync(p.GetValue(org)!, ParseAt(p), ParseKnownAt(p),
                PageRequest.Parse(p.GetValue(ownersLimit), p.GetValue(ownersAfter), OwnersPaging.DefaultLimit, OwnersPaging.MaxLimit, "--limit", "--after"), ct),
            a => a is LookThroughAnswer x ? Render.LookThrough(x) : Render.Owners((OwnersPageAnswer)a));

        var holdings = new Command("holdings", "What an organization held on a date, each with its share and sources; with --through, what it held through chains of stakes")
            { org, At, KnownAt, through, depth, threshold, Json };
        Queries(holdings, o, e, (l, p, ct) => l.HoldingsThroughAsync(p.GetValue(org)!, ParseAt(p), ParseKnownAt(p), LookThrough(p) ?? new LookThroughRequest(Depth: 1), ct), Render.LookThrough);

        var around = new Option<string?>("--around") { Description = "The organization whose neighbourhood to answer (e.g. mistral-ai); without it, a page of every organization in id order" };
        var hops = new Option<string?>("--hops") { Description = $"With --around: 1 (its ties) or {GraphQuery.MaxHops} (and the ties of the neighbours shown); default 1" };
        var graphLimit = new Option<string?>("--limit")
        {
            Description = $"At most this many neighbours around an organization (default {GraphQuery.DefaultLimit}), or organizations of the whole graph (default {GraphQuery.WholeDefaultLimit}); 1–{GraphQuery.MaxLimit}",
        };
        var graphAfter = PageAfter("organizations");
        var graph = new Command("graph", "The relationship graph on a date, a bounded part at a time: an organization's neighbourhood, or a page of the whole") { around, hops, At, KnownAt, graphLimit, graphAfter, Json };
        Queries(graph, o, e, (l, p, ct) => l.GraphAsync(ParseAt(p), ParseKnownAt(p),
            GraphRequest.Parse(p.GetValue(around), p.GetValue(hops), p.GetValue(graphLimit), p.GetValue(graphAfter), "--around", "--hops", "--limit", "--after"), ct), Render.Graph);

        var text = new Argument<string>("text") { Description = "A part of a name, an alias or an id (case-insensitive)" };
        var searchLimit = PageLimit("organizations", OrganizationSearch.DefaultLimit, OrganizationSearch.MaxLimit);
        var searchAfter = PageAfter("organizations");
        var organizations = new Command("organizations", "Find organizations by name, alias or id") { text, KnownAt, searchLimit, searchAfter, Json };
        Queries(organizations, o, e, (l, p, ct) => l.SearchOrganizationsAsync(p.GetValue(text), ParseKnownAt(p),
            PageRequest.Parse(p.GetValue(searchLimit), p.GetValue(searchAfter), OrganizationSearch.DefaultLimit, OrganizationSearch.MaxLimit, "--limit", "--after"), ct), Render.Organizations);

        var knownFrom = new Option<string?>("--known-from") { Description = "What the ledger learned after this recorded instant (ISO 8601): every pair and tie whose answer differs, with the events that changed it" };
        var knownTo = new Option<string?>("--known-to") { Description = "With --known-from: up to this recorded instant (default: now)" };
        var changesAt = new Option<string?>("--at") { Description = "With --known-from: compare the answers on this date (YYYY-MM-DD), not the whole history; with --to-at: the first of the two dates" };
        var toAt = new Option<string?>("--to-at") { Description = "What changed in the world between --at and this date (YYYY-MM-DD): ties that started, ended or changed, as known at --known-at" };
        var changesOrg = new Option<string?>("--org") { Description = "Only pairs and ties of this organization (e.g. mistral-ai)" };
        var changesLimit = PageLimit("pairs and ties looked at", ChangesRequest.DefaultLimit, ChangesRequest.MaxLimit);
        var changesAfter = new Option<string?>("--after") { Description = "Go on after this pair (HOLDER:SUBJECT) or tie (a fact id): the answer's page.next" };
        var changes = new Command("changes", "What changed: what the ledger learned between two instants (--known-from), or what changed in the world between two dates (--at, --to-at)")
            { knownFrom, knownTo, changesAt, toAt, KnownAt, changesOrg, changesLimit, changesAfter, Json };
        Queries(changes, o, e, (l, p, ct) => l.ChangesAsync(ChangesRequest.Parse(p.GetValue(knownFrom), p.GetValue(knownTo), p.GetValue(changesAt), p.GetValue(toAt),
            p.GetValue(KnownAt), p.GetValue(changesOrg), p.GetValue(changesLimit), p.GetValue(changesAfter), cli: true), ct), Render.Changes);

        var files = new Argument<string[]>("files") { Description = "Ledger documents (YAML or JSON, DESIGN §9), or BODS packages with --format bods", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string?>("--format")
        {
            Description = "ledger (default): ledger documents; bods: BODS 0.4 packages (a JSON array of statements, or JSON Lines), reported statement by statement (docs/bods.md)",
        };
        var import = new Command("import", "Import ledger documents or BODS packages; all or nothing, and importing again changes nothing") { files, format, Json };
        import.SetAction(async (p, ct) =>
        {
            await using var ledger = Open(p);
            var json = p.GetValue(Json);
            string text;
            if (BodsImport.IsBods(p.GetValue(format)))
            {
                var report = await ledger.ImportBodsFilesAsync(p.GetValue(files)!, ct);
                text = json ? LedgerJson.Serialize(report, indented: true) : Render.BodsImport(report);
            }
            else
            {
                var report = await ledger.ImportFilesAsync(p.GetValue(files)!, ct);
                text = json ? LedgerJson.Serialize(report, indented: true) : Render.Import(report);
            }
            await o.WriteLineAsync(text);
            return 0;
        });

        var seedDir = new Option<string?>("--dir") { Description = "Folder of seed documents (default: seeds/ of this checkout)" };
        var seed = new Command("seed", "Import the seed documents (seeds/); importing again changes nothing") { seedDir, Json };
        Answers(seed, o, (l, p, ct) =>
        {
            var dir = p.GetValue(seedDir) ?? Checkout.Find("seeds");
            if (!Directory.Exists(dir))
            {
                throw LedgerException.Invalid($"{dir}: no such seeds folder");
            }
            var paths = Directory.GetFiles(dir).Where(f => f.EndsWith(".yaml") || f.EndsWith(".yml") || f.EndsWith(".json")).Order(StringComparer.Ordinal);
            return l.ImportFilesAsync(paths, ct);
        }, Render.Import);

        // Read as text, so a bad number gets the core's message ("--limit 'abc' is not a whole number"), not the parser's type name.
        var after = new Option<string?>("--after") { Description = "Only events after this global sequence number (default 0)" };
        var limit = new Option<string?>("--limit") { Description = $"At most this many events (1–{EventLog.MaxLimit}; default 100)" };
        var stream = new Option<string?>("--stream") { Description = "Only this stream (e.g. fact:microsoft-mistral-stake)" };
        var type = new Option<string?>("--type") { Description = "Only this event type (e.g. fact_corrected)" };
        var from = new Option<string?>("--from") { Description = "Only events recorded at or after this instant (ISO 8601)" };
        var to = new Option<string?>("--to") { Description = "Only events recorded before this instant (ISO 8601)" };
        var writer = new Option<string?>("--writer") { Description = "Only events of this writer (key:NAME for an API key, or an OS user)" };
        var events = new Command("events", "The raw event log in sequence order") { after, limit, stream, type, from, to, writer, Json };
        Answers(events, o, (l, p, ct) =>
        {
            var page = QueryArguments.Page(QueryArguments.Count(p.GetValue(after), "--after", 0), QueryArguments.Count(p.GetValue(limit), "--limit", 100), EventLog.MaxLimit, "--after", "--limit");
            return l.EventsAsync(new EventFilter(page.After, page.Limit, p.GetValue(stream), p.GetValue(type),
                QueryArguments.KnownAt(p.GetValue(from), "--from"), QueryArguments.KnownAt(p.GetValue(to), "--to"), p.GetValue(writer)), ct);
        }, Render.Events);

        var migrationsDir = new Option<string?>("--dir") { Description = "Folder of migrations (default: migrations/ of this checkout)" };
        var newMigration = new Option<string?>("--new") { Description = "Development: write the SQL that brings the database to the code's schema as a new migration named NAME" };
        var messaging = new Option<bool>("--messaging") { Description = "With --new: write Wolverine's tables (message store and queues) instead, as the messaging configuration wants them" };
        var migrate = new Command("migrate", "Apply the SQL migrations (migrations/) that the database lacks") { migrationsDir, newMigration, messaging };
        migrate.SetAction(async (p, ct) =>
        {
            var dir = p.GetValue(migrationsDir) ?? Checkout.Find("migrations");
            if (p.GetValue(messaging))
            {
                var file = Migrations.NextPath(dir, p.GetValue(newMigration) ?? throw LedgerException.Invalid("--messaging needs --new NAME"));
                await File.WriteAllTextAsync(file, LedgerMessaging.SchemaScript(), ct);
                await o.WriteLineAsync($"Wrote {file}");
                return 0;
            }
            await using var ledger = Open(p);
            if (p.GetValue(newMigration) is { } name)
            {
                var path = await ledger.WriteNextAsync(dir, name, ct);
                await o.WriteLineAsync(path is null ? "The database already matches the code's schema; no migration written." : $"Wrote {path}");
                return 0;
            }
            var report = await ledger.ApplyAsync(dir, ct);
            await o.WriteLineAsync(report.Applied.Count == 0
                ? $"Schema up to date ({report.AlreadyApplied.Count} migration(s) already applied)."
                : $"Applied {string.Join(", ", report.Applied)}.");
            return 0;
        });

        // Merges are entries of a document's `merges` and `unmerges` sections, written on their own as HTTP writes them.
        var duplicate = new Argument<string>("duplicate") { Description = "Organization id of the duplicate record (e.g. mistral-ai-sas)" };
        var into = new Option<string?>("--into") { Description = "The organization the duplicate is the same as (its record is the one answers keep)" };
        var reason = new Option<string?>("--reason") { Description = "Why (recorded with the merge, with who ran it)" };
        string Entry(ParseResult p) => LedgerJson.Serialize(new[] { ("duplicate", p.GetValue(duplicate)), ("into", p.GetValue(into)), ("reason", p.GetValue(reason)) }
            .Where(x => x.Item2 is not null).ToDictionary(x => x.Item1, x => x.Item2));
        var merge = new Command("merge", "Record that DUPLICATE is the same organization as --into: from now on answers read its record as that one (as known before, two)")
            { duplicate, into, reason, Json };
        Answers(merge, o, (l, p, ct) => l.ImportEntryAsync(DocumentSection.Merges, "merge", Entry(p), new WriteRequest(), ct), Render.Import);
        var unmerge = new Command("unmerge", "Undo the merge of DUPLICATE: from now on answers read the two records apart again") { duplicate, into, reason, Json };
        Answers(unmerge, o, (l, p, ct) => l.ImportEntryAsync(DocumentSection.Unmerges, "unmerge", Entry(p), new WriteRequest(), ct), Render.Import);

        var keyName = new Option<string>("--name") { Description = "The key's name: what its writes are recorded under (key:NAME)", Required = true };
        var role = new Option<string>("--role") { Description = "reader, writer or admin", Required = true };
        var createKey = new Command("create", "Create an API key and print its secret (shown only this once)") { keyName, role, Json };
        Answers(createKey, o, (l, p, ct) => l.CreateKeyAsync(p.GetValue(keyName)!, ApiKeys.ParseRole(p.GetValue(role)!), $"cli:{l.Writer}", ct), Render.CreatedKey);
        var revokeName = new Argument<string>("name") { Description = "The key's name" };
        var revokeKey = new Command("revoke", "Revoke an API key: it stops working at once") { revokeName, Json };
        Answers(revokeKey, o, (l, p, ct) => l.RevokeKeyAsync(p.GetValue(revokeName)!, ct), k => Render.Keys([k]));
        var listKeys = new Command("list", "The API keys (never their secrets)") { Json };
        Answers(listKeys, o, (l, _, ct) => l.KeysAsync(ct), Render.Keys);
        var keys = new Command("keys", "API keys for the HTTP API, with roles reader, writer, admin") { createKey, revokeKey, listKeys };

        foreach (var c in new[] { holding, history, changes, relationships, owners, investments, holdings, graph, organizations, import, seed, merge, unmerge, events, migrate, keys }.Concat(AuditCommands.Build(o)).Concat(ReplayCommands.Build(o)))
        {
            root.Subcommands.Add(c);
        }
        return root;
    }

    /// <summary>A verb that answers: open the ledger, ask the core, print the answer as text or (--json) as JSON.</summary>
    /// <summary>A query verb: answered from the projections, so it warns (stderr) when another version of the fold built them.</summary>
    private static void Queries<T>(Command command, TextWriter o, TextWriter e, Func<Ledger, ParseResult, CancellationToken, Task<T>> ask, Func<T, string> render) =>
        Answers(command, o, async (l, p, ct) =>
        {
            if (await l.ProjectionsOutdatedAsync(ct) is { } outdated)
            {
                await e.WriteLineAsync($"dealledger: warning: {outdated}");
            }
            return await ask(l, p, ct);
        }, render);

    internal static void Answers<T>(Command command, TextWriter o, Func<Ledger, ParseResult, CancellationToken, Task<T>> ask, Func<T, string> render) =>
        command.SetAction(async (p, ct) =>
        {
            await using var ledger = Open(p);
            var answer = await ask(ledger, p, ct);
            await o.WriteLineAsync(p.GetValue(Json) ? LedgerJson.Serialize(answer, indented: true) : render(answer));
            return 0;
        });

    internal static Ledger Open(ParseResult p)
    {
        var connection = p.GetValue(Connection) ?? Environment.GetEnvironmentVariable(LedgerStore.EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw LedgerException.Invalid($"no database: set {LedgerStore.EnvironmentVariable} or pass --connection (eng/dealledger does this for the local ledger)");
        }
        try
        {
            // The currencies amounts are also given in, as the API's setting DealLedger:Currencies ("EUR,USD").
            var currencies = Environment.GetEnvironmentVariable("DealLedger__Currencies") is { } list ? Ledger.CheckCurrencies(list.Split(',')) : null;
            return Ledger.Connect(connection, currencies: currencies);
        }
        catch (ArgumentException e)
        {
            throw LedgerException.Invalid($"the connection string is not valid: {e.Message}");
        }
    }

    internal static DateOnly? ParseAt(ParseResult p) => QueryArguments.Day(p.GetValue(At), "--at");

    internal static DateTimeOffset? ParseKnownAt(ParseResult p) => QueryArguments.KnownAt(p.GetValue(KnownAt), "--known-at");
}
