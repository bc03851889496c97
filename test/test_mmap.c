/*
 * test_mmap.c - mmap, mmap2 and old_mmap on anonymous memory: argument
 * checks and their order, placement, flag semantics, content, and the
 * merge/split rules that show in the maps text (CONFORMANCE.md sections 1
 * and 12).
 *
 * Every expectation is what Linux (x86-64 kernel 6.18, i386 tasks as compat
 * tasks, ASLR off) returns for the same call sequence in an empty layout;
 * the address arithmetic is that of mm/mmap.c, mm/vma.c and
 * arch/x86/kernel/sys_x86_64.c, and the non-obvious cases were checked
 * with raw syscalls under `setarch -R` on x86-64 and on a static i386
 * binary.
 */
#include "testutil.h"

#define TASK64 0x7FFFFFFFF000ull
#define BASE64 0x7FFFF7FFF000ull
#define TASK32 0xFFFFE000ull
#define BASE32 0xF7FFE000ull
#define MB (1ull << 20)
#define THP (2 * MB)

/* ---- helpers ---- */

struct env {
    struct fault_log log;
    gmm_system *sys;
    gmm_space *s;
};

static void env_open(struct env *e, gmm_abi abi)
{
    e->sys = new_system(&e->log);
    e->s = new_space(e->sys, abi);
    CHECK(e->s);
}

static void env_close(struct env *e)
{
    CHECK(e->s);
    gmm_space_destroy(e->s);
    gmm_system_destroy(e->sys);
}

/* mmap(2) of anonymous memory (fd -1, offset 0), then the invariant check. */
static int64_t mm(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, addr, len, prot, flags, -1, 0);
    CHECK(s);
    return r;
}

static int64_t mm_fd_off(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags, int fd,
                         uint64_t off)
{
    int64_t r = gmm_sys_mmap(s, addr, len, prot, flags, fd, off);
    CHECK(s);
    return r;
}

static int64_t mm2(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags, int fd,
                   uint64_t pgoff)
{
    int64_t r = gmm_sys_mmap2(s, addr, len, prot, flags, fd, pgoff);
    CHECK(s);
    return r;
}

static int64_t unmap(gmm_space *s, gmm_addr addr, uint64_t len)
{
    int64_t r = gmm_sys_munmap(s, addr, len);
    CHECK(s);
    return r;
}

/* Concatenation of maps lines (NULL-terminated list). */
static const char *L(const char *first, ...)
{
    static char buf[4][8192];
    static int k;
    char *b = buf[k++ & 3];
    b[0] = '\0';
    va_list ap;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *))
        strcat(b, p);
    va_end(ap);
    return b;
}

/* A MAP_SHARED|MAP_ANONYMOUS line: Linux names it "/dev/zero (deleted)",
 * dev 00:01, and prints it padded to the name column (byte 73). */
static const char *shm_line(uint64_t start, uint64_t end, const char *perms, uint64_t off,
                            unsigned ino)
{
    static char line[8][160];
    static int i;
    char prefix[100];
    snprintf(prefix, sizeof(prefix), "%08llx-%08llx %s %08llx 00:01 %u ",
             (unsigned long long)start, (unsigned long long)end, perms,
             (unsigned long long)off, ino);
    char *l = line[i++ & 7];
    snprintf(l, 160, "%-72s %s\n", prefix, "/dev/zero (deleted)");
    return l;
}

static void fill(gmm_space *s, gmm_addr a, int byte, size_t n)
{
    static uint8_t buf[64 * 1024];
    assert_true(n <= sizeof(buf));
    memset(buf, byte, n);
    assert_int_equal(gmm_write(s, a, buf, n), 0);
    CHECK(s);
}

static void expect_bytes(gmm_space *s, gmm_addr a, int byte, size_t n)
{
    static uint8_t buf[64 * 1024];
    assert_true(n <= sizeof(buf));
    memset(buf, ~byte, n);
    assert_int_equal(gmm_read(s, a, buf, n), 0);
    CHECK(s);
    for (size_t i = 0; i < n; i++)
        if (buf[i] != (uint8_t)byte)
            fail_msg("byte at %#llx is %#x, expected %#x", (unsigned long long)(a + i), buf[i],
                     (unsigned)(uint8_t)byte);
}

static size_t maps_lines(gmm_space *s)
{
    size_t n = gmm_space_maps(s, NULL, 0);
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(gmm_space_maps(s, buf, n + 1), n);
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    free(buf);
    return lines;
}

/* ======================================================================
 * 1.1 Argument validation and check order
 * ====================================================================== */

static void mmap_len_zero_is_einval(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        assert_int_equal(mm(e.s, 0, 0, RW, ANON_PRIV), -GMM_EINVAL);
        assert_int_equal(mm(e.s, 0x30000000, 0, RW, ANON_PRIV | GMM_MAP_FIXED), -GMM_EINVAL);
        assert_int_equal(mm(e.s, 0, 0, RW, ANON_SHARED), -GMM_EINVAL);
        assert_int_equal(mm2(e.s, 0, 0, RW, ANON_PRIV, -1, 0), -GMM_EINVAL);
        ASSERT_MAPS(e.s, "");
        env_close(&e);
    }
}

static void mmap_len_round_up_wraps_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* PAGE_ALIGN(len) wraps to 0: ENOMEM, not EINVAL. */
    assert_int_equal(mm(e.s, 0, UINT64_MAX - 4094, RW, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, UINT64_MAX, RW, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, UINT64_MAX - 4095, RW, ANON_PRIV), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_len_above_task_size_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, 1ull << 47, GMM_PROT_NONE, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, TASK64 + 1, GMM_PROT_NONE, ANON_PRIV), -GMM_ENOMEM);
    /* As long as the task, it cannot fit above mmap_min_addr. */
    assert_int_equal(mm(e.s, 0, TASK64, GMM_PROT_NONE, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0x10000, 1ull << 47, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_FIXED),
                     -GMM_ENOMEM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, 0, 0xFFFFF000, GMM_PROT_NONE, ANON_PRIV), -GMM_ENOMEM);
    /* 0xFFFFFFFF rounds up to 4 GiB on the 64-bit kernel: no wrap. */
    assert_int_equal(mm(e.s, 0, 0xFFFFFFFF, GMM_PROT_NONE, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, TASK32, GMM_PROT_NONE, ANON_PRIV), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_type_zero_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_ANONYMOUS), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_ANONYMOUS | GMM_MAP_POPULATE), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, GMM_MAP_ANONYMOUS | GMM_MAP_FIXED), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_shared_validate_anonymous_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int sv = GMM_MAP_SHARED_VALIDATE | GMM_MAP_ANONYMOUS;
    assert_int_equal(mm(e.s, 0, PG, RW, sv), -GMM_EINVAL);
    /* Anonymous memory never reaches the EOPNOTSUPP flag validation. */
    assert_int_equal(mm(e.s, 0, PG, RW, sv | 0x400), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0, PG, RW, sv | GMM_MAP_SYNC), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_invalid_map_types_are_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    for (int t = 0; t <= GMM_MAP_TYPE; t++) {
        if (t == GMM_MAP_SHARED || t == GMM_MAP_PRIVATE || t == GMM_MAP_DROPPABLE)
            continue;
        assert_int_equal(mm(e.s, 0, PG, RW, t | GMM_MAP_ANONYMOUS), -GMM_EINVAL);
    }
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_shared_anonymous_ignores_unknown_flag_bits(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_SHARED | 0x400), BASE64 - PG);
    ASSERT_MAPS(e.s, shm_line(BASE64 - PG, BASE64, "rw-s", 0, 1024));
    env_close(&e);
}

static void mmap_private_anonymous_ignores_unknown_flag_bits(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | 0x200 | 0x400 | 0x800000 | 0x1000000),
                     BASE64 - 2 * PG);
    /* Nothing of them reaches the region: it merges with a plain one. */
    ASSERT_MAPS(e.s, anon_line(BASE64 - 2 * PG, BASE64, "rw-p"));
    env_close(&e);
}

static void mmap_ignored_legacy_flags_are_accepted(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    static const int flags[] = {GMM_MAP_FILE,         GMM_MAP_DENYWRITE, GMM_MAP_EXECUTABLE,
                                GMM_MAP_UNINITIALIZED, GMM_MAP_NONBLOCK,  GMM_MAP_POPULATE,
                                GMM_MAP_DENYWRITE | GMM_MAP_EXECUTABLE | GMM_MAP_NONBLOCK};
    gmm_addr expect = BASE64;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        expect -= PG;
        assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | flags[i]), expect);
        expect_bytes(e.s, expect, 0, PG);
    }
    /* All of them merged with each other: the flags left no trace. */
    ASSERT_MAPS(e.s, anon_line(expect, BASE64, "rw-p"));
    env_close(&e);
}

static void mmap_unaligned_offset_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, -1, 1), -GMM_EINVAL);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, -1, 0x800), -GMM_EINVAL);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_SHARED, -1, PG + 1), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, -1, 1), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_unaligned_offset_checked_before_length(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* sys_mmap checks the offset before do_mmap sees the length. */
    assert_int_equal(mm_fd_off(e.s, 0, 0, RW, ANON_PRIV, -1, 1), -GMM_EINVAL);
    assert_int_equal(mm_fd_off(e.s, 0, UINT64_MAX - 4094, RW, ANON_PRIV, -1, 1), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_unaligned_offset_checked_before_fd(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, GMM_MAP_PRIVATE, 999, 1), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_bad_fd_is_ebadf_before_length_and_type_checks(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, GMM_MAP_PRIVATE, 999, 0), -GMM_EBADF);
    assert_int_equal(mm_fd_off(e.s, 0, 0, RW, GMM_MAP_PRIVATE, 999, 0), -GMM_EBADF);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, 0, 999, 0), -GMM_EBADF);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, GMM_MAP_PRIVATE | GMM_MAP_HUGETLB, -1, 0),
                     -GMM_EBADF);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_anonymous_ignores_fd_and_offset(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, 999, 0x7000), BASE64 - PG);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, 3, UINT64_MAX - 4095), BASE64 - 2 * PG);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, -1, 0), BASE64 - 3 * PG);
    /* Private anonymous pgoff comes from the address: all three merge and
     * the maps offset is 0. */
    ASSERT_MAPS(e.s, anon_line(BASE64 - 3 * PG, BASE64, "rw-p"));
    env_close(&e);
}

static void mmap_shared_anonymous_offset_is_ignored(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_SHARED, -1, 5 * PG), BASE64 - PG);
    ASSERT_MAPS(e.s, shm_line(BASE64 - PG, BASE64, "rw-s", 0, 1024));
    env_close(&e);
}

static void mmap_unknown_prot_bits_are_ignored(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ | 0x10, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ | GMM_PROT_SEM, ANON_PRIV), BASE64 - 2 * PG);
    /* PROT_GROWSDOWN means nothing to mmap: no grows-down region. */
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ | GMM_PROT_GROWSDOWN, ANON_PRIV),
                     BASE64 - 3 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ | GMM_PROT_GROWSUP, ANON_PRIV), BASE64 - 4 * PG);
    assert_int_equal(mm(e.s, 0, PG, -1, ANON_PRIV), BASE64 - 5 * PG);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 5 * PG, BASE64 - 4 * PG, "rwxp"),
                       anon_line(BASE64 - 4 * PG, BASE64, "r--p"), NULL));
    env_close(&e);
}

