using System.IO.Compression;
using System.Text;

namespace Orrery.Core.Bundles;

/// <summary>What a code bundle may weigh; see <see cref="CodeBundle"/>.</summary>
public sealed record BundleLimits(long MaxCompressedBytes, long MaxUncompressedBytes, int MaxEntries, double MaxCompressionRatio)
{
    /// <summary>100 MiB of zip, 1 GiB unpacked, 10 000 entries, a ratio of 200 for entries over 1 MiB.</summary>
    public static BundleLimits Default { get; } = new(100L << 20, 1L << 30, 10_000, 200);
}

/// <summary>The bundle is unsafe or malformed; the message names the entry and the rule, fit for a 4xx answer.</summary>
public sealed class BundleRejectedException(string message) : Exception(message);

/// <summary>What <see cref="CodeBundle"/> wrote: directories include the ones only implied by file paths.</summary>
public sealed record BundleSummary(int Files, int Directories, long Bytes);

/// <summary>
/// Unpacks a kbatch code bundle (a zip, base64 in <c>code.binary_data.code</c>) into a fresh working directory.
/// Every entry is checked before anything is written; if extraction still fails (a size or CRC-32 that lied),
/// what was written is removed, so the target directory is left empty on every rejection.
/// </summary>
public static class CodeBundle
{
    /// <summary>The compression ratio is only checked above this size, where a bomb would matter.</summary>
    private const long RatioCheckedAbove = 1L << 20;

    private const int MaxSegmentBytes = 255;   // NAME_MAX
    private const int MaxPathBytes = 4095;     // PATH_MAX, with its NUL

    // Files are 0644, keeping only the owner-exec bit of the archive's mode (0744), so a bundled `./run.sh` still
    // runs for the job's user as it would after kbatch's `unzip`; the group and other exec bits are never granted.
    private const UnixFileMode FileMode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode DirectoryMode0755 = FileMode0644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    // The Unix st_mode that zip makers on Unix (Python's zipfile included) keep in ExternalAttributes >> 16.
    private const int S_IFMT = 0xF000, S_IFIFO = 0x1000, S_IFCHR = 0x2000, S_IFDIR = 0x4000, S_IFBLK = 0x6000,
        S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFSOCK = 0xC000, S_IXUSR = 0x40;

    /// <summary>Decodes <paramref name="base64"/> (standard, padded), checks the zip, then extracts it.</summary>
    public static BundleSummary ExtractBase64(string base64, string targetDirectory, BundleLimits limits)
    {
        ArgumentNullException.ThrowIfNull(base64);
        ArgumentNullException.ThrowIfNull(limits);

        // Four base64 characters make three bytes, less at most two of padding: refuse a huge string before decoding it.
        if (base64.Length / 4 * 3L - 2 > limits.MaxCompressedBytes)
            throw TooLarge(limits);

        byte[] zip;
        try
        {
            zip = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new BundleRejectedException("code is not valid base64");
        }

        using var stream = new MemoryStream(zip, writable: false);
        return Extract(stream, targetDirectory, limits);
    }

