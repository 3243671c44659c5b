using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Net.Sockets;
using System.Text;
using Orrery.Gateway.Proxy;

namespace Orrery.Tests.Gateway;

public class ClientHelloTests
{
    [Fact]
    public async Task TryReadServerName_RealClientHello_ReturnsSni()
    {
        var hello = await CaptureClientHelloAsync("daskgateway-abc");

        ClientHello.TryReadServerName(hello, out var name).ShouldBe(ClientHelloStatus.Parsed);
        name.ShouldBe("daskgateway-abc");
    }

    [Fact]
    public async Task TryReadServerName_RealClientHelloInManySegments_ReturnsSni()
    {
        var hello = await CaptureClientHelloAsync("daskgateway-ns.0123456789abcdef");

        // Segments of 1, 2, 3, ... bytes, so the header itself is split too.
        ClientHello.TryReadServerName(Segmented(hello, 1, 2, 3, 7, 100), out var name).ShouldBe(ClientHelloStatus.Parsed);
        name.ShouldBe("daskgateway-ns.0123456789abcdef");
    }

    [Fact]
    public async Task TryReadServerName_BytesAfterTheRecord_AreIgnored()
    {
        var hello = await CaptureClientHelloAsync("daskgateway-abc");

        ClientHello.TryReadServerName([.. hello, 0x17, 0x03, 0x03, 0x00], out var name).ShouldBe(ClientHelloStatus.Parsed);
        name.ShouldBe("daskgateway-abc");
    }

    [Fact]
    public async Task TryReadServerName_HelloWithoutSni_ParsedWithoutName()
    {
        // SslStream sends no SNI for an IP address.
        var hello = await CaptureClientHelloAsync("127.0.0.1");

        ClientHello.TryReadServerName(hello, out var name).ShouldBe(ClientHelloStatus.Parsed);
        name.ShouldBeNull();
    }

    [Fact]
    public void TryReadServerName_MinimalHelloWithoutExtensions_ParsedWithoutName()
    {
        ClientHello.TryReadServerName(Hello(extensions: null), out var name).ShouldBe(ClientHelloStatus.Parsed);
        name.ShouldBeNull();
    }

    [Fact]
    public void TryReadServerName_SyntheticHello_SkipsOtherExtensionsAndNameTypes()
    {
        var extensions = Concat(
            Extension(0x000a, [0x00, 0x02, 0x00, 0x1d]),                             // supported_groups
            Extension(0x0000, Vector(2, Concat([0x07], Vector(2, [1, 2, 3]),          // an unknown name type first
                                               [0x00], Vector(2, "daskgateway-x"u8.ToArray())))));

        ClientHello.TryReadServerName(Hello(extensions), out var name).ShouldBe(ClientHelloStatus.Parsed);
        name.ShouldBe("daskgateway-x");
    }

    [Fact]
    public async Task TryReadServerName_EveryTruncation_IsIncompleteNeverMalformed()
    {
        var hello = await CaptureClientHelloAsync("daskgateway-abc");

        for (var length = 0; length < hello.Length; length++)
        {
            ClientHello.TryReadServerName(hello.AsSpan(0, length), out var name).ShouldBe(ClientHelloStatus.Incomplete, $"length {length}");
            name.ShouldBeNull();
        }
    }

    [Fact]
    public async Task TryReadServerName_WrongHandshakeType_Malformed()
    {
        var hello = await CaptureClientHelloAsync("daskgateway-abc");
        hello[5] = 2;   // ServerHello

        ClientHello.TryReadServerName(hello, out var name).ShouldBe(ClientHelloStatus.Malformed);
        name.ShouldBeNull();
    }

    [Theory]
    [InlineData(0xFFFF)]                             // longer than TLS allows
    [InlineData(ClientHello.MaxRecordPayload + 1)]
    [InlineData(0)]
    public void TryReadServerName_AbsurdRecordLength_MalformedWithoutWaiting(int length)
    {
        byte[] header = [0x16, 0x03, 0x01, (byte)(length >> 8), (byte)length];

        ClientHello.TryReadServerName(header, out _).ShouldBe(ClientHelloStatus.Malformed);
    }

    [Fact]
    public void TryReadServerName_HandshakeLongerThanRecord_Malformed()
    {
        var hello = Hello(extensions: null);
        hello[6] = 0x7F;   // 3-byte handshake length now far beyond the record

        ClientHello.TryReadServerName(hello, out _).ShouldBe(ClientHelloStatus.Malformed);
    }

    [Fact]
    public void TryReadServerName_ExtensionLengthOverrun_Malformed()
    {
        var extensions = Concat([0x00, 0x00, 0x40, 0x00], [0x00, 0x01]);   // server_name claiming 16 KiB

        ClientHello.TryReadServerName(Hello(extensions), out _).ShouldBe(ClientHelloStatus.Malformed);
    }

