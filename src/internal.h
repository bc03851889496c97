/*
 * internal.h - the core types of libguestmm and how they relate.
 *
 *   gmm_system   frames (4 KiB host pages carved from large arenas, each with
 *                a reference count), the shared zero frame, the list of
 *                spaces, and the host callbacks.  Locks: sys->mm_lock guards
 *                every space and the objects they share (see gmm_system);
 *                sys->lock, inside it, guards the
 *                frame free list, arena growth and the space list.
 *
 *   gmm_space    one guest mm.  Lock: its system's mm_lock (space_lock).
 *                It holds two views that are kept apart as Linux keeps vmas
 *                and ptes apart:
 *     regions    what the guest asked for (struct region, the vmas): start,
 *                end, flags (VM_* below), backing object and page offset,
 *                anon identity.  Kept in a red-black tree ordered by start and
 *                threaded in a list; every node carries the largest free gap
 *                of its subtree so that free-range search is O(log n).
 *     pages      what backs it now: a radix page table from guest page
 *                number to a pte (frame number + state bits).  Entries
 *                appear on first touch only.
 *     tlbs       direct-mapped software TLBs: per entry a read, a write and
 *                an exec tag and host-minus-guest.  Each has one user: a
 *                gmm_cpu, a thread calling gmm_translate (thread_tlb.c, one
 *                per thread and space), or space_fault under the lock.  A
 *                thread's user copies have a larger one (copy_tlb.c), which
 *                gmm_read reads without the lock, validated by the
 *                space's invalidation count as a seqlock.
 *
 *   snapshots  (snapshot.c) frozen copies of a space's regions, page entries
 *                (frames shared copy on write) and scalars, kept out of
 *                every list the host or an rmap sees; while one is live the
 *                space's page table logs the page ranges it changes
 *                (pagetable->log, tlb_shootdown), and a restore makes those
 *                ranges and the regions equal to the snapshot's again.
 *
 *   struct gmm_object  a shared backing (MAP_SHARED|MAP_ANONYMOUS memory):
 *                its own radix of frames keyed by page offset, shared by
 *                every region that maps it.
 *
 * Layers call down only (a file may call any layer below its own):
 *
 *   entry points   sys_*.c (one per syscall family), space.c, exec.c,
 *                  file.c, status.c, maps.c, check.c.  They share helpers
 *                  sideways (space_populate in sys_mlock.c, space_munmap
 *                  and space_unmapped_area in sys_mmap.c).
 *   windows        window.c: host windows, a consumer of translations
 *                  like a TLB whose entries are host mappings; its faults
 *                  (gmm_window_fault) call the fault path.
 *   access         access.c: the fault path, the TLBs (gmm_translate, the
 *                  CPUs), user copies (gmm_read, gmm_write).
 *   ranges, limits vma.c: merge, split, unmap, zap, accounting, and the
 *                  limit checks (vma_may_expand, mlock_future_ok).
 *   objects        object.c: shared memory, the page cache, file handles.
 *   the tree       region.c.
 *   invalidation   inval.c: the log of changed translations (the TLBs
 *                  catch up with it before their next use), the windows'
 *                  shootdown, the host's invalidate callback.
 *   pages, frames  pagetable.c, frame.c; alloc.c and errors.c beside them.
 *   host           host.c: the only file that calls the host OS.
 *
 * Nothing calls up but the invalidation layer, and only to tell a
 * consumer: window_shootdown (which unmaps host pages and calls nothing
 * above inval.c).  Calls out to the embedder (the gmm_host callbacks, the
 * file ops) are made from whichever layer has the news.
 */
#ifndef GMM_INTERNAL_H
#define GMM_INTERNAL_H

#include "guestmm.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define GMM_HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#else
#define GMM_HIDDEN
#define likely(x) (x)
#define unlikely(x) (x)
#endif

/* Straight-line bulk loops with nothing for a fuzzer to learn from (they
 * run on every space creation): no coverage instrumentation. */
#if defined(__clang__)
#define GMM_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define GMM_NO_COVERAGE
#endif

#define PAGE_SIZE ((uint64_t)GMM_PAGE_SIZE)
#define PAGE_SHIFT GMM_PAGE_SHIFT
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define OFFSET_IN_PAGE(x) ((x) & (PAGE_SIZE - 1))
#define PMD_SIZE ((uint64_t)2 << 20)

/* Linux's stack_guard_gap: 256 pages. */
#define STACK_GUARD_GAP (256 * PAGE_SIZE)
#define DEFAULT_MAX_MAP_COUNT 65530
#define DEFAULT_MMAP_MIN_ADDR 65536
#define RLIM_INFINITY UINT64_MAX

/* ---- allocation (alloc.c: one place, so that tests can fail each site) ----
 * Every block comes from the allocator of the system it serves (sys NULL:
 * the C library's); gmm_free finds the allocator in the block's header. */
GMM_HIDDEN void *gmm_malloc(gmm_system *sys, size_t n);
GMM_HIDDEN void *gmm_calloc(gmm_system *sys, size_t n, size_t size);
GMM_HIDDEN void gmm_free(void *p);
GMM_HIDDEN char *gmm_strdup(gmm_system *sys, const char *s);
/* Before a system exists: a block of n bytes from fn, owned by owner (set
 * later with gmm_alloc_set_owner when the owner is the block itself). */
GMM_HIDDEN void *gmm_alloc_with(gmm_alloc_fn fn, void *ud, gmm_system *owner, size_t n);
GMM_HIDDEN void gmm_alloc_set_owner(void *p, gmm_system *owner);
GMM_HIDDEN void *gmm_default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size);

