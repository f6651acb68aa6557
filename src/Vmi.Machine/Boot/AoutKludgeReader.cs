namespace Vmi.Machine.Boot;

/// <summary>
/// Loads an image by the address fields of the multiboot header (flag bit 16, the "a.out kludge"),
/// with the same validation, in the same order, as QEMU's multiboot loader.
/// </summary>
internal static class AoutKludgeReader
{
    public static LoadPlan Read(ReadOnlySpan<byte> file, MultibootHeader header)
    {
        uint headerAddr = header.Field(file, MultibootHeader.HeaderAddrField);
        uint loadAddr = header.Field(file, MultibootHeader.LoadAddrField);
        uint loadEndAddr = header.Field(file, MultibootHeader.LoadEndAddrField);
        uint bssEndAddr = header.Field(file, MultibootHeader.BssEndAddrField);
        uint entryAddr = header.Field(file, MultibootHeader.EntryAddrField);
        long at = header.Offset;

        if (headerAddr < loadAddr)
            throw new BootImageException($"multiboot header_addr 0x{headerAddr:X8} is below load_addr 0x{loadAddr:X8}", at + MultibootHeader.HeaderAddrField);
        if (headerAddr - loadAddr > header.Offset)
        {
            throw new BootImageException(
                $"multiboot header_addr 0x{headerAddr:X8} - load_addr 0x{loadAddr:X8} = 0x{headerAddr - loadAddr:X} exceeds the header's file offset 0x{header.Offset:X}: " +
                "the image would start before the beginning of the file",
                at + MultibootHeader.HeaderAddrField);
        }
        long textOffset = header.Offset - (headerAddr - loadAddr);

        long loadSize;
        if (loadEndAddr != 0)
        {
            if (loadEndAddr < loadAddr)
                throw new BootImageException($"multiboot load_end_addr 0x{loadEndAddr:X8} is below load_addr 0x{loadAddr:X8}", at + MultibootHeader.LoadEndAddrField);
            loadSize = loadEndAddr - loadAddr;
            if (textOffset + loadSize > file.Length)
            {
                throw new BootImageException(
                    $"multiboot load_end_addr 0x{loadEndAddr:X8} needs file bytes [0x{textOffset:X}, 0x{textOffset + loadSize:X}) but the file is {file.Length} bytes",
                    at + MultibootHeader.LoadEndAddrField);
            }
        }
        else
        {
            loadSize = file.Length - textOffset; // load_end_addr 0 means "to the end of the file"
            if (loadAddr + loadSize > 1L << 32)
                throw new BootImageException($"multiboot image of 0x{loadSize:X} bytes at load_addr 0x{loadAddr:X8} wraps past 4 GiB", at + MultibootHeader.LoadAddrField);
        }

        long memorySize = loadSize;
        if (bssEndAddr != 0)
        {
            if (bssEndAddr < loadAddr + loadSize)
            {
                throw new BootImageException(
                    $"multiboot bss_end_addr 0x{bssEndAddr:X8} is below the end of the loaded image 0x{loadAddr + loadSize:X8}",
                    at + MultibootHeader.BssEndAddrField);
            }
            memorySize = bssEndAddr - loadAddr;
        }
        if (memorySize == 0)
            throw new BootImageException("multiboot address fields describe an empty image (load_end_addr = load_addr, no bss)", at + MultibootHeader.LoadEndAddrField);

        var segment = new LoadSegment(loadAddr, file.Slice((int)textOffset, (int)loadSize).ToArray(), (uint)memorySize);
        if (entryAddr < loadAddr || entryAddr >= segment.EndAddress)
        {
            throw new BootImageException(
                $"multiboot entry_addr 0x{entryAddr:X8} is outside the loaded image [0x{loadAddr:X8}, 0x{segment.EndAddress:X8})",
                at + MultibootHeader.EntryAddrField);
        }
        return new LoadPlan([segment], [at + MultibootHeader.LoadAddrField], entryAddr);
    }
}
