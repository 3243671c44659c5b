using System.Linq.Expressions;
using Orrery.Hub.Auth;
using Orrery.Storage.Entities;

namespace Orrery.Environments.Api;

/// <summary>Who sees an environment: its owner, members of the group it is shared with, and admins.</summary>
public static class EnvironmentAccess
{
    public static Expression<Func<SoftwareEnvironment, bool>> VisibleTo(UserSnapshot user)
    {
        var groups = user.Groups.ToList();
        var id = user.Id;
        var admin = user.Admin;
        return e => admin || e.OwnerId == id || (e.SharedWithGroup != null && groups.Contains(e.SharedWithGroup));
    }
}
