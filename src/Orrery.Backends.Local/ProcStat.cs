using System.Globalization;

namespace Orrery.Backends.Local;

/// <summary>The few fields of <c>/proc/&lt;pid&gt;/stat</c> the backend needs.</summary>
/// <param name="StartTime">Field 22: start time after boot in clock ticks; with the pid it identifies a process uniquely.</param>
internal readonly record struct ProcStat(char State, int ProcessGroup, int Session, ulong StartTime)
{
    /// <summary>Zombie ('Z') or dead ('X'): it holds a pid but runs nothing.</summary>
    public bool HasEnded => State is 'Z' or 'X';

    /// <summary>Reads the stat of <paramref name="pid"/>, or null when no such process exists (any more).</summary>
    public static ProcStat? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone between listing and reading, or never there: both mean "not a process now".
            return null;
        }

        return Parse(text);
    }

    public static ProcStat? Parse(string text)
    {
        // Field 2 (comm) is the executable name in parentheses and may itself contain spaces and parentheses,
        // so the fixed-format fields start after the LAST ')'.
        int close = text.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        string[] fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state); field N is fields[N - 3].
        if (fields.Length < 20 || fields[0].Length != 1
            || !int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int processGroup)
            || !int.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out int session)
            || !ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out ulong startTime))
        {
            return null;
        }

        return new ProcStat(fields[0][0], processGroup, session, startTime);
    }
}
