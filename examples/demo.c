/*
 * demo.c - the first program an emulator author reads: create a system and
 * a guest address space, map memory as the guest's mmap would, write and
 * read it, protect it, take a fault, and print /proc/self/maps.
 */
#include <guestmm.h>

#include <stdio.h>
#include <string.h>

/* The library calls this when a CPU access (gmm_translate) faults: an
 * emulator would deliver the signal to the guest here. */
static void on_fault(void *user, gmm_space *space, const gmm_fault *f)
{
    (void)user, (void)space;
    printf("guest fault: %s at 0x%llx (si_code %d)\n",
           f->signo == GMM_SIGSEGV ? "SIGSEGV" : "SIGBUS", (unsigned long long)f->addr, f->code);
}

int main(void)
{
    printf("libguestmm %s\n", gmm_version());

    /* One system per emulator; its host callbacks reach the emulator. */
    gmm_host host = {.fault = on_fault};
    gmm_system *sys = gmm_system_create(&host);
    /* One space per guest process: here an i386 guest. */
    gmm_space *space = gmm_space_create(sys, GMM_ABI_I386);
    if (!sys || !space)
        return 1;

    /* After loading the ELF, the loader sets the break. */
    gmm_space_init_brk(space, 0x0804c000);

    /* The guest calls mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0):
     * forward the arguments as they are; the result is what Linux returns. */
    int64_t addr = gmm_sys_mmap(space, 0, 8192, GMM_PROT_READ | GMM_PROT_WRITE,
                                GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS, -1, 0);
    printf("mmap -> 0x%llx\n", (unsigned long long)addr);

    /* The guest's heap grows with brk. */
    int64_t brk = gmm_sys_brk(space, 0x0804c000 + 10000);
    printf("brk -> 0x%llx\n", (unsigned long long)brk);

    /* Syscall emulation copies to and from guest memory with user-copy
     * semantics (-GMM_EFAULT on a bad address). */
    const char msg[] = "hello from the guest";
    gmm_write(space, (gmm_addr)addr, msg, sizeof(msg));

    /* The CPU path asks for a host pointer: a software TLB makes repeated
     * translations of a page a compare and an add. */
    char *p = gmm_translate(space, (gmm_addr)addr, GMM_ACCESS_READ);
    printf("guest reads: %s\n", p);

    /* mprotect makes the second page read-only: a store there faults with
     * SIGSEGV/SEGV_ACCERR, delivered through host.fault. */
    gmm_sys_mprotect(space, (gmm_addr)addr + 4096, 4096, GMM_PROT_READ);
    if (!gmm_translate(space, (gmm_addr)addr + 4096, GMM_ACCESS_WRITE))
        printf("store to the read-only page refused\n");
    /* An unmapped address faults with SEGV_MAPERR. */
    gmm_translate(space, 0x1000, GMM_ACCESS_READ);

    /* What the guest would read from /proc/self/maps. */
    char maps[4096];
    gmm_space_maps(space, maps, sizeof(maps));
    printf("/proc/self/maps:\n%s", maps);

    gmm_space_destroy(space);
    gmm_system_destroy(sys);
    return 0;
}