/* ---- VM flags: the Linux vm_flags bits the library models ---- */
enum {
    VM_READ = 0x1,
    VM_WRITE = 0x2,
    VM_EXEC = 0x4,
    VM_SHARED = 0x8,
    VM_MAYREAD = 0x10,
    VM_MAYWRITE = 0x20,
    VM_MAYEXEC = 0x40,
    VM_MAYSHARE = 0x80,
    VM_GROWSDOWN = 0x100,
    VM_MAYBE_GUARD = 0x800, /* MADV_GUARD_INSTALL was used (smaps "gu"); sticky */
    VM_MERGEABLE = 0x1000,  /* MADV_MERGEABLE (KSM; Linux bit 31, smaps "mg") */
    VM_LOCKED = 0x2000,
    VM_SEQ_READ = 0x8000,
    VM_RAND_READ = 0x10000,
    VM_DONTCOPY = 0x20000,
    VM_LOCKONFAULT = 0x80000,
    VM_ACCOUNT = 0x100000,
    VM_NORESERVE = 0x200000,
    VM_DROPPABLE = 0x400000,
    VM_SYNC = 0x800000, /* MAP_SYNC: Linux sets it on any mapping (smaps "sf") */
    VM_WIPEONFORK = 0x2000000,
    VM_DONTDUMP = 0x4000000,
    VM_HUGEPAGE = 0x20000000,
    VM_NOHUGEPAGE = 0x40000000,
    VM_PKEY_EXEC = 0x80000000u, /* the execute-only protection key */
};
#define VM_ACCESS_FLAGS (VM_READ | VM_WRITE | VM_EXEC)
/* Linux's VM_STICKY: ignored when deciding a merge, kept by the merged
 * region when either side had it. */
#define VM_STICKY VM_MAYBE_GUARD
#define VM_LOCKED_MASK (VM_LOCKED | VM_LOCKONFAULT)

/* ---- frames ---- */
typedef uint32_t frame_t;
#define FRAME_NONE ((frame_t)UINT32_MAX)
#define FRAME_ZERO ((frame_t)0) /* the shared zero frame, never freed */
#define ARENA_SHIFT 14          /* 16384 frames = 64 MiB per arena */
#define ARENA_FRAMES ((uint32_t)1 << ARENA_SHIFT)
#define MAX_ARENAS 4096

struct arena {
    uint8_t *base;  /* ARENA_FRAMES * 4 KiB of host memory */
    uint32_t *ref;  /* per frame: reference count, or the next free frame */
};

/* ---- page table entries ---- */
typedef uint64_t pte_t;
#define PTE_PRESENT ((pte_t)1)
#define PTE_FRAME_SHIFT 12
#define pte_frame(p) ((frame_t)((p) >> PTE_FRAME_SHIFT))
#define pte_make(f) (((pte_t)(f) << PTE_FRAME_SHIFT) | PTE_PRESENT)
/* In a space's page table: a guard marker (MADV_GUARD_INSTALL), no frame,
 * not present; any access faults with SIGSEGV/SEGV_MAPERR.  Zapping pages
 * (MADV_DONTNEED, truncation) keeps it, unmapping the range removes it. */
#define PTE_GUARD ((pte_t)4)

#define PT_BITS 9
#define PT_ENTRIES (1u << PT_BITS)
#define PT_LEVELS 4 /* 36 bits of page number: any 48-bit address */

/* A node of the radix tree.  The last level (the leaves, PT_ENTRIES ptes
 * each) may be shared by the page tables of several spaces of one system:
 * gmm_space_fork hands the child the parent's leaves instead of copying
 * their entries.  A shared leaf is read only: every writer goes through
 * pt_slot, pt_set, pt_clear or a clearing walk, which first give the
 * writing table a leaf of its own (leaf_own in pagetable.c: a copy that
 * takes one frame reference per entry holding a frame).  The references
 * of a shared leaf's entries are held once, by the leaf, whatever the
 * number of tables sharing it; a frame mapped through a shared leaf has
 * pt_sharers() more users than its reference count says.  Every table of
 * a system is guarded by the one mm_lock, which covers the share count
 * and the copy; no lock-free reader looks at a page table (the TLBs hold
 * frame addresses, kept valid by the frames' own grace periods). */
struct pt_node {
    uint16_t used;    /* non-empty entries */
    uint16_t frames;  /* leaves: entries holding a frame other than the zero
                         frame (what they add to a space's rss) */
    uint32_t sharers; /* leaves: page tables holding it besides one (0: one
                         table owns it and may write it in place) */
    union {
        struct pt_node *child[PT_ENTRIES];
        pte_t pte[PT_ENTRIES];
    } u;
};

struct snap_log;
struct pagetable {
    struct pt_node *root;
    uint64_t present; /* entries set */
    gmm_system *sys;  /* whose allocator gives the nodes (set at creation) */
    struct snap_log *log; /* a space's table while a snapshot is live: every
                             entry set or cleared is recorded (snapshot.c) */
};

/* ---- shared backing objects (object.c) ---- */
/* uthash allocates through the system's allocator: a HASH_ADD needs a
 * gmm_system *sys in scope.  Out of memory is not fatal: the item is not
 * added and its hh.tbl is left NULL, which the caller checks. */
#define uthash_malloc(sz) gmm_malloc(sys, sz)
#define uthash_free(ptr, sz) gmm_free(ptr)
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

/* A host file handle opened with some rights, counted (Linux's struct
 * file: the handle with the f_mode of the fd it came from).  get_file may
 * hand out one handle for fds of different modes (the handle is the inode
 * or the host file object), so a handle is only half the key: each set of
 * rights gets a fileref of its own, and a mapping keeps the rights of the
 * fd it was made from. */
enum { FILEREF_READ = 1, FILEREF_WRITE = 2 };
struct fileref_key {
    void *handle;
    uintptr_t mode; /* FILEREF_READ | FILEREF_WRITE (no padding in the key) */
};
struct gmm_fileref {
    struct fileref_key key;
    const gmm_file_ops *ops;
    void *handle;
    uint32_t refs;
    bool readable, writable;
    UT_hash_handle hh; /* sys->filerefs, by key */
};

enum { OBJ_SHMEM = 1, OBJ_FILE = 2 };
#define PTE_DIRTY ((pte_t)2) /* in an object's page table: not written back */

struct obj_key {
    uint64_t dev, ino;
};

struct gmm_object {
    int kind;
    uint32_t refs;            /* regions (in any space) that map it */
    uint32_t shared_refs;     /* ... of which MAP_SHARED and writable (VM_SHARED) */
    struct obj_key key;       /* file: its hash key */
    uint64_t dev, ino;        /* shown in maps */
    uint64_t size;            /* bytes: the file's size (cached), or the shmem size */
    char *path;               /* file: shown in maps */
    struct gmm_fileref *wb;   /* file: a writable handle for writeback, held while
                                 a shared writable mapping (shared_refs) exists */
    struct pagetable pages;   /* page offset -> frame (one reference each) */
    struct region *rmap;      /* regions mapping it, through obj_next/obj_prev */
    UT_hash_handle hh;        /* sys->files, by (dev, ino) */
};

