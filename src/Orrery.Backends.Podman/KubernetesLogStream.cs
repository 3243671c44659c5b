namespace Orrery.Backends.Podman;

/// <summary>
/// The plain output in a k8s-file log (conmon's format, one record a line: <c>&lt;time&gt; &lt;stdout|stderr&gt;
/// &lt;F|P&gt; &lt;text&gt;</c>; F ends a line of the program's output, P is part of a line the next record continues).
/// It reads the file as it grows: at the end of what is written it returns 0, and a later read goes on from there, as
/// callers following a log expect. Only complete records are decoded; a record conmon is still writing waits, so a
/// half-written one never shows up as garbage.
/// </summary>
internal sealed class KubernetesLogStream(Stream file) : Stream
{
    private byte[] _raw = new byte[64 * 1024];   // read from the file, not decoded yet
    private int _rawStart;
    private int _rawEnd;
    private byte[] _plain = new byte[64 * 1024];   // decoded, not returned yet
    private int _plainStart;
    private int _plainEnd;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0)
            return 0;
        while (true)
        {
            var taken = TakeDecoded(buffer);
            if (taken > 0)
                return taken;
            var read = file.Read(RawSpace().Span);
            if (read == 0)
                return 0;
            _rawEnd += read;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
            return 0;
        while (true)
        {
            var taken = TakeDecoded(buffer.Span);
            if (taken > 0)
                return taken;
            var read = await file.ReadAsync(RawSpace(), cancellationToken);
            if (read == 0)
                return 0;
            _rawEnd += read;
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            file.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await file.DisposeAsync();
        await base.DisposeAsync();
    }

    /// <summary>Copies decoded output into <paramref name="buffer"/>, decoding the complete records read so far first if needed.</summary>
    private int TakeDecoded(Span<byte> buffer)
    {
        if (_plainStart == _plainEnd)
        {
            _plainStart = _plainEnd = 0;
            DecodeCompleteRecords();
        }
        var count = Math.Min(buffer.Length, _plainEnd - _plainStart);
        _plain.AsSpan(_plainStart, count).CopyTo(buffer);
        _plainStart += count;
        return count;
    }

    private void DecodeCompleteRecords()
    {
        while (_raw.AsSpan(_rawStart, _rawEnd - _rawStart).IndexOf((byte)'\n') is var newline and >= 0)
        {
            Decode(_raw.AsSpan(_rawStart, newline));
            _rawStart += newline + 1;
        }
    }

    /// <summary>One record without its newline.</summary>
    private void Decode(ReadOnlySpan<byte> record)
    {
        // "<time> <stream> <tags> <text>": the text is everything after the third space, and may itself contain spaces.
        var afterTime = record.IndexOf((byte)' ');
        var afterStream = afterTime < 0 ? -1 : record[(afterTime + 1)..].IndexOf((byte)' ');
        if (afterStream < 0)
        {
            Append(record, newline: true);   // not conmon's format: passed on as it is
            return;
        }
        var tagsAndText = record[(afterTime + 1 + afterStream + 1)..];
        var afterTags = tagsAndText.IndexOf((byte)' ');
        var tags = afterTags < 0 ? tagsAndText : tagsAndText[..afterTags];
        var text = afterTags < 0 ? [] : tagsAndText[(afterTags + 1)..];
        // Tags are ':'-separated in the CRI format; P marks a partial line, anything else ends one.
        Append(text, newline: tags.IndexOf((byte)'P') < 0);
    }

    private void Append(ReadOnlySpan<byte> text, bool newline)
    {
        var needed = _plainEnd + text.Length + 1;
        if (needed > _plain.Length)
            Array.Resize(ref _plain, Math.Max(needed, _plain.Length * 2));
        text.CopyTo(_plain.AsSpan(_plainEnd));
        _plainEnd += text.Length;
        if (newline)
            _plain[_plainEnd++] = (byte)'\n';
    }

    /// <summary>Free space after the undecoded bytes: moved to the front, and the buffer grown when one record fills it.</summary>
    private Memory<byte> RawSpace()
    {
        if (_rawStart > 0)
        {
            _raw.AsSpan(_rawStart, _rawEnd - _rawStart).CopyTo(_raw);
            _rawEnd -= _rawStart;
            _rawStart = 0;
        }
        if (_rawEnd == _raw.Length)
            Array.Resize(ref _raw, _raw.Length * 2);
        return _raw.AsMemory(_rawEnd);
    }
}
