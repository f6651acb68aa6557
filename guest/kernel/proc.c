/* Processes and the scheduler: each process has an address space (the kernel's upper part
 * shared, a private user part), a kernel stack and a saved kernel context. kmain runs the
 * scheduler loop: it picks runnable processes round-robin and switches to them; a process comes
 * back to it when it yields, is preempted by the timer (only while in user mode), waits or exits.
 * System calls arrive through int 0x80 (Linux i386 numbers: EAX, then EBX, ECX, EDX). */
#include "kernel/kernel.h"

#include "arch/cpu.h"
#include "arch/descriptors.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "mm/mm.h"

#include "kernel/uapi.h"

#define ECHILD 10
#define EFAULT 14
#define EAGAIN 11
#define ENOSYS 38
#define EINVAL 22

#define USER_STACK_TOP KERNEL_VMA
#define USER_STACK_PAGES 4
#define NPROC 16

enum proc_state { UNUSED, RUNNABLE, WAITING, ZOMBIE };

struct proc {
    enum proc_state state;
    uint32_t pid;
    struct proc *parent;
    uint32_t directory;
    uint32_t kernel_stack;     /* the page's physical address */
    uint32_t kernel_stack_top; /* its top in the direct map */
    uint32_t context;          /* saved kernel ESP (switch_context) */
    int exit_code;             /* a wait status: exit code << 8, or the signal that killed it */
    uint32_t heap_base, brk;   /* [heap_base, brk) is mapped on demand, zero-filled */
};

extern uint8_t __user_load[], __user_start[], __user_end[];
extern void user_start(void);
extern void trap_return(void);
void switch_context(uint32_t *save, uint32_t next);

static struct proc procs[NPROC];
static struct proc *current;
static uint32_t scheduler_context;
static uint32_t next_pid = 1;

static struct proc *proc_alloc(void)
{
    for (int i = 0; i < NPROC; i++) {
        if (procs[i].state == UNUSED) {
            struct proc *p = &procs[i];
            memset(p, 0, sizeof *p);
            p->pid = next_pid++;
            p->kernel_stack = phys_alloc();
            p->kernel_stack_top = (uint32_t)PHYS_TO_VIRT(p->kernel_stack) + PAGE_SIZE;
            return p;
        }
    }
    return NULL;
}

/* A first return to user mode from `frame` (copied to the top of p's kernel stack), under a
 * switch_context frame that "returns" into trap_return. */
static void prepare_return(struct proc *p, const struct trap_frame *frame)
{
    struct trap_frame *f = (struct trap_frame *)(p->kernel_stack_top - sizeof *f);
    *f = *frame;
    uint32_t *ctx = (uint32_t *)f - 5;
    ctx[0] = ctx[1] = ctx[2] = ctx[3] = 0; /* edi, esi, ebx, ebp */
    ctx[4] = (uint32_t)trap_return;
    p->context = (uint32_t)ctx;
}

static uint32_t heap_base(void) { return ((uint32_t)__user_end + PAGE_SIZE - 1) & ~(uint32_t)(PAGE_SIZE - 1); }

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

/* Gives the CPU back to the scheduler loop; returns when this process is picked again. */
static void reschedule(void)
{
    switch_context(&current->context, scheduler_context);
}

static void run(struct proc *p)
{
    current = p;
    set_kernel_stack(p->kernel_stack_top);
    write_cr3(p->directory);
    switch_context(&scheduler_context, p->context);
    current = NULL;
    write_cr3(paging_kernel_directory());
}

static void reap(struct proc *p)
{
    paging_free_address_space(p->directory);
    phys_free(p->kernel_stack);
    p->state = UNUSED;
}

int proc_run_init(uint32_t selection, uint32_t iters, int fast_syscalls)
{
    struct proc *init = proc_alloc();
    init->directory = paging_new_address_space();
    load_user_image(init->directory);
    init->heap_base = init->brk = heap_base();
    struct trap_frame frame;
    memset(&frame, 0, sizeof frame);
    frame.eax = selection;
    frame.edx = iters;
    frame.ecx = (uint32_t)fast_syscalls; /* init's user code then enters with SYSENTER */
    frame.eip = (uint32_t)user_start;
    frame.cs = GDT_USER_CODE | 3;
    frame.eflags = 0x202; /* IF */
    frame.user_esp = USER_STACK_TOP;
    frame.user_ss = GDT_USER_DATA | 3;
    prepare_return(init, &frame);
    init->state = RUNNABLE;

    /* The scheduler loop: round-robin over runnable processes until init is gone. */
    uint32_t last = 0;
    while (init->state != ZOMBIE) {
        struct proc *next = NULL;
        for (int k = 1; k <= NPROC && !next; k++) {
            struct proc *p = &procs[(last + (uint32_t)k) % NPROC];
            if (p->state == RUNNABLE)
                next = p;
        }
        if (!next) {
            kprintf("PANIC: no runnable process\n");
            kernel_exit(3);
        }
        last = (uint32_t)(next - procs);
        run(next);
    }
    int status = init->exit_code >> 8;
    reap(init);
    return status;
}

/* The user is in user mode and the timer ticked: let the others run (round-robin preemption). */
void proc_preempt(struct trap_frame *frame)
{
    if (current && (frame->cs & 3) == 3)
        reschedule();
}

static int user_range_ok(uint32_t start, uint32_t length)
{
    return start < USER_STACK_TOP && length <= USER_STACK_TOP - start;
}

