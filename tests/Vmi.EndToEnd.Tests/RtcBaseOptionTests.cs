using System.Globalization;
using Iced.Intel;
using Vmi.Cli.Commands;
using Vmi.TestSupport;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// <c>vmi run --rtc-base</c>, seen from a guest that prints CMOS bytes in hex on COM1: the clock
/// (century, year, month, day, hours, minutes, seconds), registers B and D, then the memory sizes
/// (0x15–0x18, 0x30–0x31, 0x34–0x35). QEMU with the same <c>-rtc base=</c> shows the same bytes.
/// </summary>
public sealed class RtcBaseOptionTests : IDisposable
{
    private static readonly byte[] ClockBytes = [0x32, 0x09, 0x08, 0x07, 0x04, 0x02, 0x00];
    private static readonly byte[] RegisterBytes = [0x0B, 0x0D];
    private static readonly byte[] MemoryBytes = [0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35];

    private readonly string dir = Directory.CreateTempSubdirectory("vmi-rtc-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string CmosDumpKernel() => FlatKernel.Write(dir, "cmosdump.bin", a =>
    {
        foreach (byte[] group in new[] { ClockBytes, RegisterBytes, MemoryBytes })
        {
            foreach (byte index in group)
            {
                a.mov(al, index);
                a.@out(0x70, al);
                a.@in(al, 0x71);
                PrintHexByte(a);
            }
            PrintChar(a, ' ');
        }
        PrintChar(a, '\n');
        FlatKernel.DebugExit(a, 0);
    });

    /// <summary>AL as two hex digits on COM1 (clobbers AX and DX).</summary>
    private static void PrintHexByte(Assembler a)
    {
        a.mov(ah, al);
        a.shr(al, 4);
        PrintNibble(a);
        a.mov(al, ah);
        a.and(al, 0x0F);
        PrintNibble(a);
    }

    private static void PrintNibble(Assembler a)
    {
        Label digit = a.CreateLabel();
        a.add(al, (byte)'0');
        a.cmp(al, (byte)'9');
        a.jbe(digit);
        a.add(al, 'A' - '9' - 1);
        a.Label(ref digit);
        a.mov(dx, (ushort)0x3F8);
        a.@out(dx, al);
    }

    private static void PrintChar(Assembler a, char c)
    {
        a.mov(al, (byte)c);
        a.mov(dx, (ushort)0x3F8);
        a.@out(dx, al);
    }

    [Fact]
    public void The_clock_starts_at_the_given_UTC_time()
    {
        var r = VmiRunner.Cli("run", CmosDumpKernel(), "--rtc-base", "2031-05-06T07:08:09", "--quiet");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("20310506070809 0280 ", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void A_date_alone_is_midnight_and_a_trailing_Z_is_accepted()
    {
        Assert.StartsWith("20310506000000 ", VmiRunner.Cli("run", CmosDumpKernel(), "--rtc-base", "2031-05-06", "-q").Stdout, StringComparison.Ordinal);
        Assert.StartsWith("20310506070809 ", VmiRunner.Cli("run", CmosDumpKernel(), "--rtc-base", "2031-05-06T07:08:09Z", "-q").Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_option_the_clock_starts_at_2026_01_01_midnight_and_64_MiB_show_in_the_memory_bytes()
    {
        var r = VmiRunner.Cli("run", CmosDumpKernel(), "--quiet");
        Assert.Equal("20260101000000 0280 800200FC00FC0003 \n", r.Stdout);
    }

    [Fact]
    public void Now_is_the_hosts_UTC_time()
    {
        DateTime before = DateTime.UtcNow.AddSeconds(-1);
        var r = VmiRunner.Cli("run", CmosDumpKernel(), "--rtc-base", "now", "--quiet");
        DateTime after = DateTime.UtcNow.AddSeconds(1);

        DateTime shown = DateTime.ParseExact(r.Stdout[..14], "yyyyMMddHHmmss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        Assert.InRange(shown, before, after);
    }

    [Theory]
    [InlineData("2026-13-01")]
    [InlineData("yesterday")]
    [InlineData("2026-12-01 12:00:00")]
    [InlineData("")]
    public void A_bad_value_is_a_usage_error_naming_the_option_and_the_value(string value)
    {
        var r = VmiRunner.Cli("run", CmosDumpKernel(), "--rtc-base", value);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"vmi: --rtc-base: '{value}' is not a UTC date and time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS) or 'now'", r.Stderr.TrimEnd());
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("2026-12-01T12:00:00", 2026, 12, 1, 12, 0, 0)]
    [InlineData("0001-01-01", 1, 1, 1, 0, 0, 0)]
    [InlineData("9999-12-31T23:59:59Z", 9999, 12, 31, 23, 59, 59)]
    public void The_parser_reads_UTC_dates(string text, int year, int month, int day, int hour, int minute, int second)
    {
        Assert.True(RtcBaseParser.TryParse(text, out DateTime start, out string error), error);
        Assert.Equal(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc), start);
        Assert.Equal(DateTimeKind.Utc, start.Kind);
    }

    [SkippableFact]
    public void Qemu_shows_the_same_clock_registers_and_memory_bytes()
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        string kernel = CmosDumpKernel();

        QemuResult qemu = QemuRunner.Run(kernel, "", TimeSpan.FromSeconds(60), memoryMiB: 128,
            extraArguments: ["-rtc", "base=2031-05-06T07:08:09,clock=vm", "-icount", "shift=0"]);
        var ours = VmiRunner.Cli("run", kernel, "--rtc-base", "2031-05-06T07:08:09", "-m", "128M", "--quiet");

        Assert.Equal(0, qemu.GuestExitCode);
        // The firmware runs first on QEMU, so its clock is a little further on: compare to the minute.
        Assert.Equal(ours.Stdout[..12], qemu.Stdout[..12]);
        Assert.Equal(ours.Stdout[14..], qemu.Stdout[14..]);
    }
}