/* ---- regions ---- */

/* A memory policy (mbind/set_mempolicy); all zero is MPOL_DEFAULT. */
struct vma_policy {
    uint16_t mode, flags;
    uint64_t nodes;
};

/* A PR_SET_VMA_ANON_NAME name, shared by the regions split from one. */
struct anon_name {
    uint32_t refs;
    char str[];
};

struct region {
    struct region *left, *right, *parent; /* red-black */
    struct region *prev, *next;           /* address order */
    gmm_addr start, end;
    uint64_t max_gap; /* largest gap_before() in this subtree */
    bool red;         /* red-black colour */
    uint32_t flags;   /* VM_* */
    uint64_t pgoff;   /* page offset into obj, or start>>12 for private anon */
    uint64_t anon;    /* anon_vma identity: 0 until the first write fault */
    bool anon_forked; /* anon came with the region from a fork parent (Linux: a
                         multi-entry anon_vma_chain): it is never handed to a
                         neighbour, so no merge with one that lacks it */
    struct gmm_object *obj;
    struct gmm_fileref *file;              /* file mappings: the handle mapped */
    struct region *obj_next, *obj_prev;    /* obj->rmap */
    gmm_space *space;                      /* the space whose tree holds it */
    struct vma_policy pol;
    struct anon_name *name;
    bool linux_unmerged; /* Linux leaves it apart from a mergeable neighbour
                            (the source of a MREMAP_DONTUNMAP move) */
};

/* ---- software TLB ---- */
#define TLB_BITS 8
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID ((gmm_addr)1) /* never a page address */

struct tlb_entry {
    gmm_addr tag_r, tag_w, tag_x; /* page address, or TLB_INVALID */
    intptr_t addend;              /* host - guest */
};

/* One TLB: used by one thread (a gmm_cpu's, gmm_translate's), or under
 * the space lock (user copies).  It never sees invalidations directly: it
 * catches up with the space's invalidation log (tlb_catch_up) before use,
 * so nobody writes another thread's TLB. */
struct tlb {
    struct tlb_entry e[TLB_SIZE];
    uint64_t seen; /* the space's inval_seq this TLB has applied */
};

/* The user copies' TLB (copy_tlb.c): one per thread and space, made on
 * the thread's first copy in the space.  Large enough for every page of
 * 64 MiB; an entry is one tag and host-minus-guest.  A tag is the page
 * address, the generation of the TLB in the bits below the page (so that a
 * whole flush is one increment) and COPY_TAG_R / COPY_TAG_W for the
 * accesses granted; 0 matches nothing. */
#define COPY_TLB_BITS 14
#define COPY_TLB_SIZE (1u << COPY_TLB_BITS)
#define COPY_TAG_R ((uint64_t)1)
#define COPY_TAG_W ((uint64_t)2)
#define COPY_GEN_SHIFT 2
#define COPY_GEN_MAX ((PAGE_SIZE >> COPY_GEN_SHIFT) - 1)

struct copy_tlb_entry {
    uint64_t tag;
    intptr_t addend; /* host - guest */
};

struct copy_tlb {
    uint64_t seen; /* the space's inval_seq this TLB has applied */
    uint64_t gen;  /* 1..COPY_GEN_MAX */
    struct copy_tlb_entry e[COPY_TLB_SIZE];
};

/* gmm_translate's TLB for one space in one thread (thread_tlb.c), and the
 * same thread's user-copy TLB for that space (NULL until its first copy). */
struct thread_tlb {
    uint64_t space_id; /* the space's id (never reused); 0: none */
    struct copy_tlb *copy;
    struct tlb tlb;
};

/* The space's invalidation log: the last INVAL_LOG ranges whose
 * translations changed; a TLB further behind is flushed whole. */
#define INVAL_LOG 64
struct inval_range {
    gmm_addr start, end;
};

/* A CPU of the embedder (gmm_cpu_create): its own TLB, and its place in
 * the system's reclamation of freed frames. */
struct gmm_cpu {
    gmm_space *space;
    struct gmm_cpu *next, *prev; /* sys->cpus, under sys->lock */
    uint64_t quiesced;           /* sys->epoch at its last quiescent point */
    struct tlb tlb;
};

struct gmm_system {
    gmm_host host;
    bool has_host;
    /* The mm lock: every space's regions and page table, the objects and
     * page cache they share, brk, limits and accounting.  Taken by each
     * call that works on a space (space_lock), never inside sys->lock. */
    pthread_mutex_t mm_lock;
    /* Frames (free list, limbo, arenas), file handles, the space and CPU
     * lists.  Innermost: taken inside mm_lock, never around it. */
    pthread_mutex_t lock;
    struct arena arenas[MAX_ARENAS];
    uint32_t narenas;
    frame_t free_head;  /* list of freed frames linked through ref[] */
    /* Freed frames that a CPU may still hold a pointer to (only while
     * gmm_cpu objects exist): limbo_new collects them; limbo_old, closed
     * at epoch limbo_stamp, is reused once every CPU has quiesced since. */
    frame_t limbo_new, limbo_old;
    uint64_t limbo_stamp;
    uint64_t limbo_frames, limbo_old_n; /* frames in both lists; in limbo_old */
    uint64_t epoch;            /* grace-period counter (atomic) */
    struct gmm_cpu *cpus;      /* under lock */
    frame_t bump;       /* next never-used frame */
    uint64_t frames_used;
    uint64_t next_anon; /* anon_vma identities */
    uint64_t next_ino;  /* shared anonymous objects */
    struct gmm_fileref *filerefs; /* by handle and rights */
    struct gmm_object *files;     /* page cache: file objects by (dev, ino) */
    gmm_space *spaces;  /* list of live spaces */
    gmm_alloc_fn alloc; /* the host's allocator (alloc.c) and its ud */
    void *alloc_ud;
    uint64_t frame_limit; /* most frames_used may reach; 0: no limit */
    int memfd;            /* mappable systems: the memory file of the arenas; else -1 */
    /* Mappable systems: freed frames whose memory is not given back yet
     * (frame.c gives it back in sorted ranges, before any is reused). */
#define PUNCH_BATCH 64
    frame_t punch[PUNCH_BATCH];
    unsigned npunch;
    /* Shared page-table leaves (pagetable.c, under mm_lock): the sum of
     * every leaf's sharers (the copies that may be needed), and the
     * reserve of nodes kept for them, at least as large, so that a leaf
     * copy never fails. */
    uint64_t leaf_debt;
    uint64_t leaf_reserve;            /* free nodes in leaf_blocks */
    struct leaf_block *leaf_blocks;
};

