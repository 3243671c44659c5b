using Orrery.Hub.Auth;

namespace Orrery.Tests.Hub;

public class ScopesTests
{
    [Fact]
    public void Expand_Self_TheElevenUserScopes()
    {
        var expanded = Scopes.Expand(["self"], "alice");
        expanded.Order(StringComparer.Ordinal).ShouldBe(
        [
            "access:servers!user=alice", "delete:servers!user=alice", "read:servers!user=alice", "read:tokens!user=alice",
            "read:users!user=alice", "read:users:activity!user=alice", "read:users:groups!user=alice", "read:users:name!user=alice",
            "servers!user=alice", "tokens!user=alice", "users:activity!user=alice",
        ]);
    }

    [Fact]
    public void Expand_FilterPropagatesToSubscopes()
    {
        var expanded = Scopes.Expand(["servers!user=bob"], "alice");
        expanded.ShouldBe(["servers!user=bob", "read:servers!user=bob", "delete:servers!user=bob", "read:users:name!user=bob"], ignoreOrder: true);
    }

    [Fact]
    public void Expand_AdminUsers_ReachesLeaves()
    {
        var expanded = Scopes.Expand(["admin:users"], "root");
        expanded.ShouldContain("read:users:name");
        expanded.ShouldContain("delete:users");
        expanded.ShouldContain("list:users");
        expanded.ShouldContain("read:users:activity");
        expanded.ShouldNotContain("read:servers");
    }

    [Fact]
    public void Expand_ServerFilteredRead_GrantsOwnerName()
    {
        Scopes.Expand(["read:servers!server=carol/lab"], "x").ShouldContain("read:users:name!user=carol");
    }

    [Theory]
    [InlineData("read:users!user", "read:users!user=alice")]
    [InlineData("access:servers!server", "access:servers!server=alice/")]
    [InlineData("read:users!user=bob", "read:users!user=bob")]
    [InlineData("read:hub", "read:hub")]
    public void Bind_BareFilters_BoundToOwner(string raw, string bound) => Scopes.Bind(raw, "alice").ToString().ShouldBe(bound);

    [Fact]
    public void ScopeSet_AllowsUser_ByUserGroupOrUnfiltered()
    {
        var set = new ScopeSet(["read:users!user=alice", "read:servers!group=team", "list:users"]);
        set.AllowsUser("read:users", "alice", []).ShouldBeTrue();
        set.AllowsUser("read:users", "bob", ["team"]).ShouldBeFalse();
        set.AllowsUser("read:servers", "bob", ["team"]).ShouldBeTrue();
        set.AllowsUser("read:servers", "carol", ["other"]).ShouldBeFalse();
        set.AllowsUser("list:users", "anyone", []).ShouldBeTrue();
        set.Has("read:tokens").ShouldBeFalse();
    }

    [Fact]
    public void ScopeSet_Intersect_UnfilteredRequestFallsBackToOwnersFilteredScopes()
    {
        var owner = new ScopeSet(Scopes.Expand(Scopes.UserRole, "alice"));
        var cut = owner.Intersect(Scopes.Expand(["read:users", "access:servers!server=alice/lab", "admin:users"], "alice"));
        cut.ShouldContain("read:users!user=alice");
        cut.ShouldContain("read:users:name!user=alice");
        cut.ShouldContain("access:servers!server=alice/lab");
        cut.ShouldNotContain("admin:users");
        cut.ShouldNotContain("read:users");
    }

    [Fact]
    public void ScopeSet_Sorted_HidesFilteredWhenUnfilteredHeld()
    {
        var set = new ScopeSet(["read:users", "read:users!user=alice", "tokens!user=alice"]);
        set.Sorted.ShouldBe(["read:users", "tokens!user=alice"]);
    }

    [Fact]
    public void TokenScopes_Validate_UnknownNotHeldAndInherit()
    {
        var alice = new UserSnapshot(1, "alice", false, [], DateTime.UtcNow, null);
        TokenScopes.Validate(alice, null).ShouldBe((null, TokenScopes.Inherit));
        TokenScopes.Validate(alice, ["inherit"]).ShouldBe((null, TokenScopes.Inherit));
        TokenScopes.Validate(alice, ["nonsense"]).Error!.ShouldContain("Unknown scopes: nonsense");
        TokenScopes.Validate(alice, ["list:users"]).Error!.ShouldContain("not held by User alice");
        TokenScopes.Validate(alice, ["read:users!user"]).ShouldBe((null, "read:users!user=alice"));
    }

    [Fact]
    public void TokenScopes_Effective_CutToOwnerWhenOwnerLosesAdmin()
    {
        var formerAdmin = new UserSnapshot(1, "eve", false, [], DateTime.UtcNow, null);
        var effective = TokenScopes.Effective(formerAdmin, "admin:users read:users!user=eve");
        effective.Has("admin:users").ShouldBeFalse();
        effective.Contains("read:users!user=eve").ShouldBeTrue();
    }
}
