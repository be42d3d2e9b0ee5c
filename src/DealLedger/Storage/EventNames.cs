using System.Text.Json;

namespace DealLedger.Storage;

/// <summary>The names events carry in the log (mt_events.type), fixed here so they never drift with class names.</summary>
public static class EventNames
{
    private static readonly Dictionary<Type, string> ByType = LedgerStore.EventTypes.ToDictionary(t => t, t => JsonNamingPolicy.SnakeCaseLower.ConvertName(t.Name));
    private static readonly Dictionary<string, Type> ByName = ByType.ToDictionary(p => p.Value, p => p.Key);

    public static string Of(Type type) => ByType[type];

    public static Type? TypeOf(string name) => ByName.GetValueOrDefault(name);

    public static IEnumerable<string> All => ByName.Keys;
}