static void mmap_length_checked_before_fixed_alignment(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x30000001, UINT64_MAX - 4094, RW, ANON_PRIV | GMM_MAP_FIXED),
                     -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0x30000001, 0, RW, ANON_PRIV | GMM_MAP_FIXED), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_fixed_noreplace_conflict_checked_before_type_checks(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x30000000;
    assert_int_equal(mm(e.s, x, 16 * PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    int nr = GMM_MAP_FIXED_NOREPLACE;
    assert_int_equal(mm(e.s, x, PG, RW, GMM_MAP_ANONYMOUS | nr), -GMM_EEXIST);
    assert_int_equal(mm(e.s, x, PG, RW, GMM_MAP_SHARED_VALIDATE | GMM_MAP_ANONYMOUS | nr),
                     -GMM_EEXIST);
    assert_int_equal(mm(e.s, x, PG, RW, ANON_SHARED | GMM_MAP_GROWSDOWN | nr), -GMM_EEXIST);
    assert_int_equal(
        mm(e.s, x, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS | GMM_MAP_LOCKED | nr),
        -GMM_EEXIST);
    ASSERT_MAPS(e.s, anon_line(x, x + 16 * PG, "rw-p"));
    env_close(&e);
}

static void mmap_fixed_range_checked_before_type_checks(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, UINT64_MAX - 4095, PG, RW, GMM_MAP_ANONYMOUS | GMM_MAP_FIXED),
                     -GMM_ENOMEM);
    /* security_mmap_addr() runs inside get_unmapped_area, before the
     * type switch of do_mmap. */
    assert_int_equal(mm(e.s, 0x1000, PG, RW, GMM_MAP_ANONYMOUS | GMM_MAP_FIXED), -GMM_EPERM);
    assert_int_equal(mm(e.s, 0x1000, PG, RW, ANON_SHARED | GMM_MAP_GROWSDOWN | GMM_MAP_FIXED),
                     -GMM_EPERM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

/* ======================================================================
 * 1.2 Placement
 * ====================================================================== */

static void mmap_fixed_returns_exact_address(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV | GMM_MAP_FIXED), 0x30000000);
        ASSERT_MAPS(e.s, anon_line(0x30000000, 0x30001000, "rw-p"));
        env_close(&e);
    }
}

static void mmap_fixed_high_address_x86_64(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x300000000000, PG, RW, ANON_PRIV | GMM_MAP_FIXED), 0x300000000000);
    ASSERT_MAPS(e.s, anon_line(0x300000000000, 0x300000001000, "rw-p"));
    env_close(&e);
}

static void mmap_fixed_replaces_existing_mapping(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x30000000;
    assert_int_equal(mm(e.s, x, 3 * PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    fill(e.s, x, 0xAA, 3 * PG);
    assert_int_equal(mm(e.s, x + PG, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_FIXED), x + PG);
    ASSERT_MAPS(e.s, L(anon_line(x, x + PG, "rw-p"), anon_line(x + PG, x + 2 * PG, "r--p"),
                       anon_line(x + 2 * PG, x + 3 * PG, "rw-p"), NULL));
    expect_bytes(e.s, x, 0xAA, PG);
    expect_bytes(e.s, x + PG, 0, PG);
    expect_bytes(e.s, x + 2 * PG, 0xAA, PG);
    env_close(&e);
}

static void mmap_fixed_replaces_several_mappings_and_holes(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x30000000;
    assert_int_equal(mm(e.s, x, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    assert_int_equal(mm(e.s, x + 2 * PG, PG, GMM_PROT_READ, ANON_SHARED | GMM_MAP_FIXED),
                     x + 2 * PG);
    fill(e.s, x, 0x11, PG);
    assert_int_equal(mm(e.s, x, 4 * PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    ASSERT_MAPS(e.s, anon_line(x, x + 4 * PG, "rw-p"));
    expect_bytes(e.s, x, 0, 4 * PG);
    env_close(&e);
}

static void mmap_fixed_top_page_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int f = ANON_PRIV | GMM_MAP_FIXED;
    assert_int_equal(mm(e.s, UINT64_MAX - 4095, PG, RW, f), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, TASK64, PG, RW, f), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, TASK64 - PG, 2 * PG, RW, f), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 1ull << 47, PG, RW, f), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, TASK64 - PG, 2 * PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE),
                     -GMM_ENOMEM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, 0xFFFFF000, PG, RW, f), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, TASK32, PG, RW, f), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, TASK32 - PG, 2 * PG, RW, f), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_fixed_last_page_below_task_size_succeeds(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, TASK64 - PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), TASK64 - PG);
    ASSERT_MAPS(e.s, anon_line(TASK64 - PG, TASK64, "rw-p"));
    fill(e.s, TASK64 - PG, 0x77, PG);
    expect_bytes(e.s, TASK64 - PG, 0x77, PG);
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, TASK32 - PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), TASK32 - PG);
    ASSERT_MAPS(e.s, anon_line(TASK32 - PG, TASK32, "rw-p"));
    env_close(&e);
}

static void mmap_fixed_unaligned_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x30000001, PG, RW, ANON_PRIV | GMM_MAP_FIXED), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0x30000800, PG, RW, ANON_PRIV | GMM_MAP_FIXED), -GMM_EINVAL);
    /* Alignment is checked before mmap_min_addr. */
    assert_int_equal(mm(e.s, 0x1001, PG, RW, ANON_PRIV | GMM_MAP_FIXED), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_fixed_noreplace_unaligned_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV | GMM_MAP_FIXED), 0x30000000);
    /* EINVAL, not EEXIST, even over an existing mapping. */
    assert_int_equal(mm(e.s, 0x30000001, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE),
                     -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0x40000001, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE),
                     -GMM_EINVAL);
    ASSERT_MAPS(e.s, anon_line(0x30000000, 0x30001000, "rw-p"));
    env_close(&e);
}

static void mmap_fixed_below_mmap_min_addr_is_eperm(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        int f = ANON_PRIV | GMM_MAP_FIXED;
        assert_int_equal(mm(e.s, 0, PG, RW, f), -GMM_EPERM);
        assert_int_equal(mm(e.s, 0x1000, PG, RW, f), -GMM_EPERM);
        assert_int_equal(mm(e.s, 0xF000, PG, RW, f), -GMM_EPERM);
        assert_int_equal(mm(e.s, 0xF000, 2 * PG, RW, f), -GMM_EPERM);
        assert_int_equal(mm(e.s, 0, THP, RW, f), -GMM_EPERM);
        assert_int_equal(mm(e.s, 0x1000, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE), -GMM_EPERM);
        ASSERT_MAPS(e.s, "");
        /* mmap_min_addr itself is allowed. */
        assert_int_equal(mm(e.s, 0x10000, PG, RW, f), 0x10000);
        ASSERT_MAPS(e.s, anon_line(0x10000, 0x11000, "rw-p"));
        env_close(&e);
    }
}

static void mmap_hint_unaligned_is_rounded_down(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        assert_int_equal(mm(e.s, 0x30000001, PG, RW, ANON_PRIV), 0x30000000);
        assert_int_equal(mm(e.s, 0x30001FFF, PG, RW, ANON_PRIV), 0x30001000);
        ASSERT_MAPS(e.s, anon_line(0x30000000, 0x30002000, "rw-p"));
        env_close(&e);
    }
}

static void mmap_hint_free_is_used(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV), 0x30000000);
    assert_int_equal(mm(e.s, 0x300000000000, PG, RW, ANON_PRIV), 0x300000000000);
    /* The highest page of the task is a valid hint. */
    assert_int_equal(mm(e.s, TASK64 - PG, PG, RW, ANON_PRIV), TASK64 - PG);
    ASSERT_MAPS(e.s, L(anon_line(0x30000000, 0x30001000, "rw-p"),
                       anon_line(0x300000000000, 0x300000001000, "rw-p"),
                       anon_line(TASK64 - PG, TASK64, "rw-p"), NULL));
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV), 0x30000000);
    assert_int_equal(mm(e.s, TASK32 - PG, PG, RW, ANON_PRIV), TASK32 - PG);
    ASSERT_MAPS(e.s, L(anon_line(0x30000000, 0x30001000, "rw-p"),
                       anon_line(TASK32 - PG, TASK32, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_hint_occupied_falls_back_to_topdown(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV | GMM_MAP_FIXED), 0x30000000);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV), BASE64 - PG);
    ASSERT_MAPS(e.s, L(anon_line(0x30000000, 0x30001000, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV | GMM_MAP_FIXED), 0x30000000);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV), BASE32 - PG);
    ASSERT_MAPS(e.s, L(anon_line(0x30000000, 0x30001000, "rw-p"),
                       anon_line(BASE32 - PG, BASE32, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_hint_partially_occupied_falls_back_to_topdown(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x30001000, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_FIXED),
                     0x30001000);
    assert_int_equal(mm(e.s, 0x30000000, 2 * PG, RW, ANON_PRIV), BASE64 - 2 * PG);
    ASSERT_MAPS(e.s, L(anon_line(0x30001000, 0x30002000, "r--p"),
                       anon_line(BASE64 - 2 * PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_hint_below_mmap_min_addr_is_raised(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        /* round_hint_to_min(): a non-zero hint below mmap_min_addr
         * becomes mmap_min_addr. */
        assert_int_equal(mm(e.s, 0x1000, PG, RW, ANON_PRIV), 0x10000);
        assert_int_equal(unmap(e.s, 0x10000, PG), 0);
        assert_int_equal(mm(e.s, 0xFFFF, PG, RW, ANON_PRIV), 0x10000);
        assert_int_equal(unmap(e.s, 0x10000, PG), 0);
        assert_int_equal(mm(e.s, 0x8000, 0x10000, RW, ANON_PRIV), 0x10000);
        ASSERT_MAPS(e.s, anon_line(0x10000, 0x20000, "rw-p"));
        env_close(&e);
    }
}

static void mmap_hint_in_first_page_is_ignored(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* It rounds down to 0: no hint at all. */
    assert_int_equal(mm(e.s, 0x800, PG, RW, ANON_PRIV), BASE64 - PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - PG, BASE64, "rw-p"));
    env_close(&e);
}

static void mmap_hint_beyond_task_size_is_ignored(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, TASK64, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, TASK64 - PG, 2 * PG, RW, ANON_PRIV), BASE64 - 3 * PG);
    assert_int_equal(mm(e.s, 1ull << 47, PG, RW, ANON_PRIV), BASE64 - 4 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - 4 * PG, BASE64, "rw-p"));
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, TASK32, PG, RW, ANON_PRIV), BASE32 - PG);
    assert_int_equal(mm(e.s, TASK32 - PG, 2 * PG, RW, ANON_PRIV), BASE32 - 3 * PG);
    assert_int_equal(mm(e.s, 0xFFFFF000, PG, RW, ANON_PRIV), BASE32 - 4 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE32 - 4 * PG, BASE32, "rw-p"));
    env_close(&e);
}

