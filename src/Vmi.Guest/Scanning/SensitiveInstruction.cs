namespace Vmi.Guest.Scanning;

/// <summary>A privileged or sensitive instruction outside every patch site.</summary>
/// <param name="Function">The function or label whose code holds it; null in a section without symbols.</param>
/// <param name="Text">The instruction as Iced's NASM formatter writes it ("cli", "mov cr3,eax").</param>
public sealed record SensitiveInstruction(uint Address, string? Function, string Text);
