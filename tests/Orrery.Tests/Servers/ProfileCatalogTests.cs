using Orrery.Core.Configuration;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Orrery.Servers;
using Orrery.Servers.Profiles;
using Shouldly;
using Xunit;

namespace Orrery.Tests.Servers;

public class ProfileCatalogTests
{
    private static ProfileCatalog Catalog(params ServerProfile[] profiles) =>
        new(Options.Create(new ServersOptions { Profiles = [.. profiles] }));

    private static ServerProfile Profile(string slug, bool isDefault = false, params string[] groups) =>
        new() { Slug = slug, Command = ["true"], Default = isDefault, AllowedGroups = [.. groups] };

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void NoProfilesConfigured_TheBuiltInSingleuserProfile()
    {
        var catalog = Catalog();
        catalog.All.ShouldHaveSingleItem().Command[0].ShouldBe("jupyterhub-singleuser");
        catalog.Choose(null, "alice", []).Profile!.Slug.ShouldBe("jupyter");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("{}")]
    [InlineData("{\"profile\": \"\"}")]
    [InlineData("{\"profile\": null, \"unknown\": 1}")]
    public void NoProfileAsked_TheDefaultOne(string? body)
    {
        var catalog = Catalog(Profile("small"), Profile("large", isDefault: true));
        catalog.Choose(body is null ? null : Json(body), "alice", []).Profile!.Slug.ShouldBe("large");
    }

    [Fact]
    public void NoneMarkedDefault_TheFirstAllowed()
    {
        var catalog = Catalog(Profile("gpu", false, "gpu-users"), Profile("small"));
        catalog.Choose(null, "alice", []).Profile!.Slug.ShouldBe("small");
        catalog.Choose(null, "bob", ["gpu-users"]).Profile!.Slug.ShouldBe("gpu");
    }

    [Fact]
    public void UnknownSlug_ErrorListsTheChoices()
    {
        var (profile, error) = Catalog(Profile("small"), Profile("large")).Choose(Json("{\"profile\": \"huge\"}"), "alice", []);
        profile.ShouldBeNull();
        error.ShouldBe("Unknown profile 'huge'; choose one of: small, large");
    }

    [Fact]
    public void ProfileOfAnotherGroup_RefusedNamingTheGroups()
    {
        var catalog = Catalog(Profile("small"), Profile("gpu", false, "gpu-users"));
        catalog.Choose(Json("{\"profile\": \"gpu\"}"), "alice", ["other"]).Error.ShouldBe(
            "Profile 'gpu' is not available to user alice (it is for groups: gpu-users)");
        catalog.Choose(Json("{\"profile\": \"gpu\"}"), "bob", ["gpu-users"]).Profile!.Slug.ShouldBe("gpu");
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("\"small\"")]
    [InlineData("{\"profile\": 3}")]
    public void MalformedUserOptions_Refused(string body) =>
        Catalog(Profile("small")).Choose(Json(body), "alice", []).Error.ShouldNotBeNull();

    [Theory]
    [InlineData("Bad Slug", "Slug")]
    [InlineData("ok", "MemoryLimit")]
    public void BadConfiguration_FailsNamingTheSetting(string slug, string setting)
    {
        var profile = Profile(slug);
        if (setting == "MemoryLimit")
            profile.MemoryLimit = "lots";
        Should.Throw<InvalidOperationException>(() => Catalog(profile)).Message.ShouldContain($"Orrery:Servers:Profiles:0:{setting}");
    }

    [Fact]
    public void DuplicateSlugsOrTwoDefaults_Fail()
    {
        Should.Throw<InvalidOperationException>(() => Catalog(Profile("a"), Profile("a"))).Message.ShouldContain("'a' is used by 2");
        Should.Throw<InvalidOperationException>(() => Catalog(Profile("a", true), Profile("b", true))).Message.ShouldContain("Default");
    }

    [Theory]
    [InlineData("512", 512L)]
    [InlineData("1K", 1024L)]
    [InlineData("1.5G", 1610612736L)]
    [InlineData("2t", 2199023255552L)]
    public void ByteSizes_PowersOf1024(string text, long bytes) => ByteSizes.Parse(text).ShouldBe(bytes);

    [Theory]
    [InlineData("0")]
    [InlineData("-1G")]
    [InlineData("G")]
    [InlineData("ten")]
    public void ByteSizes_Invalid(string text) => Should.Throw<FormatException>(() => ByteSizes.Parse(text));

    [Fact]
    public void ByteSizes_FormatForPeople()
    {
        ByteSizes.Format(17).ShouldBe("17 B");
        ByteSizes.Format(1536).ShouldBe("1.5 KiB");
        ByteSizes.Format(10L << 30).ShouldBe("10 GiB");
    }
}