static void mmap_hint_inside_stack_guard_gap_is_ignored(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr g = 0x40000000;
    assert_int_equal(mm(e.s, g, PG, RW, ANON_PRIV | GMM_MAP_FIXED | GMM_MAP_GROWSDOWN), g);
    /* vm_start_gap(): the 256 pages below a grows-down region are not
     * free for a hint. */
    assert_int_equal(mm(e.s, g - PG, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, g - MB, PG, RW, ANON_PRIV), BASE64 - 2 * PG);
    assert_int_equal(mm(e.s, g - MB - PG, PG, RW, ANON_PRIV), g - MB - PG);
    ASSERT_MAPS(e.s, L(anon_line(g - MB - PG, g - MB, "rw-p"), anon_line(g, g + PG, "rw-p"),
                       anon_line(BASE64 - 2 * PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_fixed_noreplace_inside_stack_guard_gap_succeeds(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr g = 0x40000000;
    assert_int_equal(mm(e.s, g, PG, RW, ANON_PRIV | GMM_MAP_FIXED | GMM_MAP_GROWSDOWN), g);
    assert_int_equal(mm(e.s, g - PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE), g - PG);
    /* A grows-down region never merges with a plain neighbour. */
    ASSERT_MAPS(e.s, L(anon_line(g - PG, g, "rw-p"), anon_line(g, g + PG, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_topdown_leaves_stack_guard_gap_below_growsdown(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG - MB - PG);
    /* Above a grows-down region no gap is kept. */
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 2 * PG - MB, BASE64 - PG - MB, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN), BASE32 - PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE32 - PG - MB - PG);
    ASSERT_MAPS(e.s, L(anon_line(BASE32 - 2 * PG - MB, BASE32 - PG - MB, "rw-p"),
                       anon_line(BASE32 - PG, BASE32, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_fixed_noreplace_empty_returns_exact_address(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x30000000, 2 * PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE),
                     0x30000000);
    ASSERT_MAPS(e.s, anon_line(0x30000000, 0x30002000, "rw-p"));
    env_close(&e);
}

/* 16 written pages at 0x30000000 for the FIXED_NOREPLACE conflicts. */
static gmm_addr noreplace_victim(struct env *e)
{
    const gmm_addr x = 0x30000000;
    assert_int_equal(mm(e->s, x, 16 * PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    fill(e->s, x, 0x5A, 16 * PG);
    return x;
}

static void noreplace_victim_intact(struct env *e, gmm_addr x)
{
    ASSERT_MAPS(e->s, anon_line(x, x + 16 * PG, "rw-p"));
    expect_bytes(e->s, x, 0x5A, 16 * PG);
}

static void mmap_fixed_noreplace_over_existing_is_eexist(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    gmm_addr x = noreplace_victim(&e);
    assert_int_equal(mm(e.s, x, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE), -GMM_EEXIST);
    assert_int_equal(mm(e.s, x, 16 * PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE), -GMM_EEXIST);
    noreplace_victim_intact(&e, x);
    env_close(&e);
}

static void mmap_fixed_noreplace_partial_overlap_is_eexist(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    gmm_addr x = noreplace_victim(&e);
    /* Overlapping the first page from below, the last page from above. */
    assert_int_equal(mm(e.s, x - PG, 2 * PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE),
                     -GMM_EEXIST);
    assert_int_equal(mm(e.s, x + 15 * PG, 2 * PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE),
                     -GMM_EEXIST);
    noreplace_victim_intact(&e, x);
    env_close(&e);
}

static void mmap_fixed_noreplace_contained_is_eexist(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    gmm_addr x = noreplace_victim(&e);
    assert_int_equal(mm(e.s, x + PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE), -GMM_EEXIST);
    assert_int_equal(mm(e.s, x + 15 * PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE),
                     -GMM_EEXIST);
    noreplace_victim_intact(&e, x);
    env_close(&e);
}

static void mmap_fixed_noreplace_containing_is_eexist(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    gmm_addr x = noreplace_victim(&e);
    assert_int_equal(mm(e.s, x - PG, 18 * PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE),
                     -GMM_EEXIST);
    noreplace_victim_intact(&e, x);
    env_close(&e);
}

static void mmap_fixed_noreplace_adjacent_below_and_above_succeeds(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    gmm_addr x = noreplace_victim(&e);
    assert_int_equal(mm(e.s, x - PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE), x - PG);
    assert_int_equal(mm(e.s, x + 16 * PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE),
                     x + 16 * PG);
    ASSERT_MAPS(e.s, anon_line(x - PG, x + 17 * PG, "rw-p"));
    expect_bytes(e.s, x - PG, 0, PG);
    expect_bytes(e.s, x, 0x5A, 16 * PG);
    expect_bytes(e.s, x + 16 * PG, 0, PG);
    env_close(&e);
}

static void mmap_fixed_with_fixed_noreplace_over_existing_is_eexist(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    gmm_addr x = noreplace_victim(&e);
    assert_int_equal(
        mm(e.s, x + PG, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_FIXED | GMM_MAP_FIXED_NOREPLACE),
        -GMM_EEXIST);
    noreplace_victim_intact(&e, x);
    env_close(&e);
}

static void mmap_32bit_x86_64_is_placed_bottom_up_from_1gib(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int f = ANON_PRIV | GMM_MAP_32BIT;
    assert_int_equal(mm(e.s, 0, PG, RW, f), 0x40000000);
    assert_int_equal(mm(e.s, 0, PG, RW, f), 0x40001000);
    assert_int_equal(mm(e.s, 0, 3 * PG, GMM_PROT_READ, f), 0x40002000);
    ASSERT_MAPS(e.s, L(anon_line(0x40000000, 0x40002000, "rw-p"),
                       anon_line(0x40002000, 0x40005000, "r--p"), NULL));
    env_close(&e);
}

static void mmap_32bit_x86_64_2mib_length_is_thp_aligned(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int f = ANON_PRIV | GMM_MAP_32BIT;
    /* The bottom-up fit of len + 2 MiB is at 0x40001000: rounded up. */
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, f), 0x40000000);
    assert_int_equal(mm(e.s, 0, THP, RW, f), 0x40200000);
    /* A fit that is aligned already (0x40400000) is moved up by 2 MiB,
     * because the mm itself is top-down (MMF_TOPDOWN). */
    assert_int_equal(mm(e.s, 0, THP, GMM_PROT_NONE, f), 0x40600000);
    ASSERT_MAPS(e.s, L(anon_line(0x40000000, 0x40001000, "r--p"),
                       anon_line(0x40200000, 0x40400000, "rw-p"),
                       anon_line(0x40600000, 0x40800000, "---p"), NULL));
    env_close(&e);

    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, THP, RW, f), 0x40200000);
    ASSERT_MAPS(e.s, anon_line(0x40200000, 0x40400000, "rw-p"));
    env_close(&e);
}

static void mmap_32bit_x86_64_hint_below_window_is_used(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* arch_get_unmapped_area() takes a free hint up to the window end. */
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV | GMM_MAP_32BIT), 0x30000000);
    assert_int_equal(mm(e.s, 0x50000000, PG, RW, ANON_PRIV | GMM_MAP_32BIT), 0x50000000);
    ASSERT_MAPS(e.s, L(anon_line(0x30000000, 0x30001000, "rw-p"),
                       anon_line(0x50000000, 0x50001000, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_32bit_x86_64_hint_above_window_is_ignored(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x90000000, PG, RW, ANON_PRIV | GMM_MAP_32BIT), 0x40000000);
    /* The hint range must end inside the window. */
    assert_int_equal(mm(e.s, 0x7FFFF000, 2 * PG, RW, ANON_PRIV | GMM_MAP_32BIT), 0x40001000);
    assert_int_equal(mm(e.s, 0x7FFFF000, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_32BIT),
                     0x7FFFF000);
    ASSERT_MAPS(e.s, L(anon_line(0x40000000, 0x40003000, "rw-p"),
                       anon_line(0x7FFFF000, 0x80000000, "r--p"), NULL));
    env_close(&e);
}

static void mmap_32bit_x86_64_with_fixed_is_ignored(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x100000000, PG, RW, ANON_PRIV | GMM_MAP_32BIT | GMM_MAP_FIXED),
                     0x100000000);
    ASSERT_MAPS(e.s, anon_line(0x100000000, 0x100001000, "rw-p"));
    env_close(&e);
}

static void mmap_32bit_x86_64_window_full_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int f = ANON_PRIV | GMM_MAP_32BIT;
    assert_int_equal(mm(e.s, 0, 0x40001000, GMM_PROT_NONE, f), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0x40000000, 0x40000000, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_FIXED),
                     0x40000000);
    /* No fallback outside the window, although all above is free. */
    assert_int_equal(mm(e.s, 0, PG, RW, f), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, anon_line(0x40000000, 0x80000000, "---p"));
    env_close(&e);
}

static void mmap_32bit_i386_is_ignored(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_32BIT), BASE32 - PG);
    assert_int_equal(mm(e.s, 0, THP, GMM_PROT_READ, ANON_PRIV | GMM_MAP_32BIT),
                     BASE32 - PG - THP);
    ASSERT_MAPS(e.s, L(anon_line(BASE32 - PG - THP, BASE32 - PG, "r--p"),
                       anon_line(BASE32 - PG, BASE32, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_thp_x86_64_2mib_multiple_length_is_2mib_aligned(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* Search for len + 2 MiB below mmap_base (0x7ffff7bff000), round up. */
    assert_int_equal(mm(e.s, 0, THP, RW, ANON_PRIV), 0x7FFFF7C00000);
    /* 0x7ffff7600000 is aligned already: the top-down mm adds 2 MiB. */
    assert_int_equal(mm(e.s, 0, 2 * THP, RW, ANON_PRIV), 0x7FFFF7800000);
    /* The gap left above the first one is used by small mappings. */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    ASSERT_MAPS(e.s, L(anon_line(0x7FFFF7800000, 0x7FFFF7E00000, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_thp_x86_64_not_for_other_lengths(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, 3 * MB, RW, ANON_PRIV), BASE64 - 3 * MB);
    assert_int_equal(mm(e.s, 0, THP + PG, RW, ANON_PRIV), BASE64 - 3 * MB - THP - PG);
    assert_int_equal(mm(e.s, 0, MB, RW, ANON_PRIV), BASE64 - 4 * MB - THP - PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - 4 * MB - THP - PG, BASE64, "rw-p"));
    env_close(&e);
}

static void mmap_thp_x86_64_not_with_hint(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x30001000, THP, RW, ANON_PRIV), 0x30001000);
    /* An unusable hint still disables the alignment. */
    assert_int_equal(mm(e.s, 0x30001000, THP, RW, ANON_PRIV), BASE64 - THP);
    ASSERT_MAPS(e.s, L(anon_line(0x30001000, 0x30201000, "rw-p"),
                       anon_line(BASE64 - THP, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_thp_x86_64_not_for_shared(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* Shared anonymous memory is placed by shmem (huge pages off). */
    assert_int_equal(mm(e.s, 0, THP, RW, ANON_SHARED), BASE64 - THP);
    ASSERT_MAPS(e.s, shm_line(BASE64 - THP, BASE64, "rw-s", 0, 1024));
    env_close(&e);
}

static void mmap_thp_x86_64_applies_to_every_private_kind(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, THP, RW, ANON_PRIV | GMM_MAP_STACK), 0x7FFFF7C00000);
    assert_int_equal(mm(e.s, 0, THP, RW, ANON_PRIV | GMM_MAP_NORESERVE), 0x7FFFF7A00000);
    assert_int_equal(mm(e.s, 0, THP, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS), 0x7FFFF7800000);
    assert_int_equal(mm(e.s, 0, THP, RW, ANON_PRIV | GMM_MAP_GROWSDOWN), 0x7FFFF7600000);
    /* Below the grows-down one: its guard gap, then round up. */
    assert_int_equal(mm(e.s, 0, THP, GMM_PROT_NONE, ANON_PRIV), 0x7FFFF7200000);
    /* None of them merge: their flags all differ. */
    ASSERT_MAPS(e.s, L(anon_line(0x7FFFF7200000, 0x7FFFF7400000, "---p"),
                       anon_line(0x7FFFF7600000, 0x7FFFF7800000, "rw-p"),
                       anon_line(0x7FFFF7800000, 0x7FFFF7A00000, "rw-p"),
                       anon_line(0x7FFFF7A00000, 0x7FFFF7C00000, "rw-p"),
                       anon_line(0x7FFFF7C00000, 0x7FFFF7E00000, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_thp_x86_64_ignores_anonymous_offset(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* __get_unmapped_area() treats pgoff as 0 for anonymous memory. */
    assert_int_equal(mm_fd_off(e.s, 0, 2 * THP, RW, ANON_PRIV, -1, PG), 0x7FFFF7A00000);
    assert_int_equal(mm_fd_off(e.s, 0, THP, GMM_PROT_READ, ANON_PRIV, -1, PG), 0x7FFFF7800000);
    ASSERT_MAPS(e.s, L(anon_line(0x7FFFF7800000, 0x7FFFF7A00000, "r--p"),
                       anon_line(0x7FFFF7A00000, 0x7FFFF7E00000, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_thp_i386_is_not_applied(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, 0, THP, RW, ANON_PRIV), BASE32 - THP);
    assert_int_equal(mm(e.s, 0, 2 * THP, GMM_PROT_READ, ANON_PRIV), BASE32 - 3 * THP);
    ASSERT_MAPS(e.s, L(anon_line(BASE32 - 3 * THP, BASE32 - THP, "r--p"),
                       anon_line(BASE32 - THP, BASE32, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_beyond_max_map_count_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr base = 0x100000000;
    /* 65530 regions (vm.max_map_count): one of 3 pages, the rest single
     * pages with a hole between each. */
    assert_int_equal(mm(e.s, base, 3 * PG, RW, ANON_PRIV | GMM_MAP_FIXED), base);
    for (uint64_t i = 1; i < 65530; i++) {
        int64_t r = gmm_sys_mmap(e.s, base + 2 * i * PG + 2 * PG, PG, RW,
                                 ANON_PRIV | GMM_MAP_FIXED_NOREPLACE, -1, 0);
        if (r != (int64_t)(base + 2 * i * PG + 2 * PG))
            fail_msg("region %llu: %lld", (unsigned long long)i, (long long)r);
    }
    CHECK(e.s);
    assert_int_equal(maps_lines(e.s), 65530);
    /* Replacing the middle of a region would split it: refused. */
    assert_int_equal(mm(e.s, base + PG, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_FIXED),
                     -GMM_ENOMEM);
    /* do_mmap refuses only when map_count > max: one more is allowed. */
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV | GMM_MAP_FIXED), 0x30000000);
    assert_int_equal(maps_lines(e.s), 65531);
    assert_int_equal(mm(e.s, 0x40000000, PG, RW, ANON_PRIV | GMM_MAP_FIXED), -GMM_ENOMEM);
    /* Even a mapping that would merge into its neighbour. */
    assert_int_equal(mm(e.s, 0x30001000, PG, RW, ANON_PRIV | GMM_MAP_FIXED), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(maps_lines(e.s), 65531);
    expect_bytes(e.s, base, 0, 3 * PG);
    env_close(&e);
}

/* ======================================================================
 * 1.3 Flag semantics
 * ====================================================================== */

static void mmap_stack_is_accepted(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, 4 * PG, RW, ANON_PRIV | GMM_MAP_STACK), BASE64 - 4 * PG);
    expect_bytes(e.s, BASE64 - 4 * PG, 0, 4 * PG);
    fill(e.s, BASE64 - 4 * PG, 0x42, 4 * PG);
    expect_bytes(e.s, BASE64 - 4 * PG, 0x42, 4 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - 4 * PG, BASE64, "rw-p"));
    env_close(&e);
}

static void mmap_stack_does_not_merge_with_plain_neighbour(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* MAP_STACK sets VM_NOHUGEPAGE (Linux 6.7+): the flags differ. */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_STACK), BASE64 - 2 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_STACK), BASE64 - 3 * PG);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 3 * PG, BASE64 - PG, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_noreserve_reads_zero_and_is_writable(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const uint64_t len = 10 * MB;
    /* A multiple of 2 MiB: THP-aligned below mmap_base. */
    int64_t a = mm(e.s, 0, len, RW, ANON_PRIV | GMM_MAP_NORESERVE);
    assert_int_equal(a, 0x7FFFF7400000);
    for (uint64_t off = 0; off < len; off += 64 * PG) {
        expect_bytes(e.s, (gmm_addr)a + off, 0, PG);
        fill(e.s, (gmm_addr)a + off, (int)(off >> 18) + 1, PG);
    }
    for (uint64_t off = 0; off < len; off += 64 * PG)
        expect_bytes(e.s, (gmm_addr)a + off, (int)(off >> 18) + 1, PG);
    expect_bytes(e.s, (gmm_addr)a + len - PG, 0, PG);
    ASSERT_MAPS(e.s, anon_line(0x7FFFF7400000, 0x7FFFF7E00000, "rw-p"));
    env_close(&e);
}

static void mmap_noreserve_does_not_merge_with_plain_neighbour(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* VM_NORESERVE differs (and VM_ACCOUNT for writable ones). */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_NORESERVE), BASE64 - 2 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV), BASE64 - 3 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_NORESERVE),
                     BASE64 - 4 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_NORESERVE),
                     BASE64 - 5 * PG);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 5 * PG, BASE64 - 3 * PG, "r--p"),
                       anon_line(BASE64 - 3 * PG, BASE64 - 2 * PG, "r--p"),
                       anon_line(BASE64 - 2 * PG, BASE64 - PG, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_populate_reads_zero_and_merges(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, 4 * PG, RW, ANON_PRIV | GMM_MAP_POPULATE), BASE64 - 5 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_POPULATE), BASE64 - 6 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_POPULATE), BASE64 - 7 * PG);
    assert_int_equal(
        mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_POPULATE | GMM_MAP_NONBLOCK), BASE64 - 8 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_SHARED | GMM_MAP_POPULATE), BASE64 - 9 * PG);
    ASSERT_MAPS(e.s, L(shm_line(BASE64 - 9 * PG, BASE64 - 8 * PG, "rw-s", 0, 1024),
                       anon_line(BASE64 - 8 * PG, BASE64 - 7 * PG, "rw-p"),
                       anon_line(BASE64 - 7 * PG, BASE64 - 6 * PG, "---p"),
                       anon_line(BASE64 - 6 * PG, BASE64 - 5 * PG, "r--p"),
                       anon_line(BASE64 - 5 * PG, BASE64, "rw-p"), NULL));
    expect_bytes(e.s, BASE64 - 9 * PG, 0, 2 * PG);
    expect_bytes(e.s, BASE64 - 6 * PG, 0, 6 * PG);
    env_close(&e);
}

