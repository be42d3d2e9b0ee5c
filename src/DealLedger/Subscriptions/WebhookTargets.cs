using System.Net;
using System.Net.Sockets;

namespace DealLedger.Subscriptions;

/// <summary>
/// How webhooks are delivered (configuration section DealLedger:Webhooks). A subscription's URL must resolve only to
/// public addresses: private, link-local (the clouds' metadata service among them), loopback and other special ranges are
/// refused, unless <see cref="AllowedNetworks"/> names them (loopback only with <see cref="AllowLoopback"/>), so a
/// subscription can never be used to reach the hosts inside.
/// </summary>
public sealed record WebhookOptions
{
    /// <summary>Whether 127.0.0.0/8 and ::1 may be targets (a receiver on the API's own machine, as in tests).</summary>
    public bool AllowLoopback { get; init; }

    /// <summary>Networks (CIDR, e.g. 10.20.0.0/16) allowed although private: the receivers of one's own network.</summary>
    public IReadOnlyList<string> AllowedNetworks { get; init; } = [];

    /// <summary>The pause after a first failed attempt; it doubles with each further one, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan FirstRetry { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause between two attempts.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Attempts of one delivery before it is kept as failed (and the next write's delivery goes on).</summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>How long a receiver has to answer an attempt.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often subscriptions behind the log are looked for (writes of other nodes, retries a crash left unscheduled).</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The allowed networks, read once (<see cref="Checked"/>).</summary>
    internal IReadOnlyList<IPNetwork> Networks { get; private init; } = [];

    /// <summary>
    /// The settings as a host reads them, checked once at start-up: a network that is not one, or a pause, count or timeout
    /// that cannot work, stops the host with one line, rather than failing every delivery later.
    /// </summary>
    public WebhookOptions Checked()
    {
        var networks = AllowedNetworks.Select(n => IPNetwork.TryParse(n.Trim(), out var network) ? network
            : throw new InvalidOperationException($"DealLedger:Webhooks:AllowedNetworks: '{n}' is not a network (CIDR, e.g. 10.20.0.0/16)")).ToList();
        if (FirstRetry <= TimeSpan.Zero || MaxBackoff < FirstRetry || MaxAttempts < 1 || Timeout <= TimeSpan.Zero || SweepInterval <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("DealLedger:Webhooks: FirstRetry, Timeout and SweepInterval must be positive, MaxBackoff at least FirstRetry, MaxAttempts at least 1");
        }
        return this with { Networks = networks };
    }
}

