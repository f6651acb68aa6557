using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vmi.Cpu.Memory;

/// <summary>
/// Guest physical memory: one native RAM block, per-page attributes the CPU's fast paths consult,
/// and the code map that makes self-modifying code safe. Every access is bounds-checked here or
/// by construction (a TLB entry is only created for a page wholly inside RAM).
/// </summary>
public sealed unsafe class PhysicalMemory
{
    public const int PageShift = 12;
    public const uint PageSize = 1u << PageShift;

    /// <summary>Writes to a page with any of these bits take the CPU's slow path.</summary>
    [Flags]
    internal enum PageTrap : byte
    {
        None = 0,
        Code = 1,
        ReadOnly = 2,
        Watched = 4,
    }

    // A pinned managed array rather than native memory: the GC owns its lifetime, so no use-after-free
    // is possible however the host code is torn down, and the pointer never moves.
    private readonly byte[] ramArray;
    private readonly byte* ram;
    internal readonly PageTrap[] Traps;

    /// <summary>One bit per 128-byte chunk of each page that holds decoded code (Bochs's page write stamps).</summary>
    internal readonly uint[] CodeChunks;

    /// <summary>Bumped whenever decoded code in a page becomes stale; blocks remember the value they saw.</summary>
    internal readonly uint[] Generation;