static uint32_t sys_fork(const struct trap_frame *frame)
{
    struct proc *child = proc_alloc();
    if (!child)
        return (uint32_t)-EAGAIN;
    child->parent = current;
    child->directory = paging_copy_address_space(current->directory);
    child->heap_base = current->heap_base;
    child->brk = current->brk;
    struct trap_frame f = *frame;
    f.eax = 0; /* fork returns 0 in the child */
    prepare_return(child, &f);
    child->state = RUNNABLE;
    return child->pid;
}

static uint32_t sys_waitpid(uint32_t status_ptr)
{
    if (status_ptr && !user_range_ok(status_ptr, 4))
        return (uint32_t)-EFAULT;
    for (;;) {
        int children = 0;
        for (int i = 0; i < NPROC; i++) {
            struct proc *p = &procs[i];
            if (p->state == UNUSED || p->parent != current)
                continue;
            children++;
            if (p->state == ZOMBIE) {
                uint32_t pid = p->pid;
                if (status_ptr)
                    *(uint32_t *)status_ptr = (uint32_t)p->exit_code;
                reap(p);
                return pid;
            }
        }
        if (!children)
            return (uint32_t)-ECHILD;
        current->state = WAITING;
        reschedule();
    }
}

/* Ends the current process with a wait status (Linux's encoding: code << 8, or a signal number). */
static void sys_exit(int status)
{
    current->exit_code = status;
    current->state = ZOMBIE;
    for (int i = 0; i < NPROC; i++) {
        if (procs[i].parent == current)
            procs[i].parent = NULL; /* orphans are reaped by nobody; init never leaves any */
        if (&procs[i] == current->parent && procs[i].state == WAITING)
            procs[i].state = RUNNABLE;
    }
    reschedule(); /* never resumed */
}

/* mprotect(addr, len, prot): PROT_WRITE on or off for mapped heap pages, each entry rewritten
 * through SetPxE for the running address space and its TLB entry invalidated. */
static uint32_t sys_mprotect(uint32_t addr, uint32_t length, uint32_t prot)
{
    if ((addr & (PAGE_SIZE - 1)) || addr < current->heap_base || !user_range_ok(addr, length) || addr + length > current->brk)
        return (uint32_t)-EINVAL;
    for (uint32_t a = addr; a < addr + length; a += PAGE_SIZE)
        paging_protect_user(current->directory, a, (prot & PROT_WRITE) != 0);
    return 0;
}

/* The interrupt-flag operations as a spinlock does them, `n` times; the check counts the times
 * interrupts were off inside. */
static uint32_t bench_irqflags(uint32_t n)
{
    uint32_t off_inside = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t flags = irq_save_mask();
        irq_disable();
        off_inside += irq_save_mask() == 0;
        irq_restore_mask(flags);
    }
    return off_inside;
}

/* `n` reads of an emulated device's register (the master PIC's mask, 0xFE while only IRQ0 runs). */
static uint32_t bench_io(uint32_t n)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += inb(0x21);
    return sum;
}

/* `n` CPUIDs by the kernel's own patch site (leaf 0, as a kernel probing features); the check
 * counts the answers that report at least leaf 1, which every x86 does. */
static uint32_t bench_kcpuid(uint32_t n)
{
    uint32_t ok = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a, b, c, d;
        cpuid(0, 0, &a, &b, &c, &d);
        ok += a >= 1;
    }
    return ok;
}

/* A fault in user mode: a page of the heap not touched yet is mapped (demand-zero); anything else
 * ends the process as the signal would (SIGFPE for a divide error, SIGSEGV otherwise), reported in
 * its wait status. */
int proc_user_fault(struct trap_frame *frame)
{
    if (!current || (frame->cs & 3) != 3)
        return 0;
    if (frame->vector == 14) {
        uint32_t addr = read_cr2();
        if (!(frame->error_code & 1) && addr >= current->heap_base && addr < current->brk) {
            paging_map_user(current->directory, addr & ~(uint32_t)(PAGE_SIZE - 1), phys_alloc(), PTE_PRESENT | PTE_WRITABLE | PTE_USER);
            return 1;
        }
    }
    sys_exit(frame->vector == 0 ? SIGFPE : SIGSEGV);
    return 1;
}

void syscall_dispatch(struct trap_frame *frame)
{
    switch (frame->eax) {
    case SYS_exit:
        sys_exit((int)((frame->ebx & 0xFF) << 8));
        break;
    case SYS_brk:
        /* brk(0) tells the current break; a larger one is granted (pages come on first touch); a
         * smaller one gives back the pages above it. */
        if (frame->ebx >= current->heap_base && frame->ebx < USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE - PAGE_SIZE) {
            uint32_t keep = (frame->ebx + PAGE_SIZE - 1) & ~(uint32_t)(PAGE_SIZE - 1);
            if (keep < current->brk)
                paging_unmap_user_range(current->directory, keep, current->brk);
            current->brk = frame->ebx;
        }
        frame->eax = current->brk;
        break;
    case SYS_mprotect:
        frame->eax = sys_mprotect(frame->ebx, frame->ecx, frame->edx);
        break;
    case SYS_bench_irqflags:
        frame->eax = bench_irqflags(frame->ebx);
        break;
    case SYS_bench_io:
        frame->eax = bench_io(frame->ebx);
        break;
    case SYS_bench_kcpuid:
        frame->eax = bench_kcpuid(frame->ebx);
        break;
    case SYS_fork:
        frame->eax = sys_fork(frame);
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
    case SYS_waitpid:
        frame->eax = sys_waitpid(frame->ecx);
        break;
    case SYS_getpid:
        frame->eax = current->pid;
        break;
    case SYS_sched_yield:
        current->state = RUNNABLE;
        reschedule();
        frame->eax = 0;
        break;
    default:
        frame->eax = (uint32_t)-ENOSYS;
        break;
    }
}
