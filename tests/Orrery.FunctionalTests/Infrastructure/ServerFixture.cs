namespace Orrery.FunctionalTests.Infrastructure;

/// <summary>One server per test class; tests create their own users with unique names.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private OrreryTestServer? _server;

    public OrreryTestServer Server => _server ?? throw new InvalidOperationException("Server not started.");

    public async Task InitializeAsync() => _server = await OrreryTestServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}
