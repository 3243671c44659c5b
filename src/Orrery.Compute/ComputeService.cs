using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Compute;

/// <summary>
/// How modules ask for compute: record the wish (a Pending row, or StopRequested) and wake the reconciler.
/// Only the reconciler talks to backends, so each resource has exactly one writer of its state.
/// </summary>
public sealed class ComputeService(OrreryDb db, ComputeReconciler reconciler, ComputeBackends backends, TimeProvider time)
{
    /// <param name="parent">What the resource belongs to (a cluster's name for its scheduler and workers), or null.</param>
    public async Task<ComputeResource> RequestAsync(ResourceKind kind, long ownerId, string name, LaunchSpec spec, string backend,
        string? parent, CancellationToken cancellationToken)
    {
        if (backends.Find(backend) is null)
            throw new ArgumentException($"Unknown compute backend '{backend}'; known: {string.Join(", ", backends.Names)}.", nameof(backend));
        var resource = new ComputeResource
        {
            Id = spec.ResourceId,
            Kind = kind,
            OwnerId = ownerId,
            Name = name,
            Parent = parent,
            State = ResourceState.Pending,
            Backend = backend,
            SpecJson = LaunchSpecJson.Write(spec),
            Created = time.GetUtcNow().UtcDateTime,
        };
        db.Resources.Add(resource);
        await db.SaveChangesAsync(cancellationToken);
        reconciler.Wake();
        return resource;
    }

    public async Task<bool> RequestStopAsync(string id, CancellationToken cancellationToken)
    {
        var changed = await db.Resources.Where(r => r.Id == id && !r.StopRequested)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.StopRequested, true), cancellationToken);
        reconciler.Wake();
        return changed > 0;
    }

    public Task<ComputeResource?> FindAsync(string id, CancellationToken cancellationToken) =>
        db.Resources.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken);

    /// <summary>A fresh id for a resource: kind prefix plus 12 random hex characters.</summary>
    public static string NewId(ResourceKind kind) => $"{kind.ToString().ToLowerInvariant()}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
}

/// <summary>Launch specs are stored as JSON so any Orrery process (after a restart) can launch a pending resource.</summary>
public static class LaunchSpecJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Write(LaunchSpec spec) => JsonSerializer.Serialize(new Stored(spec.ResourceId, spec.Command, spec.Environment, spec.WorkingDirectory,
        spec.Resources, spec.Image, spec.Placement), Options);

    public static LaunchSpec Read(string json)
    {
        var s = JsonSerializer.Deserialize<Stored>(json, Options) ?? throw new JsonException("Empty launch spec.");
        return new LaunchSpec(s.ResourceId, s.Command, s.Environment, s.WorkingDirectory)
        {
            Resources = s.Resources ?? ResourceRequest.None,
            Image = s.Image,
            Placement = s.Placement ?? new Dictionary<string, string>(),
        };
    }

    private sealed record Stored(string ResourceId, IReadOnlyList<string> Command, IReadOnlyDictionary<string, string> Environment,
        string? WorkingDirectory, ResourceRequest? Resources, string? Image, IReadOnlyDictionary<string, string>? Placement);
}
