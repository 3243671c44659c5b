using System.Net.Http.Json;
using System.Text.Json;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// The scheduler's own HTTP API (distributed.http.scheduler.api, on its loopback dashboard port): the worker list,
/// the adaptive target, and retiring workers. This is what makes adaptivity work without the Python preload.
/// </summary>
public sealed class SchedulerApi(HttpClient http)
{
    public async Task<HashSet<string>> WorkerNamesAsync(Uri dashboard, CancellationToken cancellationToken)
    {
        using var document = await GetAsync(new Uri(dashboard, "api/v1/get_workers"), cancellationToken);
        return document.RootElement.GetProperty("workers").EnumerateArray()
            .Select(w => w.GetProperty("name").ToString()).ToHashSet(StringComparer.Ordinal);
    }

    public async Task<int> AdaptiveTargetAsync(Uri dashboard, CancellationToken cancellationToken)
    {
        using var document = await GetAsync(new Uri(dashboard, "api/v1/adaptive_target"), cancellationToken);
        return document.RootElement.GetProperty("workers").GetInt32();
    }

    /// <summary>Retires <paramref name="count"/> workers the scheduler picks (moving their data first); returns their names.</summary>
    public async Task<List<string>> RetireAsync(Uri dashboard, int count, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(new Uri(dashboard, "api/v1/retire_workers"), new { n = count }, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return document.RootElement.ValueKind == JsonValueKind.Object
            ? document.RootElement.EnumerateObject().Select(p => p.Value.TryGetProperty("name", out var n) ? n.ToString() : "").Where(n => n.Length > 0).ToList()
            : [];
    }

    private async Task<JsonDocument> GetAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(uri, cancellationToken);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
    }
}
