namespace Vmi.Abi;

/// <summary>Facts about the call table: ABI names, parsing, and the calls with special conventions.</summary>
public static class VmiCalls
{
    /// <summary>Calls 0..73 of API 3.x.</summary>
    public const int Count = 74;

    // Indexed by call number; spelled exactly as in the ABI's call-number table.
    private static readonly string[] AbiNames =
    [
        "CPUID", "WRMSR", "RDMSR", "SetGDT", "SetLDT", "SetIDT", "SetTR", "GetGDT", "GetLDT", "GetIDT",
        "GetTR", "WriteGDTEntry", "WriteLDTEntry", "WriteIDTEntry", "UpdateKernelStack", "SetCR0", "SetCR2", "SetCR3", "SetCR4", "GetCR0",
        "GetCR2", "GetCR3", "GetCR4", "WBINVD", "SetDR", "GetDR", "RDPMC", "RDTSC", "CLTS", "EnableInterrupts",
        "DisableInterrupts", "GetInterruptMask", "SetInterruptMask", "IRET", "SYSEXIT", "Halt", "Reboot", "Shutdown", "SetPxE", "SetPxELong",
        "UpdatePxE", "UpdatePxELong", "MachineToPhysical", "PhysicalToMachine", "AllocatePage", "ReleasePage", "InvalPage", "FlushTLB", "SetLinearMapping", "INL",
        "INB", "INW", "INSL", "INSB", "INSW", "OUTL", "OUTB", "OUTW", "OUTSL", "OUTSB",
        "OUTSW", "SetIOPLMask", "SetInitialAPState", "APICWrite", "APICRead", "IODelay", "GetCycleFrequency", "GetCycleCounter", "SetAlarm", "CancelAlarm",
        "GetWallclockTime", "WallclockUpdated", "SetCallbacks", "SetLazyMode",
    ];

    private static readonly VmiCall[] AllCalls = Enumerable.Range(0, Count).Select(i => (VmiCall)i).ToArray();

    private static readonly Dictionary<string, VmiCall> ByName = BuildNameIndex();

    /// <summary>Every call, in call-number order.</summary>
    public static IReadOnlyList<VmiCall> All => AllCalls;

    /// <summary>Whether <paramref name="number"/> is a call of API 3.x (a minor-version bump may append more).</summary>
    public static bool IsDefined(int number) => number is >= 0 and < Count;

    /// <summary>The call's name as the ABI's table writes it ("CPUID", "SetPxE", "INB").</summary>
    public static string AbiName(VmiCall c) =>
        IsDefined((int)c) ? AbiNames[(int)c] : throw new ArgumentOutOfRangeException(nameof(c), c, "not a VMI API 3.x call number");

    /// <summary>Case-insensitive lookup by ABI name or enum name; numbers are not accepted.</summary>
    public static bool TryParse(string? name, out VmiCall call) => ByName.TryGetValue(name ?? "", out call);

    /// <summary>IRET and SYSEXIT do not return (ABI: the only calls the kernel may patch with JUMP_REL).</summary>
    public static bool NeverReturns(VmiCall c) => c is VmiCall.Iret or VmiCall.Sysexit;

    /// <summary>
    /// The four interrupt-flag calls, which by the ABI clobber only flags (and EAX for GetInterruptMask's result)
    /// and need only CS and SS valid, unlike every other call (which may clobber EAX, ECX, EDX).
    /// </summary>
    public static bool IsInterruptMaskCall(VmiCall c) =>
        c is VmiCall.DisableInterrupts or VmiCall.EnableInterrupts or VmiCall.GetInterruptMask or VmiCall.SetInterruptMask;

    private static Dictionary<string, VmiCall> BuildNameIndex()
    {
        var index = new Dictionary<string, VmiCall>(2 * Count, StringComparer.OrdinalIgnoreCase);
        foreach (var call in AllCalls)
        {
            index[AbiNames[(int)call]] = call;
            index[call.ToString()] = call;
        }
        return index;
    }
}
