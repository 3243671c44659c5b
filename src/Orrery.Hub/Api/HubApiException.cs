namespace Orrery.Hub.Api;

/// <summary>
/// A 4xx answer in JupyterHub's error shape <c>{"status": N, "message": "…"}</c>, thrown from deep inside a
/// handler (body parsing, lookups) and turned into the response by <see cref="HubApiFilter"/>.
/// </summary>
public sealed class HubApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public static HubApiException Forbidden() => new(403, "Forbidden");

    public static HubApiException NotFound() => new(404, "Not Found");

    public static HubApiException MissingScope(string scope) =>
        new(403, $"Action is not authorized with current scopes; requires any of [{scope}]");

    /// <summary>The scope exists but its filter does not cover the resource: 404, so existence is not leaked.</summary>
    public static HubApiException NoAccess() => new(404, "No access to resources or resources not found");
}
