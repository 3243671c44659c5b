using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace Orrery.Gateway.Proxy;

/// <summary>
/// One listening socket. An accept loop takes connections as they come and routes each on its own task, so a slow
/// client never holds up the next; connections for Kestrel queue up for <see cref="AcceptAsync"/>.
/// </summary>
internal sealed class SniProxyListener : IConnectionListener
{
    private readonly Socket _listen;
    private readonly SniRouter _router;
    private readonly SocketConnectionContextFactory _kestrelConnections;
    private readonly Channel<ConnectionContext> _forKestrel = Channel.CreateUnbounded<ConnectionContext>();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _acceptLoop;

    private SniProxyListener(Socket listen, SniRouter router, ILoggerFactory loggers)
    {
        _listen = listen;
        _router = router;
        EndPoint = listen.LocalEndPoint!;
        _kestrelConnections = new SocketConnectionContextFactory(
            new SocketConnectionFactoryOptions(), loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public EndPoint EndPoint { get; }

    public static SniProxyListener Bind(IPEndPoint endpoint, SniRouter router, ILoggerFactory loggers)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.Address.Equals(IPAddress.IPv6Any))
            socket.DualMode = true;
        try
        {
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            // Kestrel turns this exception type into its "address already in use" message.
            throw new AddressInUseException(e.Message, e);
        }
        return new SniProxyListener(socket, router, loggers);
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _forKestrel.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException)
        {
            return null;   // unbound: Kestrel stops asking
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = await _listen.AcceptAsync(_closing.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                continue;   // gone before we got to it
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException or SocketException)
            {
                break;
            }
            connection.NoDelay = true;
            _ = RouteAsync(connection);
        }
        _forKestrel.Writer.TryComplete();
    }

    private async Task RouteAsync(Socket connection)
    {
        var forKestrel = await _router.RouteAsync(connection, _closing.Token);
        if (forKestrel && !_forKestrel.Writer.TryWrite(_kestrelConnections.Create(connection)))
            connection.Dispose();
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _listen.Dispose();
        await _acceptLoop;
    }

    /// <summary>Also breaks off the scheduler connections in flight: they are this listener's, not Kestrel's.</summary>
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        _listen.Dispose();
        await _acceptLoop;
        _kestrelConnections.Dispose();
    }
}