struct gmm_space {
    gmm_system *sys;
    gmm_space *sys_next, *sys_prev;
    gmm_abi abi;
    void *user;

    struct region *root, *first, *last;
    struct region *find_cache;   /* region_find's last answer, or a neighbour of it */
    struct region *region_cache; /* freed regions kept for reuse, via next */
    unsigned region_cached;
    uint64_t map_count;

    gmm_addr task_size, mmap_base, legacy_base, mmap_min_addr;
    gmm_addr start_brk, brk;
    uint64_t max_map_count;
    bool execute_only; /* PROT_EXEC alone is execute-only (protection keys) */

    uint64_t total_vm, data_vm, stack_vm; /* pages */
    uint64_t locked_vm;                   /* pages of VM_LOCKED regions */
    uint64_t rlim_as, rlim_data, rlim_stack, rlim_memlock; /* soft limits, bytes */
    uint64_t rlim_max_as, rlim_max_data, rlim_max_stack, rlim_max_memlock; /* hard */
    uint64_t rss;                         /* pages with a real frame */
    uint64_t exec_vm;                     /* pages: VmExe + VmLib */
    uint64_t hiwater_vm, hiwater_rss;     /* peaks of total_vm and rss: VmPeak, VmHWM */
    uint32_t def_flags;                   /* Linux mm->def_flags: VM_LOCKED (and
                                             VM_LOCKONFAULT) after mlockall(MCL_FUTURE) */
    gmm_addr start_stack;                 /* the region holding it is "[stack]" */
    gmm_addr start_code, end_code;        /* the program's text: VmExe */
    struct vma_policy pol;                /* set_mempolicy(): the task's policy */

    struct pagetable pt;
    struct tlb copy_tlb; /* under the lock: space_fault, and gmm_translate
                            without memory for a TLB of its own */
    struct gmm_window *windows;   /* window.c: the windows mirroring it (mm lock) */
    struct snapshot *snap_first, *snap_last; /* snapshot.c: oldest first */
    struct snap_log *snap_log;    /* pages changed since each snapshot */
    pthread_mutex_t inval_lock;   /* guards inval[] */
    uint64_t inval_seq;           /* invalidations so far (atomic) */
    uint64_t id;                  /* unique in the process, never reused: tags
                                     gmm_translate's TLBs (next to inval_seq,
                                     which the same hit reads) */
    struct inval_range inval[INVAL_LOG];
};

/* ---- host.c: the only place that calls the host OS ---- */
GMM_HIDDEN void *host_reserve(size_t len);
GMM_HIDDEN void host_release(void *p, size_t len);

/* ---- frame.c ---- */
GMM_HIDDEN int frame_init(gmm_system *sys);
GMM_HIDDEN void frame_fini(gmm_system *sys);
GMM_HIDDEN frame_t frame_alloc(gmm_system *sys); /* zeroed, ref 1 */
/* The same; with zero false a recycled frame keeps old contents (for a
 * frame about to be overwritten whole, such as a copy on write). */
GMM_HIDDEN frame_t frame_alloc_uninit(gmm_system *sys, bool zero);
/* n zeroed frames at consecutive numbers (consecutive memory-file
 * offsets: one host mapping for a window), each with reference 1; the
 * first, or FRAME_NONE (the cap, no memory, or too many freed frames
 * waiting for reuse: take them one by one then). */
GMM_HIDDEN frame_t frame_alloc_run(gmm_system *sys, uint32_t n);
GMM_HIDDEN void frame_ref(gmm_system *sys, frame_t f);
GMM_HIDDEN void frame_unref(gmm_system *sys, frame_t f);
GMM_HIDDEN uint32_t frame_refcount(gmm_system *sys, frame_t f);
static inline uint8_t *frame_ptr(gmm_system *sys, frame_t f)
{
    return sys->arenas[f >> ARENA_SHIFT].base +
           ((size_t)(f & (ARENA_FRAMES - 1)) << PAGE_SHIFT);
}
/* A frame's reference count while in use, its list link while free. */
static inline uint32_t *frame_ref_slot(gmm_system *sys, frame_t f)
{
    return &sys->arenas[f >> ARENA_SHIFT].ref[f & (ARENA_FRAMES - 1)];
}

/* ---- pagetable.c ---- */
/* The slot for page number pn, for writing: allocating nodes when alloc,
 * and always in a leaf of pt's own (a shared leaf is copied first, which
 * cannot fail: see pt_share_leaf).  NULL when absent (alloc false) or out
 * of memory.  Readers use pt_get. */
GMM_HIDDEN pte_t *pt_slot(struct pagetable *pt, uint64_t pn, bool alloc);
/* The entry of page number pn (0 when absent), read only. */
GMM_HIDDEN pte_t pt_get(const struct pagetable *pt, uint64_t pn);
/* How many page tables besides pt share the leaf holding pn (0: none, or
 * no leaf): a frame an entry there maps has that many more users than its
 * reference count says. */
GMM_HIDDEN uint32_t pt_sharers(const struct pagetable *pt, uint64_t pn);
/* Sets the entry of pn (its leaf must exist, as after a pt_slot with
 * alloc), keeping the node counts and the snapshot log. */
GMM_HIDDEN void pt_set(struct pagetable *pt, uint64_t pn, pte_t pte);
GMM_HIDDEN void pt_clear(struct pagetable *pt, uint64_t pn);
/* Gives pt a leaf of its own for every leaf of [lo, hi) it shares (cannot
 * fail). */
GMM_HIDDEN void pt_unshare_range(struct pagetable *pt, uint64_t lo, uint64_t hi);
/* Makes *link (a leaf pointer in one of pt's nodes) a leaf of pt's own,
 * copying it if shared; returns it (cannot fail). */
