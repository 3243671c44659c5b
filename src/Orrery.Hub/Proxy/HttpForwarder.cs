using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Orrery.Hub.Proxy;

/// <summary>What the caller wants passed on besides the request itself.</summary>
public sealed record ForwardOptions
{
    /// <summary>JupyterHub's proxy contract: everything passed through, Host kept, X-Forwarded-* added.</summary>
    public static ForwardOptions Default { get; } = new();

    public bool PassAuthorization { get; init; } = true;
    public bool PassCookies { get; init; } = true;

    /// <summary>Adds X-Forwarded-For (appended to the client's), X-Forwarded-Proto and X-Forwarded-Host.</summary>
    public bool AddForwardedHeaders { get; init; } = true;

    /// <summary>Sends the client's Host; otherwise the target's authority.</summary>
    public bool KeepHost { get; init; } = true;

    /// <summary>Answers the client when the backend gave no response headers; default: 502 with a line of text.</summary>
    public Func<HttpContext, Task>? OnUnreachable { get; init; }
}

public enum ForwardOutcome
{
    /// <summary>The backend's response was relayed in full.</summary>
    Forwarded,
    /// <summary>The backend switched protocols (101) and the tunnel has ended.</summary>
    Upgraded,
    /// <summary>No response headers from the backend (refused, connect timeout, reset); the client got a 502.</summary>
    Unreachable,
    /// <summary>The backend failed after its headers; the client's connection was aborted so it sees a cut-off response.</summary>
    BackendFailed,
    /// <summary>The client went away, or its request body was broken (then Kestrel's 4xx was answered). Not an error.</summary>
    ClientAborted,
}

/// <param name="StatusCode">The status the client was sent, or 0 if it got none.</param>
public readonly record struct ForwardResult(ForwardOutcome Outcome, int StatusCode, Exception? Error = null);

/// <summary>
/// A small streaming reverse forwarder (what YARP would do, which this machine cannot install): bodies stream both
/// ways without being buffered, responses are flushed as they arrive (server-sent events), and HTTP/1.1 upgrades
/// (WebSockets) become a byte tunnel. Shared by every proxy in Orrery; the caller decides the target and the rules.
/// </summary>
public sealed class HttpForwarder : IDisposable
{
    private const int BufferSize = 64 * 1024;

