using Vmi.Abi;
using Vmi.Cpu;
using Vmi.Rom;

namespace Vmi.Hypervisors.Paravirtual;

/// <summary>One call's decision, and why (the costs compared).</summary>
public sealed record CallDecision(VmiCall Call, RelocationType Type, string Form, string Why);

/// <summary>
/// Builds the ROM a backend publishes by deciding, call by call, the cheapest correct form from
/// the backend's own costs: keep the native instruction (NONE), ROM code that needs no trap (a
/// CPUID table, a virtual interrupt flag), or a hypercall. Nothing is a fixed table per backend
/// name: change the costs or the CPU model and the answers follow. Linux's client rules are kept
/// whatever the costs say: IRET and SYSEXIT always get a stub (JUMP_REL), the timer calls NONE
/// (no backend delivers alarms yet), MSR calls NONE (MSRs are trapped, as Linux expects).
/// </summary>
public sealed class RomPlanner
{
    private readonly Dictionary<VmiCall, (CallSpec Spec, long Cycles, string Form)> romCode = [];

    public RomPlanner(string backend, CpuModel model, IParavirtualCosts costs, HypercallInstruction instruction)
    {
        Backend = backend;
        Model = model;
        Costs = costs;
        Instruction = instruction;
    }

    public string Backend { get; }

    public CpuModel Model { get; }

    public IParavirtualCosts Costs { get; }

    public HypercallInstruction Instruction { get; }

    public uint VirtualTop { get; init; }

    public Action<Iced.Intel.Assembler>? VmiInit { get; init; }

    /// <summary>
    /// The guest clock's rate when the backend delivers alarms (its ROM then offers the timer
    /// calls: a kernel that takes them needs no PIT); 0: it does not, and they stay NONE.
    /// </summary>
    public long AlarmClockHz { get; init; }

    /// <summary>Offers ROM code for <paramref name="call"/> costing about <paramref name="cycles"/>.</summary>
    public RomPlanner Offer(VmiCall call, CallSpec spec, long cycles, string form)
    {
        romCode[call] = (spec, cycles, form);
        return this;
    }

    public IReadOnlyList<CallDecision> Decisions { get; private set; } = [];

    public VmiRom Build()
    {
        var b = new RomBuilder(Backend)
        {
            Product = $"VMI {Backend} ROM ({Model.Name}, {InstructionName(Instruction)} hypercalls)",
            VirtualTop = VirtualTop,
            VmiInit = VmiInit,
        };
        var decisions = new List<CallDecision>();
        foreach (VmiCall call in VmiCalls.All)
        {
            (CallSpec spec, string form, string why) = Decide(call);
            b.Declare(call, spec);
            decisions.Add(new CallDecision(call, spec.Type, form, why));
        }
        Decisions = decisions;
        return b.Build();
    }

    private (CallSpec Spec, string Form, string Why) Decide(VmiCall call)
    {
        if (VmiCalls.NeverReturns(call))
        {
            return romCode.TryGetValue(call, out var own)
                ? (CallSpec.Code(own.Spec is CodeSpec c ? c.Emit : throw new InvalidOperationException(), jump: true), own.Form, "Linux's client needs a stub for IRET/SYSEXIT")
                : (CallSpec.Code(NativeStubs.For(call, 0), jump: true), "native stub", "Linux's client needs a stub for IRET/SYSEXIT; the native instruction is right here");
        }
        if (LinuxClientRules.TimerCalls.Contains(call) && AlarmClockHz > 0)
        {
            return call switch
            {
                VmiCall.GetCycleFrequency => (ParavirtualClock.Frequency(AlarmClockHz), "ROM constant", "the backend delivers alarms"),
                VmiCall.WallclockUpdated => (ParavirtualClock.NeverUpdated, "ROM constant", "the backend delivers alarms"),
                _ => (Hypercalls.For(call, Instruction), "hypercall", "the backend delivers alarms"),
            };
        }
        if (LinuxClientRules.TimerCalls.Contains(call) || call is VmiCall.ApicRead or VmiCall.ApicWrite or VmiCall.Rdmsr or VmiCall.Wrmsr or VmiCall.Rdpmc)
        {
            return (CallSpec.Native, "native", "no alarms delivered; MSRs and the APIC are trapped");
        }
        CallCost native = Costs.Native(call);
        var candidates = new List<(CallSpec Spec, long Cycles, string Form)>();
        if (!native.IsIncorrect)
        {
            candidates.Add((CallSpec.Native, native.Cycles, "native"));
        }
        if (romCode.TryGetValue(call, out var code))
        {
            candidates.Add(code);
        }
        if (Costs.CanHypercall(call))
        {
            candidates.Add((Hypercalls.For(call, Instruction), Costs.Hypercall, "hypercall"));
        }
        if (candidates.Count == 0)
        {
            throw new InvalidOperationException($"{Backend}: no correct implementation of {VmiCalls.AbiName(call)}");
        }
        // The cheapest. On a tie the explicit forms win over a native instruction that traps or
        // exits (ROM code, then a hypercall): the hypervisor gets the operation and its operands
        // directly instead of fetching and decoding the instruction, which the profile does not
        // price separately; a native instruction that costs nothing has no tie to lose.
        var best = candidates.OrderBy(c => c.Cycles).ThenBy(c => c.Form == "native" ? 2 : c.Form == "hypercall" ? 1 : 0).First();
        string why = string.Join(", ", candidates.Select(c => $"{c.Form} {c.Cycles}")) + (native.IsIncorrect ? ", native incorrect here" : "");
        return (best.Spec, best.Form, why);
    }

    public static string InstructionName(HypercallInstruction i) => i switch
    {
        HypercallInstruction.Vmcall => "vmcall",
        HypercallInstruction.Vmmcall => "vmmcall",
        _ => "int 0x82",
    };

    /// <summary>The hypercall instruction for a hardware-assisted backend on <paramref name="model"/>: the vendor's.</summary>
    public static HypercallInstruction HardwareInstructionFor(CpuModel model) =>
        model.IsAmd ? HypercallInstruction.Vmmcall : HypercallInstruction.Vmcall;

    /// <summary>The leaves a CPUID table in the ROM answers: what the virtual CPU reports.</summary>
    public static IReadOnlyList<CpuidLeaf> CpuidLeaves(CpuModel model)
    {
        var leaves = new List<CpuidLeaf>();
        foreach (uint leaf in new uint[] { 0, 1, 0x8000_0000, 0x8000_0001, 0x8000_0002, 0x8000_0003, 0x8000_0004 })
        {
            Vmi.Cpu.Cpu.CpuidOf(model, leaf, 0, out uint a, out uint b, out uint c, out uint d);
            leaves.Add(new CpuidLeaf(leaf, a, b, c, d));
        }
        return leaves;
    }
}
