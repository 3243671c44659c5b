using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Accounts;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Storage;

namespace Orrery.Servers.OAuth;

/// <summary>
/// A current server run as an OAuth client (protocol notes §2.5): its id and redirect URI come from the user and
/// server names, its secret is the run's own API token (<paramref name="SecretTokenId"/>).
/// </summary>
public sealed record OAuthClient(long ServerId, long OwnerId, long SecretTokenId, ServerIdentity Identity)
{
    public string Id => Identity.ClientId;
    public string RedirectUri => Identity.CallbackUrl;
}

/// <summary>
/// JupyterHub registers a client when a server spawns and deletes it (with every token it issued) when the server
/// stops. Orrery keeps no client table: a client exists exactly while its server row is Starting or Running with a
/// token, and that token is the secret, so a stopped server's client is gone at once and a restart has a new secret.
/// </summary>
public sealed class OAuthClients(OrreryDb db, IOptions<OrreryOptions> orrery)
{
    private const string ClientIdPrefix = "jupyterhub-user-";

    public async Task<OAuthClient?> FindAsync(string clientId, CancellationToken cancellationToken)
    {
        var owners = CandidateOwners(clientId);
        if (owners.Count == 0)
            return null;
        var rows = await db.Servers.AsNoTracking()
            .Where(s => owners.Contains(s.User!.Name)
                        && (s.State == ResourceState.Starting || s.State == ResourceState.Running) && s.TokenId != null)
            .Select(s => new { s.Id, s.Name, s.UserId, Owner = s.User!.Name, s.TokenId })
            .ToListAsync(cancellationToken);
        foreach (var row in rows)
        {
            var identity = new ServerIdentity(row.Owner, row.Name, orrery.Value.BaseUrl);
            if (string.Equals(identity.ClientId, clientId, StringComparison.Ordinal))
                return new OAuthClient(row.Id, row.UserId, row.TokenId!.Value, identity);
        }
        return null;
    }

    /// <summary>Whether <paramref name="secret"/> is the client's secret: the run's token, compared in constant time.</summary>
    public async Task<bool> SecretMatchesAsync(OAuthClient client, string secret, CancellationToken cancellationToken)
    {
        var stored = await db.Tokens.AsNoTracking().Where(t => t.Id == client.SecretTokenId).Select(t => t.Hash)
            .FirstOrDefaultAsync(cancellationToken);
        var given = TokenSecrets.Hash(secret);
        return stored is not null && CryptographicOperations.FixedTimeEquals(stored, given);
    }

    /// <summary>Whether the client still exists: its run's token is deleted, with the OAuth tokens, when the run ends.</summary>
    public Task<bool> StillExistsAsync(OAuthClient client, CancellationToken cancellationToken) =>
        db.Tokens.AnyAsync(t => t.Id == client.SecretTokenId, cancellationToken);

    /// <summary>
    /// The user names <c>jupyterhub-user-&lt;user&gt;[-&lt;server&gt;]</c> could belong to. Names may contain '-', so
    /// each '-' is a possible split; the exact client id of each candidate's servers decides.
    /// </summary>
    internal static List<string> CandidateOwners(string clientId)
    {
        var owners = new List<string>();
        if (!clientId.StartsWith(ClientIdPrefix, StringComparison.Ordinal) || clientId.Length > ClientIdPrefix.Length + 256)
            return owners;
        var rest = clientId[ClientIdPrefix.Length..];
        for (var end = 0; end <= rest.Length; end++)
        {
            if (end < rest.Length && rest[end] != '-')
                continue;
            // User names are never changed by quoting (the name rule); unquote anyway, as the client id is quoted.
            var owner = Uri.UnescapeDataString(rest[..end]);
            if (Names.IsValid(owner))
                owners.Add(owner);
        }
        return owners;
    }
}
