using System.Net;
using DealLedger.Feed;
using DealLedger.Subscriptions;
using Npgsql;

namespace DealLedger.Tests;

/// <summary>Which addresses a webhook may reach, the settings checked at start-up, and delivery's backoff (issue 15, after review).</summary>
public sealed class WebhookTargetsTests
{
    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("169.254.169.254")]     // the clouds' metadata service
    [InlineData("168.63.129.16")]       // Azure's platform (WireServer) address
    [InlineData("127.0.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("::1")]
    [InlineData("::ffff:10.0.0.1")]     // IPv4-mapped
    [InlineData("::7f00:1")]            // IPv4-compatible ::127.0.0.1
    [InlineData("::a00:1")]             // IPv4-compatible ::10.0.0.1
    [InlineData("::ffff:0:a00:1")]      // IPv4-translated (SIIT) 10.0.0.1
    [InlineData("64:ff9b::a00:1")]      // NAT64 of 10.0.0.1
    [InlineData("64:ff9b:1::a00:1")]    // local-use NAT64
    [InlineData("2002:a00:1::1")]       // 6to4 of 10.0.0.1
    [InlineData("2001:0:a00:1::1")]     // Teredo
    [InlineData("fec0::1")]             // site-local
    [InlineData("fd00:ec2::254")]       // AWS's IPv6 metadata address
    public void special_addresses_are_refused(string address) =>
        Assert.NotNull(WebhookTargets.Refusal(IPAddress.Parse(address), new WebhookOptions().Checked()));

    [Theory]
    [InlineData("203.0.113.10")]
    [InlineData("8.8.8.8")]
    [InlineData("2606:4700::1111")]
    [InlineData("64:ff9b::808:808")]    // NAT64 of a public address
    public void public_addresses_are_targets(string address) =>
        Assert.Null(WebhookTargets.Refusal(IPAddress.Parse(address), new WebhookOptions().Checked()));

    [Fact]
    public void loopback_only_with_allow_loopback_even_when_an_allowed_network_covers_it()
    {
        Assert.NotNull(WebhookTargets.Refusal(IPAddress.Loopback, new WebhookOptions { AllowedNetworks = ["0.0.0.0/0"] }.Checked()));
        Assert.Null(WebhookTargets.Refusal(IPAddress.Loopback, new WebhookOptions { AllowLoopback = true }.Checked()));
        Assert.Null(WebhookTargets.Refusal(IPAddress.Parse("10.20.3.4"), new WebhookOptions { AllowedNetworks = ["10.20.0.0/16 "] }.Checked()));
    }

    [Theory]
    [InlineData("10.20.0.0")]
    [InlineData("10.0.0.0/8,192.168.0.0/16")]
    [InlineData("ten")]
    public void a_network_that_is_not_one_stops_the_start_with_one_line(string network) =>
        Assert.Contains($"'{network}' is not a network", Assert.Throws<InvalidOperationException>(() => new WebhookOptions { AllowedNetworks = [network] }.Checked()).Message);

    [Fact]
    public void settings_that_cannot_work_stop_the_start()
    {
        Assert.Throws<InvalidOperationException>(() => new WebhookOptions { SweepInterval = TimeSpan.Zero }.Checked());
        Assert.Throws<InvalidOperationException>(() => new WebhookOptions { MaxAttempts = 0 }.Checked());
        Assert.Throws<InvalidOperationException>(() => new WebhookOptions { FirstRetry = TimeSpan.FromHours(2) }.Checked());
    }

    [Fact]
    public async Task a_host_name_too_long_to_resolve_is_bad_input()
    {
        var host = string.Join(".", Enumerable.Repeat(new string('a', 60), 5)) + ".example";
        var e = await Assert.ThrowsAsync<LedgerException>(() => WebhookTargets.CheckAsync($"https://{host}/hooks", new WebhookOptions(), CancellationToken.None));
        Assert.Equal("url", e.Field);
    }

    [Fact]
    public async Task backoff_stops_at_its_longest_pause_however_many_attempts_failed()
    {
        await using var s = await Scenario.StartAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Failing["x"] = true;
        var options = new WebhookOptions { AllowLoopback = true, MaxAttempts = 100, FirstRetry = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromMinutes(10) }.Checked();
        using var webhooks = new Webhooks(s.Ledger, options);
        var sub = await s.Ledger.SubscribeAsync(receiver.Url("x"), "a-secret-of-some-length", FeedFilter.Parse(null, null, null), "tests", options);
        await s.ImportAsync("organizations:\n  - { id: hooli, name: Hooli, kind: company }\n");
        Assert.NotNull(await webhooks.DeliverAsync(sub.Id, CancellationToken.None));
        await using (var c = new NpgsqlConnection(s.Database.ConnectionString))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("update dealledger.webhook_deliveries set attempts = 45; update dealledger.webhook_subscriptions set next_attempt_at = null", c);
            await cmd.ExecuteNonQueryAsync();
        }
        var due = await webhooks.DeliverAsync(sub.Id, CancellationToken.None);
        Assert.NotNull(due);
        Assert.InRange(due.Value - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(11));
    }
}
