/*
 * loader.c - what execve does for an i386 ELF with ASLR off: the PT_LOAD
 * segments as private file mappings of the real file (paged in through the
 * library's file callbacks), the bss, the brk start, an interpreter
 * (PT_INTERP) where the program names one, and the initial stack (strings,
 * AT_RANDOM, auxv, envp, argv, argc) below 0xFFFFE000.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "runner.h"

/* load_elf_binary() maps an ET_DYN program that has an interpreter here
 * when randomization is off (ELF_ET_DYN_BASE of a compat task). */
#define ET_DYN_BASE 0x56555000u
/* setup_arg_pages(): the stack gets 128 KiB more than the argument pages. */
#define STACK_EXPAND (128u * 1024)
#define MAX_PHDRS 64

struct image {
    Elf32_Ehdr eh;
    Elf32_Phdr ph[MAX_PHDRS];
    uint32_t bias, phdr_addr, brk;
};

static int debug_fail(const char *path, const char *why, int err)
{
    if (K.debug)
        dprintf(K.logfd, "guestmm-run-i386: %s: %s\n", path, why);
    return err;
}

static int prot_of(uint32_t pf)
{
    return ((pf & PF_R) ? GMM_PROT_READ : 0) | ((pf & PF_W) ? GMM_PROT_WRITE : 0) |
           ((pf & PF_X) ? GMM_PROT_EXEC : 0);
}

static int read_headers(int fd, struct image *im)
{
    Elf32_Ehdr *eh = &im->eh;
    if (pread(fd, eh, sizeof(*eh), 0) != (ssize_t)sizeof(*eh) ||
        memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS32 ||
        eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_386 ||
        (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) ||
        eh->e_phentsize != sizeof(Elf32_Phdr) || eh->e_phnum == 0 || eh->e_phnum > MAX_PHDRS)
        return -ENOEXEC;
    size_t phsize = (size_t)eh->e_phnum * sizeof(Elf32_Phdr);
    if (pread(fd, im->ph, phsize, eh->e_phoff) != (ssize_t)phsize)
        return -EIO;
    return 0;
}

int elf_check(int fd)
{
    struct image im;
    return read_headers(fd, &im);
}

/* The lowest and highest page of the PT_LOAD segments. */
static void extent(const struct image *im, uint32_t *lo, uint32_t *hi)
{
    *lo = UINT32_MAX;
    *hi = 0;
    for (int i = 0; i < im->eh.e_phnum; i++) {
        const Elf32_Phdr *p = &im->ph[i];
        if (p->p_type != PT_LOAD)
            continue;
        uint32_t s = p->p_vaddr & ~(PAGE - 1), e = (p->p_vaddr + p->p_memsz + PAGE - 1) & ~(PAGE - 1);
        if (s < *lo)
            *lo = s;
        if (e > *hi)
            *hi = e;
    }
}

