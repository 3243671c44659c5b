using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Orrery.Gateway.Proxy;

/// <summary>What <see cref="ClientHello.TryReadServerName(ReadOnlySequence{byte}, out string?)"/> found in a connection's first bytes.</summary>
public enum ClientHelloStatus
{
    /// <summary>The first byte is not a TLS handshake record (0x16): plain HTTP or anything else.</summary>
    NotTls,

    /// <summary>A TLS handshake record has started but is not complete yet; read more and ask again.</summary>
    Incomplete,

    /// <summary>The record starts like TLS but is not a well-formed ClientHello within the limits.</summary>
    Malformed,

    /// <summary>A whole ClientHello was parsed; the server name is set when it carried SNI.</summary>
    Parsed,
}

/// <summary>
/// Reads the SNI host name from the first TLS record of a connection without consuming anything (RFC 8446 §4.1.2,
/// RFC 6066 §3). Only the first record is looked at, as the Go dask-gateway proxy does; a ClientHello split over
/// several records counts as malformed. Every length is checked against what encloses it.
/// </summary>
public static class ClientHello
{
    public const byte HandshakeRecord = 0x16;
    public const int RecordHeaderLength = 5;

    /// <summary>Largest plaintext record payload TLS allows (2^14); a ClientHello record is never encrypted.</summary>
    public const int MaxRecordPayload = 16 * 1024;

    /// <summary>The most bytes that ever need to be buffered to decide.</summary>
    public const int MaxRecordLength = RecordHeaderLength + MaxRecordPayload;

    private const byte ClientHelloType = 1;
    private const ushort ServerNameExtension = 0;
    private const byte HostNameType = 0;
    private const int MaxHostNameLength = 255;

    /// <summary>Looks at the start of <paramref name="data"/> (possibly several segments) for a ClientHello.</summary>
    public static ClientHelloStatus TryReadServerName(ReadOnlySequence<byte> data, out string? serverName)
    {
        serverName = null;
        if (data.IsSingleSegment)
            return TryReadServerName(data.FirstSpan, out serverName);
        if (data.FirstSpan.Length >= RecordHeaderLength)
            return Decide(data.FirstSpan, data, out serverName);
        Span<byte> header = stackalloc byte[RecordHeaderLength];
        var available = (int)Math.Min(data.Length, RecordHeaderLength);
        data.Slice(0, available).CopyTo(header);
        return Decide(header[..available], data, out serverName);
    }

    /// <summary>Looks at the start of <paramref name="data"/> for a ClientHello.</summary>
    public static ClientHelloStatus TryReadServerName(ReadOnlySpan<byte> data, out string? serverName)
    {
        serverName = null;
        var status = CheckHeader(data, data.Length, out var recordLength);
        if (status != ClientHelloStatus.Parsed)
            return status;
        return ParseHandshake(data.Slice(RecordHeaderLength, recordLength), out serverName);
    }

    private static ClientHelloStatus Decide(ReadOnlySpan<byte> start, ReadOnlySequence<byte> data, out string? serverName)
    {
        serverName = null;
        var status = CheckHeader(start, data.Length, out var recordLength);
        if (status != ClientHelloStatus.Parsed)
            return status;
        var record = ArrayPool<byte>.Shared.Rent(recordLength);
        try
        {
            data.Slice(RecordHeaderLength, recordLength).CopyTo(record);
            return ParseHandshake(record.AsSpan(0, recordLength), out serverName);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(record);
        }
    }

    /// <summary>Checks the record header in <paramref name="start"/>; Parsed here means the whole record is buffered.</summary>
    private static ClientHelloStatus CheckHeader(ReadOnlySpan<byte> start, long available, out int recordLength)
    {
        recordLength = 0;
        if (start.IsEmpty)
            return ClientHelloStatus.Incomplete;
        if (start[0] != HandshakeRecord)
            return ClientHelloStatus.NotTls;
        // legacy_record_version is 3.x (SSL 3.0 to TLS 1.3 all use major 3).
        if (start.Length >= 2 && start[1] != 3)
            return ClientHelloStatus.Malformed;
        if (start.Length < RecordHeaderLength)
            return ClientHelloStatus.Incomplete;
        recordLength = BinaryPrimitives.ReadUInt16BigEndian(start[3..]);
        if (recordLength is 0 or > MaxRecordPayload)
            return ClientHelloStatus.Malformed;
        return available < RecordHeaderLength + recordLength ? ClientHelloStatus.Incomplete : ClientHelloStatus.Parsed;
    }

