namespace DealLedger.Storage;

/// <summary>
/// Blocks of numbers from a sequence for set-based writes. Taken one by one in one statement, they are
/// contiguous because every taker of these sequences holds the write lock; not with setval, which the
/// API's database role may not call (migrations/0005_api_role.sql) — and a block taken so can never be
/// handed out twice, even if the write rolls back.
/// </summary>
internal static class Sequences
{
    /// <summary>SQL answering the last number of a block of $1 numbers from the sequence named by <paramref name="sequence"/> (an SQL text expression).</summary>
    public static string LastOfBlock(string sequence) =>
        $"select max(nextval(s)) from (select ({sequence})::regclass as s) q, generate_series(1, $1::bigint)";

    /// <summary>
    /// SQL answering the number the sequence named <paramref name="schema"/>.<paramref name="name"/> hands out next: read under
    /// the write lock, it is the first of the next block taken (USAGE on the sequence is enough to read it).
    /// </summary>
    public static string Next(string schema, string name) =>
        $"(select coalesce(last_value + increment_by, start_value) from pg_catalog.pg_sequences where schemaname = '{schema}' and sequencename = '{name}')";
}
