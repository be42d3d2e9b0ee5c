using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using DealLedger.Time;

namespace DealLedger.Storage;

/// <summary>
/// The one JSON shape of the ledger: camelCase names, kebab-case enum values ("third-party",
/// "not-held"), dates as their ValidDate text. Events, projections and answers all use it.
/// </summary>
public static class LedgerJson
{
    public static readonly JsonSerializerOptions Options = Create(indented: false);
    public static readonly JsonSerializerOptions Indented = Create(indented: true);

    /// <summary>
    /// As <see cref="Options"/>, for reading JSON this ledger wrote to a json column (its text kept as written, unlike
    /// jsonb): a type discriminator is then its object's first property, so the object is not buffered to look for it
    /// (a stored finding parsed in about a fifth less time: docs/benchmarks.md). Text that is not so fails, and is read with <see cref="Options"/>.
    /// </summary>
    public static readonly JsonSerializerOptions AsWritten = CreateAsWritten();

    private static JsonSerializerOptions CreateAsWritten()
    {
        var options = new JsonSerializerOptions(Options) { AllowOutOfOrderMetadataProperties = false };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static void Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DictionaryKeyPolicy = null;
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        // jsonb keeps keys in its own order: a type discriminator ("case") need not come first.
        options.AllowOutOfOrderMetadataProperties = true;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower));
        options.Converters.Add(new ValidDateJsonConverter());
        options.Converters.Add(new InstantJsonConverter());
    }

    private static JsonSerializerOptions Create(bool indented)
    {
        var options = new JsonSerializerOptions { WriteIndented = indented };
        Configure(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static string Canonical<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static string Serialize<T>(T value, bool indented = false) =>
        JsonSerializer.Serialize(value, indented ? Indented : Options);

    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new InvalidOperationException($"empty JSON for {typeof(T).Name}");

    /// <summary>Kebab-case word of an enum value, as in JSON ("self-declaration").</summary>
    public static string Word<TEnum>(TEnum value) where TEnum : struct, Enum => Words<TEnum>.Of(value);

    /// <summary>Each value's word made once (every stored row names a status or a type).</summary>
    private static class Words<TEnum> where TEnum : struct, Enum
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<TEnum, string> Made = new();

        public static string Of(TEnum value) => Made.GetOrAdd(value, v => JsonNamingPolicy.KebabCaseLower.ConvertName(v.ToString()));
    }
}

/// <summary>Recorded instants in JSON: UTC with a Z, to the microsecond (see <see cref="Instant"/>).</summary>
public sealed class InstantJsonConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Instant.Format(value));
}
