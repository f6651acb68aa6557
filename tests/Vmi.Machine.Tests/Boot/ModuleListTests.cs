using System.Text;
using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>The <c>qemu -initrd</c> list syntax, with QEMU 7.2's results.</summary>
public sealed class ModuleListTests
{
    private static (string Path, string String)[] Split(string list) =>
        ModuleList.Split(Encoding.Latin1.GetBytes(list)).Select(m => (m.Path, Encoding.Latin1.GetString(m.String))).ToArray();

    [Fact]
    public void OneFile() => Assert.Equal([("a.bin", "a.bin")], Split("a.bin"));

    [Fact]
    public void ArgumentsFollowTheFirstSpace_AndStayInTheString() =>
        Assert.Equal([("m1.txt", "m1.txt one two"), ("m2.bin", "m2.bin x")], Split("m1.txt one two,m2.bin x"));

    [Theory]
    [InlineData("a,,b", "a,b", "a,b")]          // ",," is a literal comma, in the name too
    [InlineData("m x,,y", "m", "m x,y")]
    [InlineData("m x,,,,y", "m", "m x,,y")]
    public void DoubleCommaIsALiteralComma(string list, string path, string text) => Assert.Equal([(path, text)], Split(list));

    [Fact]
    public void TripleCommaIsACommaThenASeparator() => Assert.Equal([("a,", "a,"), ("b", "b")], Split("a,,,b"));

    [Fact]
    public void BytesThatAreNotUtf8_ArePassedThrough()
    {
        var m = ModuleList.Split([(byte)'m', (byte)' ', 0xFF, 0xE9]);
        Assert.Equal(new byte[] { (byte)'m', (byte)' ', 0xFF, 0xE9 }, m[0].String);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("a,", 1)]
    [InlineData("a,,,", 1)]
    [InlineData(" a", 0)]
    [InlineData("a,,b,,c, x", 1)]
    public void AnItemWithoutAFileName_IsRefused(string list, int index)
    {
        var e = Assert.Throws<BootImageException>(() => ModuleList.Split(Encoding.ASCII.GetBytes(list)));
        Assert.StartsWith($"module {index} has no file name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ReadsEachFile_AndNamesOneThatCannotBeRead()
    {
        string dir = Directory.CreateTempSubdirectory("vmi-modules-").FullName;
        try
        {
            string a = Path.Combine(dir, "a");
            File.WriteAllBytes(a, [1, 2, 3]);
            var modules = ModuleList.Load(Encoding.UTF8.GetBytes($"{a} arg"));
            Assert.Equal(new byte[] { 1, 2, 3 }, modules[0].Data);
            Assert.Equal($"{a} arg", modules[0].Name);

            string missing = Path.Combine(dir, "missing");
            var e = Assert.Throws<BootImageException>(() => ModuleList.Load(Encoding.UTF8.GetBytes($"{a},{missing} arg")));
            Assert.StartsWith($"module 1: cannot read '{missing}'", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
