using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Orrery.FunctionalTests.Infrastructure;

/// <summary>
/// The server as operators run it: the built Orrery.Server in its own process, read through its console output.
/// Used where the process boundary is the point (first-start output, environment variables).
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ServerProcess(Process process) => _process = process;

    public Uri? Url { get; private set; }

    public string Output
    {
        get
        {
            lock (_output)
                return string.Join('\n', _output);
        }
    }

    public static async Task<ServerProcess> StartAsync(string dataDir, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Orrery.Server.dll"), "--urls", "http://127.0.0.1:0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDir,
        };
        start.Environment["ORRERY_DATA_DIR"] = dataDir;
        start.Environment.Remove("ORRERY_ADMIN_TOKEN");
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        var server = new ServerProcess(Process.Start(start)!);
        server._process.OutputDataReceived += (_, e) => server.Record(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Record(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        await Eventually.TrueAsync(() => Task.FromResult(server.Url is not null || server._process.HasExited), seconds: 60);
        if (server.Url is null)
            throw new InvalidOperationException("Server exited early:\n" + server.Output);
        return server;
    }

    public string? Find(Regex pattern) => pattern.Match(Output) is { Success: true } m ? m.Groups[1].Value : null;

    public HttpClient Client(string? token = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(Url!.GetLeftPart(UriPartial.Authority) + "/") };
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new("token", token);
        return client;
    }

    private void Record(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.Add(line);
        if (ReadyLine().Match(line) is { Success: true } ready)
            Url = new Uri(ready.Groups[1].Value);
    }

    [GeneratedRegex(@"Orrery is ready at (\S+)")]
    private static partial Regex ReadyLine();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
