using Microsoft.EntityFrameworkCore;
using Orrery.Core.Environments;
using Orrery.Gateway.Api;
using Orrery.Hub.Auth;
using Orrery.Storage;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// The environment a new cluster runs in, from its <c>image</c> option (what <c>DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE</c>
/// sets: a server passes its own environment, so its clusters match it). Fixed at creation, so a rebuilt environment
/// of the same name never mixes versions inside one cluster. A cluster created from a server whose python, dask or
/// distributed differ from the cluster's gets a warning before anything runs.
/// </summary>
public static class ClusterEnvironment
{
    public static async Task<(string? EnvironmentId, string? Warning)> ChooseAsync(IEnvironments environments, OrreryDb db, Caller caller,
        string image, CancellationToken cancellationToken)
    {
        EnvironmentInfo? chosen = null;
        if (image.Length > 0)
        {
            var found = await environments.FindAsync(caller.User.Id, image, cancellationToken);
            if (found.Error is { } error)
                throw new GatewayApiException(422, $"image: {error}");
            chosen = found.Environment;
        }
        if (caller.ServerId is not { } serverId)
            return (chosen?.Id, null);
        var serverEnvironment = await db.Servers.AsNoTracking().Where(s => s.Id == serverId).Select(s => s.EnvironmentId).FirstOrDefaultAsync(cancellationToken);
        // The server's own environment, by id: it may be a profile default the user could not name themselves.
        var serverVersions = serverEnvironment is null ? await environments.HostVersionsAsync(cancellationToken)
            : (await environments.ByIdAsync(serverEnvironment, cancellationToken))?.Versions ?? new Dictionary<string, string>();
        var clusterVersions = chosen?.Versions ?? await environments.HostVersionsAsync(cancellationToken);
        var differences = EnvironmentVersions.Differences(clusterVersions, serverVersions);
        return (chosen?.Id, differences is null ? null
            : $"This cluster's environment ({chosen?.Name ?? "the host's"}) differs from its server's ({serverEnvironment ?? "the host's"}): {differences}. "
              + "Results may differ or fail to deserialise between them; create the cluster with the server's environment to match.");
    }
}
