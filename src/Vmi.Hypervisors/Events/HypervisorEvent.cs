namespace Vmi.Hypervisors.Events;

/// <summary>One event as traced (<c>--trace-events</c>): what, where, which instruction, and detail.</summary>
public readonly record struct HypervisorEvent(long Sequence, long Instructions, EventKind Kind, uint Eip, string Instruction, string Detail);
