using System.Text.Json;
using Orrery.Compute;
using Orrery.Core.Compute;
using Orrery.Jobs.Api;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Running;

/// <summary>
/// One attempt's launch spec: argv = command + args (Kubernetes semantics, no image entrypoint on the host), the
/// job's environment, and the attempt's fresh working directory (kbatch's <c>/code</c>). HOME is that directory
/// too: a job does not get the user's home. The image runs the job when it names an environment (fixed at submit), or
/// on the container backend; on a host backend a plain image is only recorded and exported (JUPYTER_IMAGE).
/// </summary>
public static class JobLaunch
{
    public static LaunchSpec Spec(BatchJob job, JobPod pod, string workingDirectory, IReadOnlyDictionary<string, string> placement, string backend)
    {
        var command = job.CommandJson is null ? [] : JsonSerializer.Deserialize<List<string>>(job.CommandJson)!;
        var args = job.ArgsJson is null ? [] : JsonSerializer.Deserialize<List<string>>(job.ArgsJson)!;
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["HOME"] = workingDirectory };
        foreach (var variable in JsonSerializer.Deserialize<List<EnvVar>>(job.EnvJson)!)
            env[variable.Name] = variable.Value;   // a later duplicate wins, as in Kubernetes
        return new LaunchSpec(ComputeService.NewId(ResourceKind.Job), [.. command, .. args], env, workingDirectory)
        {
            Resources = new ResourceRequest(job.Cores, job.MemoryBytes),
            Placement = placement,
            Image = ContainerImages.For(job.EnvironmentId, job.Image, backend),
        };
    }
}
