/*
 * runner.h - guestmm-run-i386: static i386 Linux programs under Unicorn 2
 * with every byte of guest memory owned by libguestmm.
 *
 * The pieces, one file each:
 *   main.c     the engine, the GDT, the run loop, the exit status
 *   mem.c      guest pages served to Unicorn from libguestmm translations
 *              (map on fault, bounded FIFO, invalidation, WRITE_PROT COW)
 *   loader.c   ELF segments as file mappings, brk, the initial stack
 *   syscall.c  int 0x80: memory syscalls forwarded to libguestmm, the rest
 *   signal.c   fault -> signal: i386 signal frames, sigreturn, exit status
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <unicorn/unicorn.h>

#include "guestmm.h"

#define PAGE 4096u
/* Linux's i386 compat task size; nothing of the guest lives above it. */
#define TASK_TOP 0xFFFFE000u
/* The runner's GDT, a "kernel" page above the task the guest cannot map. */
#define GDT_ADDR 0xFFFFF000u
/* uc_emu_start's until: above the task, never guest code. */
#define RUN_UNTIL 0xFFFFE800u

#define NSIG_G 64

struct guest_sigaction {
    uint32_t handler; /* 0 SIG_DFL, 1 SIG_IGN, else a guest address */
    uint32_t flags;
    uint32_t restorer;
    uint64_t mask;
};

struct pending_sig {
    int signo;     /* 0: none */
    int code;      /* si_code */
    uint32_t addr; /* si_addr for faults */
    bool fault;    /* synchronous (cannot be blocked or ignored) */
};

struct runner {
    uc_engine *uc;
    gmm_system *sys;
    gmm_space *space;

    /* mem.c: which guest pages Unicorn has, with the UC_PROT_* given. */
    uint8_t *mapped;   /* one byte per guest page: 0, or perms | MAPPED_BIT */
    uint32_t *fifo;    /* mapped page numbers, oldest first */
    unsigned nfifo, cap;
    uint64_t *gdt;     /* 512 descriptors, page-aligned host memory */
    uint64_t faults, evictions;

    /* signal.c */
    struct guest_sigaction act[NSIG_G + 1];
    uint64_t blocked;
    struct pending_sig pending;   /* a fault or a signal sent to itself */
    bool precise;                 /* EIP-exact memory faults (see mem.c) */
    bool want_precise;

    /* main.c */
    bool exited;
    int exit_status; /* valid when exited */
    bool is_child;   /* a forked host process running a guest child */
    bool debug;      /* GUESTMM_RUN_DEBUG: log unknown syscalls and faults */
    char *exe_path;  /* absolute path, /proc/self/exe */
};

/* mem.c */
int mem_init(struct runner *r, unsigned max_pages);
void mem_fini(struct runner *r);
bool mem_fault_in(struct runner *r, uint32_t addr, int access, void **host);
void mem_drop_all(struct runner *r);
void mem_code_written(struct runner *r, uint32_t addr, uint32_t len);
void mem_enable_precise(struct runner *r);
int mem_hooks(struct runner *r);
void host_fault(void *user, gmm_space *space, const gmm_fault *f);
void host_invalidate(void *user, gmm_space *space, gmm_addr start, uint64_t len);
int host_get_file(void *user, int fd, gmm_file *out);

/* loader.c: 0 and the entry state, or -1 after a message on stderr. */
int load_program(struct runner *r, const char *path, int argc, char **argv, char **envp,
                 uint32_t *entry, uint32_t *sp);

/* syscall.c */
void do_syscall(struct runner *r);
int guest_write(struct runner *r, uint32_t addr, const void *buf, size_t len);

/* signal.c */
void queue_signal(struct runner *r, int signo, int code, uint32_t addr, bool fault);
void deliver_pending(struct runner *r);
void sys_sigreturn(struct runner *r, bool rt);
_Noreturn void die_by_signal(struct runner *r, int signo);

/* main.c */
uint32_t reg_get(struct runner *r, int reg);
void reg_set(struct runner *r, int reg, uint32_t v);
void set_tls_entry(struct runner *r, unsigned entry, uint64_t desc);
_Noreturn void runner_exit(struct runner *r, int status);

#endif