static void mmap_growsdown_private_is_accepted(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, 2 * PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN), BASE64 - 2 * PG);
    expect_bytes(e.s, BASE64 - 2 * PG, 0, 2 * PG);
    /* VM_GROWSDOWN keeps it apart from a plain neighbour above. */
    assert_int_equal(mm(e.s, BASE64, PG, RW, ANON_PRIV | GMM_MAP_FIXED), BASE64);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 2 * PG, BASE64, "rw-p"),
                       anon_line(BASE64, BASE64 + PG, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_growsdown_shared_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_SHARED | GMM_MAP_GROWSDOWN), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_SHARED | GMM_MAP_GROWSDOWN | GMM_MAP_FIXED),
                     -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_growsdown_grows_on_access_below(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr g = 0x400000000;
    assert_int_equal(mm(e.s, g, PG, RW, ANON_PRIV | GMM_MAP_FIXED | GMM_MAP_GROWSDOWN), g);
    uint8_t *p = gmm_translate(e.s, g - PG, GMM_ACCESS_WRITE);
    CHECK(e.s);
    assert_non_null(p);
    *p = 7;
    assert_int_equal(e.log.count, 0);
    /* Anywhere below, as long as the stack stays within RLIMIT_STACK. */
    assert_non_null(gmm_translate(e.s, g - 16 * PG + 5, GMM_ACCESS_READ));
    CHECK(e.s);
    ASSERT_MAPS(e.s, anon_line(g - 16 * PG, g + PG, "rw-p"));
    expect_bytes(e.s, g - PG, 7, 1);
    env_close(&e);
}

static void mmap_growsdown_growth_is_limited_by_rlimit_stack(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr g = 0x400000000;
    assert_int_equal(mm(e.s, g, PG, RW, ANON_PRIV | GMM_MAP_FIXED | GMM_MAP_GROWSDOWN), g);
    /* 8 MiB plus a page from the region's end: too big. */
    assert_null(gmm_translate(e.s, g - 8 * MB, GMM_ACCESS_WRITE));
    CHECK(e.s);
    assert_int_equal(e.log.count, 1);
    assert_int_equal(e.log.last.signo, GMM_SIGSEGV);
    assert_int_equal(e.log.last.code, GMM_SEGV_MAPERR);
    assert_int_equal(e.log.last.addr, g - 8 * MB);
    ASSERT_MAPS(e.s, anon_line(g, g + PG, "rw-p"));
    /* Exactly 8 MiB is allowed. */
    assert_non_null(gmm_translate(e.s, g + PG - 8 * MB, GMM_ACCESS_WRITE));
    ASSERT_MAPS(e.s, anon_line(g + PG - 8 * MB, g + PG, "rw-p"));
    env_close(&e);
}

/* acct_stack_growth(): a locked stack grows only within RLIMIT_MEMLOCK
 * (mlock_future_ok()); the fault is SEGV_MAPERR. */
static void mmap_growsdown_locked_growth_is_limited_by_rlimit_memlock(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_setrlimit(e.s, GMM_RLIMIT_MEMLOCK, 4 * PG, 4 * PG), 0);
    const gmm_addr g = 0x400000000;
    assert_int_equal(
        mm(e.s, g, PG, RW, ANON_PRIV | GMM_MAP_FIXED | GMM_MAP_GROWSDOWN | GMM_MAP_LOCKED), g);
    assert_null(gmm_translate(e.s, g - 4 * PG, GMM_ACCESS_WRITE));
    assert_int_equal(e.log.count, 1);
    assert_int_equal(e.log.last.code, GMM_SEGV_MAPERR);
    ASSERT_MAPS(e.s, anon_line(g, g + PG, "rw-p"));
    assert_non_null(gmm_translate(e.s, g - 3 * PG, GMM_ACCESS_WRITE));
    ASSERT_MAPS(e.s, anon_line(g - 3 * PG, g + PG, "rw-p"));
    CHECK(e.s);
    env_close(&e);
}

static void mmap_growsdown_growth_refused_within_guard_gap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr lo = 0x500000000, g = lo + MB;
    assert_int_equal(mm(e.s, lo, PG, RW, ANON_PRIV | GMM_MAP_FIXED), lo);
    assert_int_equal(mm(e.s, g, PG, RW, ANON_PRIV | GMM_MAP_FIXED | GMM_MAP_GROWSDOWN), g);
    /* The new start would be less than 256 pages above an accessible
     * mapping. */
    assert_null(gmm_translate(e.s, g - PG, GMM_ACCESS_WRITE));
    CHECK(e.s);
    assert_int_equal(e.log.count, 1);
    assert_int_equal(e.log.last.code, GMM_SEGV_MAPERR);
    assert_int_equal(gmm_write(e.s, g - PG, "x", 1), -GMM_EFAULT);
    ASSERT_MAPS(e.s, L(anon_line(lo, lo + PG, "rw-p"), anon_line(g, g + PG, "rw-p"), NULL));
    /* A PROT_NONE mapping below does not count. */
    assert_int_equal(mm(e.s, lo, PG, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_FIXED), lo);
    assert_non_null(gmm_translate(e.s, g - PG, GMM_ACCESS_WRITE));
    ASSERT_MAPS(e.s, L(anon_line(lo, lo + PG, "---p"), anon_line(g - PG, g + PG, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_locked_is_accepted(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, 4 * PG, RW, ANON_PRIV | GMM_MAP_LOCKED), BASE64 - 4 * PG);
    expect_bytes(e.s, BASE64 - 4 * PG, 0, 4 * PG);
    fill(e.s, BASE64 - 4 * PG, 0x31, 4 * PG);
    expect_bytes(e.s, BASE64 - 4 * PG, 0x31, 4 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - 4 * PG, BASE64, "rw-p"));
    env_close(&e);
}

static void mmap_locked_prot_none_is_accepted(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_LOCKED), BASE64 - PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - PG, BASE64, "---p"));
    env_close(&e);
}

static void mmap_locked_does_not_merge_with_plain_neighbour(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_LOCKED), BASE64 - 2 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_LOCKED), BASE64 - 3 * PG);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 3 * PG, BASE64 - PG, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_droppable_is_private_zero_filled_memory(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t a = mm(e.s, 0, 2 * PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS);
    assert_int_equal(a, BASE64 - 2 * PG);
    expect_bytes(e.s, (gmm_addr)a, 0, 2 * PG);
    fill(e.s, (gmm_addr)a, 0x99, 2 * PG);
    expect_bytes(e.s, (gmm_addr)a, 0x99, 2 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - 2 * PG, BASE64, "rw-p"));
    env_close(&e);
}

