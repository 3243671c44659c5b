using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Hub.Accounts;

/// <summary>The one place users and tokens are created, so the pages, the API and bootstrap behave alike.</summary>
public sealed class AccountService(OrreryDb db, HubCache cache, TimeProvider time, IPasswordHasher<User> hasher)
{
    public DateTime Now => time.GetUtcNow().UtcDateTime;

    public async Task<User> CreateUserAsync(string name, bool admin, string? password, CancellationToken cancellationToken)
    {
        var user = new User { Name = name, Admin = admin, Created = Now };
        if (password is not null)
            user.PasswordHash = hasher.HashPassword(user, password);
        db.Users.Add(user);
        await SaveAsync(cancellationToken);
        return user;
    }

    public void SetPassword(User user, string password) => user.PasswordHash = hasher.HashPassword(user, password);

    /// <summary>Checks a password; for an unknown user it still spends the hashing time, so timing tells nothing.</summary>
    public async Task<User?> CheckPasswordAsync(string name, string password, CancellationToken cancellationToken)
    {
        var user = await db.Users.FirstOrDefaultAsync(u => u.Name == name, cancellationToken);
        if (user?.PasswordHash is null)
        {
            hasher.VerifyHashedPassword(new User { Name = name }, DummyHash, password);
            return null;
        }
        var result = hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, password);
            await SaveAsync(cancellationToken);
        }
        return result == PasswordVerificationResult.Failed ? null : user;
    }

    public async Task<(ApiToken Token, string Secret)> IssueTokenAsync(long userId, string note, TimeSpan? expiresIn,
        string storedScopes, string source, CancellationToken cancellationToken)
    {
        var secret = TokenSecrets.NewSecret();
        var token = new ApiToken
        {
            UserId = userId,
            Hash = TokenSecrets.Hash(secret),
            Note = note,
            Scopes = storedScopes,
            Created = Now,
            ExpiresAt = expiresIn is { } lifetime ? Now + lifetime : null,
            Source = source,
        };
        db.Tokens.Add(token);
        await SaveAsync(cancellationToken);
        return (token, secret);
    }

    /// <summary>Saves and drops every cached identity, so changes to users, groups and tokens apply at once.</summary>
    public async Task SaveAsync(CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken);
        cache.Invalidate();
    }

    private static readonly string DummyHash = new PasswordHasher<User>().HashPassword(new User { Name = "-" }, Guid.NewGuid().ToString());
}
