using Vmi.Hypervisors.Costs;
using static Vmi.Hypervisors.Events.EventKind;

namespace Vmi.Hypervisors.Tests.Costs;

/// <summary>
/// The shipped numbers against the figures in docs/cost-profiles.md: the ones the paper gives
/// directly, and the arithmetic each "derived:" source spells out, so an edit to one number that
/// breaks a derivation built on it fails here.
/// </summary>
public class PublishedFigureTests
{
    // Adams & Agesen 2006, Table 1 (P4, Core 2) and Figure 4's raw data (P4): native / BT / VT.
    private const long P4Exit = 1931, P4Entry = 2409, P4VmcbRead = 178, P4VmcbWrite = 171;
    private const long Core2Exit = 1186, Core2Entry = 937, Core2VmcbRead = 52, Core2VmcbWrite = 44;
    private const long SyscallNative = 242, SyscallBt = 2308;
    private const long InVt = 15826;
    private const long PgfaultNative = 1093, PgfaultBt = 3927, PgfaultVt = 11242;
    private const long PtemodNative = 1, PtemodBt = 391;

    private static readonly CostProfile P4 = CostProfiles.Load("p4-2006");
    private static readonly CostProfile Core2 = CostProfiles.Load("core2-2008");
    private static readonly CostProfile Modern = CostProfiles.Load("modern");

    [Fact]
    public void P4_takes_the_papers_figures_directly()
    {
        Assert.Equal(3_800_000_000, P4.ClockHz);
        Assert.Equal(1000, P4.CpiMilli);
        Assert.Equal(2030, P4.CostOf(TrapAndEmulate));
        Assert.Equal(216, P4.CostOf(TranslatedSensitive));
        Assert.Equal(2300, P4.CostOf(TranslatedInstruction));
        foreach (var kind in new[] { TrapAndEmulate, TranslatedSensitive, TranslatedInstruction })
        {
            Assert.Equal(CostBasis.Published, P4.CostFor(kind).Basis);
            Assert.StartsWith("Adams & Agesen 2006:", P4.SourceOf(kind));
        }
    }

    [Fact]
    public void P4_exits_are_built_from_table_1()
    {
        long roundTrip = P4Exit + P4Entry;
        Assert.Equal(roundTrip + (3 * P4VmcbRead) + P4VmcbWrite, P4.CostOf(ExitCpuid));
        Assert.Equal(P4.CostOf(ExitCpuid), P4.CostOf(ExitHlt));
        Assert.Equal(P4.CostOf(ExitCpuid), P4.CostOf(ExitMsr));
        Assert.Equal(P4.CostOf(ExitCpuid) + P4VmcbRead, P4.CostOf(ExitCrAccess));
        Assert.Equal(P4.CostOf(ExitCpuid) + P4VmcbRead, P4.CostOf(ExitInvlpg));
        Assert.Equal(roundTrip + (2 * P4VmcbRead) + P4VmcbWrite, P4.CostOf(InterruptInjection));
    }

    /// <summary>Under the charging rules in the profile's description, the model gives back Figure 4's overheads.</summary>
    [Fact]
    public void P4_reproduces_figure_4_under_its_charging_rules()
    {
        long cpi = P4.CpiMilli / 1000;

        // bt syscall: the int 0x80 reflected, the kernel's iret translated.
        Assert.Equal(SyscallBt - SyscallNative, P4.CostOf(InterruptReflection) + P4.CostOf(TranslatedSensitive));

        // bt true page fault: classified, reflected, iret translated; vt: a page-fault exit, classified.
        Assert.Equal(PgfaultBt - PgfaultNative, P4.CostOf(TrueGuestPageFault) + P4.CostOf(InterruptReflection) + P4.CostOf(TranslatedSensitive));
        Assert.Equal(PgfaultVt - PgfaultNative, P4.CostOf(ExitPageFault) + P4.CostOf(TrueGuestPageFault));

        // bt ptemod: the store is an ordinary instruction, the trace is the rest.
        Assert.Equal(PtemodBt - PtemodNative, P4.CostOf(TracingFault));

        // vt in: the whole emulated access, less the CPI the in is charged as an instruction.
        Assert.Equal(InVt, P4.CostOf(ExitIo) + cpi);
    }

    [Fact]
    public void Core2_exits_are_built_from_its_table_1_column()
    {
        long roundTrip = Core2Exit + Core2Entry;
        Assert.Equal(roundTrip + (3 * Core2VmcbRead) + Core2VmcbWrite, Core2.CostOf(ExitCpuid));
        Assert.Equal(Core2.CostOf(ExitCpuid) + Core2VmcbRead, Core2.CostOf(ExitCrAccess));
        Assert.Equal(roundTrip + (2 * Core2VmcbRead) + Core2VmcbWrite, Core2.CostOf(InterruptInjection));
    }

    [Theory]
    [InlineData(TrapAndEmulate)]
    [InlineData(TranslatedSensitive)]
    [InlineData(TranslatedInstruction)]
    [InlineData(InterruptReflection)]
    [InlineData(ExitIo)]
    [InlineData(ExitPageFault)]
    [InlineData(HiddenPageFault)]
    [InlineData(TrueGuestPageFault)]
    [InlineData(TracingFault)]
    [InlineData(ShadowCr3Switch)]
    public void Core2_scales_the_rest_of_p4_by_the_exit_round_trip_ratio(Events.EventKind kind)
    {
        long num = Core2Exit + Core2Entry, den = P4Exit + P4Entry;
        long rounded = ((2 * P4.CostOf(kind) * num) + den) / (2 * den); // nearest, halves up
        Assert.Equal(rounded, Core2.CostOf(kind));
        Assert.Contains("2123/4340", Core2.SourceOf(kind));
    }

    [Fact]
    public void Modern_takes_the_modern_figures()
    {
        Assert.Equal(3300, Modern.CostOf(Hypercall));
        Assert.Equal(CostBasis.Published, Modern.CostFor(Hypercall).Basis);
        Assert.Equal(2500, Modern.CostOf(ExitCpuid));
        Assert.Equal(CostBasis.Estimate, Modern.CostFor(ExitCpuid).Basis);
    }
}