static void mmap_droppable_does_not_merge_with_private_neighbour(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS), BASE64 - 2 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_NORESERVE), BASE64 - 3 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS), BASE64 - 4 * PG);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 4 * PG, BASE64 - 3 * PG, "rw-p"),
                       anon_line(BASE64 - 3 * PG, BASE64 - 2 * PG, "rw-p"),
                       anon_line(BASE64 - 2 * PG, BASE64 - PG, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_droppable_with_locked_or_growsdown_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int d = GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS;
    assert_int_equal(mm(e.s, 0, PG, RW, d | GMM_MAP_LOCKED), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0, PG, RW, d | GMM_MAP_GROWSDOWN), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_droppable_with_hugetlb_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* MAP_HUGETLB gives the mapping a hugetlbfs file, and a file mapping
     * of type MAP_DROPPABLE is an invalid type. */
    assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS | GMM_MAP_HUGETLB),
                     -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_droppable_with_shared_bit_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_SHARED | GMM_MAP_ANONYMOUS),
                     -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS),
                     -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_hugetlb_is_enomem(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        /* No huge pages are reserved (vm.nr_hugepages = 0). */
        int h = GMM_MAP_HUGETLB;
        assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | h), -GMM_ENOMEM);
        assert_int_equal(mm(e.s, 0, THP, RW, ANON_PRIV | h), -GMM_ENOMEM);
        assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | h | GMM_MAP_HUGE_2MB), -GMM_ENOMEM);
        assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | h | GMM_MAP_HUGE_1GB), -GMM_ENOMEM);
        assert_int_equal(mm(e.s, 0, PG, RW, ANON_SHARED | h), -GMM_ENOMEM);
        assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_SHARED_VALIDATE | GMM_MAP_ANONYMOUS | h),
                         -GMM_ENOMEM);
        ASSERT_MAPS(e.s, "");
        env_close(&e);
    }
}

static void mmap_hugetlb_unsupported_size_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int h = ANON_PRIV | GMM_MAP_HUGETLB;
    assert_int_equal(mm(e.s, 0, PG, RW, h | (16 << GMM_MAP_HUGE_SHIFT)), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0, PG, RW, h | (12 << GMM_MAP_HUGE_SHIFT)), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_hugetlb_len_zero_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int h = ANON_PRIV | GMM_MAP_HUGETLB;
    assert_int_equal(mm(e.s, 0, 0, RW, h), -GMM_EINVAL);
    /* Rounded up to the huge page size, this length wraps to 0. */
    assert_int_equal(mm(e.s, 0, UINT64_MAX - 4094, RW, h), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_hugetlb_invalid_type_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_ANONYMOUS | GMM_MAP_HUGETLB), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0, PG, RW, 0x7 | GMM_MAP_ANONYMOUS | GMM_MAP_HUGETLB), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_hugetlb_fixed_unaligned_to_huge_page_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int h = ANON_PRIV | GMM_MAP_HUGETLB | GMM_MAP_FIXED;
    assert_int_equal(mm(e.s, 0x30001000, PG, RW, h), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0x30200000, PG, RW, h | GMM_MAP_HUGE_1GB), -GMM_EINVAL);
    /* Aligned: it gets as far as the reservation. */
    assert_int_equal(mm(e.s, 0x30200000, PG, RW, h), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_hugetlb_fixed_noreplace_over_existing_is_eexist(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0x40000000, THP, RW, ANON_PRIV | GMM_MAP_FIXED), 0x40000000);
    assert_int_equal(
        mm(e.s, 0x40000000, PG, RW, ANON_PRIV | GMM_MAP_HUGETLB | GMM_MAP_FIXED_NOREPLACE),
        -GMM_EEXIST);
    ASSERT_MAPS(e.s, anon_line(0x40000000, 0x40200000, "rw-p"));
    env_close(&e);
}

static void mmap_hugetlb_fixed_alignment_checked_before_range_and_min_addr(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int h = ANON_PRIV | GMM_MAP_HUGETLB | GMM_MAP_FIXED;
    /* hugetlb_get_unmapped_area() runs before __get_unmapped_area()'s
     * range and mmap_min_addr checks. */
    assert_int_equal(mm(e.s, 0x1000, PG, RW, h), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0, PG, RW, h), -GMM_EPERM);
    assert_int_equal(mm(e.s, UINT64_MAX - THP - PG + 1, PG, RW, h), -GMM_EINVAL);
    assert_int_equal(mm(e.s, UINT64_MAX - THP + 1, PG, RW, h), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_hugetlb_shared_validate_unknown_flag_is_eopnotsupp(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* The hugetlbfs file goes through the file checks of do_mmap. */
    int sv = GMM_MAP_SHARED_VALIDATE | GMM_MAP_ANONYMOUS | GMM_MAP_HUGETLB;
    assert_int_equal(mm(e.s, 0, PG, RW, sv | 0x400), -GMM_EOPNOTSUPP);
    assert_int_equal(mm(e.s, 0, PG, RW, sv | GMM_MAP_SYNC), -GMM_EOPNOTSUPP);
    assert_int_equal(mm(e.s, 0x40000000, PG, RW, sv | GMM_MAP_FIXED_NOREPLACE), -GMM_EOPNOTSUPP);
    /* Legacy flags pass, and so on to the reservation. */
    assert_int_equal(mm(e.s, 0, PG, RW, sv | GMM_MAP_32BIT), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, PG, RW, sv | GMM_MAP_HUGE_2MB), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0x40000000, PG, RW, sv | GMM_MAP_FIXED), -GMM_ENOMEM);
    /* Plain MAP_SHARED drops unknown flags. */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_SHARED | GMM_MAP_HUGETLB | 0x400), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_hugetlb_growsdown_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int g = GMM_MAP_HUGETLB | GMM_MAP_GROWSDOWN;
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | g), -GMM_EINVAL);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_SHARED | g), -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_hugetlb_offset_unaligned_to_huge_page_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int h = ANON_PRIV | GMM_MAP_HUGETLB;
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, h, -1, PG), -GMM_EINVAL);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, h, -1, THP), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void mmap_sync_private_anonymous_does_not_merge(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* calc_vm_flag_bits() turns MAP_SYNC into VM_SYNC even for anonymous
     * memory, so the region differs from a plain one. */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_SYNC), BASE64 - 2 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_SYNC), BASE64 - 3 * PG);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 3 * PG, BASE64 - PG, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    expect_bytes(e.s, BASE64 - 3 * PG, 0, 3 * PG);
    env_close(&e);
}

static void mmap_locked_beyond_rlimit_memlock_is_eagain(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* Unprivileged, RLIMIT_MEMLOCK 8 MiB (the default). */
    assert_int_equal(mm(e.s, 0, 16 * MB, RW, ANON_PRIV | GMM_MAP_LOCKED), -GMM_EAGAIN);
    assert_int_equal(mm(e.s, 0, 8 * MB + PG, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_LOCKED),
                     -GMM_EAGAIN);
    int64_t a = mm(e.s, 0, 4 * MB, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_LOCKED);
    assert_true(a > 0);
    /* mlock_future_ok() adds the whole new length to locked_vm, even the
     * part that replaces locked pages. */
    assert_int_equal(mm(e.s, (gmm_addr)a, 4 * MB, GMM_PROT_NONE,
                        ANON_PRIV | GMM_MAP_LOCKED | GMM_MAP_FIXED),
                     a);
    assert_int_equal(mm(e.s, (gmm_addr)a, 4 * MB + PG, GMM_PROT_NONE,
                        ANON_PRIV | GMM_MAP_LOCKED | GMM_MAP_FIXED),
                     -GMM_EAGAIN);
    /* Unmapping gives the locked pages back. */
    assert_int_equal(unmap(e.s, (gmm_addr)a, 4 * MB), 0);
    ASSERT_MAPS(e.s, "");
    int64_t b = mm(e.s, 0, 8 * MB, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_LOCKED);
    assert_true(b > 0);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_LOCKED), -GMM_EAGAIN);
    /* Memory that is not locked is not limited. */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    ASSERT_MAPS(e.s, L(anon_line((gmm_addr)b, (gmm_addr)b + 8 * MB, "---p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_locked_limit_checked_after_noreplace_and_before_type(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x300000000;
    assert_int_equal(mm(e.s, x, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    int lk = GMM_MAP_LOCKED;
    assert_int_equal(mm(e.s, x, 16 * MB, RW, ANON_PRIV | lk | GMM_MAP_FIXED_NOREPLACE),
                     -GMM_EEXIST);
    assert_int_equal(mm(e.s, 0, 16 * MB, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS | lk),
                     -GMM_EAGAIN);
    assert_int_equal(mm(e.s, 0, 16 * MB, RW, GMM_MAP_ANONYMOUS | lk), -GMM_EAGAIN);
    assert_int_equal(mm(e.s, 0, 16 * MB, RW, ANON_SHARED | GMM_MAP_GROWSDOWN | lk), -GMM_EAGAIN);
    ASSERT_MAPS(e.s, anon_line(x, x + PG, "rw-p"));
    env_close(&e);
}

static void mmap_locked_with_rlimit_memlock_zero_is_eperm(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* can_do_mlock(): a zero soft limit and no CAP_IPC_LOCK. */
    assert_int_equal(gmm_space_setrlimit(e.s, GMM_RLIMIT_MEMLOCK, 0, 8 * MB), 0);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_LOCKED), -GMM_EPERM);
    assert_int_equal(mm(e.s, 0, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS | GMM_MAP_LOCKED),
                     -GMM_EPERM);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - PG, BASE64, "rw-p"));
    env_close(&e);
}

static void mmap_beyond_rlimit_as_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_setrlimit(e.s, GMM_RLIMIT_AS, 20 * MB, 20 * MB), 0);
    int64_t a = mm(e.s, 0, 16 * MB, GMM_PROT_NONE, ANON_PRIV);
    assert_true(a > 0);
    assert_int_equal(mm(e.s, 0, 8 * MB, GMM_PROT_NONE, ANON_PRIV), -GMM_ENOMEM);
    /* may_expand_vm() counts only what a MAP_FIXED mapping adds. */
    assert_int_equal(mm(e.s, (gmm_addr)a, 8 * MB, RW, ANON_PRIV | GMM_MAP_FIXED), a);
    assert_int_equal(mm(e.s, (gmm_addr)a + 12 * MB, 8 * MB, RW, ANON_PRIV | GMM_MAP_FIXED),
                     a + 12 * MB);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_SHARED), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, L(anon_line((gmm_addr)a, (gmm_addr)a + 8 * MB, "rw-p"),
                       anon_line((gmm_addr)a + 8 * MB, (gmm_addr)a + 12 * MB, "---p"),
                       anon_line((gmm_addr)a + 12 * MB, (gmm_addr)a + 20 * MB, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_rlimit_data_counts_only_private_writable_non_stack(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_setrlimit(e.s, GMM_RLIMIT_DATA, MB, MB), 0);
    assert_int_equal(mm(e.s, 0, MB, RW, ANON_PRIV), BASE64 - MB);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_NORESERVE), -GMM_ENOMEM);
    /* Not data: read-only, shared, grows-down. */
    assert_int_equal(mm(e.s, 0, MB, GMM_PROT_READ, ANON_PRIV), BASE64 - 2 * MB);
    assert_int_equal(mm(e.s, 0, MB, RW, ANON_SHARED), BASE64 - 3 * MB);
    assert_int_equal(mm(e.s, 0, MB, RW, ANON_PRIV | GMM_MAP_GROWSDOWN), BASE64 - 4 * MB);
    env_close(&e);
}

static void mmap_rlimit_data_soft_zero_allows_up_to_hard_limit(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* may_expand_vm()'s Valgrind workaround: with a soft limit of 0 the
     * hard limit applies. */
    assert_int_equal(gmm_space_setrlimit(e.s, GMM_RLIMIT_DATA, 0, MB), 0);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, MB, RW, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, MB - PG, RW, ANON_PRIV), BASE64 - MB);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, anon_line(BASE64 - MB, BASE64, "rw-p"));
    env_close(&e);
}

/* ======================================================================
 * mmap2, old_mmap and the i386 argument width
 * ====================================================================== */

static void mmap2_page_offset_is_ignored_for_anonymous(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm2(e.s, 0, PG, RW, ANON_PRIV, -1, 1), BASE32 - PG);
    assert_int_equal(mm2(e.s, 0, PG, RW, ANON_PRIV, -1, 0xFFFFFFFF), BASE32 - 2 * PG);
    assert_int_equal(mm2(e.s, 0, PG, RW, ANON_SHARED, -1, 7), BASE32 - 3 * PG);
    ASSERT_MAPS(e.s, L(shm_line(BASE32 - 3 * PG, BASE32 - 2 * PG, "rw-s", 0, 1024),
                       anon_line(BASE32 - 2 * PG, BASE32, "rw-p"), NULL));
    env_close(&e);
}

