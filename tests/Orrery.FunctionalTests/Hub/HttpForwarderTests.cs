using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Hub.Proxy;

namespace Orrery.FunctionalTests.Hub;

/// <summary>
/// The shared forwarder between two real Kestrel servers on 127.0.0.1: a front that forwards everything and a
/// backend with the behaviours a proxied server has (headers, large bodies, server-sent events, cookies,
/// WebSockets). Every wait is bounded; none is a timing assertion except that a refused connection is a quick 502.
/// </summary>
public class HttpForwarderTests(HttpForwarderTests.Fixture fixture) : IClassFixture<HttpForwarderTests.Fixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private const int LargeSize = 20 * 1024 * 1024;

    [Fact]
    public async Task Post20MiB_WithLengthAndChunked_BackendReceivesEveryByte()
    {
        var data = RandomNumberGenerator.GetBytes(LargeSize);
        using var http = fixture.Client();

        using var sized = await http.PostAsync("sha256", new ByteArrayContent(data)).WaitAsync(Bound);
        sized.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await sized.Content.ReadAsStringAsync()).ShouldBe(Convert.ToHexString(SHA256.HashData(data)));

        // A stream of unknown length goes out chunked.
        using var chunked = await http.PostAsync("sha256", new StreamContent(new UnseekableStream(data))).WaitAsync(Bound);
        chunked.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await chunked.Content.ReadAsStringAsync()).ShouldBe(Convert.ToHexString(SHA256.HashData(data)));
    }

    [Fact]
    public async Task Get20MiB_ClientReceivesEveryByte()
    {
        using var http = fixture.Client();
        using var response = await http.GetAsync($"large?size={LargeSize}", HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentLength.ShouldBe(LargeSize);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer).AsTask().WaitAsync(Bound)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            total += read;
        }
        total.ShouldBe(LargeSize);
        Convert.ToHexString(sha.GetHashAndReset()).ShouldBe(Convert.ToHexString(SHA256.HashData(Backend.LargeBody(LargeSize))));
    }

    [Fact]
    public async Task Default_KeepsHostAndCredentials_AddsForwardedHeaders_DropsHopByHop()
    {
        using var http = fixture.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "headers");
        request.Headers.Host = "hub.example.org";
        request.Headers.TryAddWithoutValidation("Authorization", "token secret-token");
        request.Headers.TryAddWithoutValidation("Cookie", "a=1; b=2");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "10.1.2.3");
        request.Headers.Connection.Add("X-Per-Hop");
        request.Headers.TryAddWithoutValidation("X-Per-Hop", "only to the proxy");
        request.Headers.TryAddWithoutValidation("X-End-To-End", "kept");

        var seen = await HeadersAsync(http, request);

        seen["Host"].ShouldBe("hub.example.org");
        seen["Authorization"].ShouldBe("token secret-token");
        seen["Cookie"].ShouldBe("a=1; b=2");
        seen["X-Forwarded-For"].ShouldBe("10.1.2.3, 127.0.0.1");
        seen["X-Forwarded-Proto"].ShouldBe("http");
        seen["X-Forwarded-Host"].ShouldBe("hub.example.org");
        seen["X-End-To-End"].ShouldBe("kept");
        seen.ShouldNotContainKey("X-Per-Hop");
    }

    [Fact]
    public async Task WithoutCredentialsOrHost_BackendSeesNeitherAndItsOwnHost()
    {
        using var http = fixture.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "strict/headers");
        request.Headers.Host = "hub.example.org";
        request.Headers.TryAddWithoutValidation("Authorization", "token secret-token");
        request.Headers.TryAddWithoutValidation("Cookie", "a=1; b=2");

        var seen = await HeadersAsync(http, request);

        seen.ShouldNotContainKey("Authorization");
        seen.ShouldNotContainKey("Cookie");
        seen["Host"].ShouldBe(fixture.BackendAddress.Authority);
        seen["X-Forwarded-Host"].ShouldBe("hub.example.org");
    }

    [Fact]
    public async Task TwoSetCookies_BothReachTheClientSeparately()
    {
        using var http = fixture.Client();
        using var response = await http.GetAsync("cookies").WaitAsync(Bound);

        response.Headers.GetValues("Set-Cookie").ShouldBe(["a=1; path=/", "b=2, still b; path=/; httponly"]);
    }

    [Fact]
    public async Task EventStream_FirstEventArrivesWhileBackendStillResponding()
    {
        var id = Guid.NewGuid().ToString("N");
        using var http = fixture.Client();
        using var response = await http.GetAsync($"events?id={id}", HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        // The backend holds its response open until released, so this line can only have come through unbuffered.
        (await reader.ReadLineAsync().WaitAsync(Bound)).ShouldBe("data: one");
        fixture.Backend.Release(id);

        (await reader.ReadToEndAsync().WaitAsync(Bound)).ShouldBe("\ndata: two\n\n");
        await fixture.ResultOfAsync($"/events?id={id}", r => r.Outcome == ForwardOutcome.Forwarded);
    }

    [Fact]
    public async Task ClientLeavesMidStream_ReportedAsClientAborted()
    {
        var id = Guid.NewGuid().ToString("N");
        using (var http = fixture.Client())
        {
            using var response = await http.GetAsync($"events?id={id}", HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            (await reader.ReadLineAsync().WaitAsync(Bound)).ShouldBe("data: one");
        }

        await fixture.ResultOfAsync($"/events?id={id}", r => r.Outcome == ForwardOutcome.ClientAborted);
        fixture.Backend.Release(id);
    }

    [Fact]
    public async Task BackendBreaksMidBody_ClientSeesTheCutNotAnEnd()
    {
        using var http = fixture.Client();

        // Depending on when the abort overtakes the headers, the client fails at the headers or in the body;
        // what it must never see is a response that ends normally.
        var error = await Record.ExceptionAsync(async () =>
        {
            using var response = await http.GetAsync("breaking/", HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);
            await using var body = await response.Content.ReadAsStreamAsync();
            await body.CopyToAsync(Stream.Null).WaitAsync(Bound);
        });

        error.ShouldNotBeNull();
        (error is HttpRequestException or IOException).ShouldBeTrue(error.ToString());
        await fixture.ResultOfAsync("/", r => r.Outcome == ForwardOutcome.BackendFailed && r.StatusCode == 200);
    }

    [Fact]
    public async Task WebSocket_EchoesTextAndBinary_ClosesCleanly()
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("echo");
        await socket.ConnectAsync(fixture.WebSocketUri("ws"), CancellationToken.None).WaitAsync(Bound);
        socket.SubProtocol.ShouldBe("echo");

        await socket.SendAsync("hello through the forwarder"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var (type, text) = await ReceiveAsync(socket);
        type.ShouldBe(WebSocketMessageType.Text);
        Encoding.UTF8.GetString(text).ShouldBe("hello through the forwarder");

        var binary = RandomNumberGenerator.GetBytes(300 * 1024);
        await socket.SendAsync(binary, WebSocketMessageType.Binary, true, CancellationToken.None);
        (type, var echoed) = await ReceiveAsync(socket);
        type.ShouldBe(WebSocketMessageType.Binary);
        echoed.ShouldBe(binary);

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).WaitAsync(Bound);
        socket.State.ShouldBe(WebSocketState.Closed);
        socket.CloseStatus.ShouldBe(WebSocketCloseStatus.NormalClosure);
        socket.CloseStatusDescription.ShouldBe("bye");
        await fixture.ResultOfAsync("/ws", r => r is { Outcome: ForwardOutcome.Upgraded, StatusCode: 101, Error: null });
    }

    [Fact]
    public async Task UpgradeRefusedByBackend_ItsAnswerIsForwardedAsIs()
    {
        using var http = fixture.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "no-upgrade");
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new("websocket"));
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Version", "13");
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");

        using var response = await http.SendAsync(request).WaitAsync(Bound);

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        response.Headers.GetValues("X-Refused").ShouldBe(["yes"]);
        // The backend was asked for the upgrade as the client asked for it.
        var seen = JsonSerializer.Deserialize<Dictionary<string, string>>(await response.Content.ReadAsStringAsync())!;
        seen["Connection"].ShouldBe("Upgrade");
        seen["Upgrade"].ShouldBe("websocket");
        seen["Sec-WebSocket-Key"].ShouldBe("dGhlIHNhbXBsZSBub25jZQ==");
    }

    [Fact]
    public async Task BackendDown_502Quickly()
    {
        using var http = fixture.Client();
        using var response = await http.GetAsync("down/anything").WaitAsync(TimeSpan.FromSeconds(5));

        response.StatusCode.ShouldBe(HttpStatusCode.BadGateway);
        (await response.Content.ReadAsStringAsync()).ShouldContain("did not answer");
        await fixture.ResultOfAsync("/anything", r => r.Outcome == ForwardOutcome.Unreachable && r.StatusCode == 502);
    }

    [Fact]
    public async Task BackendDown_CallersHandlerAnswers()
    {
        using var http = fixture.Client();
        using var response = await http.GetAsync("down-custom/anything").WaitAsync(TimeSpan.FromSeconds(5));

        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await response.Content.ReadAsStringAsync()).ShouldBe("custom");
    }

    private static async Task<Dictionary<string, string>> HeadersAsync(HttpClient http, HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request).WaitAsync(Bound);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var seen = JsonSerializer.Deserialize<Dictionary<string, string>>(await response.Content.ReadAsStringAsync())!;
        return new Dictionary<string, string>(seen, StringComparer.OrdinalIgnoreCase);
    }

    private static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveAsync(WebSocket socket)
    {
        using var message = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Bound);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
                return (result.MessageType, message.ToArray());
        }
    }

    /// <summary>A body of unknown length, so HttpClient sends it chunked.</summary>
    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    /// <summary>The server behind the forwarder.</summary>
    public sealed class Backend
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _releases = new();

        public static byte[] LargeBody(int size)
        {
            var data = new byte[size];
            new Random(42).NextBytes(data);
            return data;
        }

        public void Release(string id) => Gate(id).TrySetResult();

        private TaskCompletionSource Gate(string id) =>
            _releases.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public void Map(WebApplication app)
        {
            app.UseWebSockets();
            app.MapGet("/headers", (HttpContext context) =>
                Results.Json(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString())));
            app.MapPost("/sha256", async (HttpContext context) =>
            {
                using var sha = SHA256.Create();
                return Convert.ToHexString(await sha.ComputeHashAsync(context.Request.Body, context.RequestAborted));
            });
            app.MapGet("/large", async (int size, HttpContext context) =>
            {
                var data = LargeBody(size);
                context.Response.ContentLength = size;
                for (var offset = 0; offset < size; offset += 100_000)
                    await context.Response.Body.WriteAsync(data.AsMemory(offset, Math.Min(100_000, size - offset)));
            });
            app.MapGet("/cookies", (HttpContext context) =>
            {
                context.Response.Headers.Append("Set-Cookie", "a=1; path=/");
                context.Response.Headers.Append("Set-Cookie", "b=2, still b; path=/; httponly");
                return "cookies";
            });
            app.MapGet("/events", async (string id, HttpContext context) =>
            {
                context.Response.ContentType = "text/event-stream";
                await context.Response.WriteAsync("data: one\n\n");
                await context.Response.Body.FlushAsync();
                await Gate(id).Task.WaitAsync(context.RequestAborted);
                await context.Response.WriteAsync("data: two\n\n");
            });
            app.MapGet("/no-upgrade", (HttpContext context) =>
            {
                context.Response.Headers["X-Refused"] = "yes";
                var seen = new[] { "Connection", "Upgrade", "Sec-WebSocket-Key" }
                    .ToDictionary(name => name, name => context.Request.Headers[name].ToString());
                return Results.Json(seen, statusCode: 403);
            });
            app.Map("/ws", async (HttpContext context) =>
            {
                if (!context.WebSockets.IsWebSocketRequest)
                {
                    context.Response.StatusCode = 400;
                    return;
                }
                using var socket = await context.WebSockets.AcceptWebSocketAsync(context.WebSockets.WebSocketRequestedProtocols.FirstOrDefault());
                var buffer = new byte[16 * 1024];
                while (true)
                {
                    var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseAsync(result.CloseStatus!.Value, result.CloseStatusDescription, context.RequestAborted);
                        return;
                    }
                    await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted);
                }
            });
        }
    }

    public sealed class Fixture : IAsyncLifetime
    {
        private static readonly ForwardOptions Strict = new() { PassAuthorization = false, PassCookies = false, KeepHost = false };
        private static readonly ForwardOptions CustomUnreachable = new()
        {
            OnUnreachable = context =>
            {
                context.Response.StatusCode = 503;
                return context.Response.WriteAsync("custom");
            },
        };

        private readonly ConcurrentDictionary<string, ForwardResult> _results = new();
        private readonly HttpForwarder _forwarder = new();
        private readonly TcpListener _breaking = new(IPAddress.Loopback, 0);
        private Task? _breakingLoop;
        private WebApplication? _backend;
        private WebApplication? _front;

        public Backend Backend { get; } = new();
        public Uri BackendAddress { get; private set; } = null!;
        public Uri FrontAddress { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            _backend = CreateApp();
            Backend.Map(_backend);
            await _backend.StartAsync();
            BackendAddress = new Uri(_backend.Urls.First());
            var down = new Uri($"http://127.0.0.1:{UnusedPort()}/");
            _breaking.Start();
            _breakingLoop = BreakEveryResponseAsync();
            var breaking = new Uri($"http://{_breaking.LocalEndpoint}/");

            _front = CreateApp();
            _front.Map("/strict/{**path}", (string? path, HttpContext context) => ForwardAsync(context, BackendAddress, path, Strict));
            _front.Map("/breaking/{**path}", (string? path, HttpContext context) => ForwardAsync(context, breaking, path, ForwardOptions.Default));
            _front.Map("/down/{**path}", (string? path, HttpContext context) => ForwardAsync(context, down, path, ForwardOptions.Default));
            _front.Map("/down-custom/{**path}", (string? path, HttpContext context) => ForwardAsync(context, down, path, CustomUnreachable));
            _front.Map("/{**path}", (string? path, HttpContext context) => ForwardAsync(context, BackendAddress, path, ForwardOptions.Default));
            await _front.StartAsync();
            FrontAddress = new Uri(_front.Urls.First());
        }

        public async Task DisposeAsync()
        {
            if (_front is not null)
                await _front.DisposeAsync();
            if (_backend is not null)
                await _backend.DisposeAsync();
            _breaking.Stop();
            if (_breakingLoop is not null)
                await _breakingLoop;
            _forwarder.Dispose();
        }

        public HttpClient Client() =>
            new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false }) { BaseAddress = FrontAddress };

        public Uri WebSocketUri(string path) => new($"ws://{FrontAddress.Authority}/{path}");

        /// <summary>Waits for the forwarder's result for a backend path and query (the last one forwarded) to match.</summary>
        public Task ResultOfAsync(string backendPath, Func<ForwardResult, bool> match) =>
            Eventually.TrueAsync(() => Task.FromResult(_results.TryGetValue(backendPath, out var result) && match(result)));

        private async Task ForwardAsync(HttpContext context, Uri backend, string? path, ForwardOptions options)
        {
            var target = new Uri(backend, (path ?? "") + context.Request.QueryString);
            var result = await _forwarder.ForwardAsync(context, target, options);
            _results[target.PathAndQuery] = result;
        }

        /// <summary>
        /// A backend that sends its headers and part of a chunked body, then closes in order (FIN, so everything
        /// sent arrives): only the missing last chunk says the response was cut short.
        /// </summary>
        private async Task BreakEveryResponseAsync()
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _breaking.AcceptSocketAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
                using (socket)
                {
                    var request = new byte[16 * 1024];
                    var received = 0;
                    while (!Encoding.ASCII.GetString(request, 0, received).Contains("\r\n\r\n", StringComparison.Ordinal))
                        received += await socket.ReceiveAsync(request.AsMemory(received), SocketFlags.None);
                    var chunk = new string('x', 10_000);
                    await socket.SendAsync(Encoding.ASCII.GetBytes(
                        $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n{chunk.Length:x}\r\n{chunk}\r\n"), SocketFlags.None);
                    socket.Shutdown(SocketShutdown.Send);
                }
            }
        }

        private static WebApplication CreateApp()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            return builder.Build();
        }

        private static int UnusedPort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
