using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orrery.FunctionalTests.Gateway;
using Orrery.FunctionalTests.Infrastructure;
using Shouldly;
using Xunit;

namespace Orrery.FunctionalTests.Servers;

/// <summary>
/// The real thing, end to end: Debian's jupyterhub-singleuser 3.0.0 (the built-in profile) spawned by Orrery,
/// a browser (a cookie-keeping client) that logs in and follows the OAuth redirects through Orrery's proxy, the
/// notebook API through the proxy, and Python code run in a kernel over its WebSocket through the proxy.
/// </summary>
public sealed class SingleuserEndToEndTests
{
    private static readonly Dictionary<string, string?> Settings = new(GatewayClient.FastSettings)
    {
        // Two cores under test load can take longer than JupyterHub's 10 s to boot singleuser; 202 would be fine
        // too, but a 201 keeps the test linear.
        ["Orrery:Servers:SlowSpawnTimeout"] = "00:01:00",
        ["Orrery:Servers:ReconcileInterval"] = "00:00:00.300",
    };

    [Fact]
    public async Task LoginSpawnOAuthProxyAndKernel_AllWorkWithTheRealSingleuser()
    {
        await using var server = await OrreryTestServer.StartAsync(Settings);
        var (name, token) = await server.CreateUserAsync("nb", password: "correct horse battery");
        using var api = server.Client(token);
        var started = await api.PostAsync($"hub/api/users/{name}/server", null);
        started.StatusCode.ShouldBe(HttpStatusCode.Created, await started.Content.ReadAsStringAsync());
        try
        {
            using var browser = await Browser.LoggedInAsync(server, name, "correct horse battery");

            // The browser asks for the notebook; singleuser sends it through Orrery's OAuth and back.
            var hops = await FollowAsync(browser, $"user/{name}/tree");
            hops.ShouldContain(h => h.Contains("/hub/api/oauth2/authorize?", StringComparison.Ordinal));
            hops.ShouldContain(h => h.Contains($"/user/{name}/oauth_callback?code=", StringComparison.Ordinal));
            var page = await browser.GetAsync(hops[^1]);
            page.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await page.Content.ReadAsStringAsync()).ShouldContain("Jupyter");

            // Singleuser's own cookie now authenticates API calls through the proxy.
            var status = await browser.GetAsync($"user/{name}/api/status");
            status.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await status.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("kernels", out _).ShouldBeTrue();

            // A kernel, driven over its WebSocket through the proxy with the user's token.
            var kernel = await api.PostAsJsonAsync($"user/{name}/api/kernels", new { name = "python3" });
            kernel.StatusCode.ShouldBe(HttpStatusCode.Created, await kernel.Content.ReadAsStringAsync());
            var kernelId = (await kernel.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            var channels = $"user/{name}/api/kernels/{kernelId}/channels";
            (await RunCodeAsync(server, token, channels, "print(6 * 7)")).ShouldBe("42\n");

            // Zero-config Dask: only the server's environment (address, proxy, auth type, token) reaches Orrery,
            // creates a cluster, and computes on it through the SNI proxy.
            var dask = await RunCodeAsync(server, token, channels, ZeroConfigDask);
            dask.ShouldContain("options from env: ok");
            dask.ShouldContain("computed: 42");
        }
        finally
        {
            (await api.DeleteAsync($"hub/api/users/{name}/server")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        // Stopped: the proxy answers for the server.
        var after = await api.GetAsync($"user/{name}/api/status");
        after.StatusCode.ShouldBe(HttpStatusCode.FailedDependency);
    }

    /// <summary>
    /// Debian has no dask_gateway package, so the kernel uses the project's own wire-compatible client, configured
    /// only from the variables dask_gateway reads (Gateway.from_environment mirrors its config resolution).
    /// </summary>
    private static string ZeroConfigDask => $$"""
        import sys
        sys.path.insert(0, {{JsonSerializer.Serialize(ClientsDirectory())}})
        import orrery_gateway
        gateway = orrery_gateway.Gateway.from_environment()
        gateway.options()
        print("options from env: ok")
        name = gateway.create()
        try:
            report = gateway.wait_running(name)
            gateway.scale(name, 1)
            client = gateway.connect(name, report)
            client.wait_for_workers(1, timeout=120)
            print("computed:", client.submit(lambda x: x + 1, 41).result())
            client.close()
        finally:
            gateway.stop(name)
        """;

    private static string ClientsDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "tests", "clients")))
                return Path.Combine(dir.FullName, "tests", "clients");
        throw new DirectoryNotFoundException("tests/clients not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Follows redirects like a browser (relative Locations included); returns every URL visited.</summary>
    private static async Task<List<string>> FollowAsync(HttpClient browser, string start)
    {
        var visited = new List<string> { start };
        var url = start;
        for (var i = 0; i < 10; i++)
        {
            using var response = await browser.GetAsync(url);
            if ((int)response.StatusCode is < 300 or >= 400)
                return visited;
            var location = response.Headers.Location.ShouldNotBeNull();
            url = (location.IsAbsoluteUri ? location : new Uri(new Uri(browser.BaseAddress!, url), location)).PathAndQuery.TrimStart('/');
            visited.Add("/" + url);
        }
        throw new InvalidOperationException("Too many redirects: " + string.Join(" -> ", visited));
    }

    /// <summary>Sends one execute_request (Jupyter messaging 5.3, notebook 6's JSON WebSocket framing) and collects stdout.</summary>
    private static async Task<string> RunCodeAsync(OrreryTestServer server, string token, string path, string code)
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "token " + token);
        var uri = new UriBuilder(new Uri(server.BaseAddress, path)) { Scheme = "ws" }.Uri;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        await socket.ConnectAsync(uri, timeout.Token);
        var msgId = Guid.NewGuid().ToString("N");
        var request = new JsonObject
        {
            ["header"] = new JsonObject
            {
                ["msg_id"] = msgId, ["username"] = "test", ["session"] = Guid.NewGuid().ToString("N"),
                ["msg_type"] = "execute_request", ["version"] = "5.3", ["date"] = DateTime.UtcNow.ToString("O"),
            },
            ["parent_header"] = new JsonObject(),
            ["metadata"] = new JsonObject(),
            ["content"] = new JsonObject
            {
                ["code"] = code, ["silent"] = false, ["store_history"] = false, ["user_expressions"] = new JsonObject(),
                ["allow_stdin"] = false, ["stop_on_error"] = true,
            },
            ["channel"] = "shell",
            ["buffers"] = new JsonArray(),
        };
        await socket.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, timeout.Token);

        var stdout = new StringBuilder();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);
            if (received.MessageType == WebSocketMessageType.Close)
                throw new InvalidOperationException("The kernel WebSocket closed before the code finished.");
            var json = JsonNode.Parse(message.ToArray())!;
            if (json["parent_header"]?["msg_id"]?.GetValue<string>() != msgId)
                continue;
            var type = json["header"]!["msg_type"]!.GetValue<string>();
            if (type == "stream" && json["content"]!["name"]!.GetValue<string>() == "stdout")
                stdout.Append(json["content"]!["text"]!.GetValue<string>());
            if (type == "error")
                throw new InvalidOperationException("The code failed: " + json["content"]!.ToJsonString());
            if (type == "status" && json["content"]!["execution_state"]!.GetValue<string>() == "idle")
                break;
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        return stdout.ToString();
    }
}