GMM_HIDDEN struct pt_node *pt_own_leaf(struct pagetable *pt, struct pt_node **link);
/* gmm_space_fork: dst (with no leaf at pn yet) shares leaf, the leaf of
 * another table covering page number pn.  The system's reserve of leaf
 * nodes grows to cover the copy the share may need, so that a write into
 * a shared leaf, and a clear (munmap, truncation) above all, never runs
 * out of memory.  0 or -GMM_ENOMEM (dst unchanged). */
GMM_HIDDEN int pt_share_leaf(struct pagetable *dst, struct pt_node *leaf, uint64_t pn);
/* Calls fn for every leaf holding page numbers of [lo, hi), with the
 * page number of its first entry; read only. */
typedef void (*pt_leaf_fn)(void *ctx, uint64_t base, struct pt_node *leaf);
GMM_HIDDEN void pt_walk_leaves(const struct pagetable *pt, uint64_t lo, uint64_t hi, pt_leaf_fn fn,
                               void *ctx);
/* Frees node n of pt (every node of a space's table is freed here: a
 * leaf copy may live in the reserve). */
GMM_HIDDEN void pt_node_free(struct pagetable *pt, struct pt_node *n);
/* For gmm_system_check: the free nodes of the reserve, counted. */
GMM_HIDDEN uint64_t pt_reserve_free(gmm_system *sys);
/* gmm_system_destroy: frees the reserve of leaf nodes. */
GMM_HIDDEN void pt_spares_free(gmm_system *sys);
/* Frees nodes left empty on the path to pn (after an unused pt_slot). */
GMM_HIDDEN void pt_trim(struct pagetable *pt, uint64_t pn);
/* Calls fn for every set entry with page number in [lo, hi), in order,
 * skipping empty subtrees. */
typedef void (*pt_visit_fn)(void *ctx, uint64_t pn, pte_t pte);
/* No entry set with page number in [lo, hi)? */
GMM_HIDDEN bool pt_range_empty(const struct pagetable *pt, uint64_t lo, uint64_t hi);
GMM_HIDDEN void pt_walk(struct pagetable *pt, uint64_t lo, uint64_t hi, pt_visit_fn fn, void *ctx);
/* Clears every entry in [lo, hi), calling fn first for each; frees empty nodes. */
GMM_HIDDEN void pt_clear_range(struct pagetable *pt, uint64_t lo, uint64_t hi, pt_visit_fn fn, void *ctx);
/* The same, leaving alone (and not visiting) entries with a bit of keep. */
GMM_HIDDEN void pt_clear_range_keep(struct pagetable *pt, uint64_t lo, uint64_t hi, pte_t keep,
                                    pt_visit_fn fn, void *ctx);
/* The same for pages released (vma_zap, vma_zap_pages): a leaf shared
 * with another table, wholly in [lo, hi) and with no entry to keep, is
 * let go without a visit (no copy; its references stay with the other
 * tables).  Returns the entries holding a
 * frame (other than the zero frame) that went so, for the caller's rss. */
GMM_HIDDEN uint64_t pt_zap_range(struct pagetable *pt, uint64_t lo, uint64_t hi, pte_t keep,
                                 pt_visit_fn fn, void *ctx);
/* Frees the table, calling fn for the entries whose references it held
 * alone: a leaf shared with another table is only let go (its entries
 * stay with the other tables, references included). */
GMM_HIDDEN void pt_destroy(struct pagetable *pt, pt_visit_fn fn, void *ctx);

/* ---- inval.c: translation invalidation ---- */
/* Logs that translations of [start, end) changed: every TLB of the space
 * drops them before its next use.  Windows are shot down before
 * it returns.  Does not call the host (see space_invalidate). */
GMM_HIDDEN void tlb_shootdown(gmm_space *s, gmm_addr start, gmm_addr end);
/* Drops cached translations of [start, end) and tells the host. */
GMM_HIDDEN void space_invalidate(gmm_space *s, gmm_addr start, gmm_addr end);
/* The same for a change of rights that leaves the page table as it is
 * (mprotect): a range with nothing in the page table is not logged. */
GMM_HIDDEN void space_invalidate_rights(gmm_space *s, gmm_addr start, gmm_addr end);

/* ---- region.c: the tree ---- */
GMM_HIDDEN struct region *region_alloc(gmm_space *s);
/* The same, not zeroed (but for its space, so that region_free can take
 * it back): for a region about to be copied into whole. */
GMM_HIDDEN struct region *region_alloc_raw(gmm_space *s);
GMM_HIDDEN void region_free(struct region *r);
/* Frees the regions a space keeps for reuse. */
GMM_HIDDEN void region_cache_drain(gmm_space *s);
/* Fills the cache of s up to n regions (n <= 32), so that the next n
 * region_alloc calls cannot fail: an operation over several regions
 * allocates before its first change.  0 or -GMM_ENOMEM (nothing changed
 * that anyone can see). */
GMM_HIDDEN int region_reserve(gmm_space *s, unsigned n);
/* First region with end > addr, or NULL (Linux find_vma). */
GMM_HIDDEN struct region *region_find(gmm_space *s, gmm_addr addr);
/* Inserts r (not overlapping anything). */
GMM_HIDDEN void region_insert(gmm_space *s, struct region *r);
GMM_HIDDEN void region_remove(gmm_space *s, struct region *r);
/* A split: inserts q right after r, where q->start == r->end and q->end
 * is the end r had before the split (so no free gap changes). */
GMM_HIDDEN void region_insert_after(gmm_space *s, struct region *r, struct region *q);
/* A split from below: inserts q right before r, where r has just given up
 * [q->start, q->end) (q->end == r->start). */
GMM_HIDDEN void region_insert_before(gmm_space *s, struct region *r, struct region *q);
/* A merge: removes r whose predecessor has already been extended over it
 * (r->prev->end == r->end; so no free gap changes). */
GMM_HIDDEN void region_remove_absorbed(gmm_space *s, struct region *r);
/* Call after changing r->start or r->end in place (order unchanged). */
GMM_HIDDEN void region_bounds_changed(gmm_space *s, struct region *r);
/* Linux vm_start_gap(): start minus the guard gap of a grows-down region. */
GMM_HIDDEN gmm_addr region_start_gap(const struct region *r);
/* Highest / lowest len-byte free range inside [low, high), or 0 if none. */
GMM_HIDDEN gmm_addr region_gap_topdown(gmm_space *s, uint64_t len, gmm_addr low, gmm_addr high);
GMM_HIDDEN gmm_addr region_gap_bottomup(gmm_space *s, uint64_t len, gmm_addr low, gmm_addr high);
GMM_HIDDEN const char *region_check_tree(gmm_space *s);

