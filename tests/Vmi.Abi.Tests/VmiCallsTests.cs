namespace Vmi.Abi.Tests;

public sealed class VmiCallsTests
{
    [Fact]
    public void All_Is74DistinctCallsNumbered0To73InOrder()
    {
        Assert.Equal(74, VmiCalls.Count);
        Assert.Equal(Enumerable.Range(0, 74), VmiCalls.All.Select(c => (int)c));
        Assert.Equal(74, Enum.GetValues<VmiCall>().Distinct().Count());
        Assert.Equal(VmiCalls.All, Enum.GetValues<VmiCall>());
    }

    [Theory]
    [InlineData(0, "CPUID", VmiCall.Cpuid)]
    [InlineData(1, "WRMSR", VmiCall.Wrmsr)]
    [InlineData(2, "RDMSR", VmiCall.Rdmsr)]
    [InlineData(3, "SetGDT", VmiCall.SetGdt)]
    [InlineData(6, "SetTR", VmiCall.SetTr)]
    [InlineData(11, "WriteGDTEntry", VmiCall.WriteGdtEntry)]
    [InlineData(14, "UpdateKernelStack", VmiCall.UpdateKernelStack)]
    [InlineData(15, "SetCR0", VmiCall.SetCr0)]
    [InlineData(18, "SetCR4", VmiCall.SetCr4)]
    [InlineData(19, "GetCR0", VmiCall.GetCr0)]
    [InlineData(22, "GetCR4", VmiCall.GetCr4)]
    [InlineData(23, "WBINVD", VmiCall.Wbinvd)]
    [InlineData(24, "SetDR", VmiCall.SetDr)]
    [InlineData(26, "RDPMC", VmiCall.Rdpmc)]
    [InlineData(27, "RDTSC", VmiCall.Rdtsc)]
    [InlineData(28, "CLTS", VmiCall.Clts)]
    [InlineData(29, "EnableInterrupts", VmiCall.EnableInterrupts)]
    [InlineData(32, "SetInterruptMask", VmiCall.SetInterruptMask)]
    [InlineData(33, "IRET", VmiCall.Iret)]
    [InlineData(34, "SYSEXIT", VmiCall.Sysexit)]
    [InlineData(35, "Halt", VmiCall.Halt)]
    [InlineData(37, "Shutdown", VmiCall.Shutdown)]
    [InlineData(38, "SetPxE", VmiCall.SetPxE)]
    [InlineData(39, "SetPxELong", VmiCall.SetPxELong)]
    [InlineData(40, "UpdatePxE", VmiCall.UpdatePxE)]
    [InlineData(41, "UpdatePxELong", VmiCall.UpdatePxELong)]
    [InlineData(42, "MachineToPhysical", VmiCall.MachineToPhysical)]
    [InlineData(44, "AllocatePage", VmiCall.AllocatePage)]
    [InlineData(46, "InvalPage", VmiCall.InvalPage)]
    [InlineData(47, "FlushTLB", VmiCall.FlushTlb)]
    [InlineData(48, "SetLinearMapping", VmiCall.SetLinearMapping)]
    [InlineData(49, "INL", VmiCall.Inl)]
    [InlineData(50, "INB", VmiCall.Inb)]
    [InlineData(51, "INW", VmiCall.Inw)]
    [InlineData(52, "INSL", VmiCall.Insl)]
    [InlineData(54, "INSW", VmiCall.Insw)]
    [InlineData(55, "OUTL", VmiCall.Outl)]
    [InlineData(56, "OUTB", VmiCall.Outb)]
    [InlineData(57, "OUTW", VmiCall.Outw)]
    [InlineData(58, "OUTSL", VmiCall.Outsl)]
    [InlineData(59, "OUTSB", VmiCall.Outsb)]
    [InlineData(60, "OUTSW", VmiCall.Outsw)]
    [InlineData(61, "SetIOPLMask", VmiCall.SetIoplMask)]
    [InlineData(62, "SetInitialAPState", VmiCall.SetInitialApState)]
    [InlineData(63, "APICWrite", VmiCall.ApicWrite)]
    [InlineData(64, "APICRead", VmiCall.ApicRead)]
    [InlineData(65, "IODelay", VmiCall.IoDelay)]
    [InlineData(66, "GetCycleFrequency", VmiCall.GetCycleFrequency)]
    [InlineData(67, "GetCycleCounter", VmiCall.GetCycleCounter)]
    [InlineData(68, "SetAlarm", VmiCall.SetAlarm)]
    [InlineData(69, "CancelAlarm", VmiCall.CancelAlarm)]
    [InlineData(70, "GetWallclockTime", VmiCall.GetWallclockTime)]
    [InlineData(71, "WallclockUpdated", VmiCall.WallclockUpdated)]
    [InlineData(72, "SetCallbacks", VmiCall.SetCallbacks)]
    [InlineData(73, "SetLazyMode", VmiCall.SetLazyMode)]
    public void NumberAndAbiName_MatchTheAbiTable(int number, string abiName, VmiCall call)
    {
        Assert.Equal(number, (int)call);
        Assert.Equal(abiName, VmiCalls.AbiName(call));
        Assert.True(VmiCalls.TryParse(abiName, out var parsed));
        Assert.Equal(call, parsed);
    }

