namespace Vmi.Guest.Image;

/// <summary>
/// A symbol that names code: a function (STT_FUNC) or an untyped label (STT_NOTYPE, what an
/// assembly file gets without <c>.type</c>) in an executable section.
/// </summary>
/// <param name="Size">The symbol's size; 0 when the object did not say (an assembly label without <c>.size</c>).</param>
/// <param name="IsFunction">STT_FUNC rather than an untyped label.</param>
/// <param name="IsGlobal">Global or weak binding rather than local.</param>
public sealed record CodeSymbol(string Name, uint Address, uint Size, bool IsFunction, bool IsGlobal);