    [Fact]
    public void TryReadServerName_HostNameLengthOverrun_Malformed()
    {
        var extensions = Extension(0x0000, Vector(2, Concat([0x00, 0xFF, 0xFF], "abc"u8.ToArray())));

        ClientHello.TryReadServerName(Hello(extensions), out _).ShouldBe(ClientHelloStatus.Malformed);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x61, 0x00, 0x62 })]         // a NUL inside
    [InlineData(new byte[] { 0x61, 0x20, 0x62 })]         // a space
    [InlineData(new byte[] { 0x61, 0xC3, 0xA9 })]         // not ASCII
    public void TryReadServerName_InvalidHostName_Malformed(byte[] hostName)
    {
        var extensions = Extension(0x0000, Vector(2, Concat([0x00], Vector(2, hostName))));

        ClientHello.TryReadServerName(Hello(extensions), out _).ShouldBe(ClientHelloStatus.Malformed);
    }

    [Fact]
    public void TryReadServerName_SessionIdLongerThan32_Malformed()
    {
        ClientHello.TryReadServerName(Hello(extensions: null, sessionIdLength: 33), out _).ShouldBe(ClientHelloStatus.Malformed);
    }

    [Fact]
    public void TryReadServerName_TrailingBytesAfterExtensions_Malformed()
    {
        var body = HelloBody(Extension(0x000a, [0x00, 0x02, 0x00, 0x1d]), sessionIdLength: 0);

        ClientHello.TryReadServerName(Record(Concat([0x01], Vector(3, Concat(body, [0x00])))), out _).ShouldBe(ClientHelloStatus.Malformed);
    }

    [Theory]
    [InlineData("GET /hub/api HTTP/1.1\r\n")]
    [InlineData("\0\u0001\u0002garbage")]
    [InlineData("P")]
    public void TryReadServerName_NotTls_NotTls(string start)
    {
        ClientHello.TryReadServerName(Encoding.Latin1.GetBytes(start), out var name).ShouldBe(ClientHelloStatus.NotTls);
        name.ShouldBeNull();
    }

    [Fact]
    public void TryReadServerName_HandshakeByteWithWrongVersion_Malformed()
    {
        ClientHello.TryReadServerName([0x16, 0x47], out _).ShouldBe(ClientHelloStatus.Malformed);
    }

    [Fact]
    public void TryReadServerName_RandomBytesAfterHandshakeByte_NeverThrows()
    {
        var random = new Random(1234);
        for (var i = 0; i < 2000; i++)
        {
            var data = new byte[random.Next(1, 600)];
            random.NextBytes(data);
            data[0] = 0x16;
            if (data.Length > 1)
                data[1] = 0x03;
            if (data.Length > 4)
                BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(3), (ushort)Math.Max(1, data.Length - 5));
            if (data.Length > 5)
                data[5] = 0x01;
            ClientHello.TryReadServerName(data, out _).ShouldBeOneOf(ClientHelloStatus.Malformed, ClientHelloStatus.Parsed, ClientHelloStatus.Incomplete);
        }
    }

    /// <summary>Runs a real SslStream client handshake into a loopback socket and returns its first TLS record.</summary>
    private static async Task<byte[]> CaptureClientHelloAsync(string targetHost)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var server = await listener.AcceptTcpClientAsync();
        await using var ssl = new SslStream(client.GetStream());
        var handshake = ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            RemoteCertificateValidationCallback = (_, _, _, _) => false,
        });

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new List<byte>();
        var chunk = new byte[4096];
        var stream = server.GetStream();
        while (received.Count < ClientHello.RecordHeaderLength
               || received.Count < ClientHello.RecordHeaderLength + BinaryPrimitives.ReadUInt16BigEndian(received.ToArray().AsSpan(3)))
        {
            var read = await stream.ReadAsync(chunk, timeout.Token);
            if (read == 0)
                throw new InvalidOperationException("The client closed before sending its ClientHello.");
            received.AddRange(chunk.AsSpan(0, read));
        }
        server.Close();
        try
        {
            await handshake;
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            // Expected: the "server" hung up after reading the hello.
        }
        var length = ClientHello.RecordHeaderLength + BinaryPrimitives.ReadUInt16BigEndian(received.ToArray().AsSpan(3));
        return received.Take(length).ToArray();
    }

    private static byte[] Hello(byte[]? extensions, int sessionIdLength = 0) =>
        Record(Concat([0x01], Vector(3, HelloBody(extensions, sessionIdLength))));

    private static byte[] HelloBody(byte[]? extensions, int sessionIdLength) => Concat(
        [0x03, 0x03], new byte[32],                  // legacy_version, random
        Vector(1, new byte[sessionIdLength]),
        Vector(2, [0x13, 0x01]),                     // TLS_AES_128_GCM_SHA256
        Vector(1, [0x00]),                           // null compression
        extensions is null ? [] : Vector(2, extensions));

    private static byte[] Record(byte[] payload) => Concat([0x16, 0x03, 0x01], Vector(2, payload)[..2], payload);

    private static byte[] Extension(ushort type, byte[] data) => Concat([(byte)(type >> 8), (byte)type], Vector(2, data));

    private static byte[] Vector(int lengthBytes, byte[] data)
    {
        var result = new byte[lengthBytes + data.Length];
        for (var i = 0; i < lengthBytes; i++)
            result[i] = (byte)(data.Length >> (8 * (lengthBytes - 1 - i)));
        data.CopyTo(result, lengthBytes);
        return result;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static ReadOnlySequence<byte> Segmented(byte[] data, params int[] sizes)
    {
        Segment? first = null, last = null;
        var offset = 0;
        for (var i = 0; offset < data.Length; i++)
        {
            var size = Math.Min(sizes[Math.Min(i, sizes.Length - 1)], data.Length - offset);
            var memory = data.AsMemory(offset, size);
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
            offset += size;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
