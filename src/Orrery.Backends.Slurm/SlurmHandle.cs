using System.Text.Json;
using Orrery.Core.Compute;

namespace Orrery.Backends.Slurm;

/// <summary>What finds a Slurm resource again after a restart: the job id and its directory.</summary>
internal sealed record SlurmHandle(string JobId, string Dir)
{
    public string Serialize() => JsonSerializer.Serialize(this);

    public static SlurmHandle Parse(BackendHandle handle) =>
        JsonSerializer.Deserialize<SlurmHandle>(handle.Value) ?? throw new ArgumentException("not a Slurm handle", nameof(handle));
}