static int map_segments(struct thread *t, const char *path, int fd, struct image *im)
{
    uint32_t end = 0;
    const Elf32_Ehdr *eh = &im->eh;
    uint32_t bias = im->bias;
    im->phdr_addr = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf32_Phdr *ph = &im->ph[i];
        if (ph->p_type == PT_PHDR)
            im->phdr_addr = ph->p_vaddr + bias;
        if (ph->p_type != PT_LOAD)
            continue;
        if (ph->p_filesz > ph->p_memsz || (ph->p_vaddr - ph->p_offset) % PAGE)
            return debug_fail(path, "bad PT_LOAD", -ENOEXEC);
        uint32_t vaddr = ph->p_vaddr + bias;
        uint32_t off_in_page = vaddr % PAGE;
        uint32_t start = vaddr - off_in_page;
        if ((uint64_t)vaddr + ph->p_memsz > TASK_TOP)
            return debug_fail(path, "segment beyond the task", -ENOMEM);
        int prot = prot_of(ph->p_flags);
        if (!im->phdr_addr && ph->p_offset <= eh->e_phoff &&
            eh->e_phoff < ph->p_offset + ph->p_filesz)
            im->phdr_addr = vaddr + (eh->e_phoff - ph->p_offset);
        uint32_t file_end = vaddr + ph->p_filesz;
        if (ph->p_filesz) {
            int64_t m = mem_map(t, start, ph->p_filesz + off_in_page, prot,
                                GMM_MAP_PRIVATE | GMM_MAP_FIXED, fd, ph->p_offset - off_in_page);
            if (m != start)
                return debug_fail(path, "cannot map a segment", m < 0 ? (int)m : -ENOMEM);
            /* padzero(): the rest of the last file page is bss. */
            if (ph->p_memsz > ph->p_filesz && (prot & GMM_PROT_WRITE) && file_end % PAGE) {
                static const char zeros[PAGE];
                guest_write(t, file_end, zeros, PAGE - file_end % PAGE);
            }
        } else {
            file_end = start;
        }
        uint32_t bss = (file_end + PAGE - 1) & ~(PAGE - 1);
        uint32_t mem_end = (vaddr + ph->p_memsz + PAGE - 1) & ~(PAGE - 1);
        if (mem_end > bss) {
            int64_t m = mem_map(t, bss, mem_end - bss, prot,
                                GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS | GMM_MAP_FIXED, -1, 0);
            if (m != bss)
                return debug_fail(path, "cannot map the bss", m < 0 ? (int)m : -ENOMEM);
        }
        if (vaddr + ph->p_memsz > end)
            end = vaddr + ph->p_memsz;
    }
    im->brk = (end + PAGE - 1) & ~(PAGE - 1);
    return 0;
}

/* An ET_DYN image placed where mmap puts it (the interpreter): the whole
 * extent is reserved first, as load_elf_binary's total_mapping_size does. */
static int place_dyn(struct thread *t, struct image *im)
{
    uint32_t lo, hi;
    extent(im, &lo, &hi);
    if (lo >= hi)
        return -ENOEXEC;
    int64_t at = mem_map(t, 0, hi - lo, GMM_PROT_NONE, GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS, -1, 0);
    if (at < 0)
        return (int)at;
    im->bias = (uint32_t)at - lo;
    return 0;
}
/* The stack as create_elf_tables() lays it out. */
static int build_stack(struct thread *t, const char *execfn, char *const argv[], char *const envp[],
                       const uint32_t *aux, int naux, uint32_t *sp_out)
{
    int envc = 0, argc = 0;
    while (envp[envc])
        envc++;
    while (argv[argc])
        argc++;
    size_t strings = 4 + strlen(execfn) + 1;
    for (int i = 0; i < argc; i++)
        strings += strlen(argv[i]) + 1;
    for (int i = 0; i < envc; i++)
        strings += strlen(envp[i]) + 1;
    size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + (size_t)naux;
    size_t need = strings + 16 + 16 + 16 + words * 4;
    uint32_t size = STACK_EXPAND + (uint32_t)((need + PAGE - 1) & ~(size_t)(PAGE - 1));
    if (need > 32u * PAGE)
        return -E2BIG; /* checked by the caller before the point of no return */
    /* The grows-down [stack] region ending at the top of the task. */
    if (mem_setup_stack(t, size) != (int64_t)TASK_TOP)
        return debug_fail(execfn, "cannot map the stack", -ENOMEM);

    uint32_t p = TASK_TOP - 4; /* the end marker, 4 zero bytes */
    uint32_t zero = 0;
    guest_write(t, p, &zero, 4);
    size_t len = strlen(execfn) + 1;
    p -= (uint32_t)len;
    uint32_t u_execfn = p;
    guest_write(t, p, execfn, len);
    uint32_t *envv = calloc((size_t)envc + 1, 4), *argvv = calloc((size_t)argc + 1, 4);
    if (!envv || !argvv) {
        free(envv);
        free(argvv);
        return -ENOMEM;
    }
    for (int i = envc; i-- > 0;) {
        len = strlen(envp[i]) + 1;
        p -= (uint32_t)len;
        guest_write(t, p, envp[i], len);
        envv[i] = p;
    }
    for (int i = argc; i-- > 0;) {
        len = strlen(argv[i]) + 1;
        p -= (uint32_t)len;
        guest_write(t, p, argv[i], len);
        argvv[i] = p;
    }
    p &= ~15u;
    p -= 5;
    uint32_t u_platform = p;
    guest_write(t, p, "i686", 5);
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    p -= 16;
    uint32_t u_rand = p;
    guest_write(t, p, rnd, sizeof(rnd));

    uint32_t sp = (uint32_t)((p - words * 4) & ~15u);
    *sp_out = sp;
    uint32_t w = sp, v = (uint32_t)argc;
    guest_write(t, w, &v, 4), w += 4;
    for (int i = 0; i <= argc; i++)
        guest_write(t, w, &argvv[i], 4), w += 4;
    for (int i = 0; i <= envc; i++)
        guest_write(t, w, &envv[i], 4), w += 4;
    for (int i = 0; i < naux; i += 2) {
        uint32_t pair[2] = {aux[i], aux[i + 1]};
        if (pair[0] == AT_RANDOM)
            pair[1] = u_rand;
        else if (pair[0] == AT_PLATFORM)
            pair[1] = u_platform;
        else if (pair[0] == AT_EXECFN)
            pair[1] = u_execfn;
        guest_write(t, w, pair, 8), w += 8;
    }
    free(envv);
    free(argvv);
    return 0;
}

