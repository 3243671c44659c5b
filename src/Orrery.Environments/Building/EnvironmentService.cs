using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Bundles;
using Orrery.Core.Compute;
using Orrery.Core.Configuration;
using Orrery.Environments.Api;
using Orrery.Environments.Specs;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Environments.Building;

/// <summary>
/// Records a submitted environment: checks the spec and the bundle of local libraries, works out the content id,
/// and either reuses what that content already has (a built artifact: cache hit; a build under way: shared) or
/// starts a build — a <c>Build</c> compute resource running the generated script on the local backend.
/// </summary>
public sealed class EnvironmentService(OrreryDb db, ComputeService compute, EnvironmentFiles files, IOptions<EnvironmentsOptions> options,
    TimeProvider time, ILogger<EnvironmentService> logger)
{
    // One decision at a time: two submissions of new identical content must not both build into one directory.
    private static readonly SemaphoreSlim Deciding = new(1, 1);

    private const long MaxEnvironmentFileBytes = 1 << 20;

    public async Task<(SoftwareEnvironment Environment, bool CacheHit)> SubmitAsync(long ownerId, string yaml, Stream? bundle,
        CancellationToken cancellationToken)
    {
        var incoming = files.NewIncoming();
        EnvironmentFiles.Create(incoming);
        try
        {
            if (bundle is not null)
                Unpack(bundle, incoming);
            var spec = Parse(yaml, incoming);
            var contentId = ContentId.Compute(spec, incoming);
            await Deciding.WaitAsync(cancellationToken);
            try
            {
                return await RecordAsync(ownerId, spec, contentId, incoming, cancellationToken);
            }
            finally
            {
                Deciding.Release();
            }
        }
        finally
        {
            if (Directory.Exists(incoming))
                Directory.Delete(incoming, recursive: true);
        }
    }

    private void Unpack(Stream bundle, string directory)
    {
        var limits = BundleLimits.Default with { MaxCompressedBytes = ByteSizes.Parse(options.Value.MaxBundleSize) ?? BundleLimits.Default.MaxCompressedBytes };
        try
        {
            CodeBundle.Extract(bundle, directory, limits);
        }
        catch (BundleRejectedException e)
        {
            throw new EnvironmentsApiException(400, $"bundle: {e.Message}");
        }
        catch (InvalidDataException)
        {
            throw new EnvironmentsApiException(400, "bundle: not a zip file");
        }
    }

    private EnvironmentSpec Parse(string yaml, string bundle)
    {
        var spec = SpecParser.Parse(yaml, path =>
        {
            var file = new FileInfo(Path.Combine(bundle, path));
            return file.Exists && file.Length <= MaxEnvironmentFileBytes ? File.ReadAllText(file.FullName) : null;
        });
        for (var i = 0; i < spec.Libraries.Count; i++)
        {
            var library = Path.Combine(bundle, spec.Libraries[i]);
            if (!Directory.Exists(library))
                throw new SpecException($"libraries[{i}]", $"'{spec.Libraries[i]}' is not a directory in the uploaded bundle");
            if (!new[] { "pyproject.toml", "setup.py", "setup.cfg" }.Any(f => File.Exists(Path.Combine(library, f))))
                throw new SpecException($"libraries[{i}]", $"'{spec.Libraries[i]}' has no pyproject.toml, setup.py or setup.cfg, so pip cannot install it");
        }
        return spec;
    }

    private async Task<(SoftwareEnvironment, bool)> RecordAsync(long ownerId, EnvironmentSpec spec, string contentId, string incoming,
        CancellationToken cancellationToken)
    {
        var environment = new SoftwareEnvironment
        {
            Name = spec.Name,
            ContentId = contentId,
            OwnerId = ownerId,
            Kind = spec.Kind,
            SpecJson = SpecJson.Write(spec),
            Created = time.GetUtcNow().UtcDateTime,
        };
        var same = await db.Environments.AsNoTracking().Where(e => e.ContentId == contentId && e.State != EnvironmentState.Failed)
            .OrderByDescending(e => e.Id).ToListAsync(cancellationToken);
        var cacheHit = false;
        if (same.FirstOrDefault(e => e.State == EnvironmentState.Ready && File.Exists(files.Manifest(contentId))) is { } built)
        {
            environment.State = EnvironmentState.Ready;
            environment.BuildResourceId = built.BuildResourceId;
            environment.PackagesJson = built.PackagesJson;
            environment.VersionsJson = built.VersionsJson;
            environment.Built = built.Built;
            cacheHit = true;
            logger.CacheHit(spec.Name, contentId);
        }
        else if (same.FirstOrDefault(e => e.State == EnvironmentState.Building) is { } building)
        {
            environment.State = EnvironmentState.Building;
            environment.BuildResourceId = building.BuildResourceId;
        }
        else
        {
            environment.State = EnvironmentState.Building;
            environment.BuildResourceId = await StartBuildAsync(ownerId, spec, contentId, incoming, cancellationToken);
            logger.BuildStarted(spec.Name, contentId, ownerId);
        }
        db.Environments.Add(environment);
        await db.SaveChangesAsync(cancellationToken);
        return (environment, cacheHit);
    }

    private async Task<string> StartBuildAsync(long ownerId, EnvironmentSpec spec, string contentId, string incoming, CancellationToken cancellationToken)
    {
        var directory = files.Directory(contentId);
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);   // a failed or vanished earlier build of this content
        EnvironmentFiles.Create(directory);
        Directory.Move(incoming, files.Source(contentId));
        var o = options.Value;
        if (spec.OnHost)
            await File.WriteAllTextAsync(files.Script(contentId), VenvBuild.Script(spec, files, contentId, o), cancellationToken);
        else
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "Containerfile"), ImageBuild.Containerfile(spec), cancellationToken);
            if (spec.CondaPackages.Count > 0)
                await File.WriteAllTextAsync(Path.Combine(files.Source(contentId), ImageBuild.CondaFile), ImageBuild.CondaEnvironment(spec), cancellationToken);
            await File.WriteAllTextAsync(files.Script(contentId), ImageBuild.Script(spec, files, contentId, o), cancellationToken);
        }
        var environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["HOME"] = directory, ["PIP_NO_INPUT"] = "1" };
        var containersConf = o.ContainersConf.Length > 0 ? o.ContainersConf : System.Environment.GetEnvironmentVariable("CONTAINERS_CONF");
        if (!string.IsNullOrEmpty(containersConf))
            environment["CONTAINERS_CONF"] = containersConf;
        var launch = new LaunchSpec(ComputeService.NewId(ResourceKind.Build), ["/bin/sh", files.Script(contentId)], environment, directory);
        // Builds run where Orrery runs: that is where the virtual environments live and where podman keeps its images.
        var resource = await compute.RequestAsync(ResourceKind.Build, ownerId, spec.Name, launch, "local", contentId, cancellationToken);
        return resource.Id;
    }
}
