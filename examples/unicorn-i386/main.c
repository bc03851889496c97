/*
 * main.c - guestmm-run-i386 PROGRAM [ARGS...]: runs a static i386 Linux
 * program under Unicorn 2 with its memory owned by libguestmm.  The guest's
 * stdin, stdout and stderr are the runner's; the exit status is the
 * guest's, 128 + signal when a signal ends it.
 *
 * Environment:
 *   GUESTMM_RUN_PAGES=N  pages Unicorn may hold at once (default 32)
 *   GUESTMM_RUN_DEBUG=1  log unknown syscalls, faults and page statistics
 *   GUESTMM_RUN_TRACE=1  with DEBUG, log every syscall
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <unicorn/x86.h>

#include "runner.h"

extern char **environ;

/* GDT: flat ring-0 code and data (Unicorn runs the guest at CPL 0), TLS in
 * 6..8 as on Linux.  Accessed bits preset: the CPU never writes the page. */
#define GDT_CODE 4
#define GDT_DATA 5

uint32_t reg_get(struct runner *r, int reg)
{
    uint32_t v = 0;
    uc_reg_read(r->uc, reg, &v);
    return v;
}

void reg_set(struct runner *r, int reg, uint32_t v)
{
    uc_reg_write(r->uc, reg, &v);
}

void set_tls_entry(struct runner *r, unsigned entry, uint64_t desc)
{
    r->gdt[entry] = desc;
}

static uint64_t flat_desc(unsigned type)
{
    /* base 0, limit 0xfffff pages, S=1, DPL 0, present, 32-bit, 4 KiB granularity */
    return 0xffffull | ((uint64_t)type << 40) | (1ull << 44) | (1ull << 47) | (0xfull << 48) |
           (1ull << 54) | (1ull << 55);
}

static int setup_cpu(struct runner *r, uint32_t entry, uint32_t sp)
{
    r->gdt[GDT_CODE] = flat_desc(0xb); /* code, readable, accessed */
    r->gdt[GDT_DATA] = flat_desc(0x3); /* data, writable, accessed */
    /* The CPU reads descriptors through Unicorn's memory: the GDT page
     * comes in through the fault path like any other page. */
    if (!mem_fault_in(r, GDT_ADDR, GMM_ACCESS_READ, NULL))
        return -1;
    uc_x86_mmr gdtr = {0, GDT_ADDR, 9 * 8 - 1, 0};
    if (uc_reg_write(r->uc, UC_X86_REG_GDTR, &gdtr) != UC_ERR_OK)
        return -1;
    /* SS first: without a 32-bit SS descriptor, the guest's first segment
     * load would turn the stack 16-bit (UNICORN-NOTES). */
    static const int data_regs[] = {UC_X86_REG_SS, UC_X86_REG_DS, UC_X86_REG_ES};
    for (int i = 0; i < 3; i++)
        reg_set(r, data_regs[i], GDT_DATA << 3);
    reg_set(r, UC_X86_REG_CS, GDT_CODE << 3);
    reg_set(r, UC_X86_REG_FS, 0);
    reg_set(r, UC_X86_REG_GS, 0);
    static const int gprs[] = {UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX,
                               UC_X86_REG_ESI, UC_X86_REG_EDI, UC_X86_REG_EBP};
    for (int i = 0; i < 7; i++)
        reg_set(r, gprs[i], 0);
    reg_set(r, UC_X86_REG_ESP, sp);
    reg_set(r, UC_X86_REG_EFLAGS, 0x202);
    reg_set(r, UC_X86_REG_EIP, entry);
    return 0;
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *user)
{
    struct runner *r = user;
    if (intno == 0x80) {
        do_syscall(r);
        if (r->pending.signo || r->want_precise)
            uc_emu_stop(uc);
        return;
    }
    /* CPU exceptions: EIP is at the faulting instruction. */
    switch (intno) {
    case 0: queue_signal(r, 8 /* SIGFPE */, 1 /* FPE_INTDIV */, reg_get(r, UC_X86_REG_EIP), true); break;
    case 3: queue_signal(r, 5 /* SIGTRAP */, 0x80, 0, true); break;
    case 6: queue_signal(r, 4 /* SIGILL */, 2 /* ILL_ILLOPN */, reg_get(r, UC_X86_REG_EIP), true); break;
    default: queue_signal(r, GMM_SIGSEGV, 0x80 /* SI_KERNEL */, 0, true); break;
    }
    uc_emu_stop(uc);
}

