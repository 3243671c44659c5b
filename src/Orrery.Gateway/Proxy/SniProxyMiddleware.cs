using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Orrery.Gateway.Proxy;

/// <summary>
/// Kestrel connection middleware for the dask_gateway scheduler proxy (protocol notes §5.3, §5.6). It peeks at a new
/// connection's first bytes without consuming them. A TLS ClientHello whose SNI is <c>daskgateway-&lt;cluster&gt;</c>
/// is spliced, TLS and all, to that cluster's scheduler (TLS ends at the scheduler, which checks the client
/// certificate). Anything else (plain HTTP, other TLS) goes on to the next middleware untouched. Malformed, unknown
/// or too slow first bytes close the connection. Each connection waits on its own; nothing is shared but the route table.
/// </summary>
internal sealed class SniProxyMiddleware(ClusterRoutes routes, SniProxyOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>Chunk size for scheduler-to-client copies; a buffer is rented only while data is waiting.</summary>
    private const int BufferSize = 64 * 1024;

    public async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        var (decision, cluster, scheduler) = await PeekAsync(context);
        switch (decision)
        {
            case Decision.Pass:
                await next(context);
                break;
            case Decision.Proxy:
                await ProxyAsync(context, cluster!, scheduler!);
                break;
            default:
                context.Abort(new ConnectionAbortedException("Not a connection the scheduler proxy accepts."));
                break;
        }
    }

    private enum Decision { Pass, Proxy, Close }

    /// <summary>Reads until the first record is complete (or clearly not TLS) and leaves every byte unconsumed.</summary>
    private async Task<(Decision, string?, IPEndPoint?)> PeekAsync(ConnectionContext context)
    {
        var input = context.Transport.Input;
        CancellationTokenSource? deadline = null;
        try
        {
            while (true)
            {
                if (!input.TryRead(out var result))
                {
                    deadline ??= new CancellationTokenSource(options.FirstBytesTimeout, time);
                    result = await input.ReadAsync(deadline.Token);
                }
                var buffer = result.Buffer;
                var status = ClientHello.TryReadServerName(buffer, out var serverName);
                if (status == ClientHelloStatus.Incomplete && !result.IsCompleted && !result.IsCanceled)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);   // examined, not consumed: wait for more
                    continue;
                }
                // Nothing examined either, so whoever reads next gets these bytes at once.
                input.AdvanceTo(buffer.Start);
                return Decide(context, status, serverName);
            }
        }
        catch (OperationCanceledException) when (deadline?.IsCancellationRequested == true)
        {
            logger.FirstBytesTimedOut(context.ConnectionId, options.FirstBytesTimeout);
            return (Decision.Close, null, null);
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            logger.PeekFailed(context.ConnectionId, e.Message);
            return (Decision.Close, null, null);
        }
        finally
        {
            deadline?.Dispose();
        }
    }

    private (Decision, string?, IPEndPoint?) Decide(ConnectionContext context, ClientHelloStatus status, string? serverName)
    {
        switch (status)
        {
            case ClientHelloStatus.NotTls:
                return (Decision.Pass, null, null);
            case ClientHelloStatus.Incomplete:
                logger.ClosedEarly(context.ConnectionId);
                return (Decision.Close, null, null);
            case ClientHelloStatus.Malformed:
                logger.MalformedHello(context.ConnectionId);
                return (Decision.Close, null, null);
        }
        if (serverName is null || !serverName.StartsWith(SniProxyOptions.SniPrefix, StringComparison.Ordinal))
            return (Decision.Pass, null, null);
        var cluster = serverName[SniProxyOptions.SniPrefix.Length..];
        if (!routes.TryGetScheduler(cluster, out var scheduler))
        {
            logger.UnknownCluster(context.ConnectionId, cluster);
            return (Decision.Close, null, null);
        }
        return (Decision.Proxy, cluster, scheduler);
    }

    private async Task ProxyAsync(ConnectionContext context, string cluster, IPEndPoint endpoint)
    {
        using var scheduler = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var connectDeadline = new CancellationTokenSource(options.ConnectTimeout, time);
            await scheduler.ConnectAsync(endpoint, connectDeadline.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            var reason = e is OperationCanceledException ? $"no answer within {options.ConnectTimeout}" : e.Message;
            logger.SchedulerUnreachable(context.ConnectionId, cluster, endpoint, reason);
            context.Abort(new ConnectionAbortedException("The cluster's scheduler is unreachable."));
            return;
        }

        logger.Proxying(context.ConnectionId, cluster, endpoint);
        var splice = new Splice(context, scheduler, cluster, logger);
        using var stopping = context.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested
            .Register(static state => ((Splice)state!).BreakOff("the server is stopping"), splice);
        var toScheduler = splice.ClientToSchedulerAsync();
        var toClient = splice.SchedulerToClientAsync();
        await Task.WhenAll(toScheduler, toClient);
        if (!splice.IsBroken)
            logger.Finished(context.ConnectionId, cluster, toScheduler.Result, toClient.Result);
    }

    /// <summary>
    /// Reset, abort, disposal and cancellation: what a connection going away looks like. These end a connection,
    /// never the server, and are logged at Debug.
    /// </summary>
    private static bool IsConnectionFailure(Exception e) =>
        e is IOException or SocketException or ObjectDisposedException or OperationCanceledException;

    /// <summary>The two copy loops of one proxied connection, with half-close at each EOF.</summary>
    private sealed class Splice(ConnectionContext context, Socket scheduler, string cluster, ILogger logger)
    {
        private int _broken;

        public bool IsBroken => Volatile.Read(ref _broken) != 0;

        /// <summary>Ends both directions at once: on a failure in either, or when the server stops.</summary>
        public void BreakOff(string reason)
        {
            if (Interlocked.Exchange(ref _broken, 1) != 0)
                return;
            logger.BrokenOff(context.ConnectionId, cluster, reason);
            scheduler.Dispose();
            context.Abort(new ConnectionAbortedException("The scheduler proxy connection was broken off: " + reason));
        }

        /// <summary>Kestrel's input pipe to the scheduler socket; the first bytes sent are the peeked ClientHello.</summary>
        public async Task<long> ClientToSchedulerAsync()
        {
            var input = context.Transport.Input;
            long total = 0;
            try
            {
                while (true)
                {
                    var result = await input.ReadAsync();
                    var buffer = result.Buffer;
                    foreach (var segment in buffer)
                        await scheduler.SendAsync(segment, SocketFlags.None);
                    total += buffer.Length;
                    input.AdvanceTo(buffer.End);
                    if (result.IsCompleted || result.IsCanceled)
                        break;
                }
                scheduler.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (IsConnectionFailure(e))
            {
                BreakOff(e.Message);
            }
            return total;
        }

        /// <summary>
        /// The scheduler socket to the client. Kestrel's socket transport closes the whole connection when its
        /// output pipe completes, so where the client socket is available the data goes straight to it and EOF
        /// becomes a real half-close (shutdown of the send side); otherwise through the output pipe.
        /// </summary>
        public async Task<long> SchedulerToClientAsync()
        {
            try
            {
                return context.Features.Get<IConnectionSocketFeature>()?.Socket is { } client
                    ? await CopyToSocketAsync(client)
                    : await CopyToPipeAsync(context.Transport.Output);
            }
            catch (Exception e) when (IsConnectionFailure(e))
            {
                BreakOff(e.Message);
                return 0;
            }
        }

        private async Task<long> CopyToSocketAsync(Socket client)
        {
            long total = 0;
            while (true)
            {
                // Wait for data without holding a buffer, as Kestrel does: idle connections cost no memory.
                await scheduler.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                try
                {
                    var read = await scheduler.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
                    if (read == 0)
                        break;
                    await client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                    total += read;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            client.Shutdown(SocketShutdown.Send);
            return total;
        }

        private async Task<long> CopyToPipeAsync(PipeWriter output)
        {
            long total = 0;
            while (true)
            {
                var read = await scheduler.ReceiveAsync(output.GetMemory(BufferSize), SocketFlags.None);
                if (read == 0)
                    break;
                output.Advance(read);
                total += read;
                var flushed = await output.FlushAsync();
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    BreakOff("the client connection is gone");
                    return total;
                }
            }
            await output.CompleteAsync();
            return total;
        }
    }
}
