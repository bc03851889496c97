/*
 * mem.c - guest pages served to Unicorn 2.0.1 from libguestmm.
 *
 * Unicorn 2.0.1 cannot use an external page table (its x86 paging ignores
 * the PTE frame), and each Unicorn region costs O(regions) to map, with an
 * abort at 4096 regions.  So Unicorn holds a small working set of single
 * pages (a FIFO of at most `cap`), each a uc_mem_map_ptr of the host frame
 * gmm_translate_perms returns, with the rights the library grants for it:
 *
 *   - an access to a page Unicorn lacks raises UC_HOOK_MEM_*_UNMAPPED; the
 *     hook asks the library (which resolves demand-zero, file page-in,
 *     stack growth, or reports a fault through host->fault) and maps it;
 *   - a store to a page granted without WRITE (copy-on-write, the zero
 *     frame, a clean shared file page) raises UC_HOOK_MEM_WRITE_PROT; the
 *     hook asks again for WRITE, re-maps the page and performs the store
 *     itself.  Read-only pages are mapped with uc_mem_map_ptr followed by
 *     uc_mem_protect so that Unicorn marks them read-only: the store that
 *     Unicorn resumes after the hook, through its stale TLB entry, is then
 *     discarded instead of written to a dropped host pointer;
 *   - host->invalidate drops the pages of a range from Unicorn; a page
 *     mapped executable loses its translated code (uc_ctl_remove_cache)
 *     before it leaves, so translated code never outlives its mapping.
 *
 * Protections, copy-on-write and demand paging are the library's; Unicorn
 * only ever sees pages the library handed out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

#define MAPPED_BIT 0x80
#define PINNED_BIT 0x40
#define NPAGES (1u << 20)

int mem_init(struct runner *r, unsigned max_pages)
{
    r->cap = max_pages;
    r->mapped = calloc(NPAGES, 1);
    r->fifo = calloc(max_pages, sizeof(*r->fifo));
    r->gdt = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!r->mapped || !r->fifo || r->gdt == MAP_FAILED)
        return -1;
    return 0;
}

void mem_fini(struct runner *r)
{
    free(r->mapped);
    free(r->fifo);
    munmap(r->gdt, PAGE);
}

static void fifo_remove(struct runner *r, uint32_t pn)
{
    for (unsigned i = 0; i < r->nfifo; i++) {
        if (r->fifo[i] == pn) {
            memmove(&r->fifo[i], &r->fifo[i + 1], (r->nfifo - i - 1) * sizeof(*r->fifo));
            r->nfifo--;
            return;
        }
    }
}

/* Takes page pn out of Unicorn, with its translated code. */
static void drop(struct runner *r, uint32_t pn)
{
    uint8_t m = r->mapped[pn];
    if (!(m & MAPPED_BIT) || (m & PINNED_BIT))
        return;
    uint64_t a = (uint64_t)pn * PAGE;
    if (m & UC_PROT_EXEC)
        uc_ctl_remove_cache(r->uc, a, a + PAGE);
    uc_mem_unmap(r->uc, a, PAGE);
    r->mapped[pn] = 0;
    fifo_remove(r, pn);
}

void mem_drop_all(struct runner *r)
{
    while (r->nfifo)
        drop(r, r->fifo[r->nfifo - 1]);
}

static uint32_t uc_perms(int allowed)
{
    return ((allowed & GMM_ACCESS_READ) ? UC_PROT_READ : 0) |
           ((allowed & GMM_ACCESS_WRITE) ? UC_PROT_WRITE : 0) |
           ((allowed & GMM_ACCESS_EXEC) ? UC_PROT_EXEC : 0);
}

static void fatal_uc(const char *what, uc_err err)
{
    fprintf(stderr, "guestmm-run-i386: %s: %s\n", what, uc_strerror(err));
    exit(127);
}

/* The page fault path, and the only place that gives Unicorn memory: makes
 * the page at addr available for access (a GMM_ACCESS_* bit), evicting the
 * oldest page when the working set is full.  false after host->fault
 * recorded the guest's signal. */
