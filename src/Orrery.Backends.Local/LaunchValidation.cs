using Orrery.Core.Compute;

namespace Orrery.Backends.Local;

/// <summary>Turns a spec the local backend cannot run into a clear message instead of a failed process.</summary>
internal static class LaunchValidation
{
    // Leaves room under NAME_MAX (255) and keeps paths readable.
    private const int MaxResourceIdLength = 200;

    public static string? Validate(LaunchSpec spec, string stateDir)
    {
        if (string.IsNullOrWhiteSpace(stateDir) || !Path.IsPathFullyQualified(stateDir))
        {
            return $"The local backend's state directory ({LocalBackendOptions.SectionName}:StateDir) must be an absolute path; it is '{stateDir}'.";
        }

        return ValidateResourceId(spec.ResourceId)
            ?? ValidateCommand(spec.Command)
            ?? ValidateEnvironment(spec.Environment)
            ?? ValidateWorkingDirectory(spec.WorkingDirectory)
            ?? (spec.Image is null ? null : $"The local backend runs programs on the host; it cannot run in image '{spec.Image}'.");
    }

    /// <summary>The id becomes a directory name under the state directory, so it must not be able to escape it.</summary>
    public static bool IsSafeResourceId(string resourceId) =>
        !string.IsNullOrEmpty(resourceId) && resourceId != "." && resourceId.Length <= MaxResourceIdLength
        && !resourceId.Contains("..", StringComparison.Ordinal) && resourceId.IndexOfAny(['/', '\\', '\0']) < 0;

    private static string? ValidateResourceId(string resourceId)
    {
        if (!IsSafeResourceId(resourceId))
        {
            return $"Resource id '{resourceId}' is not a safe directory name (non-empty, at most {MaxResourceIdLength} characters, no '/', '\\', '..' or NUL).";
        }

        return null;
    }

    private static string? ValidateCommand(IReadOnlyList<string> command)
    {
        if (command.Count == 0 || string.IsNullOrEmpty(command[0]))
        {
            return "The command is empty; it needs at least a program to run.";
        }

        // execve takes NUL-terminated strings: a NUL would silently cut an argument short.
        for (int i = 0; i < command.Count; i++)
        {
            if (command[i].Contains('\0', StringComparison.Ordinal))
            {
                return $"Command argument {i} contains a NUL character, which no program can receive.";
            }
        }

        return null;
    }

    private static string? ValidateEnvironment(IReadOnlyDictionary<string, string> environment)
    {
        foreach ((string name, string value) in environment)
        {
            if (name.Length == 0 || name.IndexOfAny(['=', '\0']) >= 0)
            {
                return $"Environment variable name '{name}' is invalid (empty, or contains '=' or NUL).";
            }

            if (value.Contains('\0', StringComparison.Ordinal))
            {
                return $"Environment variable '{name}' contains a NUL character.";
            }
        }

        return null;
    }

    private static string? ValidateWorkingDirectory(string? workingDirectory)
    {
        if (workingDirectory is null)
        {
            return null;
        }

        if (!Path.IsPathFullyQualified(workingDirectory))
        {
            return $"Working directory '{workingDirectory}' must be an absolute path.";
        }

        return Directory.Exists(workingDirectory) ? null : $"Working directory '{workingDirectory}' does not exist.";
    }
}
