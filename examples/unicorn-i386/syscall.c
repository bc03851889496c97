/*
 * syscall.c - the i386 system call table: int 0x80 with the number in EAX,
 * the arguments in EBX, ECX, EDX, ESI, EDI, EBP and the result (or -errno)
 * back in EAX.  Each file gives its calls as a list (runner.h); the table
 * is built from them once.  A call no list has returns -ENOSYS, named once
 * on the log under GUESTMM_RUN_DEBUG.
 *
 * A call runs with klock held.  One that blocks and is interrupted by a
 * signal returns -ERESTARTSYS; cpu_run's signal delivery then restarts it
 * or turns it into -EINTR (signal.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <unicorn/x86.h>

#include "kernel.h"

#define NSYSCALLS 460

static const struct syscall_def *table[NSYSCALLS];
static bool reported[NSYSCALLS];

int syscall_init(void)
{
    const struct syscall_def *lists[] = {mem_syscalls,   proc_syscalls, signal_syscalls,
                                         files_syscalls, fs_syscalls,   misc_syscalls};
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        for (const struct syscall_def *d = lists[l]; d->fn; d++) {
            if (d->nr >= NSYSCALLS)
                return -1;
            if (table[d->nr]) {
                /* Two files claim a call: the first list wins. */
                if (K.debug)
                    dprintf(K.logfd, "guestmm-run-i386: syscall %u (%s) defined twice\n", d->nr,
                            d->name);
                continue;
            }
            table[d->nr] = d;
        }
    }
    return 0;
}

void do_syscall(struct thread *t)
{
    static const int args[6] = {UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX,
                                UC_X86_REG_ESI, UC_X86_REG_EDI, UC_X86_REG_EBP};
    uint32_t nr = reg_get(t, UC_X86_REG_EAX);
    uint32_t a[6];
    for (int i = 0; i < 6; i++)
        a[i] = reg_get(t, args[i]);
    pthread_mutex_lock(&klock);
    t->syscall_nr = nr;
    t->in_syscall = true;
    const struct syscall_def *d = nr < NSYSCALLS ? table[nr] : NULL;
    int64_t ret;
    if (d) {
        ret = d->fn(t, a);
    } else {
        ret = -ENOSYS;
        if (K.debug && (nr >= NSYSCALLS || !reported[nr])) {
            if (nr < NSYSCALLS)
                reported[nr] = true;
            dprintf(K.logfd, "guestmm-run-i386: [%d] unknown syscall %u (asm/unistd_32.h)\n",
                    t->tid, nr);
        }
    }
    if (K.trace)
        dprintf(K.logfd, "guestmm-run-i386: [%d] %s(%#x, %#x, %#x, %#x) = %lld\n", t->tid,
                d ? d->name : "?", a[0], a[1], a[2], a[3], (long long)ret);
    /* t->uc is the new engine after execve (whose EAX is then 0). */
    reg_set(t, UC_X86_REG_EAX, (uint32_t)ret);
    pthread_mutex_unlock(&klock);
}
