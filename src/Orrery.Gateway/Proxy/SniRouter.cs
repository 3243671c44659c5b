using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Orrery.Gateway.Proxy;

/// <summary>
/// Decides what a new connection is from its first bytes, without consuming them (MSG_PEEK): a TLS ClientHello whose
/// SNI is <c>daskgateway-&lt;cluster&gt;</c> is relayed, TLS and all, to that cluster's scheduler (TLS ends at the
/// scheduler, which checks the client certificate); plain HTTP and other TLS go to Kestrel with every byte still
/// unread; malformed, unknown or too slow first bytes close the connection.
/// </summary>
internal sealed class SniRouter(ClusterRoutes routes, SniProxyOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>How long to wait before peeking again at a ClientHello that has only partly arrived.</summary>
    private static readonly TimeSpan PartialHelloPause = TimeSpan.FromMilliseconds(5);

    /// <summary>Routes one accepted connection; true when it is Kestrel's to serve.</summary>
    public async Task<bool> RouteAsync(Socket connection, CancellationToken closing)
    {
        var id = connection.RemoteEndPoint?.ToString() ?? "?";
        var (status, serverName) = await PeekAsync(connection, id, closing);
        switch (status)
        {
            case ClientHelloStatus.NotTls:
                return true;
            case ClientHelloStatus.Incomplete:
                connection.Dispose();
                return false;
            case ClientHelloStatus.Malformed:
                logger.MalformedHello(id);
                connection.Dispose();
                return false;
        }
        if (serverName is null || !serverName.StartsWith(SniProxyOptions.SniPrefix, StringComparison.Ordinal))
            return true;
        var cluster = serverName[SniProxyOptions.SniPrefix.Length..];
        if (!routes.TryGetScheduler(cluster, out var scheduler))
        {
            logger.UnknownCluster(id, cluster);
            connection.Dispose();
            return false;
        }
        await RelayAsync(connection, id, cluster, scheduler, closing);
        return false;
    }

    /// <summary>
    /// Peeks until the first record is complete or clearly not TLS. Incomplete means the client closed early, was
    /// too slow, or the server is closing; the reason is logged here.
    /// </summary>
    private async Task<(ClientHelloStatus, string?)> PeekAsync(Socket connection, string id, CancellationToken closing)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ClientHello.MaxRecordLength);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(closing);
        deadline.CancelAfter(options.FirstBytesTimeout);
        var peeked = 0;
        try
        {
            while (true)
            {
                // A zero-byte receive waits for data without consuming any.
                await connection.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, deadline.Token);
                var available = await connection.ReceiveAsync(buffer.AsMemory(0, ClientHello.MaxRecordLength), SocketFlags.Peek, deadline.Token);
                var status = ClientHello.TryReadServerName(buffer.AsSpan(0, available), out var serverName);
                if (status != ClientHelloStatus.Incomplete)
                    return (status, serverName);
                if (available == peeked)
                {
                    // Nothing new: either the client has closed after a partial record, or more is on its way.
                    // Peeking returns at once while unread bytes wait, so pause instead of spinning.
                    if (available == 0)
                        break;
                    await Task.Delay(PartialHelloPause, time, deadline.Token);
                }
                peeked = available;
            }
            logger.ClosedEarly(id);
        }
        catch (OperationCanceledException) when (!closing.IsCancellationRequested)
        {
            logger.FirstBytesTimedOut(id, options.FirstBytesTimeout);
        }
        catch (Exception e) when (SocketRelay.IsConnectionFailure(e))
        {
            logger.PeekFailed(id, e.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return (ClientHelloStatus.Incomplete, null);
    }

    private async Task RelayAsync(Socket client, string id, string cluster, IPEndPoint endpoint, CancellationToken closing)
    {
        using var scheduler = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var connectDeadline = CancellationTokenSource.CreateLinkedTokenSource(closing);
            connectDeadline.CancelAfter(options.ConnectTimeout);
            await scheduler.ConnectAsync(endpoint, connectDeadline.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            var reason = e is OperationCanceledException ? $"no answer within {options.ConnectTimeout}" : e.Message;
            logger.SchedulerUnreachable(id, cluster, endpoint, reason);
            client.Dispose();
            return;
        }

        logger.Proxying(id, cluster, endpoint);
        var relay = new SocketRelay(client, scheduler);
        await using (closing.Register(static state => ((SocketRelay)state!).BreakOff("the server is stopping"), relay))
            await relay.RunAsync();
        if (relay.BrokenBecause is { } brokenBecause)
            logger.BrokenOff(id, cluster, brokenBecause);
        else
            logger.Finished(id, cluster, relay.ToSecond, relay.ToFirst);
    }
}
