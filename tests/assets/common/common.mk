# The part of the build every test kernel shares, included by each kernel's Makefile after it sets
# O and CFLAGS: the common sources (UART, multiboot entry) and the linker script in ../common
# relative to the kernel's directory, and the guest kernel's freestanding library (printf, libc,
# 64-bit division) from guest/lib. Their objects go to $(O)/common/, so each kernel compiles them
# with its own CFLAGS into its own output directory, and they are rebuilt when a source or header
# changes.

COMMON := ../common
GUEST_LIB := ../../../guest/lib
COMMON_C_SOURCES := uart.c
LIB_C_SOURCES := printf.c libc.c div64.c arguments.c
COMMON_ASM_SOURCES := multiboot.S
COMMON_HEADERS := $(wildcard $(COMMON)/include/*.h) $(wildcard $(GUEST_LIB)/include/*.h)
COMMON_OBJECTS := $(addprefix $(O)/common/,$(COMMON_ASM_SOURCES:.S=.o) $(COMMON_C_SOURCES:.c=.o) $(LIB_C_SOURCES:.c=.o))
COMMON_MAKEFILES := Makefile $(COMMON)/common.mk
LINKER_SCRIPT := $(COMMON)/linker.ld

CFLAGS += -I$(COMMON)/include -I$(GUEST_LIB)/include

$(O)/common/%.o: $(COMMON)/%.c $(COMMON_HEADERS) $(COMMON_MAKEFILES) | $(O)/common
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/common/%.o: $(GUEST_LIB)/%.c $(COMMON_HEADERS) $(COMMON_MAKEFILES) | $(O)/common
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/common/%.o: $(COMMON)/%.S $(COMMON_MAKEFILES) | $(O)/common
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/common:
	mkdir -p $@
