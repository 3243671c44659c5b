using System.Text.Json.Nodes;
using Orrery.Gateway;
using Orrery.Gateway.Clusters;
using Orrery.Hub.Api;
using Orrery.Jobs;
using Orrery.Servers.Profiles;
using Orrery.Servers.Spawning;
using Shouldly;
using Xunit;

namespace Orrery.Tests.Placement;

/// <summary>Partition, account and QoS reach the launch spec from profiles, cluster options and job settings.</summary>
public class PlacementTests
{
    [Fact]
    public void ServerProfile_PlacementAndMaxAgeAsTimeLimit()
    {
        var profile = new ServerProfile
        {
            Slug = "big", Command = ["true"], Placement = new() { ["partition"] = "gpu", ["qos"] = "high" }, MaxAge = TimeSpan.FromHours(8),
        };
        var spec = ServerLaunch.Spec(new ServerLaunch.Inputs("server-1", new ServerIdentity("alice", "", "/"), profile, "t", 1234, "/home",
            new Uri("http://127.0.0.1:8000/"), new Uri("http://127.0.0.1:8000/"), "dask-gateway"));
        spec.Placement["partition"].ShouldBe("gpu");
        spec.Placement["qos"].ShouldBe("high");
        spec.Resources.TimeLimit.ShouldBe(TimeSpan.FromHours(8));
    }

    [Fact]
    public void ClusterOptions_OverrideTheGatewaysPlacement()
    {
        var gateway = new GatewayOptions { Placement = new() { ["partition"] = "debug", ["account"] = "geo" } };
        var settings = ClusterSettings.From(new JsonObject { ["partition"] = "big", ["worker_backend"] = "slurm" });
        var placement = settings.Placement(gateway);
        placement["partition"].ShouldBe("big");
        placement["account"].ShouldBe("geo");
        settings.WorkerBackendOr(gateway, "local").ShouldBe("slurm");
        settings.SchedulerBackendOr(gateway, "local").ShouldBe("local");
    }

    [Fact]
    public void Jobs_SettingThenTheImagesProfile()
    {
        var jobs = new JobsOptions
        {
            Placement = new() { ["partition"] = "batch" },
            Backend = "slurm",
            Profiles = new() { ["gpu"] = new JobProfile { Image = "pytorch", Backend = "gpu-slurm", Placement = new() { ["partition"] = "gpu" } } },
        };
        jobs.PlacementFor("pytorch")["partition"].ShouldBe("gpu");
        jobs.PlacementFor("alpine")["partition"].ShouldBe("batch");
        jobs.BackendFor("pytorch", "local").ShouldBe("gpu-slurm");
        jobs.BackendFor("alpine", "local").ShouldBe("slurm");
    }
}
