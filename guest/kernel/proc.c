/* Processes: an address space (the kernel's upper part shared, a private user part holding a copy
 * of the user programs and a stack), a kernel stack, and a saved kernel context. For now the kernel
 * runs one process at a time, init, and returns to kmain when it exits. System calls arrive
 * through int 0x80 (Linux i386 numbers: EAX, then EBX, ECX, EDX). */
#include "kernel/kernel.h"

#include "arch/cpu.h"
#include "arch/descriptors.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "mm/mm.h"

#define SYS_exit 1
#define SYS_write 4
#define SYS_getpid 20
#define ENOSYS 38
#define EFAULT 14

#define USER_STACK_TOP KERNEL_VMA
#define USER_STACK_PAGES 4

struct proc {
    uint32_t pid;
    uint32_t directory;
    uint32_t kernel_stack_top;
    uint32_t context; /* saved kernel ESP (switch_context) */
    int exit_code;
};

extern uint8_t __user_load[], __user_start[], __user_end[];
extern void user_start(void);
extern void trap_return(void);
void switch_context(uint32_t *save, uint32_t next);

static struct proc init_proc;
static struct proc *current;
static uint32_t kmain_context;

static void load_user_image(uint32_t directory)
{
    uint32_t size = (uint32_t)(__user_end - __user_start);
    for (uint32_t off = 0; off < size; off += PAGE_SIZE) {
        uint32_t frame = phys_alloc();
        uint32_t n = size - off < PAGE_SIZE ? size - off : PAGE_SIZE;
        memcpy(PHYS_TO_VIRT(frame), __user_load + off, n);
        paging_map_user(directory, (uint32_t)__user_start + off, frame, PTE_PRESENT | PTE_WRITABLE | PTE_USER);
    }
    for (uint32_t i = 1; i <= USER_STACK_PAGES; i++)
        paging_map_user(directory, USER_STACK_TOP - i * PAGE_SIZE, phys_alloc(), PTE_PRESENT | PTE_WRITABLE | PTE_USER);
}

int proc_run_init(uint32_t selection, uint32_t iters)
{
    struct proc *p = &init_proc;
    p->pid = 1;
    p->directory = paging_new_address_space();
    load_user_image(p->directory);
    p->kernel_stack_top = (uint32_t)PHYS_TO_VIRT(phys_alloc()) + PAGE_SIZE;

    /* The first return to user mode: a trap frame as if the process had trapped at user_start,
     * under a switch_context frame that "returns" into trap_return. */
    struct trap_frame *frame = (struct trap_frame *)(p->kernel_stack_top - sizeof *frame);
    memset(frame, 0, sizeof *frame);
    frame->eax = selection;
    frame->edx = iters;
    frame->eip = (uint32_t)user_start;
    frame->cs = GDT_USER_CODE | 3;
    frame->eflags = 0x202; /* IF */
    frame->user_esp = USER_STACK_TOP;
    frame->user_ss = GDT_USER_DATA | 3;
    uint32_t *ctx = (uint32_t *)frame - 5;
    ctx[0] = ctx[1] = ctx[2] = ctx[3] = 0; /* edi, esi, ebx, ebp */
    ctx[4] = (uint32_t)trap_return;
    p->context = (uint32_t)ctx;

    current = p;
    set_kernel_stack(p->kernel_stack_top);
    write_cr3(p->directory);
    switch_context(&kmain_context, p->context);
    /* Back here when the process exited. */
    write_cr3(paging_kernel_directory());
    current = NULL;
    return p->exit_code;
}

static int user_range_ok(uint32_t start, uint32_t length)
{
    return start < USER_STACK_TOP && length <= USER_STACK_TOP - start;
}

void syscall_dispatch(struct trap_frame *frame)
{
    switch (frame->eax) {
    case SYS_exit:
        current->exit_code = (int)frame->ebx;
        switch_context(&current->context, kmain_context); /* never resumed */
        break;
    case SYS_write:
        if (!user_range_ok(frame->ecx, frame->edx)) {
            frame->eax = (uint32_t)-EFAULT;
            break;
        }
        for (uint32_t i = 0; i < frame->edx; i++)
            uart_putc(((const char *)frame->ecx)[i]);
        frame->eax = frame->edx;
        break;
    case SYS_getpid:
        frame->eax = current->pid;
        break;
    default:
        frame->eax = (uint32_t)-ENOSYS;
        break;
    }
}
