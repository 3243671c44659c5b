using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Backends.Local;
using Orrery.Core.Compute;

namespace Orrery.Tests.Backends.Local;

public class LocalBackendRegistrationTests
{
    [Fact]
    public void AddLocalBackend_CalledTwice_RegistersOneBackendWithBoundOptions()
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Orrery:Backends:Local:StateDir"] = "/data/run",
                ["Orrery:Backends:Local:StopGrace"] = "00:00:03",
            })
            .Build();
        ServiceCollection services = new();
        services.AddSingleton(configuration);
        services.AddLogging();

        services.AddLocalBackend();
        services.AddLocalBackend();
        using ServiceProvider provider = services.BuildServiceProvider();

        IComputeBackend backend = provider.GetServices<IComputeBackend>().ShouldHaveSingleItem();
        backend.ShouldBeOfType<LocalProcessBackend>().Name.ShouldBe("local");
        LocalBackendOptions options = provider.GetRequiredService<IOptions<LocalBackendOptions>>().Value;
        options.StateDir.ShouldBe("/data/run");
        options.StopGrace.ShouldBe(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void LocalBackendOptions_Defaults_TenSecondGrace() =>
        new LocalBackendOptions().StopGrace.ShouldBe(TimeSpan.FromSeconds(10));
}