    /// <summary>Never forwarded: they describe one connection, not the message (RFC 9110 §7.6.1).</summary>
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
    };

    private static readonly HashSet<string> NoNames = [];

    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        // The backend sees the client's request as sent: no proxy, no redirects followed, bodies left encoded,
        // cookies passed as headers rather than kept in a jar shared by all users.
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        // No trace headers of our own: the client's (if any) are passed on unchanged.
        ActivityHeadersPropagator = null,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        // No overall timeout (HttpMessageInvoker has none): streams and WebSockets live as long as they are used.
    }, disposeHandler: true);

    /// <summary>
    /// Forwards the current request to <paramref name="target"/> (absolute, with path and query) and relays the
    /// answer. Connection failures and client aborts are reported in the result, never thrown.
    /// </summary>
    public async Task<ForwardResult> ForwardAsync(HttpContext context, Uri target, ForwardOptions options)
    {
        var aborted = context.RequestAborted;
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        var isUpgrade = upgrade?.IsUpgradableRequest == true;
        using var request = CreateRequest(context, target, options, isUpgrade);

        HttpResponseMessage response;
        try
        {
            // HttpMessageInvoker returns at the response headers and never buffers the body.
            response = await _client.SendAsync(request, aborted);
        }
        catch (Exception e) when (aborted.IsCancellationRequested)
        {
            return new ForwardResult(ForwardOutcome.ClientAborted, 0, e);
        }
        catch (Exception e) when (FindBadRequest(e) is { } bad)
        {
            // Reading the client's body failed (too large, cut short): the client's fault, answered as Kestrel would.
            context.Response.StatusCode = bad.StatusCode;
            return new ForwardResult(ForwardOutcome.ClientAborted, bad.StatusCode, e);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            await (options.OnUnreachable ?? AnswerBadGateway)(context);
            return new ForwardResult(ForwardOutcome.Unreachable, context.Response.StatusCode, e);
        }

        using (response)
        {
            if (isUpgrade && response.StatusCode == HttpStatusCode.SwitchingProtocols)
            {
                CopyResponseHeaders(response, context.Response.Headers);
                // Kestrel writes the 101 with Connection: Upgrade; the protocol name is ours to pass on.
                context.Response.Headers.Upgrade = ValuesOf(response.Headers.NonValidated, "Upgrade");
                var clientStream = await upgrade!.UpgradeAsync();
                // SocketsHttpHandler hands over the connection itself as the content of a 101: read and write.
                var backendStream = await response.Content.ReadAsStreamAsync(aborted);
                var error = await WebSocketTunnel.RunAsync(clientStream, backendStream, aborted);
                return new ForwardResult(ForwardOutcome.Upgraded, StatusCodes.Status101SwitchingProtocols, error);
            }

            context.Response.StatusCode = (int)response.StatusCode;
            CopyResponseHeaders(response, context.Response.Headers);
            return await CopyResponseBodyAsync(context, response);
        }
    }

    public void Dispose() => _client.Dispose();

    private static HttpRequestMessage CreateRequest(HttpContext context, Uri target, ForwardOptions options, bool isUpgrade)
    {
        var incoming = context.Request;
        var request = new HttpRequestMessage(new HttpMethod(incoming.Method), target)
        {
            // Backends are plain-HTTP servers on this machine or cluster; upgrades exist only in HTTP/1.1.
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var canHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody
            ?? (incoming.ContentLength > 0 || incoming.Headers.TransferEncoding.Count > 0);
        if (canHaveBody && !isUpgrade)
            request.Content = new StreamContent(incoming.Body, BufferSize);

        var skip = ListedIn(incoming.Headers.Connection);
        foreach (var (name, values) in incoming.Headers)
        {
            if (HopByHop.Contains(name) || skip.Contains(name) || name.Equals("Host", StringComparison.OrdinalIgnoreCase)
                || (!options.PassAuthorization && name.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
                || (options.AddForwardedHeaders && name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase)))
                continue;
            if (name.Equals("Cookie", StringComparison.OrdinalIgnoreCase))
            {
                // HTTP/2 clients may send several cookie fields; HTTP/1.1 allows one, joined with "; ".
                if (options.PassCookies)
                    request.Headers.TryAddWithoutValidation(name, string.Join("; ", values.ToArray()));
                continue;
            }
            // Content-Type, Content-Length and the like belong to the content (and are dropped without a body).
            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }

        if (options.KeepHost && incoming.Host.HasValue)
            request.Headers.Host = incoming.Host.Value;
        if (options.AddForwardedHeaders)
        {
            var client = context.Connection.RemoteIpAddress?.ToString();
            var forwardedFor = incoming.Headers["X-Forwarded-For"].ToString();
            if (client is not null)
                forwardedFor = forwardedFor.Length == 0 ? client : forwardedFor + ", " + client;
            if (forwardedFor.Length > 0)
                request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
            request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", incoming.Scheme);
            if (incoming.Host.HasValue)
                request.Headers.TryAddWithoutValidation("X-Forwarded-Host", incoming.Host.Value);
        }
        if (isUpgrade)
        {
            // The two hop-by-hop headers an upgrade needs; Sec-WebSocket-* went through above.
            request.Headers.TryAddWithoutValidation("Connection", "Upgrade");
            request.Headers.TryAddWithoutValidation("Upgrade", (IEnumerable<string?>)incoming.Headers.Upgrade);
        }
        return request;
    }

    private static void CopyResponseHeaders(HttpResponseMessage response, IHeaderDictionary headers)
    {
        // NonValidated: the backend's values as sent (no parsing and re-formatting); each Set-Cookie stays separate.
        var skip = ListedIn(ValuesOf(response.Headers.NonValidated, "Connection"));
        foreach (var (name, values) in response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated))
            if (!HopByHop.Contains(name) && !skip.Contains(name))
                headers[name] = values.Count == 1 ? new StringValues(values.ToString()) : new StringValues(values.ToArray());
    }

    private static async Task<ForwardResult> CopyResponseBodyAsync(HttpContext context, HttpResponseMessage response)
    {
        var aborted = context.RequestAborted;
        var status = context.Response.StatusCode;
        // No buffering anywhere on the way out (e.g. response compression), so each chunk leaves as it arrives.
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            // A response of unknown length may be an event stream that is quiet at first: send its headers now.
            if (response.Content.Headers.ContentLength is null)
                await context.Response.StartAsync(aborted);
            await using var body = await response.Content.ReadAsStreamAsync(aborted);
            while (true)
            {
                int read;
                try
                {
                    read = await body.ReadAsync(buffer, aborted);
                }
                catch (Exception e) when (!aborted.IsCancellationRequested)
                {
                    // Ending normally would let a chunked response look complete; abort so the client sees the cut.
                    context.Abort();
                    return new ForwardResult(ForwardOutcome.BackendFailed, status, e);
                }
                if (read == 0)
                    return new ForwardResult(ForwardOutcome.Forwarded, status);
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), aborted);
                await context.Response.Body.FlushAsync(aborted);
            }
        }
        catch (Exception e) when (aborted.IsCancellationRequested)
        {
            return new ForwardResult(ForwardOutcome.ClientAborted, status, e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Task AnswerBadGateway(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status502BadGateway;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("Bad gateway: the backend did not answer.\n", context.RequestAborted);
    }

    private static BadHttpRequestException? FindBadRequest(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is BadHttpRequestException bad)
                return bad;
        return null;
    }

    /// <summary>Header names a Connection header lists: hop-by-hop for this one message.</summary>
    private static HashSet<string> ListedIn(StringValues connection)
    {
        if (StringValues.IsNullOrEmpty(connection))
            return NoNames;
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var value in connection)
            foreach (var name in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                names.Add(name);
        return names;
    }

    private static StringValues ValuesOf(HttpHeadersNonValidated headers, string name) =>
        headers.TryGetValues(name, out var values) ? new StringValues(values.ToArray()) : StringValues.Empty;
}
