using Vmi.Guest.Image;
using Vmi.TestSupport;

namespace Vmi.Guest.Tests;

/// <summary>The test kernels of tests/assets/sites, built once per test process.</summary>
internal static class SiteKernels
{
    /// <summary>sites.c + entry.S: C and assembly sites, a bare cli, an entry stub, data in text.</summary>
    public static string GoodPath => GuestObjects.Link("sites", ["sites.c", "entry.S"]);

    public static byte[] GoodBytes => File.ReadAllBytes(GoodPath);

    public static GuestKernelImage Good => GuestKernelImage.Load(GoodBytes);

    /// <summary>bad_site.S built with -D<paramref name="variant"/> (BAD_TABLE_SIZE, BAD_ADDRESS, BAD_LENGTH, BAD_CALL).</summary>
    public static byte[] Bad(string variant) => File.ReadAllBytes(GuestObjects.Link("bad-" + variant, ["bad_site.S"], variant));

    /// <summary>The address of symbol <paramref name="name"/> in the good kernel.</summary>
    public static uint Symbol(string name) => Good.Symbols.Single(s => s.Name == name).Address;
}
