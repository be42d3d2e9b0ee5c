using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DealLedger.Storage;

namespace DealLedger.Ownership;

/// <summary>
/// A look-through answer written so that two answers are equal exactly when their JSON is, without writing that JSON: each
/// stake of the chains once, the chains naming them by number. On a densely held group one answer's JSON is about 90 MB,
/// thousands of owners whose chains repeat the same stakes, and a replay compares one for every organization of the ledger.
/// </summary>
internal static class LookThroughDigest
{
    public static string Of(LookThroughAnswer answer)
    {
        var table = new StakeTable();
        Stakes = table;
        try
        {
            var chains = JsonSerializer.Serialize(answer, Numbered);
            return new StringBuilder(chains).Append('\n').AppendJoin('\n', table.InOrder).ToString();
        }
        finally
        {
            Stakes = null;
        }
    }

    // The answer is written on one thread (JsonSerializer.Serialize to a string is synchronous); each digest has its table.
    [ThreadStatic]
    private static StakeTable? Stakes;

    /// <summary>The stakes by their JSON, numbered in the order first met: equal answers number them alike.</summary>
    private sealed class StakeTable
    {
        // The answer makes each stake once (LookThroughQuery's Edge): each is written once, then known by reference.
        private readonly Dictionary<ChainLink, int> made = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<string, int> numbers = new(StringComparer.Ordinal);

        public List<string> InOrder { get; } = [];

        public int Number(ChainLink link)
        {
            if (!made.TryGetValue(link, out var n))
            {
                var json = JsonSerializer.Serialize(link, LedgerJson.Options);
                if (!numbers.TryGetValue(json, out n))
                {
                    numbers[json] = n = InOrder.Count;
                    InOrder.Add(json);
                }
                made[link] = n;
            }
            return n;
        }
    }

    private static readonly JsonSerializerOptions Numbered = CreateNumbered();

    private static JsonSerializerOptions CreateNumbered()
    {
        var options = new JsonSerializerOptions();
        LedgerJson.Configure(options);
        options.Converters.Add(new ByNumber());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private sealed class ByNumber : JsonConverter<ChainLink>
    {
        public override ChainLink Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("a digest is only written");

        public override void Write(Utf8JsonWriter writer, ChainLink value, JsonSerializerOptions options) =>
            writer.WriteNumberValue((Stakes ?? throw new InvalidOperationException("a chain's stake written outside a digest")).Number(value));
    }
}
