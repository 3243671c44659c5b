using Microsoft.Extensions.Logging;

namespace Orrery.Backends.Local;

/// <summary>Log messages of the local backend (event ids 3000–3099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Launched local resource {ResourceId} as pid {Pid} in {Directory}")]
    public static partial void Launched(ILogger logger, string resourceId, int pid, string directory);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Rejected local launch of {ResourceId}: {Error}")]
    public static partial void LaunchRejected(ILogger logger, string resourceId, string error);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Local pid {Pid} did not become a session leader in time; stopping it may miss its children")]
    public static partial void NotSessionLeader(ILogger logger, int pid);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Stopping local pid {Pid}: SIGTERM to its process group, grace {Grace}")]
    public static partial void Stopping(ILogger logger, int pid, TimeSpan grace);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Local pid {Pid} outlived the {Grace} stop grace period; sending SIGKILL to its process group")]
    public static partial void Killing(ILogger logger, int pid, TimeSpan grace);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Process group {Pid} still has running members after SIGKILL")]
    public static partial void SurvivedKill(ILogger logger, int pid);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Pid {Pid} now belongs to another process; not signalling it")]
    public static partial void PidReused(ILogger logger, int pid);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Unreadable local backend handle {Value}")]
    public static partial void UnreadableHandle(ILogger logger, string value);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Not deleting {Directory}: it is not a resource directory under the state directory {StateDir}")]
    public static partial void ForgetRefused(ILogger logger, string directory, string stateDir);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Debug, Message = "Deleted local resource directory {Directory}")]
    public static partial void Forgot(ILogger logger, string directory);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Signal {Signal} to process group {Pid} failed with errno {Errno}")]
    public static partial void SignalFailed(ILogger logger, int signal, int pid, int errno);
}
