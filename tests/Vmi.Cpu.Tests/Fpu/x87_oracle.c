/*
 * The host's x87 as a test oracle for vmi's FPU (tests/Vmi.Cpu.Tests/Fpu).
 *
 * Reads fixed-size records from stdin and answers each with one record on stdout:
 *   in:  code[16] (one x87 instruction, its memory operand addressed through [rdx] / [edx]),
 *        code_length (u8), pad[3], eflags_in (u32: the arithmetic flags FCMOVcc reads),
 *        image[108] (an FRSTOR image, 32-bit protected-mode layout), memory[16]
 *   out: image[108] (FNSAVE after the instruction), memory[16], eflags_out (u32)
 * The instruction runs between FRSTOR and FNSAVE in an executable page; FNSAVE is a no-wait
 * instruction, so an unmasked exception the instruction raises is observed in the status word and
 * never delivered (FNSAVE re-initializes the FPU, so nothing is left pending either).
 * Built by the test with: gcc -O1 -mno-red-zone -o x87_oracle x87_oracle.c
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct input {
    uint8_t code[16];
    uint8_t code_length;
    uint8_t pad[3];
    uint32_t eflags;
    uint8_t image[108];
    uint8_t memory[16];
};

struct output {
    uint8_t image[108];
    uint8_t memory[16];
    uint32_t eflags;
};

_Static_assert(sizeof(struct input) == 148, "input record layout");
_Static_assert(sizeof(struct output) == 128, "output record layout");

/* rdi = FRSTOR image, rsi = FNSAVE image, rdx = memory operand, rcx = EFLAGS to load. */
static const uint8_t prologue[] = {
    0x51, 0x9D,       /* push rcx; popfq */
    0xDD, 0x27,       /* frstor [rdi] */
};
static const uint8_t epilogue[] = {
    0xDD, 0x36,       /* fnsave [rsi] */
    0x9C, 0x58,       /* pushfq; pop rax */
    0xC3,             /* ret */
};

typedef uint64_t (*stub_fn)(const void *in_image, void *out_image, void *memory, uint64_t eflags);

int main(void)
{
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    const size_t slot = sizeof prologue;
    memcpy(page, prologue, sizeof prologue);
    memset(page + slot, 0x90, 16);
    memcpy(page + slot + 16, epilogue, sizeof epilogue);
    stub_fn stub = (stub_fn)(void *)page;

    struct input in;
    struct output out;
    uint64_t host_flags;
    __asm__ volatile("pushfq; popq %0" : "=r"(host_flags));
    const uint64_t arithmetic = 0x8D5; /* OF SF ZF AF PF CF */
    while (fread(&in, sizeof in, 1, stdin) == 1) {
        if (in.code_length == 0 || in.code_length > 16)
            return 3;
        memset(page + slot, 0x90, 16);
        memcpy(page + slot, in.code, in.code_length);
        memcpy(out.memory, in.memory, sizeof out.memory);
        uint64_t flags = (host_flags & ~arithmetic) | (in.eflags & arithmetic);
        uint64_t result = stub(in.image, out.image, out.memory, flags);
        out.eflags = (uint32_t)(result & arithmetic);
        if (fwrite(&out, sizeof out, 1, stdout) != 1)
            return 4;
    }
    return fflush(stdout) == 0 ? 0 : 4;
}
