using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using DealLedger.Importing;
using DealLedger.Storage;
using DealLedger.Time;

namespace DealLedger.Access;

/// <summary>What a key may do: read answers; also write; also administer (keys, rebuilds).</summary>
public enum Role { Reader, Writer, Admin }

/// <summary>An API key as listed: never its secret.</summary>
public sealed record ApiKey(string Name, Role Role, string CreatedAt, string CreatedBy, string? RevokedAt);

/// <summary>A key just created: the only time its secret is shown.</summary>
public sealed record CreatedKey(string Name, Role Role, string Key);

/// <summary>
/// API keys (table api_keys). Only a SHA-256 hash of each key is stored: keys are 256 random bits,
/// so a fast hash is enough (there is nothing to brute-force) and checking one costs one index lookup.
/// A write made with a key is recorded under "key:NAME".
/// </summary>
public static partial class ApiKeys
{
    private const string Prefix = "dlk_";
    private static readonly string Table = ProjectionTables.Name("api_keys");

    /// <summary>
    /// The PostgreSQL NOTIFY channel on which a key's creation or revocation announces its name, in the
    /// transaction of the change: API processes drop what they remember of it (<see cref="ApiKeyCache"/>).
    /// </summary>
    public const string Channel = "dealledger_keys";

    public static string WriterName(string keyName) => $"key:{keyName}";

    public static bool Allows(this Role role, Role needed) => role >= needed;

    public static Role ParseRole(string? text) => text switch
    {
        "reader" => Role.Reader,
        "writer" => Role.Writer,
        "admin" => Role.Admin,
        _ => throw new LedgerException(LedgerErrorKind.InvalidInput, $"role '{Fields.Clip(text ?? "")}' is not one of: reader, writer, admin") { Field = "role" },
    };

    /// <summary>
    /// A request for a key as the API takes it, { name, role }, read like an entry of a ledger
    /// document: malformed JSON, a wrong type or an unknown field is refused, naming the field.
    /// </summary>
    public static (string Name, Role Role) ReadKeyRequest(string file, string text)
    {
        var f = Fields.Of(DocumentNode.Parse(file, text), "name", "role");
        return (f.Text("name"), ParseRole(f.Text("role")));
    }

    public static async Task<CreatedKey> CreateKeyAsync(this Ledger ledger, string name, Role role, string createdBy, CancellationToken ct = default)
    {
        if (name is null || !KeyName().IsMatch(name))
        {
            throw new LedgerException(LedgerErrorKind.InvalidInput, $"key name '{Fields.Clip(name ?? "")}' must be 1–64 characters: lowercase letters, digits, '-', '_' or '.'") { Field = "name" };
        }
        var secret = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        // One statement, so the change and its announcement commit together.
        var inserted = await Sql.ListAsync(c,
            $"with k as (insert into {Table} (name, role, key_hash, created_at, created_by) values ($1, $2, $3, clock_timestamp(), $4) on conflict (name) do nothing returning name) " +
            "select pg_notify($5, name) from k",
            _ => true, ct, name, LedgerJson.Word(role), Hash(secret), createdBy, Channel);
        return inserted.Count == 1
            ? new CreatedKey(name, role, secret)
            : throw new LedgerException(LedgerErrorKind.Conflict, $"a key named '{name}' already exists (names are never reused, even after revocation)") { Field = "name" };
    }

    public static async Task<ApiKey> RevokeKeyAsync(this Ledger ledger, string name, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        // One statement, so the revocation and its announcement commit together: no API process keeps
        // accepting the key after another has refused it.
        await Sql.ListAsync(c,
            $"with k as (update {Table} set revoked_at = clock_timestamp() where name = $1 and revoked_at is null returning name) select pg_notify($2, name) from k",
            _ => true, ct, name, Channel);
        var keys = await ListAsync(c, name, ct);
        return keys.Count == 1 ? keys[0] : throw new LedgerException(LedgerErrorKind.NotFound, $"unknown key '{Fields.Clip(name)}'") { Field = "name" };
    }

    public static async Task<IReadOnlyList<ApiKey>> KeysAsync(this Ledger ledger, CancellationToken ct = default)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        return await ListAsync(c, null, ct);
    }

    /// <summary>The key's name and role, or null when the key is unknown or revoked.</summary>
    public static async Task<(string Name, Role Role)?> AuthenticateAsync(this Ledger ledger, string secret, CancellationToken ct = default)
    {
        return HashOf(secret) is { } hash ? await ledger.AuthenticateAsync(hash, ct) : null;
    }

    /// <summary>The stored form of a key, or null when it cannot be one (no lookup needed).</summary>
    internal static byte[]? HashOf(string secret) =>
        secret.StartsWith(Prefix, StringComparison.Ordinal) && secret.Length <= 100 ? Hash(secret) : null;

    internal static async Task<(string Name, Role Role)?> AuthenticateAsync(this Ledger ledger, byte[] hash, CancellationToken ct)
    {
        await using var c = await ledger.Database.OpenConnectionAsync(ct);
        var found = await Sql.ListAsync(c, $"select name, role from {Table} where key_hash = $1 and revoked_at is null",
            r => (r.GetString(0), LedgerJson.Deserialize<Role>($"\"{r.GetString(1)}\"")), ct, hash);
        return found.Count == 1 ? found[0] : null;
    }

    private static Task<List<ApiKey>> ListAsync(Npgsql.NpgsqlConnection c, string? name, CancellationToken ct) =>
        Sql.ListAsync(c, $"select name, role, created_at, created_by, revoked_at from {Table} where $1::text is null or name = $1 order by name",
            r => new ApiKey(r.GetString(0), LedgerJson.Deserialize<Role>($"\"{r.GetString(1)}\""), Instant.Format(r.GetFieldValue<DateTimeOffset>(2)), r.GetString(3),
                r.IsDBNull(4) ? null : Instant.Format(r.GetFieldValue<DateTimeOffset>(4))),
            ct, name);

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex KeyName();
}
