using Iced.Intel;

namespace Vmi.Guest.Scanning;

/// <summary>
/// Which i386 instructions a VMI kernel must not execute natively once the ROM is active: those
/// that are privileged (fault or behave differently below ring 0, where a hypervisor may run the
/// kernel) or that read or change state a hypervisor owns without faulting (pushf/popf, sgdt,
/// smsw, lar/lsl/verr/verw, cpuid, rdtsc). MSR reads and writes are not here: as in Linux, they
/// stay native and the hypervisor traps and emulates them.
/// </summary>
public static class SensitiveInstructions
{
    private static readonly HashSet<Mnemonic> Mnemonics =
    [
        Mnemonic.Cli, Mnemonic.Sti, Mnemonic.Pushf, Mnemonic.Pushfd, Mnemonic.Popf, Mnemonic.Popfd,
        Mnemonic.Iret, Mnemonic.Iretd, Mnemonic.Sysexit, Mnemonic.Sysenter, Mnemonic.Hlt,
        Mnemonic.Invlpg, Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Ltr, Mnemonic.Lldt,
        Mnemonic.Sgdt, Mnemonic.Sidt, Mnemonic.Str, Mnemonic.Sldt, Mnemonic.Clts, Mnemonic.Wbinvd,
        Mnemonic.In, Mnemonic.Out, Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd, Mnemonic.Outsb, Mnemonic.Outsw, Mnemonic.Outsd,
        Mnemonic.Cpuid, Mnemonic.Rdtsc, Mnemonic.Lmsw, Mnemonic.Smsw, Mnemonic.Lar, Mnemonic.Lsl, Mnemonic.Verr, Mnemonic.Verw,
    ];

    /// <summary>Whether <paramref name="instruction"/> is one a VMI kernel may only execute inside a patch site.</summary>
    public static bool IsSensitive(in Instruction instruction) =>
        Mnemonics.Contains(instruction.Mnemonic)
        || instruction.Code is Code.Mov_r32_cr or Code.Mov_cr_r32 or Code.Mov_r32_dr or Code.Mov_dr_r32;
}
