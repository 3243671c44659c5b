using System.Globalization;

namespace Orrery.Backends.Local;

internal static class ProcessGroup
{
    /// <summary>
    /// True while some process of the group still runs. Zombies do not count: an orphaned grandchild may sit
    /// unreaped under a careless init, and it can neither be killed nor do harm.
    /// </summary>
    public static bool HasLiveMembers(int processGroup)
    {
        // Cheap answer first: the kernel knows when the group is empty.
        if (!Posix.GroupMayExist(processGroup))
        {
            return false;
        }

        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && ProcStat.Read(pid) is { HasEnded: false } stat
                && stat.ProcessGroup == processGroup)
            {
                return true;
            }
        }

        return false;
    }
}