/* ---- vma.c: operations on ranges of regions ---- */
GMM_HIDDEN bool vma_mergeable(const struct region *a, const struct region *b);
/* Splits r at addr (r->start < addr < r->end); the new upper part is
 * returned (or NULL when out of memory). */
GMM_HIDDEN struct region *vma_split(gmm_space *s, struct region *r, gmm_addr addr);
/* The same with a region allocated by the caller (cannot fail). */
GMM_HIDDEN struct region *vma_split_into(gmm_space *s, struct region *r, gmm_addr addr,
                                         struct region *q);
/* Unmaps [start, end): regions split at the edges and removed, their pages
 * released.  Needs a spare region when it splits one in two; returns 0 or
 * -GMM_ENOMEM (nothing changed). */
GMM_HIDDEN int vma_unmap(gmm_space *s, gmm_addr start, gmm_addr end);
/* Would vma_unmap(start, end) need one more region (punching a hole)? */
GMM_HIDDEN bool vma_unmap_splits(gmm_space *s, gmm_addr start, gmm_addr end);
/* Allocates (region_reserve) the regions that changing the attributes of
 * [start, end) can need: a split where a region crosses start, and one
 * where a region crosses end.  An operation that walks several regions
 * calls it first, so that running out of memory half way cannot leave the
 * regions before it changed.  0 or -GMM_ENOMEM. */
GMM_HIDDEN int vma_reserve_splits(gmm_space *s, gmm_addr start, gmm_addr end);
/* Releases the pages of [start, end) (pte frames), flushing translations. */
GMM_HIDDEN void vma_zap(gmm_space *s, gmm_addr start, gmm_addr end);
/* The same but guard markers stay (Linux's zap without ZAP_FLAG_DROP_MARKER:
 * MADV_DONTNEED, hole punching, truncation). */
GMM_HIDDEN void vma_zap_pages(gmm_space *s, gmm_addr start, gmm_addr end);
/* After copying a region (*q = *r): takes q's own references (object,
 * name).  vma_put_refs drops them. */
GMM_HIDDEN void vma_get_refs(gmm_space *s, struct region *q);
GMM_HIDDEN void vma_put_refs(gmm_space *s, struct region *r);
/* Gives [start, end) of r (start >= r->start, end <= r->end) the flags,
 * policy and name of want, splitting r or merging with a neighbour as
 * Linux's vma_modify() does.  0 or -GMM_ENOMEM (nothing changed). */
GMM_HIDDEN int vma_modify(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end,
                          const struct region *want);
/* Tries to merge r with its neighbours; returns the surviving region. */
GMM_HIDDEN struct region *vma_merge_neighbours(gmm_space *s, struct region *r, bool with_prev, bool with_next);
/* vma_account, vma_is_data: inline, after the syscall helpers below. */
/* Linux may_expand_vm(): may pages more of a region with flags be mapped
 * under RLIMIT_AS and RLIMIT_DATA (with its soft-limit-0 quirk)? */
GMM_HIDDEN bool vma_may_expand(const gmm_space *s, uint32_t flags, uint64_t pages);
/* can_do_mlock(): the space (an unprivileged process) may lock memory
 * unless its RLIMIT_MEMLOCK is 0. */
GMM_HIDDEN bool mlock_allowed(const gmm_space *s);
/* mlock_future_ok(): may len bytes with flags be added, locked if flags
 * hold VM_LOCKED, under RLIMIT_MEMLOCK? */
GMM_HIDDEN bool mlock_future_ok(const gmm_space *s, uint32_t flags, uint64_t len);

/* ---- sys_mmap.c ---- */
/* Linux get_unmapped_area() for a mapping of len bytes at page offset
 * pgoff (flags: GMM_MAP_FIXED, GMM_MAP_SHARED, GMM_MAP_32BIT; file: a file
 * mapping): the address, or a negative errno. */
GMM_HIDDEN int64_t space_unmapped_area(gmm_space *s, gmm_addr addr, uint64_t len, uint64_t pgoff,
                                       int flags, bool file);
/* munmap(2) with the space locked (Linux do_vmi_munmap()). */
GMM_HIDDEN int64_t space_munmap(gmm_space *s, gmm_addr addr, uint64_t len);

/* ---- access.c ---- */
enum fault_result { FAULT_OK, FAULT_MAPERR, FAULT_ACCERR, FAULT_PKUERR, FAULT_SIGBUS, FAULT_OOM };
/* The page fault: makes the page at addr present for access as a CPU
 * fault would (demand zero, object page-in, copy on write, stack growth);
 * on FAULT_OK *rp is its region.  Caller holds the space lock. */
GMM_HIDDEN enum fault_result space_fault_page(gmm_space *s, gmm_addr addr, int access,
                                              struct region **rp);
/* What a CPU may do with the present page at page (pte) of region r without
 * another fault: GMM_ACCESS_* bits.  A write is granted only where a store
 * needs no work first (shared and dirty, or a private frame with no other
 * user).  The TLBs and the windows follow it. */
GMM_HIDDEN int space_grant(gmm_space *s, const struct region *r, gmm_addr page, pte_t pte);
/* The guest's signal for a failed fault at addr. */
GMM_HIDDEN void fault_signal(enum fault_result res, gmm_addr addr, int access, gmm_fault *out);
GMM_HIDDEN void tlb_init(struct tlb *t);
/* Makes the page at addr present for access, as a fault would (caller
 * holds the space lock); false when the access is not allowed or memory
 * ran out. */
GMM_HIDDEN bool space_fault_in(gmm_space *s, gmm_addr addr, int access);
/* The same, as get_user_pages reports it: 0, -GMM_EFAULT (the access
 * faults: SIGSEGV or SIGBUS) or -GMM_ENOMEM. */
GMM_HIDDEN int space_fault(gmm_space *s, gmm_addr addr, int access);
/* Linux anon_vma_prepare(): gives private region r its anon identity. */
GMM_HIDDEN void anon_prepare(gmm_space *s, struct region *r);

/* ---- window.c: host windows ---- */
/* Translations of [start, end) of s changed: every window of s stops
 * mapping them before this returns.  Caller holds the space lock. */
