namespace Vmi.Guest.Patching;

/// <summary>The ROM's answers fail a check the kernel makes before it patches anything, so it patches nothing.</summary>
public sealed class SitePlanException : Exception
{
    public SitePlanException(IReadOnlyList<string> problems)
        : base($"the kernel would refuse these relocations: {string.Join("; ", problems)}")
    {
        Problems = problems;
    }

    /// <summary>One line per broken rule, naming the call.</summary>
    public IReadOnlyList<string> Problems { get; }
}