int load_elf(struct thread *t, int fd, const char *path, char *const argv[], char *const envp[])
{
    struct image im, in;
    int rc = read_headers(fd, &im);
    if (rc)
        return rc;
    char interp[4096];
    interp[0] = 0;
    for (int i = 0; i < im.eh.e_phnum; i++) {
        const Elf32_Phdr *p = &im.ph[i];
        if (p->p_type != PT_INTERP)
            continue;
        if (p->p_filesz < 2 || p->p_filesz > sizeof(interp) ||
            pread(fd, interp, p->p_filesz, p->p_offset) != (ssize_t)p->p_filesz ||
            interp[p->p_filesz - 1])
            return -ENOEXEC;
    }
    im.bias = im.eh.e_type == ET_DYN ? ET_DYN_BASE : 0;
    rc = map_segments(t, path, fd, &im);
    if (rc)
        return rc;
    mem_init_brk(t, im.brk);
    uint32_t entry = im.eh.e_entry + im.bias, base = 0;
    if (interp[0]) {
        int ifd = fs_open_exec(t, interp);
        if (ifd < 0)
            return debug_fail(interp, "cannot open the interpreter", ifd);
        rc = read_headers(ifd, &in);
        if (!rc && in.eh.e_type != ET_DYN)
            rc = -ELIBBAD;
        if (!rc)
            rc = place_dyn(t, &in);
        if (!rc)
            rc = map_segments(t, interp, ifd, &in);
        close(ifd);
        if (rc)
            return rc;
        base = in.bias;
        entry = in.eh.e_entry + in.bias;
    }
    uint32_t aux[] = {
        AT_HWCAP,  0, AT_PAGESZ, PAGE,      AT_CLKTCK, 100,
        AT_PHDR,   im.phdr_addr, AT_PHENT,  sizeof(Elf32_Phdr),
        AT_PHNUM,  im.eh.e_phnum, AT_BASE,  base,     AT_FLAGS,  0,
        AT_ENTRY,  im.eh.e_entry + im.bias, AT_UID,    (uint32_t)getuid(),
        AT_EUID,   (uint32_t)geteuid(),   AT_GID,    (uint32_t)getgid(),
        AT_EGID,   (uint32_t)getegid(),   AT_SECURE, 0,
        AT_RANDOM, 0,         AT_HWCAP2, 0,         AT_EXECFN, 0,
        AT_PLATFORM, 0,       AT_NULL,   0,
    };
    uint32_t sp;
    rc = build_stack(t, path, argv, envp, aux, (int)(sizeof(aux) / sizeof(aux[0])), &sp);
    if (rc)
        return rc;
    cpu_reset_for_exec(t, entry, sp);
    return 0;
}
