using System.Globalization;
using System.Runtime.InteropServices;

namespace Orrery.Backends.Local;

/// <summary>The libc calls and signal facts the backend needs; .NET has no API to signal a process group.</summary>
internal static partial class Posix
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary>errno "no such process".</summary>
    public const int Esrch = 3;

    private static readonly Dictionary<int, string> SignalNames = new()
    {
        [1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP", [6] = "SIGABRT",
        [7] = "SIGBUS", [8] = "SIGFPE", [9] = "SIGKILL", [10] = "SIGUSR1", [11] = "SIGSEGV", [12] = "SIGUSR2",
        [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM", [24] = "SIGXCPU", [25] = "SIGXFSZ",
    };

    /// <summary>Sends <paramref name="signal"/> to every process in group <paramref name="processGroup"/>; returns 0 or the errno.</summary>
    public static int KillGroup(int processGroup, int signal)
    {
        // kill(0, …) and kill(-1, …) would hit our own group or every process we may signal: never.
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(processGroup, 1);
        return Kill(-processGroup, signal) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>True unless the kernel says no process (not even a zombie) is in the group.</summary>
    public static bool GroupMayExist(int processGroup) => KillGroup(processGroup, 0) != Esrch;

    /// <summary>"killed by signal 15 (SIGTERM)" for a shell-style exit status of 128+N, else null.</summary>
    public static string? DescribeExitStatus(int exitCode)
    {
        int signal = exitCode - 128;
        if (signal is < 1 or > 64)
        {
            return null;
        }

        string number = signal.ToString(CultureInfo.InvariantCulture);
        return SignalNames.TryGetValue(signal, out string? name)
            ? $"killed by signal {number} ({name})"
            : $"killed by signal {number}";
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
