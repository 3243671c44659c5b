using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Gateway.Proxy;

namespace Orrery.FunctionalTests.Gateway;

/// <summary>
/// The scheduler SNI proxy on Orrery's public port, against a real TLS "scheduler" that requires the client
/// certificate, as a dask scheduler does (protocol notes §5.1). Every wait is bounded; none is a timing assertion.
/// </summary>
public class SniProxyTests(SniProxyTests.Fixture fixture) : IClassFixture<SniProxyTests.Fixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private OrreryTestServer Server => fixture.Server;
    private X509Certificate2 Certificate => fixture.Certificate;

    [Fact]
    public async Task TlsWithClusterSni_HandshakeReachesScheduler_EchoesOneMebibyte()
    {
        await using var scheduler = new FakeScheduler(Certificate);
        var cluster = Route(scheduler);

        using var client = await ConnectAsync(Server, "daskgateway-" + cluster, Certificate);

        // The client saw the scheduler's certificate and the scheduler saw the client's: TLS ends at the scheduler.
        client.Ssl.RemoteCertificate!.GetCertHash().ShouldBe(Certificate.GetCertHash());
        (await scheduler.ClientCertificateHash.Task.WaitAsync(Bound)).ShouldBe(Certificate.GetCertHash());
        var data = RandomNumberGenerator.GetBytes(1024 * 1024);
        (await EchoAsync(client.Ssl, data)).ShouldBe(data);
    }

    [Fact]
    public async Task ClientHalfClose_SchedulerSeesEndAndItsLastMessageArrives()
    {
        await using var scheduler = new FakeScheduler(Certificate);
        var cluster = Route(scheduler);
        using var client = await ConnectAsync(Server, "daskgateway-" + cluster, Certificate);
        (await EchoAsync(client.Ssl, "ping"u8.ToArray())).ShouldBe("ping"u8.ToArray());

        await client.Ssl.ShutdownAsync();
        client.Tcp.Client.Shutdown(SocketShutdown.Send);

        await scheduler.SawEndOfStream.Task.WaitAsync(Bound);
        (await ReadToEndAsync(client.Ssl)).ShouldBe(FakeScheduler.Farewell);
    }

    [Fact]
    public async Task SchedulerHalfClose_ClientSeesEndAndCanStillSend()
    {
        await using var scheduler = new FakeScheduler(Certificate, closesFirst: true);
        var cluster = Route(scheduler);
        using var client = await ConnectAsync(Server, "daskgateway-" + cluster, Certificate);

        (await ReadToEndAsync(client.Ssl)).ShouldBe(FakeScheduler.Greeting);
        var data = RandomNumberGenerator.GetBytes(256 * 1024);
        using (var timeout = new CancellationTokenSource(Bound))
            await client.Ssl.WriteAsync(data, timeout.Token);
        await client.Ssl.ShutdownAsync();
        client.Tcp.Client.Shutdown(SocketShutdown.Send);

        (await scheduler.ReceivedBeforeEnd.Task.WaitAsync(Bound)).ShouldBe(data.Length);
    }

    [Fact]
    public async Task ClientHelloInPieces_StillProxied()
    {
        await using var scheduler = new FakeScheduler(Certificate);
        var cluster = Route(scheduler);

        using var client = await ConnectAsync(Server, "daskgateway-" + cluster, Certificate, trickle: true);

        (await EchoAsync(client.Ssl, "in pieces"u8.ToArray())).ShouldBe("in pieces"u8.ToArray());
    }

    [Fact]
    public async Task ManyConcurrentProxiedConnections_EachEchoesItsOwnData()
    {
        await using var scheduler = new FakeScheduler(Certificate);
        var cluster = Route(scheduler);

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            using var client = await ConnectAsync(Server, "daskgateway-" + cluster, Certificate);
            var data = RandomNumberGenerator.GetBytes(64 * 1024);
            return (await EchoAsync(client.Ssl, data)).SequenceEqual(data);
        }));

        results.ShouldAllBe(same => same);
    }

    [Fact]
    public async Task UnknownCluster_ConnectionClosed()
    {
        await using var scheduler = new FakeScheduler(Certificate);
        Route(scheduler);

        (await HandshakeFailsAsync(Server, "daskgateway-no-such-cluster")).ShouldBeTrue();
        scheduler.Accepted.ShouldBe(0);
        (await GetHubApiAsync(Server)).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task KnownClusterWithSchedulerDown_ConnectionClosed()
    {
        var cluster = "down-" + Guid.NewGuid().ToString("N");
        Server.Service<ClusterRoutes>().Set(cluster, new IPEndPoint(IPAddress.Loopback, UnusedPort()), null);

        (await HandshakeFailsAsync(Server, "daskgateway-" + cluster)).ShouldBeTrue();
        (await GetHubApiAsync(Server)).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TlsWithoutTheSniPrefix_NotProxied()
    {
        await using var scheduler = new FakeScheduler(Certificate);
        var cluster = Route(scheduler);

        // Goes to the HTTP pipeline, which does not speak TLS (yet): the handshake fails there.
        (await HandshakeFailsAsync(Server, cluster)).ShouldBeTrue();
        scheduler.Accepted.ShouldBe(0);
    }

    [Theory]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF })]   // not a ClientHello
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0xFF, 0xFF })]                                 // record longer than TLS allows
    [InlineData(new byte[] { 0x16, 0x42, 0x13, 0x37, 0x00, 0x01 })]                           // not TLS after all
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x7F, 1, 2, 3, 4 })] // lengths that do not fit
    public async Task GarbageAfterHandshakeByte_ClosedAndHttpStillServed(byte[] garbage)
    {
        using var tcp = await ConnectTcpAsync(Server);
        await tcp.GetStream().WriteAsync(garbage);

        (await ReadUntilClosedAsync(tcp.GetStream())).ShouldBe(0);
        (await GetHubApiAsync(Server)).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task NonTlsNonHttpBytes_ClosedAndHttpStillServed()
    {
        using var tcp = await ConnectTcpAsync(Server);
        var garbage = RandomNumberGenerator.GetBytes(512);
        garbage[0] = 0x01;
        await tcp.GetStream().WriteAsync(garbage);

        // The HTTP pipeline gets these bytes and answers 400 before closing; the connection ends either way.
        await ReadUntilClosedAsync(tcp.GetStream());
        (await GetHubApiAsync(Server)).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task SilentAndPartialClients_ClosedAfterTimeout_OtherConnectionsUnaffected()
    {
        await using var server = await OrreryTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Orrery:Gateway:Proxy:FirstBytesTimeout"] = "00:00:01",
        });
        await using var scheduler = new FakeScheduler(Certificate);
        var cluster = Route(scheduler, server);

        using var silent = await ConnectTcpAsync(server);
        using var partial = await ConnectTcpAsync(server);
        await partial.GetStream().WriteAsync(new byte[] { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00 });

        // While those two wait, plain HTTP and a proxied connection go ahead.
        var http = GetHubApiAsync(server);
        var proxied = Task.Run(async () =>
        {
            using var client = await ConnectAsync(server, "daskgateway-" + cluster, Certificate);
            return await EchoAsync(client.Ssl, "unaffected"u8.ToArray());
        });
        (await http).ShouldBe(HttpStatusCode.OK);
        (await proxied).ShouldBe("unaffected"u8.ToArray());

        (await ReadUntilClosedAsync(silent.GetStream())).ShouldBe(0);
        (await ReadUntilClosedAsync(partial.GetStream())).ShouldBe(0);
        (await GetHubApiAsync(server)).ShouldBe(HttpStatusCode.OK);
    }

    private string Route(FakeScheduler scheduler, OrreryTestServer? server = null)
    {
        var cluster = "abc-" + Guid.NewGuid().ToString("N")[..12];
        (server ?? Server).Service<ClusterRoutes>().Set(cluster, scheduler.EndPoint, null);
        return cluster;
    }

    private static async Task<HttpStatusCode> GetHubApiAsync(OrreryTestServer server)
    {
        using var http = server.Client();
        using var timeout = new CancellationTokenSource(Bound);
        using var response = await http.GetAsync("hub/api", timeout.Token);
        return response.StatusCode;
    }

    private static async Task<TcpClient> ConnectTcpAsync(OrreryTestServer server)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        using var timeout = new CancellationTokenSource(Bound);
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port, timeout.Token);
        return tcp;
    }

    /// <summary>A dask_gateway-style client: SNI as given, trusting only the cluster certificate, presenting it too.</summary>
    private static async Task<TlsClient> ConnectAsync(OrreryTestServer server, string targetHost, X509Certificate2 certificate, bool trickle = false)
    {
        var tcp = await ConnectTcpAsync(server);
        Stream stream = trickle ? new TricklingStream(tcp.GetStream()) : tcp.GetStream();
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            using var timeout = new CancellationTokenSource(Bound);
            await ssl.AuthenticateAsClientAsync(ClientOptions(targetHost, certificate), timeout.Token);
            return new TlsClient(tcp, ssl);
        }
        catch
        {
            await ssl.DisposeAsync();
            tcp.Dispose();
            throw;
        }
    }

    private static SslClientAuthenticationOptions ClientOptions(string targetHost, X509Certificate2 certificate) => new()
    {
        TargetHost = targetHost,
        // Like the Python client: the cluster certificate is the only trust anchor, and host names are not checked.
        RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented is not null && presented.GetCertHash().AsSpan().SequenceEqual(certificate.GetCertHash()),
        LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
        ClientCertificates = [certificate],
    };

    private async Task<bool> HandshakeFailsAsync(OrreryTestServer server, string targetHost)
    {
        try
        {
            using var client = await ConnectAsync(server, targetHost, Certificate);
            return false;
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            return true;
        }
    }

    /// <summary>Writes <paramref name="data"/> while reading the same number of bytes back, so neither side stalls.</summary>
    private static async Task<byte[]> EchoAsync(SslStream ssl, byte[] data)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var writing = Task.Run(async () =>
        {
            for (var offset = 0; offset < data.Length; offset += 16 * 1024)
                await ssl.WriteAsync(data.AsMemory(offset, Math.Min(16 * 1024, data.Length - offset)), timeout.Token);
        });
        var received = new byte[data.Length];
        var total = 0;
        while (total < received.Length)
        {
            var read = await ssl.ReadAsync(received.AsMemory(total), timeout.Token);
            if (read == 0)
                throw new IOException($"The connection ended after {total} of {received.Length} echoed bytes.");
            total += read;
        }
        await writing;
        return received;
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        using var timeout = new CancellationTokenSource(Bound);
        using var all = new MemoryStream();
        await stream.CopyToAsync(all, timeout.Token);
        return all.ToArray();
    }

    /// <summary>Reads until the server closes the connection (EOF or reset); returns how many bytes came first.</summary>
    private static async Task<int> ReadUntilClosedAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var buffer = new byte[4096];
        var total = 0;
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
                total += read;
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            // A reset is a close too.
        }
        return total;
    }

    private static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The cluster certificate as §5.2 describes it: RSA-2048, SHA-256, self-signed, only a SAN extension.</summary>
    private static X509Certificate2 CreateClusterCertificate(string name)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=dask-internal", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        san.AddDnsName("dask-internal");
        san.AddDnsName("skein-internal");
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // A PFX round trip gives a key that OpenSSL-backed SslStream can use on Linux.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    public sealed class Fixture : IAsyncLifetime
    {
        private OrreryTestServer? _server;

        public OrreryTestServer Server => _server ?? throw new InvalidOperationException("Server not started.");
        public X509Certificate2 Certificate { get; } = CreateClusterCertificate("abc");

        public async Task InitializeAsync() => _server = await OrreryTestServer.StartAsync();

        public async Task DisposeAsync()
        {
            if (_server is not null)
                await _server.DisposeAsync();
            Certificate.Dispose();
        }
    }

    private sealed record TlsClient(TcpClient Tcp, SslStream Ssl) : IDisposable
    {
        public void Dispose()
        {
            Ssl.Dispose();
            Tcp.Dispose();
        }
    }

    /// <summary>
    /// A stand-in dask scheduler on 127.0.0.1: TLS with the cluster certificate, client certificate required and
    /// checked against that same certificate. By default it echoes until EOF and then sends <see cref="Farewell"/>;
    /// with <c>closesFirst</c> it sends <see cref="Greeting"/>, half-closes, and counts what arrives until EOF.
    /// </summary>
    private sealed class FakeScheduler : IAsyncDisposable
    {
        public static readonly byte[] Farewell = "farewell from the scheduler"u8.ToArray();
        public static readonly byte[] Greeting = "hello from the scheduler"u8.ToArray();

        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _certificate;
        private readonly bool _closesFirst;
        private readonly List<Task> _sessions = [];
        private readonly Task _accepting;
        private int _accepted;

        public FakeScheduler(X509Certificate2 certificate, bool closesFirst = false)
        {
            _certificate = certificate;
            _closesFirst = closesFirst;
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;
        public int Accepted => Volatile.Read(ref _accepted);
        public TaskCompletionSource<byte[]> ClientCertificateHash { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource SawEndOfStream { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<long> ReceivedBeforeEnd { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private async Task AcceptAsync()
        {
            while (true)
            {
                TcpClient tcp;
                try
                {
                    tcp = await _listener.AcceptTcpClientAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
                Interlocked.Increment(ref _accepted);
                lock (_sessions)
                    _sessions.Add(ServeAsync(tcp));
            }
        }

        private async Task ServeAsync(TcpClient tcp)
        {
            using var _ = tcp;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await using var ssl = new SslStream(tcp.GetStream());
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = _certificate,
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = (_, presented, _, _) =>
                        presented is not null && presented.GetCertHash().AsSpan().SequenceEqual(_certificate.GetCertHash()),
                }, timeout.Token);
                ClientCertificateHash.TrySetResult(ssl.RemoteCertificate!.GetCertHash());
                var buffer = new byte[64 * 1024];
                int read;
                if (_closesFirst)
                {
                    await ssl.WriteAsync(Greeting, timeout.Token);
                    await ssl.ShutdownAsync();
                    tcp.Client.Shutdown(SocketShutdown.Send);
                    long total = 0;
                    while ((read = await ssl.ReadAsync(buffer, timeout.Token)) > 0)
                        total += read;
                    ReceivedBeforeEnd.TrySetResult(total);
                    return;
                }
                while ((read = await ssl.ReadAsync(buffer, timeout.Token)) > 0)
                    await ssl.WriteAsync(buffer.AsMemory(0, read), timeout.Token);
                SawEndOfStream.TrySetResult();
                await ssl.WriteAsync(Farewell, timeout.Token);
                await ssl.ShutdownAsync();
                tcp.Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                ClientCertificateHash.TrySetException(e);
                SawEndOfStream.TrySetException(e);
                ReceivedBeforeEnd.TrySetException(e);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _accepting;
            Task[] sessions;
            lock (_sessions)
                sessions = [.. _sessions];
            await Task.WhenAll(sessions).WaitAsync(Bound);
            _listener.Dispose();
        }
    }

    /// <summary>Sends the first write (the ClientHello) in small pieces with pauses, so the proxy sees a partial record first.</summary>
    private sealed class TricklingStream(NetworkStream inner) : Stream
    {
        private bool _first = true;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_first)
            {
                await inner.WriteAsync(buffer, cancellationToken);
                return;
            }
            _first = false;
            var offset = 0;
            foreach (var cut in new[] { 1, 3, 6, 40 })
            {
                if (cut >= buffer.Length)
                    break;
                await inner.WriteAsync(buffer[offset..cut], cancellationToken);
                offset = cut;
                await Task.Delay(50, cancellationToken);
            }
            await inner.WriteAsync(buffer[offset..], cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