GMM_HIDDEN void window_shootdown(gmm_space *s, gmm_addr start, gmm_addr end);
/* The space is being destroyed: its windows map nothing from now on. */
GMM_HIDDEN void window_detach_all(gmm_space *s);
/* For gmm_space_check: NULL or what a window of s breaks. */
GMM_HIDDEN const char *window_check_space(gmm_space *s);

/* ---- thread_tlb.c: gmm_translate's TLBs, one per calling thread ---- */
/* A new space id: never 0, never reused in the process. */
GMM_HIDDEN uint64_t space_new_id(void);
/* The calling thread's most recently used TLB (initial-exec: one load of
 * a thread pointer offset, so that the TLB-hit path makes no call). */
extern _Thread_local struct thread_tlb *gmm_thread_tlb
    __attribute__((visibility("hidden"), tls_model("initial-exec")));
/* The calling thread's TLB for s, made (or taken from another space) on
 * first use; NULL when out of memory. */
GMM_HIDDEN struct tlb *thread_tlb_slow(gmm_space *s);
static inline struct tlb *thread_tlb(gmm_space *s)
{
    struct thread_tlb *t = gmm_thread_tlb;
    if (likely(t && t->space_id == s->id))
        return &t->tlb;
    return thread_tlb_slow(s);
}

/* The calling thread's user-copy TLB for s, made on first use and caught
 * up with the invalidation log; NULL when out of memory. */
GMM_HIDDEN struct copy_tlb *thread_copy_tlb(gmm_space *s);

/* ---- copy_tlb.c: the user copies' TLBs ---- */
/* A new copy TLB, empty (host memory, committed as used); NULL when out
 * of memory.  copy_tlb_free(NULL) does nothing. */
GMM_HIDDEN struct copy_tlb *copy_tlb_new(void);
GMM_HIDDEN void copy_tlb_free(struct copy_tlb *c);
/* Drops every entry (cheap: a new generation). */
GMM_HIDDEN void copy_tlb_flush(struct copy_tlb *c);
/* Applies the invalidations of s that c has not seen yet.  Only c's
 * thread calls it. */
GMM_HIDDEN void copy_tlb_catch_up_slow(gmm_space *s, struct copy_tlb *c);
static inline void copy_tlb_catch_up(gmm_space *s, struct copy_tlb *c)
{
    if (unlikely(__atomic_load_n(&s->inval_seq, __ATOMIC_ACQUIRE) != c->seen))
        copy_tlb_catch_up_slow(s, c);
}
static inline struct copy_tlb_entry *copy_tlb_entry(struct copy_tlb *c, gmm_addr page)
{
    return &c->e[(page >> PAGE_SHIFT) & (COPY_TLB_SIZE - 1)];
}
/* Does entry e of c translate page for access (GMM_ACCESS_READ or
 * GMM_ACCESS_WRITE)? */
static inline bool copy_tlb_hit(const struct copy_tlb *c, const struct copy_tlb_entry *e,
                                gmm_addr page, int access)
{
    uint64_t want = COPY_TAG_R | COPY_TAG_W;
    uint64_t spare = (access & GMM_ACCESS_READ ? 0 : COPY_TAG_R) |
                     (access & GMM_ACCESS_WRITE ? 0 : COPY_TAG_W);
    return (e->tag | spare) == (page | (c->gen << COPY_GEN_SHIFT) | want);
}
/* Entry e now maps page to host with the accesses grant (GMM_ACCESS_*). */
static inline void copy_tlb_fill(struct copy_tlb *c, struct copy_tlb_entry *e, gmm_addr page,
                                 int grant, uint8_t *host)
{
    uint64_t bits = (grant & GMM_ACCESS_READ ? COPY_TAG_R : 0) |
                    (grant & GMM_ACCESS_WRITE ? COPY_TAG_W : 0);
    e->tag = bits ? page | (c->gen << COPY_GEN_SHIFT) | bits : 0;
    e->addend = (intptr_t)host - (intptr_t)page;
}

/* ---- objects (object.c) ---- */
GMM_HIDDEN struct gmm_fileref *fileref_get(gmm_system *sys, const gmm_file *f);
GMM_HIDDEN void fileref_hold(gmm_system *sys, struct gmm_fileref *fr);
GMM_HIDDEN void fileref_put(gmm_system *sys, struct gmm_fileref *fr);
GMM_HIDDEN struct gmm_object *object_new_shmem(gmm_system *sys, uint64_t size);
GMM_HIDDEN struct gmm_object *object_find_file(gmm_system *sys, uint64_t dev, uint64_t ino);
/* The page cache object of a file, made on first use (NULL: no memory). */
GMM_HIDDEN struct gmm_object *object_get_file(gmm_system *sys, const gmm_file *f,
                                              struct gmm_fileref *fr);
/* Region r maps o: counts it and links it into o's rmap.  Detaching the
 * last region writes back dirty pages and frees the object. */
GMM_HIDDEN void object_attach(gmm_system *sys, struct gmm_object *o, struct region *r);
GMM_HIDDEN void object_detach(gmm_system *sys, struct gmm_object *o, struct region *r);
/* The frame of page idx, read in through fr on first use, with one
 * reference for the caller: 0, -GMM_EFAULT (wholly beyond the end: SIGBUS;
 * or a read error) or -GMM_ENOMEM. */
GMM_HIDDEN int object_page(gmm_system *sys, struct gmm_object *o, struct gmm_fileref *fr,
                           uint64_t idx, frame_t *out);
GMM_HIDDEN bool object_page_dirty(struct gmm_object *o, uint64_t idx);
GMM_HIDDEN void object_mark_dirty(struct gmm_object *o, uint64_t idx);
/* Writes back the dirty pages of [first_page, first_page+npages): 0 or the
 * first -errno of the write callback. */
GMM_HIDDEN int object_writeback(gmm_system *sys, struct gmm_object *o, uint64_t first_page,
                                uint64_t npages, bool sync);
/* Reports to host->code_written every executable mapping, in every space,
 * of the bytes [lo, hi) of o (byte offsets in the object). */
GMM_HIDDEN void object_code_written(gmm_system *sys, struct gmm_object *o, uint64_t lo,
                                    uint64_t hi);