static void mmap2_takes_page_units_where_mmap_takes_bytes(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    /* A byte offset must be page-aligned; a page offset cannot be wrong. */
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, -1, 1), -GMM_EINVAL);
    assert_int_equal(mm2(e.s, 0, PG, RW, ANON_PRIV, -1, 1), BASE32 - PG);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, -1, PG), BASE32 - 2 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE32 - 2 * PG, BASE32, "rw-p"));
    env_close(&e);
}

static void mmap2_checks_like_mmap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm2(e.s, 0, 0, RW, ANON_PRIV, -1, 0), -GMM_EINVAL);
    assert_int_equal(mm2(e.s, 0, PG, RW, GMM_MAP_ANONYMOUS, -1, 0), -GMM_EINVAL);
    assert_int_equal(mm2(e.s, 0x1000, PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), -GMM_EPERM);
    assert_int_equal(mm2(e.s, TASK32, PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), -GMM_ENOMEM);
    assert_int_equal(mm2(e.s, 0, PG, RW, GMM_MAP_PRIVATE, 999, 0), -GMM_EBADF);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

/* Writes the six words of an old_mmap argument block at guest address a. */
static void put_old_mmap_args(gmm_space *s, gmm_addr a, uint32_t addr, uint32_t len,
                              uint32_t prot, uint32_t flags, uint32_t fd, uint32_t off)
{
    uint32_t w[6] = {addr, len, prot, flags, fd, off};
    assert_int_equal(gmm_write(s, a, w, sizeof(w)), 0);
    CHECK(s);
}

static int64_t old_mmap(gmm_space *s, gmm_addr args)
{
    int64_t r = gmm_sys_old_mmap(s, args);
    CHECK(s);
    return r;
}

static void old_mmap_reads_six_words_from_guest_memory(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    const gmm_addr args = 0x20000000;
    assert_int_equal(mm(e.s, args, PG, RW, ANON_PRIV | GMM_MAP_FIXED), args);
    put_old_mmap_args(e.s, args, 0, PG, RW, ANON_PRIV, 0xFFFFFFFF, 0);
    assert_int_equal(old_mmap(e.s, args), BASE32 - PG);
    put_old_mmap_args(e.s, args + 100, 0x30000000, 2 * PG, GMM_PROT_READ,
                      ANON_PRIV | GMM_MAP_FIXED, 0xFFFFFFFF, 0);
    assert_int_equal(old_mmap(e.s, args + 100), 0x30000000);
    ASSERT_MAPS(e.s, L(anon_line(args, args + PG, "rw-p"),
                       anon_line(0x30000000, 0x30002000, "r--p"),
                       anon_line(BASE32 - PG, BASE32, "rw-p"), NULL));
    env_close(&e);
}

static void old_mmap_bad_pointer_is_efault(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    assert_int_equal(old_mmap(e.s, 0), -GMM_EFAULT);
    assert_int_equal(old_mmap(e.s, 0x50000000), -GMM_EFAULT);
    assert_int_equal(old_mmap(e.s, TASK32 - 12), -GMM_EFAULT);
    assert_int_equal(old_mmap(e.s, 0xFFFFFFF0), -GMM_EFAULT);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void old_mmap_arguments_crossing_into_unmapped_page_are_efault(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    const gmm_addr a = 0x20000000;
    assert_int_equal(mm(e.s, a, 2 * PG, RW, ANON_PRIV | GMM_MAP_FIXED), a);
    put_old_mmap_args(e.s, a + PG - 12, 0, PG, RW, ANON_PRIV, 0xFFFFFFFF, 0);
    assert_int_equal(unmap(e.s, a + PG, PG), 0);
    assert_int_equal(old_mmap(e.s, a + PG - 12), -GMM_EFAULT);
    /* The 24 bytes ending exactly at the page end are fine. */
    put_old_mmap_args(e.s, a + PG - 24, 0, PG, RW, ANON_PRIV, 0xFFFFFFFF, 0);
    assert_int_equal(old_mmap(e.s, a + PG - 24), BASE32 - PG);
    ASSERT_MAPS(e.s, L(anon_line(a, a + PG, "rw-p"), anon_line(BASE32 - PG, BASE32, "rw-p"),
                       NULL));
    env_close(&e);
}

static void old_mmap_arguments_follow_x86_read_permission(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    const gmm_addr a = 0x20000000;
    assert_int_equal(mm(e.s, a, PG, RW, ANON_PRIV | GMM_MAP_FIXED), a);
    put_old_mmap_args(e.s, a, 0, PG, RW, ANON_PRIV, 0xFFFFFFFF, 0);
    /* PROT_WRITE alone is readable on x86. */
    assert_int_equal(gmm_sys_mprotect(e.s, a, PG, GMM_PROT_WRITE), 0);
    CHECK(e.s);
    assert_int_equal(old_mmap(e.s, a), BASE32 - PG);
    assert_int_equal(gmm_sys_mprotect(e.s, a, PG, GMM_PROT_NONE), 0);
    CHECK(e.s);
    assert_int_equal(old_mmap(e.s, a), -GMM_EFAULT);
    ASSERT_MAPS(e.s, L(anon_line(a, a + PG, "---p"), anon_line(BASE32 - PG, BASE32, "rw-p"),
                       NULL));
    env_close(&e);
}

static void old_mmap_unaligned_offset_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    const gmm_addr a = 0x20000000;
    assert_int_equal(mm(e.s, a, PG, RW, ANON_PRIV | GMM_MAP_FIXED), a);
    put_old_mmap_args(e.s, a, 0, PG, RW, ANON_PRIV, 0xFFFFFFFF, 100);
    assert_int_equal(old_mmap(e.s, a), -GMM_EINVAL);
    /* Checked before do_mmap's length check. */
    put_old_mmap_args(e.s, a, 0, 0xFFFFF001, RW, ANON_PRIV, 0xFFFFFFFF, 100);
    assert_int_equal(old_mmap(e.s, a), -GMM_EINVAL);
    put_old_mmap_args(e.s, a, 0, PG, RW, ANON_PRIV, 0xFFFFFFFF, PG);
    assert_int_equal(old_mmap(e.s, a), BASE32 - PG);
    put_old_mmap_args(e.s, a, 0, 0, RW, ANON_PRIV, 0xFFFFFFFF, 0);
    assert_int_equal(old_mmap(e.s, a), -GMM_EINVAL);
    ASSERT_MAPS(e.s, L(anon_line(a, a + PG, "rw-p"), anon_line(BASE32 - PG, BASE32, "rw-p"),
                       NULL));
    env_close(&e);
}

static void old_mmap_pointer_is_truncated_to_32_bits(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    const gmm_addr a = 0x20000000;
    assert_int_equal(mm(e.s, a, PG, RW, ANON_PRIV | GMM_MAP_FIXED), a);
    put_old_mmap_args(e.s, a, 0, PG, RW, ANON_PRIV, 0xFFFFFFFF, 0);
    assert_int_equal(old_mmap(e.s, a | 0xABCD00000000ull), BASE32 - PG);
    ASSERT_MAPS(e.s, L(anon_line(a, a + PG, "rw-p"), anon_line(BASE32 - PG, BASE32, "rw-p"),
                       NULL));
    env_close(&e);
}

static void mmap_i386_arguments_are_truncated_to_32_bits(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    /* A compat syscall sees 32-bit registers. */
    assert_int_equal(mm(e.s, 0x130000000, PG, RW, ANON_PRIV | GMM_MAP_FIXED), 0x30000000);
    assert_int_equal(mm(e.s, 0xFFFFFFFF40000000, PG, RW, ANON_PRIV), 0x40000000);
    assert_int_equal(mm(e.s, 0, 0x100001000, RW, ANON_PRIV), BASE32 - PG);
    assert_int_equal(mm(e.s, 0, 0x100000000, RW, ANON_PRIV), -GMM_EINVAL);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, -1, 0x100000000), BASE32 - 2 * PG);
    assert_int_equal(mm_fd_off(e.s, 0, PG, RW, ANON_PRIV, -1, 0x100000001), -GMM_EINVAL);
    assert_int_equal(mm2(e.s, 0x150000000, PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0x100000000),
                     0x50000000);
    ASSERT_MAPS(e.s, L(anon_line(0x30000000, 0x30001000, "rw-p"),
                       anon_line(0x40000000, 0x40001000, "rw-p"),
                       anon_line(0x50000000, 0x50001000, "rw-p"),
                       anon_line(BASE32 - 2 * PG, BASE32, "rw-p"), NULL));
    env_close(&e);
}

/* ======================================================================
 * 1.4 Content and protection semantics
 * ====================================================================== */

static void mmap_anonymous_reads_zero(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        int64_t p = mm(e.s, 0, 4 * PG, RW, ANON_PRIV);
        int64_t q = mm(e.s, 0, 4 * PG, GMM_PROT_READ, ANON_SHARED);
        assert_true(p > 0 && q > 0);
        expect_bytes(e.s, (gmm_addr)p, 0, 4 * PG);
        expect_bytes(e.s, (gmm_addr)q, 0, 4 * PG);
        const uint8_t *h = gmm_translate(e.s, (gmm_addr)p + 2 * PG, GMM_ACCESS_READ);
        assert_non_null(h);
        for (int k = 0; k < (int)PG; k++)
            assert_int_equal(h[k], 0);
        CHECK(e.s);
        env_close(&e);
    }
}

static void mmap_anonymous_writes_stick(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, 3 * PG, RW, ANON_PRIV);
    assert_int_equal(p, BASE64 - 3 * PG);
    fill(e.s, (gmm_addr)p + PG - 2, 0xC3, 4);
    uint8_t *h = gmm_translate(e.s, (gmm_addr)p + 2 * PG + 10, GMM_ACCESS_WRITE);
    assert_non_null(h);
    *h = 0x3C;
    CHECK(e.s);
    expect_bytes(e.s, (gmm_addr)p, 0, PG - 2);
    expect_bytes(e.s, (gmm_addr)p + PG - 2, 0xC3, 4);
    expect_bytes(e.s, (gmm_addr)p + PG + 2, 0, PG + 8);
    expect_bytes(e.s, (gmm_addr)p + 2 * PG + 10, 0x3C, 1);
    expect_bytes(e.s, (gmm_addr)p + 2 * PG + 11, 0, PG - 11);
    env_close(&e);
}

static void mmap_small_length_maps_whole_page(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, 128, RW, ANON_PRIV);
    assert_int_equal(p, BASE64 - PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - PG, BASE64, "rw-p"));
    fill(e.s, (gmm_addr)p + 4000, 1, 96);
    expect_bytes(e.s, (gmm_addr)p + 4000, 1, 96);
    uint8_t b;
    assert_int_equal(gmm_read(e.s, (gmm_addr)p + PG, &b, 1), -GMM_EFAULT);
    CHECK(e.s);
    /* The next mapping starts one page lower. */
    assert_int_equal(mm(e.s, 0, 1, GMM_PROT_READ, ANON_PRIV), BASE64 - 2 * PG);
    env_close(&e);
}

static void mmap_prot_none_without_hint_succeeds(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, PG, GMM_PROT_NONE, ANON_PRIV);
    assert_int_equal(p, BASE64 - PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - PG, BASE64, "---p"));
    env_close(&e);
}

static void mmap_write_only_is_readable_on_x86(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, 2 * PG, GMM_PROT_WRITE, ANON_PRIV);
    assert_int_equal(p, BASE64 - 2 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - 2 * PG, BASE64, "-w-p"));
    /* First access a read: zero. */
    expect_bytes(e.s, (gmm_addr)p, 0, PG);
    assert_non_null(gmm_translate(e.s, (gmm_addr)p + PG, GMM_ACCESS_READ));
    CHECK(e.s);
    fill(e.s, (gmm_addr)p, 0x12, 2 * PG);
    expect_bytes(e.s, (gmm_addr)p, 0x12, 2 * PG);
    assert_int_equal(e.log.count, 0);
    env_close(&e);
}

static void mmap_exec_only_is_readable_on_x86(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, PG, GMM_PROT_EXEC, ANON_PRIV);
    assert_int_equal(p, BASE64 - PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - PG, BASE64, "--xp"));
    expect_bytes(e.s, (gmm_addr)p, 0, PG);
    assert_non_null(gmm_translate(e.s, (gmm_addr)p, GMM_ACCESS_EXEC));
    CHECK(e.s);
    assert_int_equal(gmm_write(e.s, (gmm_addr)p, "x", 1), -GMM_EFAULT);
    CHECK(e.s);
    env_close(&e);
}