/// <summary>Which URLs and addresses a webhook may be sent to (<see cref="WebhookOptions"/>).</summary>
public static class WebhookTargets
{
    // Special-purpose ranges (IANA registries): never a public receiver.
    private static readonly (IPNetwork Network, string What)[] Refused =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "an unspecified address"),
        (IPNetwork.Parse("10.0.0.0/8"), "a private address"),
        (IPNetwork.Parse("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
        (IPNetwork.Parse("127.0.0.0/8"), "a loopback address"),
        (IPNetwork.Parse("169.254.0.0/16"), "a link-local address (the metadata service's range)"),
        (IPNetwork.Parse("172.16.0.0/12"), "a private address"),
        (IPNetwork.Parse("192.0.0.0/24"), "a protocol-assignment address"),
        (IPNetwork.Parse("192.168.0.0/16"), "a private address"),
        (IPNetwork.Parse("198.18.0.0/15"), "a benchmarking address"),
        (IPNetwork.Parse("224.0.0.0/4"), "a multicast address"),
        (IPNetwork.Parse("240.0.0.0/4"), "a reserved address"),
        (IPNetwork.Parse("::/128"), "an unspecified address"),
        (IPNetwork.Parse("::1/128"), "a loopback address"),
        (IPNetwork.Parse("168.63.129.16/32"), "a cloud platform's host address (Azure WireServer)"),
        (IPNetwork.Parse("2001::/32"), "a tunnelling (Teredo) address"),
        (IPNetwork.Parse("64:ff9b:1::/48"), "a local-use translation (NAT64) address"),
        (IPNetwork.Parse("fec0::/10"), "a site-local address"),
        (IPNetwork.Parse("fc00::/7"), "a private (unique local) address"),
        (IPNetwork.Parse("fe80::/10"), "a link-local address"),
        (IPNetwork.Parse("ff00::/8"), "a multicast address"),
    ];

    /// <summary>Why an address may not be a target, or null when it may.</summary>
    public static string? Refusal(IPAddress address, WebhookOptions options)
    {
        // An IPv4 address written into IPv6 (mapped ::ffff:10.0.0.1, compatible ::10.0.0.1, SIIT ::ffff:0:a00:1, NAT64
        // 64:ff9b::a00:1, 6to4 2002:a00:1::) is judged as the IPv4 address it reaches.
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && Embedded(address) is { } v4)
        {
            address = v4;
        }
        // Loopback first: no allowed network opens it, only AllowLoopback.
        if (IPAddress.IsLoopback(address))
        {
            return options.AllowLoopback ? null : "a loopback address";
        }
        if (options.Networks.Any(n => n.BaseAddress.AddressFamily == address.AddressFamily && n.Contains(address)))
        {
            return null;
        }
        return Refused.FirstOrDefault(r => r.Network.BaseAddress.AddressFamily == address.AddressFamily && r.Network.Contains(address)).What;
    }

    private static readonly (IPNetwork Prefix, int At)[] Embedding =
    [
        (IPNetwork.Parse("::ffff:0:0/96"), 12), (IPNetwork.Parse("::/96"), 12), (IPNetwork.Parse("::ffff:0:0:0/96"), 12),
        (IPNetwork.Parse("64:ff9b::/96"), 12), (IPNetwork.Parse("2002::/16"), 2),
    ];

    private static IPAddress? Embedded(IPAddress v6)
    {
        // :: and ::1 are IPv6's own (unspecified, loopback), not IPv4 addresses written into it.
        if (v6.Equals(IPAddress.IPv6Any) || v6.Equals(IPAddress.IPv6Loopback))
        {
            return null;
        }
        if (v6.IsIPv4MappedToIPv6)
        {
            return v6.MapToIPv4();
        }
        var bytes = v6.GetAddressBytes();
        return Embedding.Where(e => e.Prefix.Contains(v6)).Select(e => new IPAddress(bytes[e.At..(e.At + 4)])).FirstOrDefault();
    }

    /// <summary>
    /// A subscription's URL, checked: absolute http(s), no credentials in it, and a host whose every address (resolved now)
    /// may be a target. Deliveries check the addresses again when they connect (a name may be pointed elsewhere later).
    /// </summary>
    public static async Task<Uri> CheckAsync(string url, WebhookOptions options, CancellationToken ct)
    {
        LedgerException Invalid(string why) => new(LedgerErrorKind.InvalidInput, $"url '{Importing.Fields.Clip(url)}' {why}") { Field = "url" };
        if (url.Length > 2000 || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            throw Invalid("is not an absolute http or https URL");
        }
        if (uri.UserInfo.Length > 0)
        {
            throw Invalid("holds credentials: sign with the secret instead");
        }
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(uri.IdnHost, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(uri.IdnHost, ct);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            throw Invalid($"names a host that does not resolve ({Importing.Fields.Clip(uri.IdnHost)})");
        }
        foreach (var address in addresses)
        {
            if (Refusal(address, options) is { } why)
            {
                throw Invalid($"resolves to {address}, {why}: not a webhook target (DealLedger:Webhooks:{(why == "a loopback address" ? "AllowLoopback" : "AllowedNetworks")} can allow it)");
            }
        }
        return uri;
    }

    /// <summary>Connects only to an address that may be a target, resolved at the moment of connecting (no rebinding past the check).</summary>
    internal static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, WebhookOptions options, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        if (addresses.FirstOrDefault(a => Refusal(a, options) is not null) is { } refused)
        {
            throw new HttpRequestException($"{host} resolves to {refused}, {Refusal(refused, options)}: not a webhook target");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
