namespace Vmi.Abi;

/// <summary>
/// What Linux 2.6.21–2.6.36's VMI client (arch/x86/kernel/vmi_32.c) requires of a ROM's get_reloc
/// answers, beyond the ABI's own rules: a ROM that breaks one of these is found and activated by a
/// real Linux kernel, which then crashes or hangs (vmi-abi.md, "What Linux 2.6.32's VMI client
/// requires of a ROM"). Our own guest kernel calls the ROM with the same conventions, so a ROM that
/// passes here works for both.
/// </summary>
public static class LinuxClientRules
{
    /// <summary>
    /// Calls Linux reaches through wrappers that BUG on JUMP_REL (they must return), and that ignore NOP.
    /// </summary>
    public static IReadOnlySet<VmiCall> WrappedCalls { get; } = new HashSet<VmiCall>
    {
        VmiCall.Cpuid, VmiCall.SetTr, VmiCall.SetLdt, VmiCall.WriteGdtEntry, VmiCall.WriteLdtEntry, VmiCall.WriteIdtEntry,
        VmiCall.UpdateKernelStack, VmiCall.SetLazyMode, VmiCall.FlushTlb, VmiCall.SetInitialApState,
    };

    /// <summary>The calls a ROM answers CALL_REL only if it can deliver alarms (Linux then moves its clock events to SetAlarm).</summary>
    public static IReadOnlySet<VmiCall> TimerCalls { get; } = new HashSet<VmiCall>
    {
        VmiCall.GetCycleFrequency, VmiCall.GetCycleCounter, VmiCall.SetAlarm, VmiCall.CancelAlarm,
        VmiCall.GetWallclockTime, VmiCall.WallclockUpdated,
    };

    /// <summary>
    /// The rules <paramref name="answers"/> (get_reloc's answer per call) break, one line each, for a
    /// ROM image of <paramref name="romLength"/> bytes mapped at <paramref name="romBase"/>.
    /// </summary>
    public static IReadOnlyList<string> Check(IReadOnlyDictionary<VmiCall, RelocationInfo> answers, uint romBase, int romLength)
    {
        var broken = new List<string>();
        foreach ((VmiCall call, RelocationInfo r) in answers.OrderBy(a => a.Key))
        {
            string name = VmiCalls.AbiName(call);
            if (!r.IsKnownType)
            {
                broken.Add($"{name}: relocation type {(byte)r.Type} is unknown (Linux BUGs on it)");
                continue;
            }
            if (r.Type is RelocationType.CallRel or RelocationType.JumpRel && (r.Eip < romBase || r.Eip >= romBase + (uint)romLength))
            {
                broken.Add($"{name}: {r.Type} target 0x{r.Eip:X8} lies outside the ROM [0x{romBase:X8}, 0x{romBase + (uint)romLength:X8})");
            }
            if (VmiCalls.NeverReturns(call) && r.Type is not (RelocationType.CallRel or RelocationType.JumpRel))
            {
                broken.Add($"{name}: must be CALL_REL or JUMP_REL, not {r.Type} (Linux poisons its native fallback; give a stub that executes the instruction)");
            }
            if (!VmiCalls.NeverReturns(call) && r.Type == RelocationType.JumpRel)
            {
                broken.Add($"{name}: JUMP_REL for a call that returns{(WrappedCalls.Contains(call) ? " (Linux's wrapper BUGs on it)" : "")}");
            }
        }
        bool alarms = answers.TryGetValue(VmiCall.SetAlarm, out RelocationInfo set) && set.Type == RelocationType.CallRel
            && answers.TryGetValue(VmiCall.CancelAlarm, out RelocationInfo cancel) && cancel.Type == RelocationType.CallRel;
        if (answers.TryGetValue(VmiCall.GetCycleFrequency, out RelocationInfo frequency) && frequency.Type == RelocationType.CallRel && !alarms)
        {
            broken.Add("GetCycleFrequency: CALL_REL without SetAlarm and CancelAlarm stubs (Linux switches its clock events to SetAlarm and waits forever)");
        }
        return broken;
    }
}
