namespace Orrery.Jobs.Api;

/// <summary>An answer kbatch's CLI prints as <c>kbatch-proxy error &lt;status&gt;: &lt;detail&gt;</c>.</summary>
public sealed class JobsApiException(int status, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    public static JobsApiException JobNotFound(string name) => new(404, $"jobs.batch \"{name}\" not found");

    public static JobsApiException CronJobNotFound(string name) => new(404, $"cronjobs.batch \"{name}\" not found");

    public static JobsApiException PodNotFound(string name) => new(404, $"pods \"{name}\" not found");
}