bool mem_fault_in(struct runner *r, uint32_t addr, int access, void **host)
{
    uint32_t pn = addr / PAGE;
    uint64_t page = (uint64_t)pn * PAGE;
    if (page == GDT_ADDR) {
        /* The descriptor table: read-only, pinned, and only for the CPU's
         * descriptor loads (the accessed bits are preset). */
        if (access != GMM_ACCESS_READ) {
            queue_signal(r, GMM_SIGSEGV, GMM_SEGV_MAPERR, addr, true);
            return false;
        }
        if (!(r->mapped[pn] & MAPPED_BIT)) {
            uc_err err = uc_mem_map_ptr(r->uc, page, PAGE, UC_PROT_READ, r->gdt);
            if (err == UC_ERR_OK)
                err = uc_mem_protect(r->uc, page, PAGE, UC_PROT_READ);
            if (err != UC_ERR_OK)
                fatal_uc("mapping the GDT", err);
            r->mapped[pn] = UC_PROT_READ | MAPPED_BIT | PINNED_BIT;
        }
        if (host)
            *host = (char *)r->gdt + (addr - page);
        return true;
    }
    int allowed = 0;
    /* May call host_invalidate (copy on write) or host_fault. */
    void *p = gmm_translate_perms(r->space, addr, access, &allowed);
    if (!p)
        return false;
    r->faults++;
    drop(r, pn);
    if (r->nfifo == r->cap) {
        drop(r, r->fifo[0]);
        r->evictions++;
    }
    uint32_t perms = uc_perms(allowed);
    void *frame = (char *)p - (addr - page);
    uc_err err = uc_mem_map_ptr(r->uc, page, PAGE, perms, frame);
    /* Marks the region read-only in QEMU's memory map: see the comment at
     * the top of this file. */
    if (err == UC_ERR_OK && !(perms & UC_PROT_WRITE))
        err = uc_mem_protect(r->uc, page, PAGE, perms);
    if (err != UC_ERR_OK)
        fatal_uc("uc_mem_map_ptr", err);
    r->mapped[pn] = (uint8_t)(perms | MAPPED_BIT);
    r->fifo[r->nfifo++] = pn;
    if (host)
        *host = p;
    return true;
}

/* A syscall wrote guest memory: code translated from it is stale. */
void mem_code_written(struct runner *r, uint32_t addr, uint32_t len)
{
    if (!len)
        return;
    for (uint64_t pn = addr / PAGE; pn <= ((uint64_t)addr + len - 1) / PAGE && pn < NPAGES; pn++)
        if ((r->mapped[pn] & (MAPPED_BIT | UC_PROT_EXEC)) == (MAPPED_BIT | UC_PROT_EXEC))
            uc_ctl_remove_cache(r->uc, pn * PAGE, pn * PAGE + PAGE);
}

/* ---- hooks ---- */

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                          int64_t value, void *user)
{
    (void)uc, (void)size, (void)value;
    struct runner *r = user;
    int access = type == UC_MEM_WRITE_UNMAPPED   ? GMM_ACCESS_WRITE
                 : type == UC_MEM_FETCH_UNMAPPED ? GMM_ACCESS_EXEC
                                                 : GMM_ACCESS_READ;
    return mem_fault_in(r, (uint32_t)addr, access, NULL);
}

static bool hook_write_prot(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                            int64_t value, void *user)
{
    (void)uc, (void)type;
    struct runner *r = user;
    void *host;
    if (!mem_fault_in(r, (uint32_t)addr, GMM_ACCESS_WRITE, &host))
        return false;
    /* Unicorn resumes the store through the TLB entry it loaded before
     * this hook; for a page it had read-only that store is discarded, so
     * the hook stores the bytes that fall in this page.  (A store that
     * crosses into the next page is redone byte by byte by Unicorn.) */
    uint32_t n = (uint32_t)size;
    uint32_t room = PAGE - (uint32_t)(addr % PAGE);
    if (n > room)
        n = room;
    if (n > sizeof(value))
        n = sizeof(value);
    uint64_t v = (uint64_t)value;
    memcpy(host, &v, n); /* little-endian host, as the guest */
    return true;
}

/* A read or fetch of a page Unicorn has without that right: the library
 * granted every right it could when it was mapped, so this is the guest's
 * fault; gmm_translate reports it with the right si_code. */
static bool hook_prot(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                      void *user)
{
    (void)uc, (void)size, (void)value;
    struct runner *r = user;
    int access = type == UC_MEM_FETCH_PROT ? GMM_ACCESS_EXEC : GMM_ACCESS_READ;
    if (gmm_translate(r->space, addr, access)) {
        /* Cannot happen while invalidation works; stop rather than resume
         * through a stale TLB entry. */
        drop(r, (uint32_t)(addr / PAGE));
        queue_signal(r, GMM_SIGSEGV, GMM_SEGV_ACCERR, (uint32_t)addr, true);
    }
    return false;
}

static bool noop_mem_hook(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                          int64_t value, void *user)
{
    (void)uc, (void)type, (void)addr, (void)size, (void)value, (void)user;
    return true;
}

