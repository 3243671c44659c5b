using System.Net.Sockets;

namespace Orrery.Gateway.Proxy;

/// <summary>
/// Copies bytes both ways between two connected sockets until both directions reach end of stream, passing each
/// end of stream on as a half-close. A failure in either direction ends both. Disposes both sockets when done.
/// </summary>
internal sealed class SocketRelay(Socket first, Socket second)
{
    /// <summary>
    /// Large enough that a bulk transfer moves in few system calls (Kestrel's 4 KiB reads were the bottleneck);
    /// held only while a connection relays, one per direction.
    /// </summary>
    private const int BufferSize = 128 * 1024;

    private string? _brokenBecause;

    public long ToSecond { get; private set; }
    public long ToFirst { get; private set; }

    /// <summary>Why the relay was broken off, or null when both sides finished normally.</summary>
    public string? BrokenBecause => Volatile.Read(ref _brokenBecause);

    public async Task RunAsync()
    {
        try
        {
            var forward = CopyAsync(first, second, n => ToSecond += n);
            var back = CopyAsync(second, first, n => ToFirst += n);
            await Task.WhenAll(forward, back);
        }
        finally
        {
            first.Dispose();
            second.Dispose();
        }
    }

    /// <summary>Ends both directions at once: on a failure in either, or when the server stops.</summary>
    public void BreakOff(string reason)
    {
        if (Interlocked.CompareExchange(ref _brokenBecause, reason, null) is not null)
            return;
        first.Dispose();
        second.Dispose();
    }

    private async Task CopyAsync(Socket from, Socket to, Action<int> count)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(BufferSize);
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                    break;
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                count(read);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            BreakOff(e.Message);
        }
    }

    /// <summary>
    /// Reset, abort, disposal and cancellation: what a connection going away looks like. These end a connection,
    /// never the server.
    /// </summary>
    public static bool IsConnectionFailure(Exception e) =>
        e is IOException or SocketException or ObjectDisposedException or OperationCanceledException;
}