static void mmap_prot_none_access_faults_accerr(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, PG, GMM_PROT_NONE, ANON_PRIV);
    assert_int_equal(p, BASE64 - PG);
    uint8_t b;
    assert_int_equal(gmm_read(e.s, (gmm_addr)p, &b, 1), -GMM_EFAULT);
    assert_int_equal(gmm_write(e.s, (gmm_addr)p, &b, 1), -GMM_EFAULT);
    CHECK(e.s);
    assert_int_equal(e.log.count, 0); /* user copies never signal */
    assert_null(gmm_translate(e.s, (gmm_addr)p + 8, GMM_ACCESS_READ));
    CHECK(e.s);
    assert_int_equal(e.log.count, 1);
    assert_int_equal(e.log.last.signo, GMM_SIGSEGV);
    assert_int_equal(e.log.last.code, GMM_SEGV_ACCERR);
    assert_int_equal(e.log.last.addr, (gmm_addr)p + 8);
    assert_int_equal(e.log.last.access, GMM_ACCESS_READ);
    env_close(&e);
}

static void mmap_read_only_write_faults_accerr(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(p, BASE64 - PG);
    assert_int_equal(gmm_write(e.s, (gmm_addr)p, "x", 1), -GMM_EFAULT);
    CHECK(e.s);
    assert_null(gmm_translate(e.s, (gmm_addr)p, GMM_ACCESS_WRITE));
    CHECK(e.s);
    assert_int_equal(e.log.count, 1);
    assert_int_equal(e.log.last.signo, GMM_SIGSEGV);
    assert_int_equal(e.log.last.code, GMM_SEGV_ACCERR);
    assert_int_equal(e.log.last.access, GMM_ACCESS_WRITE);
    expect_bytes(e.s, (gmm_addr)p, 0, PG);
    env_close(&e);
}

static void mmap_exec_from_non_exec_mapping_faults_accerr(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(p, BASE64 - PG);
    assert_null(gmm_translate(e.s, (gmm_addr)p, GMM_ACCESS_EXEC));
    CHECK(e.s);
    assert_int_equal(e.log.count, 1);
    assert_int_equal(e.log.last.code, GMM_SEGV_ACCERR);
    assert_int_equal(e.log.last.access, GMM_ACCESS_EXEC);
    env_close(&e);
}

static void mmap_rwx_allows_every_access(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, PG, RW | GMM_PROT_EXEC, ANON_PRIV);
    assert_int_equal(p, BASE64 - PG);
    uint8_t *w = gmm_translate(e.s, (gmm_addr)p, GMM_ACCESS_WRITE);
    assert_non_null(w);
    *w = 0xC3;
    const uint8_t *x = gmm_translate(e.s, (gmm_addr)p, GMM_ACCESS_EXEC);
    assert_non_null(x);
    assert_int_equal(*x, 0xC3);
    CHECK(e.s);
    assert_int_equal(e.log.count, 0);
    ASSERT_MAPS(e.s, anon_line(BASE64 - PG, BASE64, "rwxp"));
    env_close(&e);
}

static void mmap_unmapped_access_faults_maperr(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_null(gmm_translate(e.s, BASE64 - 2 * PG, GMM_ACCESS_READ));
    CHECK(e.s);
    assert_int_equal(e.log.count, 1);
    assert_int_equal(e.log.last.signo, GMM_SIGSEGV);
    assert_int_equal(e.log.last.code, GMM_SEGV_MAPERR);
    assert_null(gmm_translate(e.s, BASE64, GMM_ACCESS_WRITE));
    assert_int_equal(e.log.count, 2);
    assert_int_equal(e.log.last.code, GMM_SEGV_MAPERR);
    env_close(&e);
}

static void mmap_shared_anonymous_mappings_are_independent(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t a = mm(e.s, 0, PG, RW, ANON_SHARED);
    int64_t b = mm(e.s, 0, PG, RW, ANON_SHARED);
    assert_int_equal(a, BASE64 - PG);
    assert_int_equal(b, BASE64 - 2 * PG);
    fill(e.s, (gmm_addr)a, 0x61, PG);
    expect_bytes(e.s, (gmm_addr)b, 0, PG);
    fill(e.s, (gmm_addr)b, 0x62, PG);
    expect_bytes(e.s, (gmm_addr)a, 0x61, PG);
    /* Adjacent shared mappings are distinct objects: never merged. */
    ASSERT_MAPS(e.s, L(shm_line(BASE64 - 2 * PG, BASE64 - PG, "rw-s", 0, 1025),
                       shm_line(BASE64 - PG, BASE64, "rw-s", 0, 1024), NULL));
    env_close(&e);
}

static void mmap_prot_none_then_rw_keeps_contents(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(p, BASE64 - 2 * PG);
    fill(e.s, (gmm_addr)p, 0x5C, 2 * PG);
    assert_int_equal(gmm_sys_mprotect(e.s, (gmm_addr)p, 2 * PG, GMM_PROT_NONE), 0);
    CHECK(e.s);
    assert_int_equal(gmm_sys_mprotect(e.s, (gmm_addr)p, 2 * PG, RW), 0);
    CHECK(e.s);
    expect_bytes(e.s, (gmm_addr)p, 0x5C, 2 * PG);
    env_close(&e);
}

/* ======================================================================
 * 12. Merge and split rules, as the maps text shows them
 * ====================================================================== */

static void mmap_adjacent_same_attributes_merge_into_one_line(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, 2 * PG, RW, ANON_PRIV), BASE64 - 3 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - 3 * PG, BASE64, "rw-p"));
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV), BASE32 - PG);
    assert_int_equal(mm(e.s, 0, 2 * PG, GMM_PROT_READ, ANON_PRIV), BASE32 - 3 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE32 - 3 * PG, BASE32, "r--p"));
    env_close(&e);
}