int mem_hooks(struct runner *r)
{
    uc_hook h;
    if (uc_hook_add(r->uc, &h, UC_HOOK_MEM_UNMAPPED, (void *)hook_unmapped, r, 1, 0) ||
        uc_hook_add(r->uc, &h, UC_HOOK_MEM_WRITE_PROT, (void *)hook_write_prot, r, 1, 0) ||
        uc_hook_add(r->uc, &h, UC_HOOK_MEM_READ_PROT | UC_HOOK_MEM_FETCH_PROT, (void *)hook_prot,
                    r, 1, 0))
        return -1;
    return 0;
}

/* Unicorn 2.0.1 writes EIP back before a load or store only when a
 * UC_HOOK_MEM_READ / UC_HOOK_MEM_WRITE hook exists; otherwise a fault in the
 * middle of a translated block leaves EIP at an earlier instruction.  Once
 * the guest handles SIGSEGV or SIGBUS, the fault must resume at the right
 * instruction: add hooks bound to one address the guest never touches and
 * drop the code translated without the EIP updates.  Memory accesses then
 * take Unicorn's slow path (measured in README.md). */
void mem_enable_precise(struct runner *r)
{
    if (r->precise)
        return;
    uc_hook h;
    if (uc_hook_add(r->uc, &h, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, (void *)noop_mem_hook, r,
                    RUN_UNTIL, RUN_UNTIL) != UC_ERR_OK)
        return;
    for (unsigned i = 0; i < r->nfifo; i++)
        if (r->mapped[r->fifo[i]] & UC_PROT_EXEC)
            uc_ctl_remove_cache(r->uc, (uint64_t)r->fifo[i] * PAGE,
                                (uint64_t)r->fifo[i] * PAGE + PAGE);
    r->precise = true;
}

/* ---- libguestmm host callbacks ---- */

void host_fault(void *user, gmm_space *space, const gmm_fault *f)
{
    struct runner *r = user;
    if (space != r->space)
        return;
    if (r->debug)
        fprintf(stderr, "guestmm-run-i386: fault at %#llx access %d: signal %d code %d\n",
                (unsigned long long)f->addr, f->access, f->signo, f->code);
    queue_signal(r, f->signo, f->code, (uint32_t)f->addr, true);
}

void host_invalidate(void *user, gmm_space *space, gmm_addr start, uint64_t len)
{
    struct runner *r = user;
    if (space != r->space || !len)
        return;
    uint64_t first = start / PAGE, last = (start + len - 1) / PAGE;
    if (last - first + 1 > r->nfifo) {
        /* A large range: walk the working set instead. */
        for (unsigned i = r->nfifo; i-- > 0;)
            if (r->fifo[i] >= first && r->fifo[i] <= last)
                drop(r, r->fifo[i]);
        return;
    }
    for (uint64_t pn = first; pn <= last && pn < NPAGES; pn++)
        drop(r, (uint32_t)pn);
}

/* ---- file mappings: the guest's fds are host fds ---- */

struct hostfile {
    int fd;
};

static int64_t hf_read(void *h, uint64_t off, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(((struct hostfile *)h)->fd, (char *)buf + done, len - done,
                          (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int64_t)done;
}

static int64_t hf_write(void *h, uint64_t off, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(((struct hostfile *)h)->fd, (const char *)buf + done, len - done,
                           (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)n;
    }
    return (int64_t)done;
}

static int64_t hf_size(void *h)
{
    struct stat st;
    if (fstat(((struct hostfile *)h)->fd, &st) < 0)
        return -errno;
    return st.st_size;
}

static void hf_release(void *h)
{
    close(((struct hostfile *)h)->fd);
    free(h);
}

static const gmm_file_ops hostfile_ops = {hf_read, hf_write, hf_size, hf_release};

int host_get_file(void *user, int fd, gmm_file *out)
{
    (void)user;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return -GMM_EBADF;
    if (!S_ISREG(st.st_mode))
        return -GMM_ENODEV;
    int fl = fcntl(fd, F_GETFL);
    struct hostfile *h = malloc(sizeof(*h));
    if (!h)
        return -GMM_ENOMEM;
    /* The library keeps its own reference: the guest may close its fd. */
    h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 100);
    if (h->fd < 0) {
        free(h);
        return -GMM_ENOMEM;
    }
    static char path[4096];
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    path[n > 0 ? n : 0] = 0;
    out->ops = &hostfile_ops;
    out->handle = h;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->readable = (fl & O_ACCMODE) != O_WRONLY;
    out->writable = (fl & O_ACCMODE) != O_RDONLY;
    out->path = path;
    return 0;
}
