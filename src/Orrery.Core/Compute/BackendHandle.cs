namespace Orrery.Core.Compute;

/// <summary>
/// What a backend needs to find a launched resource again after Orrery restarts: the backend's name and an
/// opaque value it alone interprets (a pid and start time, a Slurm job id, a container id). Stored as is.
/// </summary>
public sealed record BackendHandle(string Backend, string Value);
