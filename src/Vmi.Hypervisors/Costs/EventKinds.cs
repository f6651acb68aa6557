using System.Collections.Frozen;
using Vmi.Hypervisors.Events;

namespace Vmi.Hypervisors.Costs;

/// <summary>
/// The event kinds as a dense table: a profile stores its costs in an array indexed by kind, which
/// relies on <see cref="EventKind"/> numbering its members 0, 1, 2… (checked once here).
/// </summary>
internal static class EventKinds
{
    public static readonly EventKind[] All = Enum.GetValues<EventKind>();

    /// <summary>
    /// Kind names, case-insensitively. Not <see cref="Enum.TryParse{TEnum}(string, bool, out TEnum)"/>:
    /// that also accepts "3" or "TlbMiss, Hypercall", which are not names a profile may use.
    /// </summary>
    public static readonly FrozenDictionary<string, EventKind> ByName =
        All.ToFrozenDictionary(k => k.ToString(), StringComparer.OrdinalIgnoreCase);

    static EventKinds()
    {
        for (int i = 0; i < All.Length; i++)
        {
            if ((int)All[i] != i)
            {
                throw new InvalidOperationException($"{nameof(EventKind)} must number its members densely from 0; {All[i]} is {(int)All[i]}");
            }
        }
    }

    public static bool IsDefined(EventKind kind) => (uint)kind < (uint)All.Length;
}
