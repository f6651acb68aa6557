/* A hand-made bzImage around a payload (Documentation/x86/boot.rst, "The real-mode kernel header"):
 * setup sectors holding the setup header at 0x1F1, then the protected-mode part, which is
 * PM_PREFIX (a flat binary loaded at 1 MiB, entered at code32_start) followed by PAYLOAD (the
 * compressed vmlinux with its 4-byte size trailer). Defines: PAYLOAD and PM_PREFIX (file names),
 * INIT_SIZE, INITRD_ADDR_MAX. Linked with ld --oformat binary at address 0. */

#define SETUP_SECTS 3
#define PREF_ADDRESS 0x1000000

    .code16
    .section .text
    .globl _start
_start:
    /* The boot sector: a real BIOS would never run it (boot.rst: bzImages are not bootable
     * from a floppy any more); a loader reads only the header below. */
    cli
    hlt

    .org 0x1F1
    .byte SETUP_SECTS               /* setup_sects */
    .word 0                         /* root_flags */
    .long (pm_end - pm_start) / 16  /* syssize */
    .word 0                         /* ram_size */
    .word 0xFFFF                    /* vid_mode: normal */
    .word 0                         /* root_dev */
    .word 0xAA55                    /* boot_flag */
    .byte 0xEB, setup_code - 0x202  /* jump: past the header, whose end the displacement gives */
    .ascii "HdrS"                   /* header */
    .word 0x020F                    /* version 2.15 */
    .long 0                         /* realmode_swtch */
    .word 0                         /* start_sys_seg */
    .word 0                         /* kernel_version */
    .byte 0                         /* type_of_loader */
    .byte 0x01                      /* loadflags: LOADED_HIGH */
    .word 0                         /* setup_move_size */
    .long 0x100000                  /* code32_start */
    .long 0                         /* ramdisk_image */
    .long 0                         /* ramdisk_size */
    .long 0                         /* bootsect_kludge */
    .word 0                         /* heap_end_ptr */
    .byte 0                         /* ext_loader_ver */
    .byte 0                         /* ext_loader_type */
    .long 0                         /* cmd_line_ptr */
    .long INITRD_ADDR_MAX           /* initrd_addr_max */
    .long 0x200000                  /* kernel_alignment */
    .byte 1                         /* relocatable_kernel */
    .byte 21                        /* min_alignment */
    .word 0                         /* xloadflags */
    .long 2047                      /* cmdline_size */
    .long 0                         /* hardware_subarch */
    .quad 0                         /* hardware_subarch_data */
    .long payload_start - pm_start  /* payload_offset */
    .long payload_end - payload_start /* payload_length */
    .quad 0                         /* setup_data */
    .quad PREF_ADDRESS              /* pref_address */
    .long INIT_SIZE                 /* init_size */
    .long 0                         /* handover_offset */
    .long 0                         /* kernel_info_offset */
setup_code:
#ifdef REAL_MODE_SETUP
#include "setup16.S"
#else
    cli
    hlt
#endif

    .org (SETUP_SECTS + 1) * 512
pm_start:
    .incbin PM_PREFIX
payload_start:
    .incbin PAYLOAD
payload_end:
    .balign 16
pm_end:
