namespace Orrery.Environments.Api;

/// <summary>An answer other than success, with a message naming what is wrong; becomes ProblemDetails.</summary>
public sealed class EnvironmentsApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
