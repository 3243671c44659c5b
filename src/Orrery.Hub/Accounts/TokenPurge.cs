using Microsoft.EntityFrameworkCore;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Hub.Accounts;

/// <summary>Expired tokens are deleted whenever a user's tokens are listed, as JupyterHub does.</summary>
public static class TokenPurge
{
    public static async Task<List<ApiToken>> LiveTokensAsync(OrreryDb db, long userId, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await db.Tokens.Where(t => t.UserId == userId && t.ExpiresAt != null && t.ExpiresAt <= now).ExecuteDeleteAsync(cancellationToken);
        return await db.Tokens.AsNoTracking().Where(t => t.UserId == userId).OrderBy(t => t.Id).ToListAsync(cancellationToken);
    }
}
