using Microsoft.Extensions.Options;
using Orrery.Hub.Api;
using Orrery.Servers.OAuth;

namespace Orrery.FunctionalTests.Servers;

/// <summary>The in-memory authorization codes and the client-id parsing, without a server.</summary>
public class OAuthCodesTests
{
    private static readonly OAuthClient Client = new(ServerId: 7, OwnerId: 3, SecretTokenId: 11, new ServerIdentity("alice", "", "/"));

    [Fact]
    public void Issue_ThirtyLettersAndDigits_TakenOnceWithItsGrant()
    {
        var clock = new ManualClock();
        var codes = new OAuthCodes(clock, Options.Create(new OAuthOptions()));

        var code = codes.Issue(3, Client, "session-1");

        code.ShouldMatch("^[A-Za-z0-9]{30}$");
        codes.Issue(3, Client, "session-1").ShouldNotBe(code);
        var grant = codes.Take(code).ShouldNotBeNull();
        grant.ShouldBe(new OAuthGrant(3, 7, 11, "/user/alice/oauth_callback", "session-1", clock.Now + TimeSpan.FromMinutes(5)));
        codes.Take(code).ShouldBeNull();
        codes.Take(code.ToLowerInvariant()).ShouldBeNull();
        codes.Take("").ShouldBeNull();
    }

    [Fact]
    public void Take_AfterLifetime_NullAndGone_ExpiredPurgedOnIssue()
    {
        var clock = new ManualClock();
        var codes = new OAuthCodes(clock, Options.Create(new OAuthOptions { CodeLifetime = TimeSpan.FromSeconds(10) }));
        var early = codes.Issue(3, Client, null);
        var late = codes.Issue(3, Client, null);

        clock.Advance(TimeSpan.FromSeconds(10));
        codes.Take(early).ShouldBeNull();
        codes.Count.ShouldBe(1);

        clock.Advance(TimeSpan.FromMinutes(2));
        codes.Issue(4, Client, null);
        codes.Count.ShouldBe(1);   // the expired one was purged
        codes.Take(late).ShouldBeNull();
    }

    [Fact]
    public void Issue_OverPerUserLimit_DropsThatUsersOldestOnly()
    {
        var codes = new OAuthCodes(new ManualClock(), Options.Create(new OAuthOptions()));
        var other = codes.Issue(4, Client, null);
        var first = codes.Issue(3, Client, null);
        var second = codes.Issue(3, Client, null);
        for (var i = 2; i < OAuthCodes.MaxPendingPerUser; i++)
            codes.Issue(3, Client, null);

        codes.Issue(3, Client, null);

        codes.Count.ShouldBe(OAuthCodes.MaxPendingPerUser + 1);
        codes.Take(first).ShouldBeNull();
        codes.Take(second).ShouldNotBeNull();
        codes.Take(other).ShouldNotBeNull();
    }

    [Theory]
    [InlineData("jupyterhub-user-alice", new[] { "alice" })]
    [InlineData("jupyterhub-user-alice-gpu", new[] { "alice", "alice-gpu" })]
    [InlineData("jupyterhub-user-a-b-c", new[] { "a", "a-b", "a-b-c" })]
    [InlineData("jupyterhub-user-al%40ice", new[] { "al@ice" })]
    [InlineData("jupyterhub-user-", new string[0])]
    [InlineData("service-alice", new string[0])]
    [InlineData("jupyterhub-user-../etc", new string[0])]
    [InlineData("jupyterhub-user-Alice", new string[0])]
    public void CandidateOwners_EverySplitAtADashThatIsAValidName(string clientId, string[] owners) =>
        OAuthClients.CandidateOwners(clientId).ShouldBe(owners);

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public DateTime Now => _now.UtcDateTime;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
