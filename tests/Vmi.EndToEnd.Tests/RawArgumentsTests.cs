using System.Text;
using Vmi.Cli;

namespace Vmi.EndToEnd.Tests;

/// <summary>Recovering the bytes of an argument .NET decoded lossily, from /proc/self/cmdline's NUL-separated argv.</summary>
public sealed class RawArgumentsTests
{
    private static byte[] Argv(params byte[][] entries) => [.. entries.SelectMany(e => e.Append((byte)0))];

    private static readonly byte[] NotUtf8 = [(byte)'k', (byte)' ', 0xFF, 0xE9];

    /// <summary>What .NET hands Main for <see cref="NotUtf8"/>: each invalid byte became U+FFFD.</summary>
    private const string NotUtf8Parsed = "k \uFFFD\uFFFD";

    [Fact]
    public void MainsArgumentsAreTheLastEntries()
    {
        var raw = RawArguments.Match(["run", "--cmdline", NotUtf8Parsed], Argv("dotnet"u8.ToArray(), "vmi.dll"u8.ToArray(), "run"u8.ToArray(), "--cmdline"u8.ToArray(), NotUtf8));

        Assert.NotNull(raw);
        Assert.Equal(NotUtf8, RawArguments.OptionValue(raw, "--cmdline", NotUtf8Parsed));
    }

    [Theory]
    [InlineData("--cmdline=")]
    [InlineData("--cmdline:")]
    public void ValueJoinedToTheOption(string prefix)
    {
        byte[] joined = [.. Encoding.ASCII.GetBytes(prefix), .. NotUtf8];
        var raw = RawArguments.Match(["run", prefix + NotUtf8Parsed], Argv("vmi"u8.ToArray(), "run"u8.ToArray(), joined));

        Assert.Equal(NotUtf8, RawArguments.OptionValue(raw, "--cmdline", NotUtf8Parsed));
    }

    [Fact]
    public void RunsOfReplacementCharactersMatchWhateverTheirCount()
    {
        // The runtime turns ED A0 80 (an encoded surrogate) into two U+FFFD, Encoding.UTF8 into three.
        byte[] surrogate = [0xED, 0xA0, 0x80];
        var raw = RawArguments.Match(["--cmdline", "\uFFFD\uFFFD"], Argv("vmi"u8.ToArray(), "--cmdline"u8.ToArray(), surrogate));

        Assert.Equal(surrogate, RawArguments.OptionValue(raw, "--cmdline", "\uFFFD\uFFFD"));
    }

    [Fact]
    public void ArgumentsThatDoNotMatch_FallBackToUtf8()
    {
        Assert.Null(RawArguments.Match(["run", "x"], Argv("vmi"u8.ToArray(), "run"u8.ToArray(), "y"u8.ToArray())));
        Assert.Null(RawArguments.Match(["a", "b", "c"], Argv("b"u8.ToArray(), "c"u8.ToArray())));
        Assert.Null(RawArguments.Match(["a"], null));
        Assert.Equal("é"u8.ToArray(), RawArguments.OptionValue(null, "--cmdline", "é"));
    }

    [Fact]
    public void EmptyArgumentsKeepTheirPlace()
    {
        var raw = RawArguments.Match(["--cmdline", "", "k"], Argv("vmi"u8.ToArray(), "--cmdline"u8.ToArray(), [], "k"u8.ToArray()));

        Assert.NotNull(raw);
        Assert.Equal([], RawArguments.OptionValue(raw, "--cmdline", ""));
    }

    [Fact]
    public void TheValueMustFollowTheOption()
    {
        // "k \xFF\xE9" is also the kernel's name here; only the argument after --cmdline counts.
        byte[] other = [(byte)'k', (byte)' ', 0xFE];
        var raw = RawArguments.Match([NotUtf8Parsed, "--cmdline", NotUtf8Parsed], Argv("vmi"u8.ToArray(), other, "--cmdline"u8.ToArray(), NotUtf8));

        Assert.Equal(NotUtf8, RawArguments.OptionValue(raw, "--cmdline", NotUtf8Parsed));
    }
}
