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

    /// <summary>The pause after a first failed attempt; it doubles with each further one.</summary>
    public TimeSpan FirstRetry { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts of one delivery before it is kept as failed (and the next write's delivery goes on).</summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>How long a receiver has to answer an attempt.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often subscriptions behind the log are looked for (writes of other nodes, retries a crash left unscheduled).</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(5);
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
        (IPNetwork.Parse("fc00::/7"), "a private (unique local) address"),
        (IPNetwork.Parse("fe80::/10"), "a link-local address"),
        (IPNetwork.Parse("ff00::/8"), "a multicast address"),
    ];

    /// <summary>Why an address may not be a target, or null when it may.</summary>
    public static string? Refusal(IPAddress address, WebhookOptions options)
    {
        // An IPv4 address written as IPv6 (::ffff:10.0.0.1) or through NAT64 (64:ff9b::a00:1) is judged as itself.
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6 && IPNetwork.Parse("64:ff9b::/96").Contains(address))
        {
            address = new IPAddress(address.GetAddressBytes()[12..]);
        }
        if (options.AllowedNetworks.Any(n => IPNetwork.Parse(n).Contains(address)))
        {
            return null;
        }
        if (IPAddress.IsLoopback(address) && options.AllowLoopback)
        {
            return null;
        }
        return Refused.FirstOrDefault(r => r.Network.BaseAddress.AddressFamily == address.AddressFamily && r.Network.Contains(address)).What;
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
        catch (SocketException)
        {
            throw Invalid($"names a host that does not resolve ({uri.IdnHost})");
        }
        foreach (var address in addresses)
        {
            if (Refusal(address, options) is { } why)
            {
                throw Invalid($"resolves to {address}, {why}: not a webhook target (DealLedger:Webhooks:AllowedNetworks{(IPAddress.IsLoopback(address) ? " or AllowLoopback" : "")} can allow it)");
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