/* ---- sys_mlock.c ---- */
/* Linux __mm_populate(): faults in the pages of [start, end) region by
 * region, as mlock and MAP_POPULATE do: regions with VM_LOCKONFAULT are
 * skipped, private writable ones take write faults.  0, or the first
 * failure (-GMM_EFAULT, -GMM_ENOMEM); with ignore_errors a failure moves
 * on to the next region and 0 is returned. */
GMM_HIDDEN int space_populate(gmm_space *s, gmm_addr start, gmm_addr end, bool ignore_errors);

/* ---- accounting (vma.c's layer, inline: every mapping change counts) ---- */
/* Counted in data_vm (Linux is_data_mapping()). */
static inline bool vma_is_data(uint32_t flags)
{
    return (flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) == VM_WRITE;
}

/* Pages counted in total_vm / data_vm for a region's flags. */
static inline void vma_account(gmm_space *s, uint32_t flags, int64_t pages)
{
    /* update_hiwater_vm(): VmPeak is sampled before memory goes away. */
    if (pages < 0 && s->hiwater_vm < s->total_vm)
        s->hiwater_vm = s->total_vm;
    s->total_vm += (uint64_t)pages;
    /* vm_stat_account(): exec_vm counts VM_EXEC without VM_WRITE or
     * VM_STACK (VmExe + VmLib). */
    if ((flags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) == VM_EXEC)
        s->exec_vm += (uint64_t)pages;
    if (vma_is_data(flags))
        s->data_vm += (uint64_t)pages;
    if (flags & VM_GROWSDOWN)
        s->stack_vm += (uint64_t)pages;
    /* mm->locked_vm, which RLIMIT_MEMLOCK limits (mlock_future_ok()). */
    if (flags & VM_LOCKED)
        s->locked_vm += (uint64_t)pages;
}

/* thp_vma_suitable_order() for an anonymous region: does it hold a
 * 2 MiB-aligned range? */
static inline bool region_holds_huge_page(const struct region *r)
{
    return r->end >= PMD_SIZE && ((r->end - PMD_SIZE) & ~(PMD_SIZE - 1)) >= r->start;
}

/* ---- snapshot.c ---- */
/* Page numbers [lo, hi) of a space's page table changed (an entry set,
 * cleared or replaced, a translation shot down): recorded for the
 * restore of the live snapshots.  Never fails (a full log widens). */
GMM_HIDDEN void snap_log_note(struct snap_log *l, uint64_t lo, uint64_t hi);
/* A region of [start, end) was made, removed, moved or changed in place:
 * recorded for the restore of the live snapshots, which compares only the
 * regions around recorded ranges with the snapshot's. */
GMM_HIDDEN void snap_log_region(struct snap_log *l, gmm_addr start, gmm_addr end);
static inline void region_changed(gmm_space *s, const struct region *r)
{
    if (unlikely(s->pt.log))
        snap_log_region(s->pt.log, r->start, r->end);
}
/* gmm_space_destroy: frees the snapshots of s (their handles go stale). */
GMM_HIDDEN void snapshot_destroy_all(gmm_space *s);
/* gmm_space_check: calls count for every frame reference the snapshots of
 * s hold (page table entries, and the pages of objects that only
 * snapshots still hold); NULL or what the snapshots break. */
GMM_HIDDEN const char *snapshot_check(gmm_space *s, pt_visit_fn count, void *ctx);

/* ---- maps.c: the /proc texts ---- */
/* Text with snprintf semantics: what does not fit in cap is counted in len
 * but not stored. */
struct text {
    char *buf;
    size_t cap, len;
};
GMM_HIDDEN void text_put(struct text *t, const char *s, size_t n);
/* NUL-terminates the text when cap > 0; returns its full length. */
GMM_HIDDEN size_t text_finish(struct text *t);
/* The maps line of region r. */
GMM_HIDDEN void maps_show_region(gmm_space *s, const struct region *r, struct text *t);

/* x86 page tables: any access right implies read, but for pages under the
 * execute-only protection key. */
static inline bool vm_readable(uint32_t flags)
{
    return (flags & VM_ACCESS_FLAGS) != 0 && !(flags & VM_PKEY_EXEC);
}

/* Region flags for prot in space s (Linux calc_vm_prot_bits with the
 * execute-only pkey when prot is exactly PROT_EXEC). */
static inline uint32_t space_prot_bits(const gmm_space *s, int prot)
{
    return (prot & GMM_PROT_READ ? VM_READ : 0) | (prot & GMM_PROT_WRITE ? VM_WRITE : 0) |
           (prot & GMM_PROT_EXEC ? VM_EXEC : 0) |
           (s->execute_only && prot == GMM_PROT_EXEC ? VM_PKEY_EXEC : 0);
}

/* ---- locking helpers ---- */
/* A space is guarded by its system's mm lock: the spaces of one system
 * share frames, objects and the page cache, so one lock keeps cross-space
 * work (fork, file truncation, writeback, MAP_SHARED faults) simple and
 * safe; the CPU fast path takes no lock at all. */
static inline void space_lock(gmm_space *s) { pthread_mutex_lock(&s->sys->mm_lock); }
static inline void space_unlock(gmm_space *s) { pthread_mutex_unlock(&s->sys->mm_lock); }
static inline void sys_mm_lock(gmm_system *sys) { pthread_mutex_lock(&sys->mm_lock); }
static inline void sys_mm_unlock(gmm_system *sys) { pthread_mutex_unlock(&sys->mm_lock); }

/* access_ok() of an x86-64 kernel: a user range must not wrap and must end
 * at or below TASK_SIZE_MAX, whatever the task.  An i386 (compat) task is
 * checked against the same 64-bit limit, not its own task size, so a copy
 * that runs past the top of its 4 GiB is not refused up front: it copies
 * up to the first page that faults (every page at or above the task size
 * does), then fails. */
#define USER_PTR_MAX 0x7FFFFFFFF000ull
static inline bool user_range_ok(gmm_addr addr, uint64_t len)
{
    return addr <= USER_PTR_MAX && len <= USER_PTR_MAX - addr;
}

/* An i386 space sees 32-bit registers. */
static inline uint64_t space_arg(const gmm_space *s, uint64_t v)
{
    return s->abi == GMM_ABI_I386 ? (uint32_t)v : v;
}

#endif /* GMM_INTERNAL_H */
