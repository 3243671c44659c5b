using System.Linq.Expressions;
using Orrery.Hub.Auth;
using Orrery.Storage.Entities;

namespace Orrery.Environments;

/// <summary>
/// Who sees (and may use) an environment: its owner, members of the group it is shared with, admins, and everyone for
/// an environment an admin made a profile's default (servers of that profile run in it and hand it to their clusters).
/// </summary>
public static class EnvironmentAccess
{
    public static Expression<Func<SoftwareEnvironment, bool>> VisibleTo(UserSnapshot user) => VisibleTo(user.Id, user.Admin, user.Groups);

    public static Expression<Func<SoftwareEnvironment, bool>> VisibleTo(long userId, bool admin, IEnumerable<string> groups)
    {
        var names = groups.ToList();
        return e => admin || e.OwnerId == userId || e.DefaultForProfile != null || (e.SharedWithGroup != null && names.Contains(e.SharedWithGroup));
    }
}