static void mmap_adjacent_different_prot_stay_apart(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV), BASE64 - 2 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW | GMM_PROT_EXEC, ANON_PRIV), BASE64 - 3 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_NONE, ANON_PRIV), BASE64 - 4 * PG);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 4 * PG, BASE64 - 3 * PG, "---p"),
                       anon_line(BASE64 - 3 * PG, BASE64 - 2 * PG, "rwxp"),
                       anon_line(BASE64 - 2 * PG, BASE64 - PG, "r--p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void mmap_fixed_inside_identical_mapping_keeps_one_line(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x340000000;
    assert_int_equal(mm(e.s, x, 3 * PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    fill(e.s, x, 1, 1);
    fill(e.s, x + 2 * PG, 3, 1);
    assert_int_equal(mm(e.s, x + PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x + PG);
    ASSERT_MAPS(e.s, anon_line(x, x + 3 * PG, "rw-p"));
    expect_bytes(e.s, x, 1, 1);
    expect_bytes(e.s, x + PG, 0, PG);
    expect_bytes(e.s, x + 2 * PG, 3, 1);
    env_close(&e);
}

static void mmap_fixed_with_different_prot_splits_into_three(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x340000000;
    assert_int_equal(mm(e.s, x, 4 * PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    assert_int_equal(mm(e.s, x + PG, 2 * PG, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_FIXED), x + PG);
    ASSERT_MAPS(e.s, L(anon_line(x, x + PG, "rw-p"), anon_line(x + PG, x + 3 * PG, "---p"),
                       anon_line(x + 3 * PG, x + 4 * PG, "rw-p"), NULL));
    /* Putting it back as it was merges the three again. */
    assert_int_equal(mm(e.s, x + PG, 2 * PG, RW, ANON_PRIV | GMM_MAP_FIXED), x + PG);
    ASSERT_MAPS(e.s, anon_line(x, x + 4 * PG, "rw-p"));
    env_close(&e);
}

static void mmap_fixed_bridging_two_mappings_merges_all(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x320000000;
    assert_int_equal(mm(e.s, x, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    assert_int_equal(mm(e.s, x + 2 * PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x + 2 * PG);
    ASSERT_MAPS(e.s, L(anon_line(x, x + PG, "rw-p"), anon_line(x + 2 * PG, x + 3 * PG, "rw-p"),
                       NULL));
    assert_int_equal(mm(e.s, x + PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x + PG);
    ASSERT_MAPS(e.s, anon_line(x, x + 3 * PG, "rw-p"));
    env_close(&e);
}

static void mmap_between_two_written_mappings_merges_only_with_lower(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x310000000;
    /* Both neighbours were written: each has its own anon_vma, and the
     * two are incompatible, so the new region joins only the lower one. */
    assert_int_equal(mm(e.s, x, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    fill(e.s, x, 1, 1);
    assert_int_equal(mm(e.s, x + 2 * PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x + 2 * PG);
    fill(e.s, x + 2 * PG, 2, 1);
    assert_int_equal(mm(e.s, x + PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x + PG);
    ASSERT_MAPS(e.s, L(anon_line(x, x + 2 * PG, "rw-p"),
                       anon_line(x + 2 * PG, x + 3 * PG, "rw-p"), NULL));
    expect_bytes(e.s, x, 1, 1);
    expect_bytes(e.s, x + 2 * PG, 2, 1);
    env_close(&e);
}

static void mmap_between_mappings_with_one_written_merges_all(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x330000000;
    assert_int_equal(mm(e.s, x, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x);
    assert_int_equal(mm(e.s, x + 2 * PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x + 2 * PG);
    fill(e.s, x + 2 * PG, 2, 1);
    assert_int_equal(mm(e.s, x + PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), x + PG);
    ASSERT_MAPS(e.s, anon_line(x, x + 3 * PG, "rw-p"));
    expect_bytes(e.s, x + 2 * PG, 2, 1);
    env_close(&e);
}

static void mmap_next_to_region_inherited_from_fork_parent_does_not_merge(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr w = 0x300000000, u = 0x301000000;
    assert_int_equal(mm(e.s, w, PG, RW, ANON_PRIV | GMM_MAP_FIXED), w);
    fill(e.s, w, 1, 1); /* gets an anon_vma before the fork */
    assert_int_equal(mm(e.s, u, PG, RW, ANON_PRIV | GMM_MAP_FIXED), u);
    gmm_space *child = gmm_space_fork(e.s);
    assert_non_null(child);
    CHECK(child);
    /* In the child the written region's anon_vma chain has two entries
     * (vma_is_fork_child): a new neighbour does not merge with it.  The
     * untouched one merges as usual. */
    assert_int_equal(mm(child, w + PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), w + PG);
    assert_int_equal(mm(child, u + PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), u + PG);
    ASSERT_MAPS(child, L(anon_line(w, w + PG, "rw-p"), anon_line(w + PG, w + 2 * PG, "rw-p"),
                         anon_line(u, u + 2 * PG, "rw-p"), NULL));
    /* The parent's region merges. */
    assert_int_equal(mm(e.s, w + PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED), w + PG);
    ASSERT_MAPS(e.s, L(anon_line(w, w + 2 * PG, "rw-p"), anon_line(u, u + PG, "rw-p"), NULL));
    expect_bytes(child, w, 1, 1);
    gmm_space_destroy(child);
    env_close(&e);
}

static void mmap_droppable_is_wiped_in_fork_child(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t d = mm(e.s, 0, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS);
    int64_t p = mm(e.s, 0, PG, GMM_PROT_READ | GMM_PROT_WRITE, ANON_PRIV | GMM_MAP_NORESERVE);
    assert_int_equal(d, BASE64 - PG);
    assert_int_equal(p, BASE64 - 2 * PG);
    fill(e.s, (gmm_addr)d, 0xD1, PG);
    fill(e.s, (gmm_addr)p, 0xD2, PG);
    gmm_space *child = gmm_space_fork(e.s);
    assert_non_null(child);
    CHECK(child);
    /* MAP_DROPPABLE implies VM_WIPEONFORK: the child sees zeros there. */
    expect_bytes(child, (gmm_addr)d, 0, PG);
    expect_bytes(child, (gmm_addr)p, 0xD2, PG);
    expect_bytes(e.s, (gmm_addr)d, 0xD1, PG);
    ASSERT_MAPS(child, L(anon_line(BASE64 - 2 * PG, BASE64 - PG, "rw-p"),
                         anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    gmm_space_destroy(child);
    env_close(&e);
}

static void mmap_shared_anonymous_is_shared_with_fork_child(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t sh = mm(e.s, 0, PG, RW, ANON_SHARED);
    int64_t pr = mm(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(sh, BASE64 - PG);
    assert_int_equal(pr, BASE64 - 2 * PG);
    gmm_space *child = gmm_space_fork(e.s);
    assert_non_null(child);
    CHECK(child);
    fill(child, (gmm_addr)sh, 0xE1, PG);
    fill(child, (gmm_addr)pr, 0xE2, PG);
    CHECK(e.s);
    expect_bytes(e.s, (gmm_addr)sh, 0xE1, PG);
    expect_bytes(e.s, (gmm_addr)pr, 0, PG);
    ASSERT_MAPS(child, L(anon_line(BASE64 - 2 * PG, BASE64 - PG, "rw-p"),
                         shm_line(BASE64 - PG, BASE64, "rw-s", 0, 1024), NULL));
    gmm_space_destroy(child);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* 1.1 */
        cmocka_unit_test(mmap_len_zero_is_einval),
        cmocka_unit_test(mmap_len_round_up_wraps_is_enomem),
        cmocka_unit_test(mmap_len_above_task_size_is_enomem),
        cmocka_unit_test(mmap_type_zero_is_einval),
        cmocka_unit_test(mmap_shared_validate_anonymous_is_einval),
        cmocka_unit_test(mmap_invalid_map_types_are_einval),
        cmocka_unit_test(mmap_shared_anonymous_ignores_unknown_flag_bits),
        cmocka_unit_test(mmap_private_anonymous_ignores_unknown_flag_bits),
        cmocka_unit_test(mmap_ignored_legacy_flags_are_accepted),
        cmocka_unit_test(mmap_unaligned_offset_is_einval),
        cmocka_unit_test(mmap_unaligned_offset_checked_before_length),
        cmocka_unit_test(mmap_unaligned_offset_checked_before_fd),
        cmocka_unit_test(mmap_bad_fd_is_ebadf_before_length_and_type_checks),
        cmocka_unit_test(mmap_anonymous_ignores_fd_and_offset),
        cmocka_unit_test(mmap_shared_anonymous_offset_is_ignored),
        cmocka_unit_test(mmap_unknown_prot_bits_are_ignored),
        cmocka_unit_test(mmap_length_checked_before_fixed_alignment),
        cmocka_unit_test(mmap_fixed_noreplace_conflict_checked_before_type_checks),
        cmocka_unit_test(mmap_fixed_range_checked_before_type_checks),
        cmocka_unit_test(mmap_beyond_max_map_count_is_enomem),
        /* 1.2 */
        cmocka_unit_test(mmap_fixed_returns_exact_address),
        cmocka_unit_test(mmap_fixed_high_address_x86_64),
        cmocka_unit_test(mmap_fixed_replaces_existing_mapping),
        cmocka_unit_test(mmap_fixed_replaces_several_mappings_and_holes),
        cmocka_unit_test(mmap_fixed_top_page_is_enomem),
        cmocka_unit_test(mmap_fixed_last_page_below_task_size_succeeds),
        cmocka_unit_test(mmap_fixed_unaligned_is_einval),
        cmocka_unit_test(mmap_fixed_noreplace_unaligned_is_einval),
        cmocka_unit_test(mmap_fixed_below_mmap_min_addr_is_eperm),
        cmocka_unit_test(mmap_hint_unaligned_is_rounded_down),
        cmocka_unit_test(mmap_hint_free_is_used),
        cmocka_unit_test(mmap_hint_occupied_falls_back_to_topdown),
        cmocka_unit_test(mmap_hint_partially_occupied_falls_back_to_topdown),
        cmocka_unit_test(mmap_hint_below_mmap_min_addr_is_raised),
        cmocka_unit_test(mmap_hint_in_first_page_is_ignored),
        cmocka_unit_test(mmap_hint_beyond_task_size_is_ignored),
        cmocka_unit_test(mmap_hint_inside_stack_guard_gap_is_ignored),
        cmocka_unit_test(mmap_fixed_noreplace_inside_stack_guard_gap_succeeds),
        cmocka_unit_test(mmap_topdown_leaves_stack_guard_gap_below_growsdown),
        cmocka_unit_test(mmap_fixed_noreplace_empty_returns_exact_address),
        cmocka_unit_test(mmap_fixed_noreplace_over_existing_is_eexist),
        cmocka_unit_test(mmap_fixed_noreplace_partial_overlap_is_eexist),
        cmocka_unit_test(mmap_fixed_noreplace_contained_is_eexist),
        cmocka_unit_test(mmap_fixed_noreplace_containing_is_eexist),
        cmocka_unit_test(mmap_fixed_noreplace_adjacent_below_and_above_succeeds),
        cmocka_unit_test(mmap_fixed_with_fixed_noreplace_over_existing_is_eexist),
        cmocka_unit_test(mmap_32bit_x86_64_is_placed_bottom_up_from_1gib),
        cmocka_unit_test(mmap_32bit_x86_64_2mib_length_is_thp_aligned),
        cmocka_unit_test(mmap_32bit_x86_64_hint_below_window_is_used),
        cmocka_unit_test(mmap_32bit_x86_64_hint_above_window_is_ignored),
        cmocka_unit_test(mmap_32bit_x86_64_with_fixed_is_ignored),
        cmocka_unit_test(mmap_32bit_x86_64_window_full_is_enomem),
        cmocka_unit_test(mmap_32bit_i386_is_ignored),
        cmocka_unit_test(mmap_thp_x86_64_2mib_multiple_length_is_2mib_aligned),
        cmocka_unit_test(mmap_thp_x86_64_not_for_other_lengths),
        cmocka_unit_test(mmap_thp_x86_64_not_with_hint),
        cmocka_unit_test(mmap_thp_x86_64_not_for_shared),
        cmocka_unit_test(mmap_thp_x86_64_applies_to_every_private_kind),
        cmocka_unit_test(mmap_thp_x86_64_ignores_anonymous_offset),
        cmocka_unit_test(mmap_thp_i386_is_not_applied),
        /* 1.3 */
        cmocka_unit_test(mmap_stack_is_accepted),
        cmocka_unit_test(mmap_stack_does_not_merge_with_plain_neighbour),
        cmocka_unit_test(mmap_noreserve_reads_zero_and_is_writable),
        cmocka_unit_test(mmap_noreserve_does_not_merge_with_plain_neighbour),
        cmocka_unit_test(mmap_populate_reads_zero_and_merges),
        cmocka_unit_test(mmap_growsdown_private_is_accepted),
        cmocka_unit_test(mmap_growsdown_shared_is_einval),
        cmocka_unit_test(mmap_growsdown_grows_on_access_below),
        cmocka_unit_test(mmap_growsdown_growth_is_limited_by_rlimit_stack),
        cmocka_unit_test(mmap_growsdown_growth_refused_within_guard_gap),
        cmocka_unit_test(mmap_growsdown_locked_growth_is_limited_by_rlimit_memlock),
        cmocka_unit_test(mmap_locked_is_accepted),
        cmocka_unit_test(mmap_locked_prot_none_is_accepted),
        cmocka_unit_test(mmap_locked_does_not_merge_with_plain_neighbour),
        cmocka_unit_test(mmap_droppable_is_private_zero_filled_memory),
        cmocka_unit_test(mmap_droppable_does_not_merge_with_private_neighbour),
        cmocka_unit_test(mmap_droppable_with_locked_or_growsdown_is_einval),
        cmocka_unit_test(mmap_droppable_with_hugetlb_is_einval),
        cmocka_unit_test(mmap_droppable_with_shared_bit_is_einval),
        cmocka_unit_test(mmap_hugetlb_is_enomem),
        cmocka_unit_test(mmap_hugetlb_unsupported_size_is_einval),
        cmocka_unit_test(mmap_hugetlb_len_zero_is_einval),
        cmocka_unit_test(mmap_hugetlb_invalid_type_is_einval),
        cmocka_unit_test(mmap_hugetlb_fixed_unaligned_to_huge_page_is_einval),
        cmocka_unit_test(mmap_hugetlb_fixed_noreplace_over_existing_is_eexist),
        cmocka_unit_test(mmap_hugetlb_fixed_alignment_checked_before_range_and_min_addr),
        cmocka_unit_test(mmap_hugetlb_shared_validate_unknown_flag_is_eopnotsupp),
        cmocka_unit_test(mmap_hugetlb_growsdown_is_einval),
        cmocka_unit_test(mmap_hugetlb_offset_unaligned_to_huge_page_is_einval),
        cmocka_unit_test(mmap_sync_private_anonymous_does_not_merge),
        cmocka_unit_test(mmap_locked_beyond_rlimit_memlock_is_eagain),
        cmocka_unit_test(mmap_locked_limit_checked_after_noreplace_and_before_type),
        cmocka_unit_test(mmap_locked_with_rlimit_memlock_zero_is_eperm),
        cmocka_unit_test(mmap_beyond_rlimit_as_is_enomem),
        cmocka_unit_test(mmap_rlimit_data_counts_only_private_writable_non_stack),
        cmocka_unit_test(mmap_rlimit_data_soft_zero_allows_up_to_hard_limit),
        /* mmap2, old_mmap, i386 */
        cmocka_unit_test(mmap2_page_offset_is_ignored_for_anonymous),
        cmocka_unit_test(mmap2_takes_page_units_where_mmap_takes_bytes),
        cmocka_unit_test(mmap2_checks_like_mmap),
        cmocka_unit_test(old_mmap_reads_six_words_from_guest_memory),
        cmocka_unit_test(old_mmap_bad_pointer_is_efault),
        cmocka_unit_test(old_mmap_arguments_crossing_into_unmapped_page_are_efault),
        cmocka_unit_test(old_mmap_arguments_follow_x86_read_permission),
        cmocka_unit_test(old_mmap_unaligned_offset_is_einval),
        cmocka_unit_test(old_mmap_pointer_is_truncated_to_32_bits),
        cmocka_unit_test(mmap_i386_arguments_are_truncated_to_32_bits),
        /* 1.4 */
        cmocka_unit_test(mmap_anonymous_reads_zero),
        cmocka_unit_test(mmap_anonymous_writes_stick),
        cmocka_unit_test(mmap_small_length_maps_whole_page),
        cmocka_unit_test(mmap_prot_none_without_hint_succeeds),
        cmocka_unit_test(mmap_write_only_is_readable_on_x86),
        cmocka_unit_test(mmap_exec_only_is_readable_on_x86),
        cmocka_unit_test(mmap_prot_none_access_faults_accerr),
        cmocka_unit_test(mmap_read_only_write_faults_accerr),
        cmocka_unit_test(mmap_exec_from_non_exec_mapping_faults_accerr),
        cmocka_unit_test(mmap_rwx_allows_every_access),
        cmocka_unit_test(mmap_unmapped_access_faults_maperr),
        cmocka_unit_test(mmap_shared_anonymous_mappings_are_independent),
        cmocka_unit_test(mmap_prot_none_then_rw_keeps_contents),
        /* 12 */
        cmocka_unit_test(mmap_adjacent_same_attributes_merge_into_one_line),
        cmocka_unit_test(mmap_adjacent_different_prot_stay_apart),
        cmocka_unit_test(mmap_fixed_inside_identical_mapping_keeps_one_line),
        cmocka_unit_test(mmap_fixed_with_different_prot_splits_into_three),
        cmocka_unit_test(mmap_fixed_bridging_two_mappings_merges_all),
        cmocka_unit_test(mmap_between_two_written_mappings_merges_only_with_lower),
        cmocka_unit_test(mmap_between_mappings_with_one_written_merges_all),
        cmocka_unit_test(mmap_next_to_region_inherited_from_fork_parent_does_not_merge),
        /* fork interactions named in 1.3 / 1.4 */
        cmocka_unit_test(mmap_droppable_is_wiped_in_fork_child),
        cmocka_unit_test(mmap_shared_anonymous_is_shared_with_fork_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
