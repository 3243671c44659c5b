using System.Globalization;
using System.Runtime.Versioning;
using Orrery.Backends.Local;

namespace Orrery.Tests.Backends.Local;

[SupportedOSPlatform("linux")]
public class ProcStatTests : LocalBackendTestBase
{
    [Fact]
    public void Parse_CommWithSpacesAndParentheses_ReadsFieldsAfterLastParenthesis()
    {
        const string Stat = "4242 (a) Z (b c) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 2000000 100 18446744073709551615";

        var stat = ProcStat.Parse(Stat).ShouldNotBeNull();

        stat.ShouldBe(new ProcStat('S', 4242, 4242, 987654));
        stat.HasEnded.ShouldBeFalse();
    }

    [Fact]
    public void Parse_Zombie_HasEnded()
    {
        const string Stat = "77 (sh) Z 1 77 77 0 -1 4194564 0 0 0 0 0 0 0 0 20 0 1 0 5555 0 0 18446744073709551615";

        ProcStat.Parse(Stat).ShouldNotBeNull().HasEnded.ShouldBeTrue();
    }

    [Theory]
    [InlineData("")]
    [InlineData("12 (truncated) S 1 2")]
    [InlineData("no parenthesis at all")]
    public void Parse_Malformed_Null(string text) => ProcStat.Parse(text).ShouldBeNull();

    [Fact]
    public async Task Read_LiveProgramNamedWithSpacesAndParentheses_ReadsItsGroupAndState()
    {
        // The kernel shows the name as "(a) Z (b c)": splitting at the first ')' would read state 'Z' and a
        // wrong process group, so a group stop would think this member already gone.
        var backend = NewBackend();
        string program = Path.Combine(Root, "a) Z (b c");
        File.Copy("/usr/bin/sleep", program);
        var handle = await LaunchAsync(backend, Spec("odd-name", "/bin/sh", "-c", "\"$0\" 300 & echo $! > odd.pid; wait", program));
        string pidFile = Path.Combine(StateDir, "odd-name", "odd.pid");
        await WaitUntilAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n'), "the program's pid");
        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        await WaitUntilAsync(() => File.ReadAllText($"/proc/{pid}/stat").Contains("(a) Z (b c)", StringComparison.Ordinal), "the program to exec");

        var stat = ProcStat.Read(pid).ShouldNotBeNull();

        stat.HasEnded.ShouldBeFalse();
        stat.ProcessGroup.ShouldBe(PidOf(handle));
        stat.Session.ShouldBe(PidOf(handle));
    }
}
