/*
 * loader.c - what execve does for a static i386 ELF, with ASLR off: the
 * PT_LOAD segments as private file mappings of the real file (paged in
 * through the host callbacks), the bss, the brk start, and the initial
 * stack (strings, AT_RANDOM, auxv, envp, argv, argc) below 0xFFFFE000.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "runner.h"

/* load_elf_binary() maps ET_DYN programs without an interpreter here when
 * randomization is off (ELF_ET_DYN_BASE of a compat task). */
#define ET_DYN_BASE 0x56555000u
/* setup_arg_pages(): the stack gets 128 KiB more than the argument pages. */
#define STACK_EXPAND (128u * 1024)

static int fail(const char *path, const char *why)
{
    fprintf(stderr, "guestmm-run-i386: %s: %s\n", path, why);
    return -1;
}

static int prot_of(uint32_t pf)
{
    return ((pf & PF_R) ? GMM_PROT_READ : 0) | ((pf & PF_W) ? GMM_PROT_WRITE : 0) |
           ((pf & PF_X) ? GMM_PROT_EXEC : 0);
}

static int map_segments(struct runner *r, const char *path, int fd, const Elf32_Ehdr *eh,
                        const Elf32_Phdr *ph, uint32_t bias, uint32_t *phdr_addr, uint32_t *brk)
{
    uint32_t end = 0;
    *phdr_addr = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_PHDR)
            *phdr_addr = ph[i].p_vaddr + bias;
        if (ph[i].p_type != PT_LOAD)
            continue;
        uint32_t vaddr = ph[i].p_vaddr + bias;
        uint32_t off_in_page = vaddr % PAGE;
        uint32_t start = vaddr - off_in_page;
        int prot = prot_of(ph[i].p_flags);
        if (!*phdr_addr && ph[i].p_offset <= eh->e_phoff &&
            eh->e_phoff < ph[i].p_offset + ph[i].p_filesz)
            *phdr_addr = vaddr + (eh->e_phoff - ph[i].p_offset);
        uint32_t file_end = vaddr + ph[i].p_filesz;
        if (ph[i].p_filesz) {
            int64_t m = gmm_sys_mmap(r->space, start, ph[i].p_filesz + off_in_page, prot,
                                     GMM_MAP_PRIVATE | GMM_MAP_FIXED, fd,
                                     ph[i].p_offset - off_in_page);
            if (m != start)
                return fail(path, gmm_strerror((int)m));
            /* padzero(): the rest of the last file page is bss. */
            if (ph[i].p_memsz > ph[i].p_filesz && (prot & GMM_PROT_WRITE) && file_end % PAGE) {
                static const char zeros[PAGE];
                gmm_write(r->space, file_end, zeros, PAGE - file_end % PAGE);
            }
        } else {
            file_end = start;
        }
        uint32_t bss = (file_end + PAGE - 1) & ~(PAGE - 1);
        uint32_t mem_end = (vaddr + ph[i].p_memsz + PAGE - 1) & ~(PAGE - 1);
        if (mem_end > bss) {
            int64_t m = gmm_sys_mmap(r->space, bss, mem_end - bss, prot,
                                     GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS | GMM_MAP_FIXED, -1, 0);
            if (m != bss)
                return fail(path, gmm_strerror((int)m));
        }
        if (vaddr + ph[i].p_memsz > end)
            end = vaddr + ph[i].p_memsz;
    }
    *brk = (end + PAGE - 1) & ~(PAGE - 1);
    return 0;
}

