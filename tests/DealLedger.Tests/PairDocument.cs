using System.Text.Json;

namespace DealLedger.Tests;

/// <summary>A ledger document of one stake between `holder-{pair}` and `subject-{pair}`, registering both and the source it cites.</summary>
internal static class PairDocument
{
    /// <param name="source">The source the stake cites, of <paramref name="kind"/>; by default `register-{pair}`.</param>
    /// <param name="sourceTitle">The source's title; by default "Register {pair}" (or "Source {source}").</param>
    public static string Stake(string pair, string id, decimal share, string from, string? source = null, string? sourceTitle = null,
        string kind = "official-register") => JsonSerializer.Serialize(new
        {
            organizations = new[]
            {
                new { id = $"holder-{pair}", name = $"Holder {pair}", kind = "company", country = "FR" },
                new { id = $"subject-{pair}", name = $"Subject {pair}", kind = "company", country = "FR" },
            },
            sources = new[] { new { id = source ?? $"register-{pair}", title = sourceTitle ?? (source is null ? $"Register {pair}" : $"Source {source}"), kind } },
            deals = new[]
            {
                new
                {
                    id = $"deal-{id}",
                    parties = new[] { $"holder-{pair}", $"subject-{pair}" },
                    facts = new object[]
                    {
                        new
                        {
                            id = $"stake-{id}", type = "stake", holder = $"holder-{pair}", subject = $"subject-{pair}",
                            share = new { exact = share }, valid = new { from },
                            sources = new[] { new { source = source ?? $"register-{pair}", claim = "stated" } },
                        },
                    },
                },
            },
        });
}
