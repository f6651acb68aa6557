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

#define SYS_exit 1
#define SYS_fork 2
#define SYS_write 4
#define SYS_waitpid 7
#define SYS_getpid 20
#define SYS_sched_yield 158
#define ECHILD 10
#define EFAULT 14
#define EAGAIN 11
#define ENOSYS 38

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
    int exit_code;
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

int proc_run_init(uint32_t selection, uint32_t iters)
{
    struct proc *init = proc_alloc();
    init->directory = paging_new_address_space();
    load_user_image(init->directory);
    struct trap_frame frame;
    memset(&frame, 0, sizeof frame);
    frame.eax = selection;
    frame.edx = iters;
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
    int status = init->exit_code;
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
                    *(uint32_t *)status_ptr = ((uint32_t)p->exit_code & 0xFF) << 8; /* WEXITSTATUS */
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

static void sys_exit(int code)
{
    current->exit_code = code;
    current->state = ZOMBIE;
    for (int i = 0; i < NPROC; i++) {
        if (procs[i].parent == current)
            procs[i].parent = NULL; /* orphans are reaped by nobody; init never leaves any */
        if (&procs[i] == current->parent && procs[i].state == WAITING)
            procs[i].state = RUNNABLE;
    }
    reschedule(); /* never resumed */
}

void syscall_dispatch(struct trap_frame *frame)
{
    switch (frame->eax) {
    case SYS_exit:
        sys_exit((int)frame->ebx);
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
