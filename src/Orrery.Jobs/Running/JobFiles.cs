using Orrery.Core.Configuration;
using Orrery.Jobs.Api;
using Orrery.Core.Bundles;

namespace Orrery.Jobs.Running;

/// <summary>
/// A job's directory: <c>code.zip</c> (the bundle as sent, checked) and one fresh working directory per attempt,
/// <c>&lt;pod&gt;/code</c> — kbatch's <c>/code</c> convention: the command starts there with the code unpacked.
/// </summary>
public static class JobFiles
{
    public const string BundleFile = "code.zip";

    public static BundleLimits Limits(JobsOptions options) => BundleLimits.Default with
    {
        MaxCompressedBytes = ByteSizes.Parse(options.MaxBundleSize) ?? BundleLimits.Default.MaxCompressedBytes,
        MaxUncompressedBytes = ByteSizes.Parse(options.MaxBundleUnpackedSize) ?? BundleLimits.Default.MaxUncompressedBytes,
    };

    public static void CreateDirectory(string directory) =>
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    /// <summary>Decodes and checks a submitted bundle and keeps it for the attempts; 4xx naming the problem when unsafe.</summary>
    public static void SaveBundle(string base64, string jobDirectory, BundleLimits limits)
    {
        if (base64.Length > limits.MaxCompressedBytes / 3 * 4 + 4)
            throw new JobsApiException(413, $"code bundle is larger than the limit of {ByteSizes.Format(limits.MaxCompressedBytes)} (Orrery:Jobs:MaxBundleSize)");
        byte[] zip;
        try
        {
            zip = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new JobsApiException(422, "code is not valid base64");
        }
        // A full check now, into a scratch directory, so a bad bundle is refused before anything runs.
        var scratch = Path.Combine(jobDirectory, "check");
        CreateDirectory(scratch);
        try
        {
            using var stream = new MemoryStream(zip, writable: false);
            CodeBundle.Extract(stream, scratch, limits);
        }
        catch (BundleRejectedException e)
        {
            throw new JobsApiException(422, e.Message);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
        File.WriteAllBytes(Path.Combine(jobDirectory, BundleFile), zip);
    }

    /// <summary>A fresh working directory for one attempt, with the bundle unpacked into it when there is one.</summary>
    public static string PrepareAttempt(string jobDirectory, string podName, BundleLimits limits)
    {
        var code = Path.Combine(jobDirectory, podName, "code");
        if (Directory.Exists(code))
            Directory.Delete(code, recursive: true);
        CreateDirectory(code);
        var bundle = Path.Combine(jobDirectory, BundleFile);
        if (File.Exists(bundle))
        {
            using var stream = File.OpenRead(bundle);
            CodeBundle.Extract(stream, code, limits);
        }
        return code;
    }

    public static void Delete(string directory)
    {
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);
    }
}
