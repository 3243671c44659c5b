using System.Buffers;

namespace Orrery.Hub.Proxy;

/// <summary>
/// After a 101: copies bytes both ways between the client's upgraded connection and the backend's, without looking
/// at WebSocket frames (so extensions such as permessage-deflate pass untouched). When either side ends or fails,
/// both are closed: an upgraded HTTP/1.1 connection has no useful half-open state (WebSocket closes in-band).
/// </summary>
internal static class WebSocketTunnel
{
    private const int BufferSize = 32 * 1024;

    /// <summary>Runs until either side ends; returns the failure that ended it, or null for an orderly end.</summary>
    public static async Task<Exception?> RunAsync(Stream client, Stream backend, CancellationToken aborted)
    {
        // The backend connection is ours to close; Kestrel closes the client's when the request ends.
        await using (backend)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            var toBackend = PumpAsync(client, backend, stop.Token);
            var toClient = PumpAsync(backend, client, stop.Token);
            var first = await Task.WhenAny(toBackend, toClient);
            await stop.CancelAsync();
            await (first == toBackend ? toClient : toBackend);
            return await first;
        }
    }

    /// <summary>Copies until end of stream (null) or a failure (returned; cancellation counts as an orderly end).</summary>
    private static async Task<Exception?> PumpAsync(Stream from, Stream to, CancellationToken stop)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, stop)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read), stop);
                await to.FlushAsync(stop);
            }
            return null;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            return e;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