    [Fact]
    public void EnumNames_DifferFromAbiNamesOnlyInCase()
    {
        foreach (var c in VmiCalls.All)
            Assert.Equal(VmiCalls.AbiName(c), c.ToString(), ignoreCase: true);
    }

    [Fact]
    public void AbiNames_AreDistinctIgnoringCase() =>
        Assert.Equal(74, VmiCalls.All.Select(VmiCalls.AbiName).Distinct(StringComparer.OrdinalIgnoreCase).Count());

    [Theory]
    [InlineData("cpuid", VmiCall.Cpuid)]
    [InlineData("Cpuid", VmiCall.Cpuid)]
    [InlineData("setgdt", VmiCall.SetGdt)]
    [InlineData("SETPXELONG", VmiCall.SetPxELong)]
    [InlineData("ApicWrite", VmiCall.ApicWrite)]
    [InlineData("apicwrite", VmiCall.ApicWrite)]
    [InlineData("iret", VmiCall.Iret)]
    [InlineData("IoDelay", VmiCall.IoDelay)]
    public void TryParse_IsCaseInsensitive(string name, VmiCall expected)
    {
        Assert.True(VmiCalls.TryParse(name, out var call));
        Assert.Equal(expected, call);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" CPUID")]
    [InlineData("CPUID ")]
    [InlineData("0")]
    [InlineData("5")]
    [InlineData("Cpu")]
    [InlineData("SetGDTR")]
    [InlineData("Set_GDT")]
    [InlineData(null)]
    public void TryParse_RejectsOtherStrings(string? name) => Assert.False(VmiCalls.TryParse(name, out _));

    [Fact]
    public void EveryCall_ParsesFromBothNames()
    {
        foreach (var c in VmiCalls.All)
        {
            Assert.True(VmiCalls.TryParse(VmiCalls.AbiName(c), out var a));
            Assert.True(VmiCalls.TryParse(c.ToString(), out var b));
            Assert.Equal(c, a);
            Assert.Equal(c, b);
        }
    }

    [Fact]
    public void NeverReturns_IsExactlyIretAndSysexit() =>
        Assert.Equal([VmiCall.Iret, VmiCall.Sysexit], VmiCalls.All.Where(VmiCalls.NeverReturns));

    [Fact]
    public void InterruptMaskCalls_AreTheFourFlagCalls() =>
        Assert.Equal(
            [VmiCall.EnableInterrupts, VmiCall.DisableInterrupts, VmiCall.GetInterruptMask, VmiCall.SetInterruptMask],
            VmiCalls.All.Where(VmiCalls.IsInterruptMaskCall));

    [Fact]
    public void AbiName_RejectsNumbersBeyondTheTable() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => VmiCalls.AbiName((VmiCall)74));

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(73, true)]
    [InlineData(74, false)]
    public void IsDefined_CoversTheTable(int number, bool defined) => Assert.Equal(defined, VmiCalls.IsDefined(number));
}