    /// <param name="ramBytes">Guest RAM, at physical 0.</param>
    /// <param name="hostBytes">
    /// Memory of the hypervisor's own after guest RAM (its descriptor tables, for one): the CPU
    /// reaches it only through a backend's translation (<see cref="Cpu.Paging"/>), never the guest
    /// by a physical address, since guest-physical checks (<see cref="IsRam"/>) stop at RAM.
    /// </param>
    public PhysicalMemory(uint ramBytes, uint hostBytes = 0)
    {
        if ((hostBytes & (PageSize - 1)) != 0 || (ulong)ramBytes + hostBytes > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(hostBytes), hostBytes, "host memory must be a multiple of 4 KiB, and RAM plus host memory below 2 GiB");
        }
        if (ramBytes < PageSize * 256 || (ramBytes & (PageSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ramBytes), ramBytes, "RAM must be a multiple of 4 KiB and at least 1 MiB");
        }
        RamSize = ramBytes;
        HostSize = hostBytes;
        BackedSize = ramBytes + hostBytes;
        ramArray = GC.AllocateArray<byte>((int)BackedSize, pinned: true);
        ram = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(ramArray));
        PageCount = (int)(BackedSize >> PageShift);
        Traps = new PageTrap[PageCount];
        CodeChunks = new uint[PageCount];
        Generation = new uint[PageCount];
    }

    public uint RamSize { get; }

    /// <summary>The hypervisor's memory after RAM: physical [<see cref="HostBase"/>, <see cref="BackedSize"/>).</summary>
    public uint HostSize { get; }

    public uint HostBase => RamSize;

    /// <summary>RAM plus host memory: what a physical address from a backend's translation may reach.</summary>
    public uint BackedSize { get; }

    public bool IsBacked(uint address, uint length) => address < BackedSize && length <= BackedSize - address;

    /// <summary>The hypervisor writes its own memory (offset from <see cref="HostBase"/>); the guest's pages are out of reach.</summary>
    public void WriteHost(uint offset, ReadOnlySpan<byte> data)
    {
        if (offset > HostSize || (uint)data.Length > HostSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"host write of {data.Length} bytes at offset 0x{offset:X} is outside the 0x{HostSize:X} bytes of host memory");
        }
        NoteCodeWrite(HostBase + offset, data.Length);
        data.CopyTo(new Span<byte>(ram + HostBase + offset, data.Length));
    }

    public void ReadHost(uint offset, Span<byte> destination)
    {
        if (offset > HostSize || (uint)destination.Length > HostSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"host read of {destination.Length} bytes at offset 0x{offset:X} is outside the 0x{HostSize:X} bytes of host memory");
        }
        new ReadOnlySpan<byte>(ram + HostBase + offset, destination.Length).CopyTo(destination);
    }

    internal int PageCount { get; }

    internal byte* Ram => ram;

    /// <summary>
    /// Called once per guest store that lands in a watched page, before it lands, with (physical
    /// address, size, old value, new value); false drops the store. Set by the CPU, which adds the
    /// storing instruction's EIP and CPL (<see cref="Cpu.StoreWatch"/>).
    /// </summary>
    internal Func<uint, int, uint, uint, bool>? StoreWatched { get; set; }

    /// <summary>Raised when a write hits decoded code; the CPU uses it to end the running block.</summary>
    internal Action<uint>? CodeWritten { get; set; }

    public long CodeInvalidations { get; private set; }

    public bool IsRam(uint address, uint length) => address < RamSize && length <= RamSize - address;

    /// <summary>Marks [start, start+length) read-only to the guest (the option-ROM/BIOS window of a PC).</summary>
    public void SetReadOnly(uint start, uint length, bool readOnly = true) => SetTrap(start, length, PageTrap.ReadOnly, readOnly);

    /// <summary>
    /// Watches the page holding <paramref name="address"/>. No TLB flush is needed (so none is done):
    /// the fast write path looks at the page's trap bits on every store.
    /// </summary>
    internal void SetWatched(uint address, bool watched)
    {
        uint page = address >> PageShift;
        if (page < (uint)PageCount)
        {
            Traps[page] = watched ? Traps[page] | PageTrap.Watched : Traps[page] & ~PageTrap.Watched;
        }
    }

    internal bool IsWatched(uint address) => address < BackedSize && (Traps[address >> PageShift] & PageTrap.Watched) != 0;

    private void SetTrap(uint start, uint length, PageTrap bit, bool on)
    {
        if (length == 0)
        {
            return;
        }
        ulong end = Math.Min((ulong)start + length, BackedSize);
        for (ulong p = start >> PageShift; p < (end + PageSize - 1) >> PageShift; p++)
        {
            Traps[p] = on ? Traps[p] | bit : Traps[p] & ~bit;
        }
        TrapsChanged?.Invoke();
    }

    /// <summary>The CPU flushes its TLB when page attributes change, since fast write bits were derived from them.</summary>
    internal Action? TrapsChanged { get; set; }

    public byte Read8(uint address) => address < BackedSize ? ram[address] : (byte)0xFF;

    public ushort Read16(uint address) => (ushort)(Read8(address) | (Read8(address + 1) << 8));

    public uint Read32(uint address)
    {
        if (address <= BackedSize - 4)
        {
            return *(uint*)(ram + address);
        }
        return (uint)(Read16(address) | (Read16(address + 2) << 16));
    }

    /// <summary>
    /// A guest-visible store inside one page: ignored outside RAM and in read-only pages;
    /// invalidates code it overwrites; a watched page reports it once, before it lands.
    /// </summary>
    public void GuestWrite(uint address, int size, uint value)
    {
        if (address < BackedSize && (Traps[address >> PageShift] & PageTrap.Watched) != 0 && StoreWatched is { } watch)
        {
            uint old = 0;
            for (int i = 0; i < size; i++)
            {
                old |= (uint)Read8(address + (uint)i) << (8 * i);
            }
            uint mask = size == 4 ? 0xFFFF_FFFFu : (1u << (8 * size)) - 1;
            if (!watch(address, size, old, value & mask))
            {
                return;
            }
        }
        WriteUnwatched(address, size, value);
    }

    /// <summary>
    /// A store no watcher hears of: the page walker's accessed/dirty updates, and a hypervisor's own
    /// writes to guest memory. Read-only pages and code invalidation still apply.
    /// </summary>
    public void WriteUnwatched(uint address, int size, uint value)
    {
        for (int i = 0; i < size; i++)
        {
            uint a = address + (uint)i;
            if (a >= BackedSize)
            {
                continue;
            }
            PageTrap trap = Traps[a >> PageShift];
            if (trap != PageTrap.None)
            {
                if ((trap & PageTrap.ReadOnly) != 0)
                {
                    continue;
                }
                if ((trap & PageTrap.Code) != 0)
                {
                    NoteCodeWrite(a, 1);
                }
            }
            ram[a] = (byte)(value >> (8 * i));
        }
    }

    public void Write32(uint address, uint value) => GuestWrite(address, 4, value);

    /// <summary>Host-side load (multiboot loader, ROM installer, DMA): bypasses read-only, still invalidates code.</summary>
    public void Load(uint address, ReadOnlySpan<byte> data)
    {
        if (!IsRam(address, (uint)data.Length))
        {
            throw new ArgumentOutOfRangeException(nameof(address), $"load of {data.Length} bytes at 0x{address:X8} is outside RAM (0x{RamSize:X8} bytes)");
        }
        if (data.Length == 0)
        {
            return;
        }
        NoteCodeWrite(address, data.Length);
        data.CopyTo(new Span<byte>(ram + address, data.Length));
    }

    public void Fill(uint address, uint length, byte value)
    {
        if (!IsRam(address, length))
        {
            throw new ArgumentOutOfRangeException(nameof(address), $"fill of {length} bytes at 0x{address:X8} is outside RAM");
        }
        NoteCodeWrite(address, (int)length);
        new Span<byte>(ram + address, (int)length).Fill(value);
    }

    public void ReadBytes(uint address, Span<byte> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = Read8(address + (uint)i);
        }
    }

    /// <summary>Records that a decoded instruction covers [address, address+length).</summary>
    internal void MarkCode(uint address, int length)
    {
        for (uint a = address & ~127u; a < address + (uint)length; a += 128)
        {
            uint page = a >> PageShift;
            if (page >= (uint)PageCount)
            {
                break;
            }
            CodeChunks[page] |= 1u << (int)((a >> 7) & 31);
            Traps[page] |= PageTrap.Code;
        }
    }

    /// <summary>A write to [address, address+length) happened or is about to: drop decoded code it touches.</summary>
    internal void NoteCodeWrite(uint address, int length)
    {
        uint end = address + (uint)length;
        for (uint a = address & ~127u; a < end && a < BackedSize; a += 128)
        {
            uint page = a >> PageShift;
            if ((CodeChunks[page] & (1u << (int)((a >> 7) & 31))) != 0)
            {
                // Page-granular invalidation: every block of the page goes, the chunk map starts over.
                CodeChunks[page] = 0;
                Traps[page] &= ~PageTrap.Code;
                Generation[page]++;
                CodeInvalidations++;
                CodeWritten?.Invoke(a);
            }
        }
    }
}
