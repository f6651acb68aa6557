using Vmi.Cpu;
using Vmi.Cpu.Memory;
using Vmi.Machine.Devices;
using Vmi.Machine.Time;
using static Vmi.Machine.Devices.CmosLayout;

namespace Vmi.Machine.Tests.Devices;

/// <summary>The CMOS bytes a BIOS fills, as a guest reads them through ports 0x70/0x71 of the board.</summary>
public sealed class CmosBiosFieldsTests
{
    [Theory]
    [InlineData(2, 0x0400, 0)]
    [InlineData(16, 0x3C00, 0)]
    [InlineData(17, 0x4000, 16)]         // the first MiB above 16 MiB is sixteen 64 KiB blocks
    [InlineData(64, 0xFC00, 0x0300)]
    [InlineData(65, 0xFFFF, 0x0310)]     // 65536 KiB above 1 MiB no longer fits in 16 bits
    [InlineData(1024, 0xFFFF, 0x3F00)]
    public void Memory_sizes_are_stored_as_a_BIOS_stores_them(int ramMiB, int extendedKiB, int blocksAbove16MiB)
    {
        Board board = NewBoard((uint)ramMiB << 20, CpuModel.Pentium4);

        Assert.Equal(640, Word(board, BaseMemoryLow));
        Assert.Equal(extendedKiB, Word(board, ExtendedMemoryLow));
        Assert.Equal(extendedKiB, Word(board, PostExtendedMemoryLow));
        Assert.Equal(blocksAbove16MiB, Word(board, MemoryAbove16MiBLow));
    }

    [Fact]
    public void No_floppy_no_hard_disk_and_a_display_with_its_own_BIOS()
    {
        Board board = NewBoard(64u << 20, CpuModel.Plain with { FeaturesEdx = 0 });
        Assert.Equal(0x00, Read(board, FloppyTypes));
        Assert.Equal(0x00, Read(board, HardDiskTypes));
        Assert.Equal(0x00, Read(board, Equipment)); // no floppy (bit 0), no coprocessor (bit 1), EGA/VGA (bits 5-4 = 00)
    }

    [Fact]
    public void The_coprocessor_bit_says_what_the_models_CPUID_says()
    {
        foreach (CpuModel model in CpuModel.All)
        {
            Vmi.Cpu.Cpu.CpuidOf(model, 1, 0, out _, out _, out _, out uint edx);
            int expected = (edx & CpuidBits.Fpu) != 0 ? 0x02 : 0x00;
            Assert.Equal(expected, Read(NewBoard(64u << 20, model), Equipment) & 0x02);
        }
    }

    [Fact]
    public void The_largest_RAM_a_VM_takes_counts_its_64_KiB_blocks_above_16_MiB()
    {
        var cmos = new byte[Size];
        CmosBiosFields.Fill(cmos, 2040u << 20, mathCoprocessor: false);
        Assert.Equal(0x7E80, cmos[MemoryAbove16MiBLow] | (cmos[MemoryAbove16MiBHigh] << 8));
        Assert.Equal(0xFFFF, cmos[ExtendedMemoryLow] | (cmos[ExtendedMemoryHigh] << 8));
    }

    [Fact]
    public void A_math_coprocessor_sets_equipment_bit_1()
    {
        var cmos = new byte[Size];
        CmosBiosFields.Fill(cmos, 64u << 20, mathCoprocessor: true);
        Assert.Equal(0x02, cmos[Equipment]);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(64)]
    [InlineData(1024)]
    public void The_checksum_at_0x2E_is_the_big_endian_sum_of_0x10_to_0x2D(int ramMiB)
    {
        Board board = NewBoard((uint)ramMiB << 20, CpuModel.Pentium4);
        int sum = 0;
        for (int i = 0x10; i <= 0x2D; i++)
        {
            sum += Read(board, i);
        }
        Assert.NotEqual(0, sum);
        Assert.Equal(sum, (Read(board, ChecksumHigh) << 8) | Read(board, ChecksumLow));
    }

    [Fact]
    public void The_board_has_the_RTC_at_0x70_and_0x71_on_IRQ_8()
    {
        Board board = NewBoard(64u << 20, CpuModel.Pentium4);
        Assert.Same(board.Rtc, board.Bus.DeviceAt(0x70));
        Assert.Same(board.Rtc, board.Bus.DeviceAt(0x71));
        Assert.Null(board.Bus.DeviceAt(0x72));
        Assert.Equal(8, Board.RtcIrq);
    }

    private static Board NewBoard(uint ramBytes, CpuModel model)
    {
        var cpu = new Vmi.Cpu.Cpu(new PhysicalMemory(ramBytes), model);
        var clock = new GuestClock(1_000_000_000, () => cpu.InstructionsRetired);
        return new Board(cpu, clock, new TimerQueue(), Stream.Null);
    }

    private static int Read(Board board, int index)
    {
        board.PortWrite(0x70, 1, (uint)index);
        return (int)board.PortRead(0x71, 1);
    }

    private static int Word(Board board, int lowIndex) => Read(board, lowIndex) | (Read(board, lowIndex + 1) << 8);
}
