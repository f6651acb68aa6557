namespace Vmi.TestSupport;

/// <summary>
/// Outcome of one QEMU run. <see cref="Stdout"/> is the guest's serial output (COM1 is wired to
/// stdio); with isa-debug-exit, a guest writing <c>v</c> to port 0xF4 makes QEMU exit with
/// <c>(v &lt;&lt; 1) | 1</c>.
/// </summary>
public sealed record QemuResult(string Stdout, int ExitCode, bool TimedOut)
{
    /// <summary>The serial output exactly as bytes, for byte-for-byte comparisons.</summary>
    public byte[] StdoutBytes { get; init; } = [];

    /// <summary>QEMU's own diagnostics (not the guest's).</summary>
    public string Stderr { get; init; } = "";

    /// <summary>The value the guest wrote to the debug-exit port, or null if QEMU exited some other way.</summary>
    public int? GuestExitCode => !TimedOut && (ExitCode & 1) == 1 ? ExitCode >> 1 : null;
}
