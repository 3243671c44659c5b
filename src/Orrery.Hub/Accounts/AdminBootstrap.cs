using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Hub.Accounts;

/// <summary>
/// On start: creates the admin account the first time (printing its password and a token once) and makes
/// ORRERY_ADMIN_TOKEN, when set, a valid admin token (replacing the one from an earlier start).
/// </summary>
public sealed class AdminBootstrap(IServiceScopeFactory scopes, IOptions<OrreryOptions> options, ILogger<AdminBootstrap> logger) : IHostedService
{
    public const string EnvTokenSource = "env";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var accounts = scope.ServiceProvider.GetRequiredService<AccountService>();
        var settings = options.Value;

        var admin = await db.Users.FirstOrDefaultAsync(u => u.Name == settings.AdminUser, cancellationToken);
        if (admin is null)
        {
            var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('/', '_').Replace('+', '-');
            admin = await accounts.CreateUserAsync(settings.AdminUser, admin: true, password, cancellationToken);
            logger.AdminCreated(admin.Name, password);
            if (string.IsNullOrEmpty(settings.AdminToken))
            {
                var (token, secret) = await accounts.IssueTokenAsync(admin.Id, "Created on first start", null, TokenScopes.Inherit, "bootstrap", cancellationToken);
                logger.BootstrapToken(admin.Name, token.Id, secret);
            }
        }
        await InstallEnvTokenAsync(db, accounts, admin, settings.AdminToken, cancellationToken);
    }

    private async Task InstallEnvTokenAsync(OrreryDb db, AccountService accounts, User admin, string? secret, CancellationToken cancellationToken)
    {
        var hash = string.IsNullOrEmpty(secret) ? null : TokenSecrets.Hash(secret);
        var previous = await db.Tokens.Where(t => t.Source == EnvTokenSource).ToListAsync(cancellationToken);
        db.Tokens.RemoveRange(previous.Where(t => hash is null || !t.Hash.SequenceEqual(hash) || t.UserId != admin.Id));
        if (hash is not null && !previous.Any(t => t.Hash.SequenceEqual(hash) && t.UserId == admin.Id))
            db.Tokens.Add(new ApiToken { UserId = admin.Id, Hash = hash, Note = "ORRERY_ADMIN_TOKEN", Created = accounts.Now, Source = EnvTokenSource });
        await accounts.SaveAsync(cancellationToken);
        if (hash is not null)
            logger.EnvTokenInstalled(admin.Name, await db.Tokens.Where(t => t.Hash == hash).Select(t => t.Id).FirstAsync(cancellationToken));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
