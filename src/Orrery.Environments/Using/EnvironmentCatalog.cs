using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Compute;
using Orrery.Core.Environments;
using Orrery.Environments.Building;
using Orrery.Environments.Specs;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Environments.Using;

/// <summary>
/// Environments for the modules that run things: finds the one a reference names for a user (own first, then
/// shared with one of their groups; by name or content id), and at launch makes it runnable on the chosen backend.
/// </summary>
public sealed class EnvironmentCatalog(OrreryDb db, EnvironmentFiles files, ComputeBackends backends, IOptions<EnvironmentsOptions> options)
    : IEnvironments
{
    private const string PodmanBackend = ContainerImages.Backend;
    private const string HostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private static Task<IReadOnlyDictionary<string, string>>? s_hostVersions;

    public async Task<EnvironmentLookup> FindAsync(long userId, string reference, CancellationToken cancellationToken)
    {
        var user = await db.Users.AsNoTracking().Where(u => u.Id == userId)
            .Select(u => new { u.Admin, Groups = u.Groups.Select(g => g.Name).ToList() }).FirstOrDefaultAsync(cancellationToken);
        var named = db.Environments.AsNoTracking().Where(e => e.ContentId == reference || e.Name == reference);
        var usable = await named.Where(EnvironmentAccess.VisibleTo(userId, user?.Admin == true, user?.Groups ?? []))
            .OrderByDescending(e => e.OwnerId == userId).ThenByDescending(e => e.Id).ToListAsync(cancellationToken);
        if (usable.Count == 0)
            return await named.AnyAsync(cancellationToken)
                ? new EnvironmentLookup(null, $"environment '{reference}' is not shared with you")
                : EnvironmentLookup.None;
        if (usable.FirstOrDefault(e => e.State == EnvironmentState.Ready) is { } ready)
            return ready.Kind == EnvironmentSpec.ImageKind && backends.Find(PodmanBackend) is null
                ? new EnvironmentLookup(null, $"environment '{reference}' is a container image, and this Orrery has no podman backend to run it (Orrery:Backends:Podman:Enabled)")
                : new EnvironmentLookup(Info(ready), null);
        var newest = usable[0];
        return new EnvironmentLookup(null, newest.State == EnvironmentState.Building
            ? $"environment '{reference}' is still building; use it once it is ready"
            : $"environment '{reference}' failed to build (step {newest.FailedStep}); see its build log");
    }

    public async Task<EnvironmentInfo?> ByIdAsync(string id, CancellationToken cancellationToken) =>
        await ReadyAsync(id, cancellationToken) is { } environment ? Info(environment) : null;

    private Task<SoftwareEnvironment?> ReadyAsync(string id, CancellationToken cancellationToken) =>
        db.Environments.AsNoTracking().Where(e => e.ContentId == id && e.State == EnvironmentState.Ready)
            .OrderByDescending(e => e.Id).FirstOrDefaultAsync(cancellationToken);

    public async Task<EnvironmentInfo?> DefaultForProfileAsync(string profile, CancellationToken cancellationToken)
    {
        var environment = await db.Environments.AsNoTracking()
            .Where(e => e.DefaultForProfile == profile && e.State == EnvironmentState.Ready)
            .OrderByDescending(e => e.Id).FirstOrDefaultAsync(cancellationToken);
        return environment is null ? null : Info(environment);
    }

    public Task<IReadOnlyDictionary<string, string>> HostVersionsAsync(CancellationToken cancellationToken) =>
        s_hostVersions ??= ReadHostVersionsAsync(options.Value.HostPython);

    public async Task<Realisation> RealiseAsync(LaunchSpec spec, string backend, CancellationToken cancellationToken)
    {
        if (spec.Image is not { } image || !ContentId.Looks(image))
            return new Realisation(spec, backend, null);
        var environment = await ReadyAsync(image, cancellationToken);
        if (environment is null)
            return new Realisation(null, backend, $"Environment {image} is not built (or was deleted).");
        var spec2 = SpecJson.Read(environment.SpecJson);
        var variables = new Dictionary<string, string>(spec2.Variables, StringComparer.Ordinal)
        {
            ["ORRERY_ENVIRONMENT"] = environment.Name,
            ["ORRERY_ENVIRONMENT_ID"] = environment.ContentId,
        };
        if (spec2.Welcome is { } welcome)
            variables["ORRERY_ENVIRONMENT_WELCOME"] = welcome;
        return environment.Kind == EnvironmentSpec.VenvKind ? OnHost(spec, backend, environment, variables) : InContainer(spec, backend, environment, variables);
    }

    private Realisation OnHost(LaunchSpec spec, string backend, SoftwareEnvironment environment, Dictionary<string, string> variables)
    {
        if (backend == PodmanBackend)
            return new Realisation(null, backend, $"Environment '{environment.Name}' is a virtual environment on this host; the podman backend runs container images. Run it on the local or slurm backend.");
        var bin = Path.Combine(files.Venv(environment.ContentId), "bin");
        variables["VIRTUAL_ENV"] = files.Venv(environment.ContentId);
        variables["PATH"] = bin + ":" + (System.Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } path ? path : HostPath);
        // A program given by absolute path (/usr/bin/dask) runs the environment's copy when it has one.
        var command = spec.Command.ToList();
        if (command.Count > 0 && Path.IsPathFullyQualified(command[0]) && File.Exists(Path.Combine(bin, Path.GetFileName(command[0]))))
            command[0] = Path.Combine(bin, Path.GetFileName(command[0]));
        return new Realisation(With(spec, command, variables) with { Image = null }, backend, null);
    }

    private Realisation InContainer(LaunchSpec spec, string backend, SoftwareEnvironment environment, Dictionary<string, string> variables)
    {
        // An image needs a container engine: whatever backend was chosen for a host process, it runs on podman.
        if (backend != PodmanBackend)
        {
            if (backends.Find(PodmanBackend) is null)
                return new Realisation(null, backend, $"Environment '{environment.Name}' is a container image, and this Orrery has no podman backend (Orrery:Backends:Podman:Enabled).");
            backend = PodmanBackend;
        }
        return new Realisation(With(spec, spec.Command, variables) with { Image = ImageBuild.PullName(environment.ContentId, options.Value) }, backend, null);
    }

    /// <summary>The environment's variables under the launch's own: what the launch sets wins.</summary>
    private static LaunchSpec With(LaunchSpec spec, IReadOnlyList<string> command, Dictionary<string, string> variables)
    {
        foreach (var (name, value) in spec.Environment)
            if (name != "PATH" || !variables.ContainsKey("PATH"))
                variables[name] = value;
        return new LaunchSpec(spec.ResourceId, command, variables, spec.WorkingDirectory)
        {
            Resources = spec.Resources,
            Placement = spec.Placement,
            Image = spec.Image,
        };
    }

    public static EnvironmentInfo Info(SoftwareEnvironment environment) =>
        new(environment.ContentId, environment.Name, JsonSerializer.Deserialize<Dictionary<string, string>>(environment.VersionsJson) ?? []);

    private static async Task<IReadOnlyDictionary<string, string>> ReadHostVersionsAsync(string python)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(python, ["-c", BuildSteps.ManifestProgram]) { RedirectStandardOutput = true })!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            using var document = JsonDocument.Parse(output);
            return JsonSerializer.Deserialize<Dictionary<string, string>>(document.RootElement.GetProperty("versions").GetRawText()) ?? [];
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or JsonException or KeyNotFoundException)
        {
            return new Dictionary<string, string>();
        }
    }
}