    private static ClientHelloStatus ParseHandshake(ReadOnlySpan<byte> record, out string? serverName)
    {
        serverName = null;
        var reader = new Reader(record);
        if (!reader.TryByte(out var type) || type != ClientHelloType)
            return ClientHelloStatus.Malformed;
        if (!reader.TryVector(3, out var body) || !reader.AtEnd)
            return ClientHelloStatus.Malformed;

        var hello = new Reader(body);
        if (!hello.TrySkip(2 + 32)                          // legacy_version, random
            || !hello.TryVector(1, out var sessionId) || sessionId.Length > 32
            || !hello.TryVector(2, out var cipherSuites) || cipherSuites.Length < 2 || cipherSuites.Length % 2 != 0
            || !hello.TryVector(1, out var compression) || compression.Length < 1)
            return ClientHelloStatus.Malformed;
        if (hello.AtEnd)
            return ClientHelloStatus.Parsed;                // no extensions at all (old clients)
        if (!hello.TryVector(2, out var extensionBlock) || !hello.AtEnd)
            return ClientHelloStatus.Malformed;

        var extensions = new Reader(extensionBlock);
        while (!extensions.AtEnd)
        {
            if (!extensions.TryUInt16(out var extensionType) || !extensions.TryVector(2, out var extension))
                return ClientHelloStatus.Malformed;
            if (extensionType != ServerNameExtension || serverName is not null)
                continue;
            var status = ParseServerName(extension, out serverName);
            if (status != ClientHelloStatus.Parsed)
                return status;
        }
        return ClientHelloStatus.Parsed;
    }

    private static ClientHelloStatus ParseServerName(ReadOnlySpan<byte> extension, out string? serverName)
    {
        serverName = null;
        var outer = new Reader(extension);
        if (!outer.TryVector(2, out var list) || !outer.AtEnd || list.IsEmpty)
            return ClientHelloStatus.Malformed;
        var names = new Reader(list);
        while (!names.AtEnd)
        {
            if (!names.TryByte(out var nameType) || !names.TryVector(2, out var name))
                return ClientHelloStatus.Malformed;
            if (nameType != HostNameType || serverName is not null)
                continue;
            if (name.IsEmpty || name.Length > MaxHostNameLength)
                return ClientHelloStatus.Malformed;
            foreach (var b in name)
                if (b is < 0x21 or > 0x7E)
                    return ClientHelloStatus.Malformed;
            serverName = Encoding.ASCII.GetString(name);
        }
        return ClientHelloStatus.Parsed;
    }

    /// <summary>A bounds-checked cursor over big-endian TLS structures.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public readonly bool AtEnd => _rest.IsEmpty;

        public bool TryByte(out byte value)
        {
            value = 0;
            if (_rest.IsEmpty)
                return false;
            value = _rest[0];
            _rest = _rest[1..];
            return true;
        }

        public bool TryUInt16(out ushort value)
        {
            value = 0;
            if (_rest.Length < 2)
                return false;
            value = BinaryPrimitives.ReadUInt16BigEndian(_rest);
            _rest = _rest[2..];
            return true;
        }

        public bool TrySkip(int count)
        {
            if (_rest.Length < count)
                return false;
            _rest = _rest[count..];
            return true;
        }

        /// <summary>Reads a vector whose length prefix takes <paramref name="lengthBytes"/> bytes (1, 2 or 3).</summary>
        public bool TryVector(int lengthBytes, out ReadOnlySpan<byte> vector)
        {
            vector = default;
            if (_rest.Length < lengthBytes)
                return false;
            var length = 0;
            for (var i = 0; i < lengthBytes; i++)
                length = (length << 8) | _rest[i];
            if (_rest.Length - lengthBytes < length)
                return false;
            vector = _rest.Slice(lengthBytes, length);
            _rest = _rest[(lengthBytes + length)..];
            return true;
        }
    }
}
