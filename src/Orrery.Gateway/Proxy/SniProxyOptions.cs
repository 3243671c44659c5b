namespace Orrery.Gateway.Proxy;

/// <summary>Section "Orrery:Gateway:Proxy": the scheduler SNI proxy on Orrery's public port.</summary>
public sealed class SniProxyOptions
{
    public const string SectionName = "Orrery:Gateway:Proxy";

    /// <summary>The SNI prefix dask_gateway clients put before the cluster name (<c>daskgateway-&lt;name&gt;</c>).</summary>
    public const string SniPrefix = "daskgateway-";

    /// <summary>How long a new connection may take to send its first bytes (a whole ClientHello, if TLS) before it is closed.</summary>
    public TimeSpan FirstBytesTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long connecting to a cluster's scheduler may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Returns the problems with these settings (empty when valid).</summary>
    public IEnumerable<string> Validate()
    {
        if (FirstBytesTimeout <= TimeSpan.Zero)
            yield return $"{SectionName}:FirstBytesTimeout must be positive, got {FirstBytesTimeout}.";
        if (ConnectTimeout <= TimeSpan.Zero)
            yield return $"{SectionName}:ConnectTimeout must be positive, got {ConnectTimeout}.";
    }
}