static struct runner *the_runner;

_Noreturn void runner_exit(struct runner *r, int status)
{
    if (r->debug)
        fprintf(stderr, "guestmm-run-i386: exit %d: %llu page faults, %llu evictions%s\n", status,
                (unsigned long long)r->faults, (unsigned long long)r->evictions,
                r->precise ? ", precise mode" : "");
    uc_close(r->uc);
    gmm_space_destroy(r->space);
    gmm_system_destroy(r->sys);
    mem_fini(r);
    free(r->exe_path);
    exit(status);
}

static void run(struct runner *r)
{
    for (;;) {
        uint32_t eip = reg_get(r, UC_X86_REG_EIP);
        uc_err e = uc_emu_start(r->uc, eip, RUN_UNTIL, 0, 0);
        if (r->exited)
            runner_exit(r, r->exit_status);
        eip = reg_get(r, UC_X86_REG_EIP);
        if (!r->pending.signo) {
            if (e == UC_ERR_INSN_INVALID)
                queue_signal(r, 4 /* SIGILL */, 2, eip, true);
            else if (e != UC_ERR_OK || eip == RUN_UNTIL) {
                if (r->debug)
                    fprintf(stderr, "guestmm-run-i386: stopped at %#x: %s\n", eip, uc_strerror(e));
                queue_signal(r, GMM_SIGSEGV, GMM_SEGV_MAPERR, eip, true);
            }
        }
        if (r->want_precise) {
            r->want_precise = false;
            mem_enable_precise(r);
        }
        deliver_pending(r);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(stderr, "usage: guestmm-run-i386 PROGRAM [ARGS...]\n"
                        "Runs a static i386 Linux program under Unicorn with libguestmm memory.\n");
        return argc < 2 ? 2 : 0;
    }
    static struct runner runner;
    struct runner *r = &runner;
    the_runner = r;
    r->debug = getenv("GUESTMM_RUN_DEBUG") && *getenv("GUESTMM_RUN_DEBUG") != '0';
    const char *pages = getenv("GUESTMM_RUN_PAGES");
    long cap = pages ? strtol(pages, NULL, 10) : 32;
    if (cap < 8 || cap > 3000)
        cap = 32;
    r->exe_path = realpath(argv[1], NULL);
    if (!r->exe_path) {
        fprintf(stderr, "guestmm-run-i386: %s: no such file\n", argv[1]);
        return 127;
    }
    if (mem_init(r, (unsigned)cap))
        return 127;

    gmm_host host = {0};
    host.user = r;
    host.get_file = host_get_file;
    host.fault = host_fault;
    host.invalidate = host_invalidate;
    r->sys = gmm_system_create(&host);
    r->space = r->sys ? gmm_space_create(r->sys, GMM_ABI_I386) : NULL;
    uc_err e = uc_open(UC_ARCH_X86, UC_MODE_32, &r->uc);
    if (!r->space || e != UC_ERR_OK) {
        fprintf(stderr, "guestmm-run-i386: cannot start: %s\n", uc_strerror(e));
        return 127;
    }
    uc_hook h;
    if (mem_hooks(r) ||
        uc_hook_add(r->uc, &h, UC_HOOK_INTR, (void *)hook_intr, r, 1, 0) != UC_ERR_OK) {
        fprintf(stderr, "guestmm-run-i386: cannot add Unicorn hooks\n");
        return 127;
    }
    uint32_t entry, sp;
    if (load_program(r, argv[1], argc - 1, argv + 1, environ, &entry, &sp))
        runner_exit(r, 127);
    if (setup_cpu(r, entry, sp)) {
        fprintf(stderr, "guestmm-run-i386: cannot set up the CPU\n");
        runner_exit(r, 127);
    }
    run(r);
}
