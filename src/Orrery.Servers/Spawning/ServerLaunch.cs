using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Orrery.Hub.Api;
using Orrery.Core.Compute;
using Orrery.Servers.Profiles;

namespace Orrery.Servers.Spawning;

/// <summary>
/// The launch spec of one server run: the profile's command with the environment jupyterhub-singleuser expects
/// (protocol notes §2.2) and what makes <c>dask_gateway.Gateway()</c> work inside with no arguments.
/// </summary>
public static class ServerLaunch
{
    /// <summary>Everything one launch depends on.</summary>
    /// <param name="EnvironmentId">The environment chosen for this run (content id), or null for the profile's image or the host.</param>
    public sealed record Inputs(
        string ResourceId, ServerIdentity Identity, ServerProfile Profile, string Token, int Port, string Home,
        Uri HubInternal, Uri HubPublic, string GatewayServiceName, string? EnvironmentId = null);

    public static LaunchSpec Spec(Inputs i)
    {
        var id = i.Identity;
        var hubApi = new Uri(i.HubInternal, "hub/api").ToString();
        var accessScopes = JsonSerializer.Serialize(id.AccessScopes);
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["JUPYTERHUB_API_TOKEN"] = i.Token,
            ["JPY_API_TOKEN"] = i.Token,
            ["JUPYTERHUB_CLIENT_ID"] = id.ClientId,
            ["JUPYTERHUB_API_URL"] = hubApi,
            ["JUPYTERHUB_BASE_URL"] = id.BaseUrl,
            ["JUPYTERHUB_SERVICE_PREFIX"] = id.Prefix,
            ["JUPYTERHUB_SERVICE_URL"] = $"http://127.0.0.1:{i.Port}{id.Prefix}",
            ["JUPYTERHUB_OAUTH_CALLBACK_URL"] = id.CallbackUrl,
            ["JUPYTERHUB_OAUTH_ACCESS_SCOPES"] = accessScopes,
            ["JUPYTERHUB_OAUTH_SCOPES"] = accessScopes,
            ["JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES"] = "[]",
            ["JUPYTERHUB_USER"] = id.User,
            ["JUPYTERHUB_SERVER_NAME"] = id.Server,
            ["JUPYTERHUB_ACTIVITY_URL"] = $"{hubApi}/users/{Uri.EscapeDataString(id.User)}/activity",
            ["JUPYTERHUB_HOST"] = "",
            ["USER"] = id.User,
            ["HOME"] = i.Home,
            ["SHELL"] = "/bin/bash",
        };
        if (i.Profile.DefaultUrl.Length > 0)
            env["JUPYTERHUB_DEFAULT_URL"] = i.Profile.DefaultUrl;
        if (i.Profile.MemoryLimitBytes is { } memory)
            env["MEM_LIMIT"] = memory.ToString(CultureInfo.InvariantCulture);
        if (i.Profile.CpuLimit is { } cpu)
            env["CPU_LIMIT"] = cpu.ToString(CultureInfo.InvariantCulture);

        // Zero-config Dask: the dask_gateway client reads these (DASK_GATEWAY__* = dask config gateway.*).
        var gateway = new Uri(i.HubInternal, $"services/{i.GatewayServiceName}").ToString();
        env["DASK_GATEWAY__ADDRESS"] = gateway;
        env["DASK_GATEWAY__PROXY_ADDRESS"] = $"gateway://{i.HubInternal.Host}:{i.HubInternal.Port}";
        env["DASK_GATEWAY__PUBLIC_ADDRESS"] = new Uri(i.HubPublic, $"services/{i.GatewayServiceName}").ToString();
        env["DASK_GATEWAY__AUTH__TYPE"] = "jupyterhub";
        // The server's own environment, so clusters (and jobs) started from it match it by default.
        var image = i.EnvironmentId ?? i.Profile.Image;
        env["DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE"] = image;
        if (image.Length > 0)
        {
            env["JUPYTER_IMAGE"] = image;
            env["JUPYTER_IMAGE_SPEC"] = image;
        }
        foreach (var (key, value) in i.Profile.Environment)
            env[key] = value;

        return new LaunchSpec(i.ResourceId, i.Profile.Command, env, i.Home)
        {
            Image = image.Length == 0 ? null : image,
            // MaxAge doubles as a batch time limit: the culler would stop the server then anyway.
            Resources = new ResourceRequest(i.Profile.CpuLimit, i.Profile.MemoryLimitBytes, i.Profile.MaxAge is { } age && age > TimeSpan.Zero ? age : null),
            Placement = i.Profile.Placement,
        };
    }

    /// <summary>
    /// A loopback port that was free a moment ago. The server binds it itself (singleuser takes no listening socket),
    /// so another process could take it in between; the spawn then fails and says so.
    /// </summary>
    public static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
