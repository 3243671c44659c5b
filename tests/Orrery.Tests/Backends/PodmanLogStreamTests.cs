using System.Text;
using Orrery.Backends.Podman;

namespace Orrery.Tests.Backends;

/// <summary>
/// The k8s-file decoder behind the Podman backend's logs: conmon's records become the program's plain output, a
/// record still being written is held back, and a log read to its end can be read again as it grows.
/// </summary>
public sealed class PodmanLogStreamTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"orrery-k8s-log-{Guid.NewGuid():N}.log");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void FullLines_FromStdoutAndStderr_InOrder()
    {
        Decode("2026-11-22T08:36:16.814689158+00:00 stdout F hello world\n"
               + "2026-11-22T08:36:16.814790920+00:00 stderr F an error\n"
               + "2026-11-22T08:36:16.815000000+00:00 stdout F   indented  text \n")
            .ShouldBe("hello world\nan error\n  indented  text \n");
    }

    [Fact]
    public void PartialRecords_JoinWithTheNext_AndALastPartialStaysWithoutNewline()
    {
        Decode("2026-11-22T08:36:16.814689158+00:00 stdout P first half,\n"
               + "2026-11-22T08:36:16.814689159+00:00 stdout F  second half\n"
               + "2026-11-22T08:36:16.814689160+00:00 stdout P prompt> \n")
            .ShouldBe("first half, second half\nprompt> ");
    }

    [Fact]
    public void EmptyLines_AndRecordsWithoutText()
    {
        Decode("2026-11-22T08:36:16Z stdout F \n2026-11-22T08:36:16Z stdout F\n2026-11-22T08:36:16Z stdout P \n2026-11-22T08:36:16Z stdout F x\n")
            .ShouldBe("\n\nx\n");
    }

    [Fact]
    public void NotConmonsFormat_PassedOnAsItIs() => Decode("garbage\n").ShouldBe("garbage\n");

    [Fact]
    public void Utf8Text_PassedThroughByteForByte() =>
        Decode("2026-11-22T08:36:16Z stdout F grüße → ✓\n").ShouldBe("grüße → ✓\n");

    [Fact]
    public void RecordLongerThanTheBuffer_DecodedWhole()
    {
        var text = new string('x', 200_000);
        Decode($"2026-11-22T08:36:16Z stdout F {text}\n").ShouldBe(text + "\n");
    }

    [Fact]
    public async Task GrowingLog_ReadToEnd_ThenAgain_HalfWrittenRecordHeldBack()
    {
        await using var writer = new FileStream(_path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite);
        await using var log = new KubernetesLogStream(new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));

        await WriteAsync(writer, "2026-11-22T08:36:16Z stdout F one\n2026-11-22T08:36:16Z stdout F tw");
        (await ReadToEndAsync(log)).ShouldBe("one\n");
        (await ReadToEndAsync(log)).ShouldBe("");   // at the end, nothing new: 0 again, not an error

        await WriteAsync(writer, "o\n2026-11-22T08:36:17Z stderr P thr");
        (await ReadToEndAsync(log)).ShouldBe("two\n");   // the second record's text, whole; the third not yet
        await WriteAsync(writer, "ee\n");
        (await ReadToEndAsync(log)).ShouldBe("three");
        await WriteAsync(writer, "2026-11-22T08:36:18Z stderr F !\n");
        (await ReadToEndAsync(log)).ShouldBe("!\n");
    }

    [Fact]
    public void SmallReads_GetEveryByte()
    {
        File.WriteAllText(_path, "2026-11-22T08:36:16Z stdout F abcdef\n2026-11-22T08:36:16Z stdout F ghi\n");
        using var log = new KubernetesLogStream(File.OpenRead(_path));
        var result = new List<byte>();
        var one = new byte[2];
        int read;
        while ((read = log.Read(one, 0, one.Length)) > 0)
            result.AddRange(one.AsSpan(0, read).ToArray());
        Encoding.UTF8.GetString([.. result]).ShouldBe("abcdef\nghi\n");
    }

    [Fact]
    public void ReadLineByLine_WithAStreamReader_AsComputeLogsDoes()
    {
        File.WriteAllText(_path, "2026-11-22T08:36:16Z stdout F a\n2026-11-22T08:36:16Z stdout P b\n2026-11-22T08:36:16Z stdout F c\n");
        using var reader = new StreamReader(new KubernetesLogStream(File.OpenRead(_path)));
        reader.ReadLine().ShouldBe("a");
        reader.ReadLine().ShouldBe("bc");
        reader.ReadLine().ShouldBeNull();
    }

    private string Decode(string k8sFile)
    {
        File.WriteAllText(_path, k8sFile);
        using var log = new KubernetesLogStream(File.OpenRead(_path));
        using var plain = new MemoryStream();
        log.CopyTo(plain);
        return Encoding.UTF8.GetString(plain.ToArray());
    }

    private static async Task WriteAsync(FileStream writer, string text)
    {
        await writer.WriteAsync(Encoding.UTF8.GetBytes(text));
        await writer.FlushAsync();
    }

    private static async Task<string> ReadToEndAsync(Stream log)
    {
        using var plain = new MemoryStream();
        var buffer = new byte[7];   // small, to cross record boundaries
        int read;
        while ((read = await log.ReadAsync(buffer)) > 0)
            plain.Write(buffer, 0, read);
        return Encoding.UTF8.GetString(plain.ToArray());
    }
}