    /// <summary>
    /// Checks every entry (a full pass over the central directory), then extracts into
    /// <paramref name="targetDirectory"/>, which must exist and be empty.
    /// </summary>
    public static BundleSummary Extract(Stream zip, string targetDirectory, BundleLimits limits)
    {
        ArgumentNullException.ThrowIfNull(zip);
        ArgumentNullException.ThrowIfNull(targetDirectory);
        ArgumentNullException.ThrowIfNull(limits);

        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetDirectory));
        if (!Directory.Exists(root) || Directory.EnumerateFileSystemEntries(root).Any())
            throw new ArgumentException($"'{root}' must be an existing, empty directory", nameof(targetDirectory));

        using MemoryStream? buffered = zip.CanSeek ? null : ReadAtMost(zip, limits);
        Stream source = buffered ?? zip;
        if (source.Length > limits.MaxCompressedBytes)
            throw TooLarge(limits);

        try
        {
            using var archive = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
            Plan plan = Check(archive.Entries, root, limits);
            return Write(plan, root, limits);
        }
        catch (InvalidDataException)
        {
            // Thrown for a broken central directory; a broken entry is reported by Write, naming it.
            throw new BundleRejectedException("code is not a valid zip file");
        }
    }

    private sealed record PlannedFile(ZipArchiveEntry Entry, string Path, UnixFileMode Mode);

    private sealed record Plan(List<PlannedFile> Files, SortedSet<string> Directories);

    /// <summary>Applies every rule to every entry; nothing is written.</summary>
    private static Plan Check(IReadOnlyCollection<ZipArchiveEntry> entries, string root, BundleLimits limits)
    {
        if (entries.Count > limits.MaxEntries)
            throw new BundleRejectedException($"code bundle has {entries.Count} entries, over the limit of {limits.MaxEntries}");

        var files = new List<PlannedFile>();
        var filePaths = new HashSet<string>(StringComparer.Ordinal);
        var directories = new SortedSet<string>(StringComparer.Ordinal);   // parents sort before their children
        var explicitDirectories = new HashSet<string>(StringComparer.Ordinal);
        long declaredTotal = 0;

        foreach (ZipArchiveEntry entry in entries)
        {
            string name = entry.FullName;
            int mode = (entry.ExternalAttributes >> 16) & 0xFFFF;   // Unix st_mode; 0 when the maker recorded none
            bool isDirectory = name.Replace('\\', '/').EndsWith('/') || (mode & S_IFMT) == S_IFDIR;
            string path = ResolvePath(name, root);

            switch (mode & S_IFMT)
            {
                case 0 or S_IFREG or S_IFDIR: break;
                case S_IFLNK: throw Reject(name, "symlinks are not allowed");
                case S_IFCHR or S_IFBLK: throw Reject(name, "device files are not allowed");
                case S_IFIFO: throw Reject(name, "FIFOs are not allowed");
                case S_IFSOCK: throw Reject(name, "sockets are not allowed");
                default: throw Reject(name, "only regular files and directories are allowed");
            }

            // Same path after normalisation (`a\\b` and `a/b`, `./a` and `a`), or a file where a directory is.
            if (filePaths.Contains(path) || (isDirectory ? explicitDirectories.Contains(path) : directories.Contains(path)))
                throw Reject(name, "duplicate entry (another entry has the same path)");
            for (string? parent = Path.GetDirectoryName(path); parent is not null && parent != root; parent = Path.GetDirectoryName(parent))
            {
                if (filePaths.Contains(parent))
                    throw Reject(name, "its parent directory is also a file entry");
                directories.Add(parent);
            }

            if (isDirectory)
            {
                explicitDirectories.Add(path);
                directories.Add(path);
                continue;
            }

            if (entry.IsEncrypted)
                throw Reject(name, "encrypted entries are not supported");
            if (entry.Length < 0 || entry.CompressedLength < 0)
                throw Reject(name, "its declared size is invalid");
            double ratio = (double)entry.Length / Math.Max(1, entry.CompressedLength);
            if (entry.Length > RatioCheckedAbove && ratio > limits.MaxCompressionRatio)
                throw Reject(name, $"compression ratio {ratio:0} is over the limit of {limits.MaxCompressionRatio} (zip bomb)");
            if (entry.Length > limits.MaxUncompressedBytes - declaredTotal)
                throw Reject(name, $"declared sizes add up to more than the limit of {limits.MaxUncompressedBytes} uncompressed bytes");
            declaredTotal += entry.Length;

            filePaths.Add(path);
            files.Add(new PlannedFile(entry, path, (mode & S_IXUSR) != 0 ? FileMode0644 | UnixFileMode.UserExecute : FileMode0644));
        }

        return new Plan(files, directories);
    }

    /// <summary>The entry's full path under <paramref name="root"/>, or a rejection naming the broken rule.</summary>
    private static string ResolvePath(string name, string root)
    {
        if (name.Length == 0)
            throw Reject(name, "entry names must not be empty");
        if (name.Any(char.IsControl))
            throw Reject(name, "names must not contain NUL or control characters");

        string normalised = name.Replace('\\', '/');
        if (normalised.StartsWith('/') || (normalised.Length >= 2 && char.IsAsciiLetter(normalised[0]) && normalised[1] == ':'))
            throw Reject(name, "absolute paths are not allowed");
        string[] segments = normalised.Split('/');
        if (segments.Contains(".."))
            throw Reject(name, "paths must stay inside the working directory");
        if (segments.Any(segment => Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes))
            throw Reject(name, $"a path segment is longer than {MaxSegmentBytes} bytes");

        // Defence in depth: whatever the rules above missed, the resolved path must lie strictly below the root.
        string path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.Combine(root, normalised)));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw Reject(name, "paths must stay inside the working directory");
        if (Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
            throw Reject(name, $"the path is longer than {MaxPathBytes} bytes");
        return path;
    }

    /// <summary>Creates the checked plan; on any failure removes everything written, leaving the root empty.</summary>
    private static BundleSummary Write(Plan plan, string root, BundleLimits limits)
    {
        try
        {
            foreach (string directory in plan.Directories)
            {
                Directory.CreateDirectory(directory);
                File.SetUnixFileMode(directory, DirectoryMode0755);   // exact, whatever the umask
            }

            long total = 0;
            foreach (PlannedFile file in plan.Files)
                total += WriteFile(file, total, limits);
            return new BundleSummary(plan.Files.Count, plan.Directories.Count, total);
        }
        catch
        {
            Empty(root);
            throw;
        }
    }

    /// <summary>Copies one entry, counting the bytes that really come out: declared sizes and CRCs can lie.</summary>
    private static long WriteFile(PlannedFile file, long totalSoFar, BundleLimits limits)
    {
        ZipArchiveEntry entry = file.Entry;
        // CreateNew is O_CREAT|O_EXCL: it never follows (or overwrites) an existing symlink or file.
        using var output = new FileStream(file.Path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = file.Mode,
        });
        File.SetUnixFileMode(output.SafeFileHandle, file.Mode);

        var buffer = new byte[81920];
        long written = 0;
        uint crc = Crc32.Start;
        try
        {
            using Stream input = entry.Open();
            int read;
            while ((read = input.Read(buffer)) > 0)
            {
                written += read;
                if (written > entry.Length)
                    throw Reject(entry.FullName, $"its data is larger than its declared size of {entry.Length} bytes");
                if (totalSoFar + written > limits.MaxUncompressedBytes)
                    throw Reject(entry.FullName, $"extracting it goes over the limit of {limits.MaxUncompressedBytes} uncompressed bytes");
                output.Write(buffer, 0, read);
                crc = Crc32.Append(crc, buffer.AsSpan(0, read));
            }
        }
        catch (InvalidDataException error)
        {
            throw Reject(entry.FullName, $"its data is corrupt or unsupported ({error.Message})");
        }

        // .NET stops a deflated entry at its declared size without complaint, so a longer one shows up here.
        if (written != entry.Length || Crc32.End(crc) != entry.Crc32)
            throw Reject(entry.FullName, "its data does not match its declared size and CRC-32 (corrupt, or larger than declared)");
        return written;
    }

    /// <summary>Deletes the root's contents, not the root.</summary>
    private static void Empty(string root)
    {
        foreach (string directory in Directory.EnumerateDirectories(root))
            Directory.Delete(directory, recursive: true);
        foreach (string file in Directory.EnumerateFiles(root))
            File.Delete(file);
    }

    /// <summary>Buffers a non-seekable stream (ZipArchive needs to seek), refusing it past the compressed limit.</summary>
    private static MemoryStream ReadAtMost(Stream zip, BundleLimits limits)
    {
        var copy = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = zip.Read(buffer)) > 0)
        {
            if (copy.Length + read > limits.MaxCompressedBytes)
                throw TooLarge(limits);
            copy.Write(buffer, 0, read);
        }

        copy.Position = 0;
        return copy;
    }

    private static BundleRejectedException TooLarge(BundleLimits limits) =>
        new($"code bundle is over the limit of {limits.MaxCompressedBytes} compressed bytes");

    private static BundleRejectedException Reject(string entryName, string rule) =>
        new($"code bundle entry '{Printable(entryName)}': {rule}");

    /// <summary>The name as it may appear in a message: control characters escaped, very long names cut.</summary>
    private static string Printable(string name)
    {
        string shown = name.Length > 200 ? name[..200] + "…" : name;
        return string.Concat(shown.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
    }
}