/* The stack as create_elf_tables() lays it out. */
static int build_stack(struct runner *r, const char *execfn, int argc, char **argv, char **envp,
                       const uint32_t *aux, int naux, uint32_t *sp_out)
{
    int envc = 0;
    while (envp[envc])
        envc++;
    size_t strings = 4 + strlen(execfn) + 1;
    for (int i = 0; i < argc; i++)
        strings += strlen(argv[i]) + 1;
    for (int i = 0; i < envc; i++)
        strings += strlen(envp[i]) + 1;
    size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + (size_t)naux;
    size_t need = strings + 16 + 16 + 16 + words * 4;
    uint32_t size = STACK_EXPAND + (uint32_t)((need + PAGE - 1) & ~(size_t)(PAGE - 1));
    if (need > 32u * PAGE)
        return fail(execfn, "argument list too long");
    /* The grows-down [stack] region ending at the top of the task. */
    if (gmm_space_setup_stack(r->space, size) != (int64_t)TASK_TOP)
        return fail(execfn, "cannot map the stack");

    uint32_t p = TASK_TOP - 4; /* the end marker, 4 zero bytes */
    uint32_t zero = 0;
    gmm_write(r->space, p, &zero, 4);
    size_t len = strlen(execfn) + 1;
    p -= (uint32_t)len;
    uint32_t u_execfn = p;
    gmm_write(r->space, p, execfn, len);
    uint32_t *envv = calloc((size_t)envc + 1, 4), *argvv = calloc((size_t)argc + 1, 4);
    if (!envv || !argvv) {
        free(envv);
        free(argvv);
        return fail(execfn, "out of memory");
    }
    for (int i = envc; i-- > 0;) {
        len = strlen(envp[i]) + 1;
        p -= (uint32_t)len;
        gmm_write(r->space, p, envp[i], len);
        envv[i] = p;
    }
    for (int i = argc; i-- > 0;) {
        len = strlen(argv[i]) + 1;
        p -= (uint32_t)len;
        gmm_write(r->space, p, argv[i], len);
        argvv[i] = p;
    }
    p &= ~15u;
    p -= 5;
    uint32_t u_platform = p;
    gmm_write(r->space, p, "i686", 5);
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    p -= 16;
    uint32_t u_rand = p;
    gmm_write(r->space, p, rnd, sizeof(rnd));

    uint32_t sp = (uint32_t)((p - words * 4) & ~15u);
    *sp_out = sp;
    uint32_t w = sp, v = (uint32_t)argc;
    gmm_write(r->space, w, &v, 4), w += 4;
    for (int i = 0; i <= argc; i++)
        gmm_write(r->space, w, &argvv[i], 4), w += 4;
    for (int i = 0; i <= envc; i++)
        gmm_write(r->space, w, &envv[i], 4), w += 4;
    for (int i = 0; i < naux; i += 2) {
        uint32_t pair[2] = {aux[i], aux[i + 1]};
        if (pair[0] == AT_RANDOM)
            pair[1] = u_rand;
        else if (pair[0] == AT_PLATFORM)
            pair[1] = u_platform;
        else if (pair[0] == AT_EXECFN)
            pair[1] = u_execfn;
        gmm_write(r->space, w, pair, 8), w += 8;
    }
    free(envv);
    free(argvv);
    return 0;
}

int load_program(struct runner *r, const char *path, int argc, char **argv, char **envp,
                 uint32_t *entry, uint32_t *sp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(path, "cannot open");
    Elf32_Ehdr eh;
    if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS32 ||
        eh.e_machine != EM_386 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
        eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64) {
        close(fd);
        return fail(path, "not a static i386 ELF executable");
    }
    Elf32_Phdr ph[64];
    size_t phsize = (size_t)eh.e_phnum * sizeof(Elf32_Phdr);
    if (pread(fd, ph, phsize, eh.e_phoff) != (ssize_t)phsize) {
        close(fd);
        return fail(path, "truncated program headers");
    }
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_INTERP) {
            close(fd);
            return fail(path, "dynamically linked programs are not supported (build with -static)");
        }
    }
    uint32_t bias = eh.e_type == ET_DYN ? ET_DYN_BASE : 0;
    uint32_t phdr_addr, brk;
    int rc = map_segments(r, path, fd, &eh, ph, bias, &phdr_addr, &brk);
    close(fd); /* the mappings hold their own reference */
    if (rc)
        return rc;
    gmm_space_init_brk(r->space, brk);

    uint32_t aux[] = {
        AT_HWCAP,  0,         AT_PAGESZ, PAGE,      AT_CLKTCK, 100,
        AT_PHDR,   phdr_addr, AT_PHENT,  sizeof(Elf32_Phdr),
        AT_PHNUM,  eh.e_phnum, AT_BASE,  0,         AT_FLAGS,  0,
        AT_ENTRY,  eh.e_entry + bias,     AT_UID,    (uint32_t)getuid(),
        AT_EUID,   (uint32_t)geteuid(),   AT_GID,    (uint32_t)getgid(),
        AT_EGID,   (uint32_t)getegid(),   AT_SECURE, 0,
        AT_RANDOM, 0,         AT_HWCAP2, 0,         AT_EXECFN, 0,
        AT_PLATFORM, 0,       AT_NULL,   0,
    };
    *entry = eh.e_entry + bias;
    return build_stack(r, path, argc, argv, envp, aux, (int)(sizeof(aux) / sizeof(aux[0])), sp);
}
