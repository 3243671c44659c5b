using System.Diagnostics;
using Orrery.Core.Compute;

namespace Orrery.Backends.Local;

/// <summary>
/// Builds the process start: <c>setsid /bin/sh -c SCRIPT sh LOG EXIT MV UNSET program args…</c>.
/// setsid gives the resource its own session and process group (the .NET child is not a group leader, so
/// setsid does not fork and the pid stays ours); the shell survives the program to record its exit status,
/// so the status outlives Orrery. Paths reach the shell as positional arguments, never as variables, so the
/// program's environment is exactly the base plus the spec's.
/// </summary>
internal static class WrapperCommand
{
    private const string Shell = "/bin/sh";
    private const string DefaultPath = "/usr/local/bin:/usr/bin:/bin";

    // Variables a shell adds to its children on its own (dash: PWD; bash: SHLVL, OLDPWD); removed unless the spec sets them.
    private static readonly string[] ShellAddedVariables = ["PWD", "OLDPWD", "SHLVL"];

    // $1 log, $2 exit file, $3 mv, $4 variables to unset, then the command.
    // - Output of the shell and the program goes straight to the log: no pipe through Orrery to lose.
    // - `trap :` (not `trap ''`): a handled signal is reset to default in the program, so it still dies on TERM
    //   while the shell lives on to write $? (128+N for signal N).
    // - The subshell + `exec` run the program as an external command even if it is named like a shell builtin
    //   or keyword; a missing program gives 127.
    // - The status is written to a temporary file and renamed so a reader never sees it half-written.
    private const string Script =
        """
        exec >>"$1" 2>&1 </dev/null
        trap : TERM INT
        (unset $4; shift 4; exec "$@")
        echo $? >"$2.tmp" && "$3" -f "$2.tmp" "$2"
        """;

    private static readonly Lazy<string?> SetsidPath = new(() => FindOnServerPath("setsid"));
    private static readonly Lazy<string> MvPath = new(() => FindOnServerPath("mv") ?? "/bin/mv");

    /// <summary>The start info, or null when setsid is not installed.</summary>
    public static ProcessStartInfo? Create(LaunchSpec spec, string dir)
    {
        if (SetsidPath.Value is not { } setsid)
        {
            return null;
        }

        ProcessStartInfo info = new(setsid)
        {
            UseShellExecute = false,
            WorkingDirectory = spec.WorkingDirectory ?? dir,
        };

        info.ArgumentList.Add(Shell);
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Script);
        info.ArgumentList.Add("sh");
        info.ArgumentList.Add(Path.Combine(dir, LocalHandle.LogFileName));
        info.ArgumentList.Add(Path.Combine(dir, LocalHandle.ExitFileName));
        info.ArgumentList.Add(MvPath.Value);
        info.ArgumentList.Add(string.Join(' ', ShellAddedVariables.Where(name => !spec.Environment.ContainsKey(name))));
        foreach (string argument in spec.Command)
        {
            info.ArgumentList.Add(argument);
        }

        // Start from nothing: the server's own environment (credentials, connection strings) must not leak.
        info.Environment.Clear();
        info.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } path ? path : DefaultPath;
        info.Environment["LANG"] = "C.UTF-8";
        foreach ((string name, string value) in spec.Environment)
        {
            info.Environment[name] = value;
        }

        return info;
    }

    private static string? FindOnServerPath(string program)
    {
        string path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(DefaultPath.Split(':'))
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(candidate => Path.IsPathFullyQualified(candidate) && File.Exists(candidate));
    }
}
