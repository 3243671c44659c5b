namespace Orrery.Core.Ownership;

/// <summary>
/// Things a personal server's token created (Dask clusters, jobs) that end with the server unless their owner
/// marked them to keep running. The servers module calls every registered implementation when a server stops.
/// </summary>
public interface IServerDependents
{
    /// <summary>Asks every dependent of <paramref name="serverId"/> not marked to keep running to stop; returns how many.</summary>
    Task<int> StopForServerAsync(long serverId, string reason, CancellationToken cancellationToken);
}
