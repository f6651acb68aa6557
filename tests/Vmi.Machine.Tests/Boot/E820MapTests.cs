using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>The E820 map a Linux kernel gets: a PC BIOS's view of the machine's RAM.</summary>
public sealed class E820MapTests
{
    [Theory]
    [InlineData(2u << 20)]
    [InlineData(64u << 20)]
    [InlineData(129u << 20)]
    [InlineData(2040u << 20)]
    public void Map_HasTheLegacyHolesAndAllRamAbove1MiB(uint ram)
    {
        var map = E820Map.For(ram);

        Assert.Equal(
            [
                new E820Entry(0, 0x9_FC00, E820Map.Usable),
                new E820Entry(0x9_FC00, 0x400, E820Map.Reserved),
                new E820Entry(0xC_0000, 0x2_0000, E820Map.Reserved),
                new E820Entry(0xE_0000, 0x2_0000, E820Map.Reserved),
                new E820Entry(0x10_0000, ram - 0x10_0000, E820Map.Usable),
            ],
            map);
    }

    [Fact]
    public void Map_AgreesWithTheMultibootMapOnUsableRam()
    {
        const uint ram = 96u << 20;
        var linux = E820Map.For(ram).Where(e => e.Type == E820Map.Usable).Select(e => (e.Base, e.Length));
        var multiboot = MultibootInfoBuilder.MemoryMap(ram).Where(e => e.Type == MultibootInfoBuilder.MemoryAvailable).Select(e => (e.Base, e.Length));

        Assert.Equal(multiboot, linux);
    }

    [Fact]
    public void Map_IsSortedAndWithoutOverlaps()
    {
        var map = E820Map.For(256u << 20);

        for (int i = 1; i < map.Count; i++)
        {
            Assert.True(map[i - 1].End <= map[i].Base, $"entry {i - 1} ends at 0x{map[i - 1].End:X}, after entry {i} starts");
        }
    }

    [Fact]
    public void TooLittleRam_IsRefused() => Assert.Throws<BootImageException>(() => E820Map.For(1u << 20));
}
