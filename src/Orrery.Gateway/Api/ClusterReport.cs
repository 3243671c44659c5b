using System.Text.Json;
using Orrery.Core.Lifecycle;
using Orrery.Storage.Entities;

namespace Orrery.Gateway.Api;

/// <summary>
/// The cluster report exactly as the client accepts it: name, dashboard_route, status (a name), start_time and
/// stop_time (ms), options, and tls_cert/tls_key while running. Any other key crashes the client.
/// </summary>
public static class ClusterReport
{
    public static readonly string[] StatusNames = ["PENDING", "RUNNING", "STOPPING", "STOPPED", "FAILED"];

    /// <summary>The public status: a stop that was asked for shows as STOPPING until everything has ended.</summary>
    public static string Status(DaskCluster cluster) => cluster.State switch
    {
        ResourceState.Stopped => "STOPPED",
        ResourceState.Failed => "FAILED",
        _ when cluster.StopRequested || cluster.State == ResourceState.Stopping => "STOPPING",
        ResourceState.Running => "RUNNING",
        _ => "PENDING",
    };

    public static void Write(Utf8JsonWriter w, DaskCluster cluster)
    {
        var status = Status(cluster);
        var running = status == "RUNNING";
        w.WriteStartObject();
        w.WriteString("name", cluster.Name);
        if (running && cluster.DashboardAddress is not null)
            w.WriteString("dashboard_route", $"/clusters/{cluster.Name}/status");
        else
            w.WriteNull("dashboard_route");
        w.WriteString("status", status);
        w.WriteNumber("start_time", Milliseconds(cluster.Created));
        if (cluster.Ended is { } ended && status is "STOPPED" or "FAILED")
            w.WriteNumber("stop_time", Milliseconds(ended));
        else
            w.WriteNull("stop_time");
        w.WritePropertyName("options");
        w.WriteRawValue(cluster.OptionsJson);
        w.WriteString("tls_cert", running ? cluster.CertificatePem : null);
        w.WriteString("tls_key", running ? cluster.KeyPem : null);
        w.WriteEndObject();
    }

    private static long Milliseconds(DateTime time) => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)).ToUnixTimeMilliseconds();
}
