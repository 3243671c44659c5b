using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Orrery.Core.Bundles;

namespace Orrery.Tests.Jobs;

public sealed class CodeBundleTests : IDisposable
{
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0755 = Mode0644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "orrery-bundle-" + Guid.NewGuid().ToString("N"));

    public CodeBundleTests() => Directory.CreateDirectory(Target);

    /// <summary>The fresh, empty working directory every test extracts into.</summary>
    private string Target => Path.Combine(_scratch, "work");

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    /// <summary>One zip entry: a name ending in '/' is a directory; <paramref name="UnixMode"/> 0 keeps .NET's default.</summary>
    private sealed record Item(string Name, string Content = "x", int UnixMode = 0, CompressionLevel Level = CompressionLevel.Optimal);

    private static byte[] Zip(params Item[] items)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (Item item in items)
            {
                ZipArchiveEntry entry = zip.CreateEntry(item.Name, item.Level);
                if (item.UnixMode != 0)
                    entry.ExternalAttributes = item.UnixMode << 16;
                if (!item.Name.EndsWith('/'))
                {
                    using Stream data = entry.Open();
                    data.Write(Encoding.UTF8.GetBytes(item.Content));
                }
            }
        }

        return buffer.ToArray();
    }

    private BundleSummary Extract(byte[] zip, BundleLimits? limits = null) =>
        CodeBundle.ExtractBase64(Convert.ToBase64String(zip), Target, limits ?? BundleLimits.Default);

    /// <summary>Rejected with a message holding every expected part, and nothing left in the working directory.</summary>
    private void ShouldReject(Func<BundleSummary> extract, params string[] expected)
    {
        var error = Should.Throw<BundleRejectedException>(extract);
        foreach (string part in expected)
            error.Message.ShouldContain(part, Case.Sensitive);
        Directory.EnumerateFileSystemEntries(Target).ShouldBeEmpty();
    }

    private void ShouldReject(byte[] zip, params string[] expected) => ShouldReject(() => Extract(zip), expected);

    /// <summary>Every file and directory under <paramref name="root"/>: "dir/" or "file=content", sorted.</summary>
    private static List<string> Tree(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(path => Directory.Exists(path)
                ? Path.GetRelativePath(root, path) + "/"
                : Path.GetRelativePath(root, path) + "=" + File.ReadAllText(path))
            .Order(StringComparer.Ordinal)];

    // ---- what kbatch sends

    [Fact]
    public void SingleStoredFile_ExtractsExactly()
    {
        byte[] zip = Zip(new Item("job.py", "print('hello')\n", Level: CompressionLevel.NoCompression));

        Extract(zip).ShouldBe(new BundleSummary(1, 0, 15));

        Tree(Target).ShouldBe(["job.py=print('hello')\n"]);
        File.GetUnixFileMode(Path.Combine(Target, "job.py")).ShouldBe(Mode0644);
    }

    [Fact]
    public void DirectoryWithSubEntries_ExtractsExactly()
    {
        byte[] zip = Zip(
            new Item("main.py", "import sub\n", UnixMode: 0x81A4),   // regular 0644
            new Item("sub/", UnixMode: 0x41ED),                      // directory 0755
            new Item("sub/data.csv", "a,b\n1,2\n"),
            new Item("sub/deeper/", UnixMode: 0x41ED),
            new Item("sub/deeper/notes.txt", "deep", UnixMode: 0),   // no Unix mode recorded, as on Windows
            new Item("implied/only.txt", "parent has no entry"),
            new Item("empty/"));

        Extract(zip).ShouldBe(new BundleSummary(4, 4, 11 + 8 + 4 + 19));

        Tree(Target).ShouldBe([
            "empty/", "implied/", "implied/only.txt=parent has no entry", "main.py=import sub\n",
            "sub/", "sub/data.csv=a,b\n1,2\n", "sub/deeper/", "sub/deeper/notes.txt=deep"]);
        File.GetUnixFileMode(Path.Combine(Target, "sub", "deeper")).ShouldBe(Mode0755);
        File.GetUnixFileMode(Path.Combine(Target, "implied")).ShouldBe(Mode0755);
        File.GetUnixFileMode(Path.Combine(Target, "sub", "data.csv")).ShouldBe(Mode0644);
    }

    [Fact]
    public void ExecBits_OnlyTheOwnersIsKept()
    {
        byte[] zip = Zip(new Item("run.sh", "#!/bin/sh\n", UnixMode: 0x8FFF), new Item("plain.txt", UnixMode: 0x81B6));   // 07777, 0666

        Extract(zip);

        File.GetUnixFileMode(Path.Combine(Target, "run.sh")).ShouldBe(Mode0644 | UnixFileMode.UserExecute);
        File.GetUnixFileMode(Path.Combine(Target, "plain.txt")).ShouldBe(Mode0644);
    }

    /// <summary>Python's zipfile as Debian ships it: kbatch's <c>shutil.make_archive</c>, and the explicit loop it amounts to.</summary>
    [Theory]
    [InlineData("""
        import os, sys, zipfile
        src, out = sys.argv[1], sys.argv[2]
        with zipfile.ZipFile(out, "w") as zf:
            for dirpath, dirnames, filenames in os.walk(src):
                for name in sorted(dirnames) + sorted(filenames):
                    path = os.path.join(dirpath, name)
                    zf.write(path, os.path.relpath(path, src), compress_type=zipfile.ZIP_DEFLATED)
        """)]
    [InlineData("""
        import shutil, sys
        shutil.make_archive(sys.argv[2][:-len(".zip")], "zip", sys.argv[1])
        """)]
    public void ZipMadeByPythonLikeKbatch_Extracts(string script)
    {
        string source = Path.Combine(_scratch, "source");
        Directory.CreateDirectory(Path.Combine(source, "sub", "deeper"));
        Directory.CreateDirectory(Path.Combine(source, "empty"));
        File.WriteAllText(Path.Combine(source, "main.py"), "print('hi')\n" + new string('#', 5000));
        File.WriteAllText(Path.Combine(source, "run.sh"), "#!/bin/sh\npython main.py\n");
        File.SetUnixFileMode(Path.Combine(source, "run.sh"), Mode0755);
        File.WriteAllText(Path.Combine(source, "sub", "data.csv"), "a,b\n1,2\n");
        File.WriteAllText(Path.Combine(source, "sub", "deeper", "notes.txt"), "deep");
        string zipPath = Path.Combine(_scratch, "code.zip");

        RunPython(script, source, zipPath);

        Extract(File.ReadAllBytes(zipPath)).ShouldBe(new BundleSummary(4, 3, 5012 + 25 + 8 + 4));
        Tree(Target).ShouldBe(Tree(source));
        File.GetUnixFileMode(Path.Combine(Target, "run.sh")).ShouldBe(Mode0644 | UnixFileMode.UserExecute);
        File.GetUnixFileMode(Path.Combine(Target, "main.py")).ShouldBe(Mode0644);
    }

    private static void RunPython(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using Process python = Process.Start(start).ShouldNotBeNull();
        string errors = python.StandardError.ReadToEnd();
        python.WaitForExit();
        python.ExitCode.ShouldBe(0, errors);
    }

    [Fact]
    public void NonSeekableStream_Extracts()
    {
        using var stream = new ForwardOnly(Zip(new Item("a.txt", "streamed")));
        CodeBundle.Extract(stream, Target, BundleLimits.Default).ShouldBe(new BundleSummary(1, 0, 8));
        Tree(Target).ShouldBe(["a.txt=streamed"]);
    }

    // ---- names

    [Theory]
    [InlineData("../evil", "paths must stay inside the working directory")]
    [InlineData("a/../../x", "paths must stay inside the working directory")]
    [InlineData("a/../b", "paths must stay inside the working directory")]
    [InlineData("..\\evil", "paths must stay inside the working directory")]
    [InlineData(".", "paths must stay inside the working directory")]
    [InlineData("/etc/x", "absolute paths are not allowed")]
    [InlineData("\\etc\\x", "absolute paths are not allowed")]
    [InlineData("C:\\x", "absolute paths are not allowed")]
    [InlineData("c:x", "absolute paths are not allowed")]
    public void UnsafeName_Rejected(string name, string rule) =>
        ShouldReject(Zip(new Item("ok.txt"), new Item(name)), $"code bundle entry '{name}': {rule}");

    [Theory]
    [InlineData("a\0b", "a\\u0000b")]
    [InlineData("a\nb", "a\\u000ab")]
    [InlineData("tab\there", "tab\\u0009here")]
    public void ControlCharacterInName_RejectedAndShownEscaped(string name, string shown) =>
        ShouldReject(Zip(new Item("ok.txt"), new Item(name)),
            $"code bundle entry '{shown}': names must not contain NUL or control characters");

    [Fact]
    public void EmptyName_Rejected()
    {
        string zipPath = Path.Combine(_scratch, "empty-name.zip");
        RunPython("""
            import sys, zipfile
            with zipfile.ZipFile(sys.argv[1], "w") as zf:
                zf.writestr("ok.txt", "x")
                zf.writestr(zipfile.ZipInfo(""), "x")
            """, zipPath);

        ShouldReject(File.ReadAllBytes(zipPath), "code bundle entry '': entry names must not be empty");
    }

    [Fact]
    public void OverlongSegment_Rejected()
    {
        string name = "sub/" + new string('a', 256);
        ShouldReject(Zip(new Item("ok.txt"), new Item(name)), "a path segment is longer than 255 bytes");
    }

    // ---- entry types

    [Theory]
    [InlineData(0xA1FF, "symlinks are not allowed")]
    [InlineData(0x21B6, "device files are not allowed")]      // character device
    [InlineData(0x61B6, "device files are not allowed")]      // block device
    [InlineData(0x11B6, "FIFOs are not allowed")]
    [InlineData(0xC1ED, "sockets are not allowed")]
    [InlineData(0xE1A4, "only regular files and directories are allowed")]
    public void SpecialFile_Rejected(int unixMode, string rule) =>
        ShouldReject(Zip(new Item("ok.txt"), new Item("special", "/etc/passwd", UnixMode: unixMode)), $"code bundle entry 'special': {rule}");

    // ---- duplicates

    [Theory]
    [InlineData("a.txt", "a.txt", "duplicate entry")]
    [InlineData("sub/a.txt", "sub\\a.txt", "duplicate entry")]
    [InlineData("a.txt", "./a.txt", "duplicate entry")]
    [InlineData("sub//a.txt", "sub/a.txt", "duplicate entry")]
    [InlineData("sub/", "sub/", "duplicate entry")]
    [InlineData("a", "a/", "duplicate entry")]
    [InlineData("a/b", "a", "duplicate entry")]
    [InlineData("a", "a/b", "its parent directory is also a file entry")]
    public void SamePathTwice_Rejected(string first, string second, string rule) =>
        ShouldReject(Zip(new Item(first), new Item(second)), $"code bundle entry '{second}': {rule}");

    // ---- sizes and counts

    [Fact]
    public void TooManyEntries_Rejected()
    {
        var limits = BundleLimits.Default with { MaxEntries = 3 };
        Item[] three = [new("a"), new("b/"), new("b/c")];

        ShouldReject(() => Extract(Zip([.. three, new Item("d")]), limits), "code bundle has 4 entries, over the limit of 3");
        Extract(Zip(three), limits).Files.ShouldBe(2);
    }

    [Fact]
    public void OverTheCompressedLimit_RejectedByEveryRoute()
    {
        byte[] zip = Zip(new Item("random.bin", Convert.ToBase64String(RandomNumberGenerator.GetBytes(3000))));
        var limits = BundleLimits.Default with { MaxCompressedBytes = zip.Length - 1 };
        const string Rule = "over the limit of";

        ShouldReject(() => Extract(zip, limits), Rule);
        ShouldReject(() => CodeBundle.Extract(new MemoryStream(zip), Target, limits), Rule);
        ShouldReject(() => CodeBundle.Extract(new ForwardOnly(zip), Target, limits), Rule);
        // Refused from its length alone: decoding this string would have said "not valid base64".
        ShouldReject(() => CodeBundle.ExtractBase64(new string('!', 4 * zip.Length), Target, limits), Rule + $" {zip.Length - 1} compressed bytes");
        Extract(zip, limits with { MaxCompressedBytes = zip.Length }).Files.ShouldBe(1);
    }

    [Fact]
    public void InvalidBase64_Rejected() =>
        ShouldReject(() => CodeBundle.ExtractBase64("this is not base64!", Target, BundleLimits.Default), "code is not valid base64");

    [Fact]
    public void NotAZip_Rejected()
    {
        ShouldReject(Encoding.UTF8.GetBytes("print('hello')\n"), "code is not a valid zip file");
        ShouldReject([], "code is not a valid zip file");
        byte[] zip = Zip(new Item("a.txt"));
        ShouldReject(zip[..^10], "code is not a valid zip file");
    }

    [Fact]
    public void DeclaredSizesOverTheLimit_RejectedBeforeWriting()
    {
        string chunk = new('x', 400 << 10);   // 400 KiB each, under the ratio check's 1 MiB
        var limits = BundleLimits.Default with { MaxUncompressedBytes = 1 << 20 };

        ShouldReject(() => Extract(Zip(new Item("a", chunk), new Item("b", chunk), new Item("c", chunk)), limits),
            "code bundle entry 'c': declared sizes add up to more than the limit of 1048576 uncompressed bytes");
    }

    [Fact]
    public void HighRatioBomb_Rejected()
    {
        byte[] zip = Zip(new Item("ok.txt"), new Item("zeros.bin", new string('\0', 50 << 20)));
        zip.Length.ShouldBeLessThan(1 << 20);
        var limits = BundleLimits.Default with { MaxCompressionRatio = 100, MaxUncompressedBytes = 10 << 20 };

        ShouldReject(() => Extract(zip, limits), "code bundle entry 'zeros.bin': compression ratio", "is over the limit of 100");
    }

    /// <summary>
    /// Sizes patched after the fact in both headers. .NET reads a stored entry to its compressed size, so the byte
    /// count catches it mid-copy; it cuts a deflated one at the declared size, so the CRC-32 check catches that.
    /// The good entry before it was written and must be removed again.
    /// </summary>
    [Theory]
    [InlineData(CompressionLevel.NoCompression, 100u, "its data is larger than its declared size of 100 bytes")]
    [InlineData(CompressionLevel.Optimal, 100u, "its data does not match its declared size and CRC-32")]
    [InlineData(CompressionLevel.Optimal, 20_000u, "its data does not match its declared size and CRC-32")]
    public void SizeThatLies_AbortsAndRemovesWhatWasWritten(CompressionLevel level, uint declared, string rule)
    {
        byte[] zip = Zip(new Item("first.txt", "written, then removed"), new Item("liar.bin", new string('z', 10_000), Level: level));
        DeclareSize(zip, "liar.bin", declared);

        ShouldReject(zip, $"code bundle entry 'liar.bin': {rule}");
    }

    /// <summary>Overwrites the uncompressed size of entry <paramref name="name"/> in its local and central headers.</summary>
    private static void DeclareSize(byte[] zip, string name, uint size)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        int patched = 0;
        for (int i = 0; i + 46 < zip.Length; i++)
        {
            (int nameAt, int sizeAt) = BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i)) switch
            {
                0x04034B50 => (30, 22),   // local file header
                0x02014B50 => (46, 24),   // central directory header
                _ => (0, 0),
            };
            if (nameAt != 0 && zip.AsSpan(i + nameAt).StartsWith(nameBytes))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(i + sizeAt), size);
                patched++;
            }
        }

        patched.ShouldBe(2);
    }

    // ---- the target directory

    [Fact]
    public void TargetNotEmptyOrMissing_Refused()
    {
        byte[] zip = Zip(new Item("a.txt"));
        Should.Throw<ArgumentException>(() => CodeBundle.ExtractBase64(Convert.ToBase64String(zip), Path.Combine(_scratch, "missing"), BundleLimits.Default));

        File.WriteAllText(Path.Combine(Target, "already-here"), "");
        Should.Throw<ArgumentException>(() => Extract(zip));
        File.ReadAllText(Path.Combine(Target, "already-here")).ShouldBe("");
    }

    /// <summary>A stream that cannot seek, like a request body.</summary>
    private sealed class ForwardOnly(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
