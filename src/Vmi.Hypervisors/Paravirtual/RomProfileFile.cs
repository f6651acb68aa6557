using System.Text.Json;
using Vmi.Abi;
using Vmi.Rom;

namespace Vmi.Hypervisors.Paravirtual;

/// <summary>A ROM profile file that does not say what a ROM may be: names the file, the key and the line.</summary>
public sealed class RomProfileException(string message) : Exception(message);

/// <summary>
/// A ROM for a hypervisor the kernel has never met, from a user-written JSON profile:
/// <code>
/// { "name": "my-hypervisor", "hypercall": "vmcall" | "vmmcall" | "int82", "virtualTop": "0xFFC00000",
///   "calls": { "SetCR3": "hypercall", "INB": "hypercall", "CPUID": "stub", "IODelay": "nop", ... } }
/// </code>
/// Per call (the ABI's names): "native" (NONE, the default for calls not listed), "nop" (only for
/// calls that are safe to drop), "stub" (ROM code that runs the native instruction), or
/// "hypercall" (only for the calls our hypervisors implement as hypercalls). IRET and SYSEXIT are
/// always a stub reached by JUMP_REL, as Linux's client requires; the timer calls stay NONE.
/// </summary>
public static class RomProfileFile
{
    public static IReadOnlyList<string> Forms { get; } = ["native", "nop", "stub", "hypercall"];

    public static VmiRom Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RomProfileException($"{path}: cannot read the ROM profile: {e.Message}");
        }
        return Parse(text, Path.GetFileName(path));
    }

    public static VmiRom Parse(string json, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new RomProfileException($"{source}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}");
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new RomProfileException($"{source}: the profile must be a JSON object");
            }
            string name = String(root, "name", source) ?? Path.GetFileNameWithoutExtension(source);
            HypercallInstruction instruction = (String(root, "hypercall", source) ?? "int82").ToLowerInvariant() switch
            {
                "vmcall" => HypercallInstruction.Vmcall,
                "vmmcall" => HypercallInstruction.Vmmcall,
                "int82" or "int 0x82" => HypercallInstruction.SoftwareInterrupt,
                string other => throw new RomProfileException($"{source}: hypercall: '{other}' is not one of vmcall, vmmcall, int82"),
            };
            uint virtualTop = 0;
            if (String(root, "virtualTop", source) is string top)
            {
                string digits = top.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? top[2..] : top;
                if (!uint.TryParse(digits, System.Globalization.NumberStyles.HexNumber, null, out virtualTop) || (virtualTop & 0x3F_FFFF) != 0)
                {
                    throw new RomProfileException($"{source}: virtualTop: '{top}' is not a 4 MiB-aligned hexadecimal address");
                }
            }
            var builder = new RomBuilder(name) { Product = $"VMI {name} ROM (from a profile file)", VirtualTop = virtualTop };
            var declared = new HashSet<VmiCall>();
            if (root.TryGetProperty("calls", out JsonElement calls))
            {
                if (calls.ValueKind != JsonValueKind.Object)
                {
                    throw new RomProfileException($"{source}: calls: must be an object of call name → form");
                }
                foreach (JsonProperty p in calls.EnumerateObject())
                {
                    if (!VmiCalls.TryParse(p.Name, out VmiCall call))
                    {
                        throw new RomProfileException($"{source}: calls.{p.Name}: not a VMI call (the ABI's names: CPUID, SetCR3, INB, …)");
                    }
                    if (!declared.Add(call))
                    {
                        throw new RomProfileException($"{source}: calls.{p.Name}: named twice");
                    }
                    string form = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new RomProfileException($"{source}: calls.{p.Name}: must be one of {string.Join(", ", Forms)}");
                    builder.Declare(call, Spec(call, form, instruction, $"{source}: calls.{p.Name}"));
                }
            }
            foreach (VmiCall call in VmiCalls.All.Where(c => VmiCalls.NeverReturns(c) && !declared.Contains(c)))
            {
                builder.Declare(call, CallSpec.Code(NativeStubs.For(call, 0), jump: true));
            }
            return builder.Build();
        }
    }

    private static CallSpec Spec(VmiCall call, string form, HypercallInstruction instruction, string where)
    {
        if (VmiCalls.NeverReturns(call))
        {
            return form == "stub" ? CallSpec.Code(NativeStubs.For(call, 0), jump: true)
                : throw new RomProfileException($"{where}: '{form}': IRET and SYSEXIT must be a stub (Linux's client poisons their native forms)");
        }
        if (LinuxClientRules.TimerCalls.Contains(call) && form != "native")
        {
            throw new RomProfileException($"{where}: '{form}': the timer calls stay native (no hypervisor here delivers alarms)");
        }
        return form switch
        {
            "native" => CallSpec.Native,
            "nop" => RomProfiles.SafeToDrop.Contains(call) ? CallSpec.Nop : throw new RomProfileException($"{where}: 'nop': {VmiCalls.AbiName(call)} cannot be dropped"),
            "stub" => CallSpec.Code(NativeStubs.For(call, 0)),
            "hypercall" => HardwareAssistedCosts.HypercallableCalls.Contains(call)
                ? Hypercalls.For(call, instruction)
                : throw new RomProfileException($"{where}: 'hypercall': no hypervisor here implements {VmiCalls.AbiName(call)} as a hypercall (those that do: {string.Join(", ", HardwareAssistedCosts.HypercallableCalls.Select(VmiCalls.AbiName))})"),
            _ => throw new RomProfileException($"{where}: '{form}' is not one of {string.Join(", ", Forms)}"),
        };
    }

    private static string? String(JsonElement root, string key, string source)
    {
        if (!root.TryGetProperty(key, out JsonElement v))
        {
            return null;
        }
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new RomProfileException($"{source}: {key}: must be a string");
    }
}
