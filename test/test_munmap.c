/*
 * test_munmap.c - munmap on anonymous memory (CONFORMANCE.md section 2):
 * argument errors, partial unmaps, holes, unmapped ranges, the
 * max_map_count limit on punching holes, and what the maps text and guest
 * accesses show afterwards.
 *
 * Expectations are Linux's (mm/vma.c do_vmi_munmap, vms_gather_munmap_vmas;
 * x86-64 kernel 6.18, i386 tasks as compat tasks), the non-obvious ones
 * checked with raw syscalls on this machine.
 */
#include "testutil.h"

#define TASK64 0x7FFFFFFFF000ull
#define BASE64 0x7FFFF7FFF000ull
#define TASK32 0xFFFFE000ull
#define BASE32 0xF7FFE000ull

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

static int64_t mm(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, addr, len, prot, flags, -1, 0);
    CHECK(s);
    return r;
}

/* MAP_FIXED anonymous private mapping that must succeed. */
static void map_at(gmm_space *s, gmm_addr addr, uint64_t len, int prot)
{
    assert_int_equal(mm(s, addr, len, prot, ANON_PRIV | GMM_MAP_FIXED), addr);
}

static int64_t unmap(gmm_space *s, gmm_addr addr, uint64_t len)
{
    int64_t r = gmm_sys_munmap(s, addr, len);
    CHECK(s);
    return r;
}

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

static void expect_unmapped(struct env *e, gmm_addr a)
{
    uint8_t b;
    assert_int_equal(gmm_read(e->s, a, &b, 1), -GMM_EFAULT);
    CHECK(e->s);
    int before = e->log.count;
    assert_null(gmm_translate(e->s, a, GMM_ACCESS_READ));
    CHECK(e->s);
    assert_int_equal(e->log.count, before + 1);
    assert_int_equal(e->log.last.signo, GMM_SIGSEGV);
    assert_int_equal(e->log.last.code, GMM_SEGV_MAPERR);
    assert_int_equal(e->log.last.addr, a);
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

/* ---- argument errors ---- */

static void munmap_len_zero_is_einval(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        map_at(e.s, 0x30000000, PG, RW);
        assert_int_equal(unmap(e.s, 0x30000000, 0), -GMM_EINVAL);
        assert_int_equal(unmap(e.s, 0x50000000, 0), -GMM_EINVAL);
        assert_int_equal(unmap(e.s, 0, 0), -GMM_EINVAL);
        ASSERT_MAPS(e.s, anon_line(0x30000000, 0x30001000, "rw-p"));
        env_close(&e);
    }
}

static void munmap_unaligned_addr_is_einval(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        map_at(e.s, 0x30000000, 2 * PG, RW);
        assert_int_equal(unmap(e.s, 0x30000001, PG), -GMM_EINVAL);
        assert_int_equal(unmap(e.s, 0x30000800, PG), -GMM_EINVAL);
        assert_int_equal(unmap(e.s, 0x30000FFF, 1), -GMM_EINVAL);
        ASSERT_MAPS(e.s, anon_line(0x30000000, 0x30002000, "rw-p"));
        env_close(&e);
    }
}

static void munmap_len_round_up_past_end_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    map_at(e.s, 0x30000000, PG, RW);
    assert_int_equal(unmap(e.s, 0x30000000, UINT64_MAX - 4095), -GMM_EINVAL);
    assert_int_equal(unmap(e.s, 0x30000000, UINT64_MAX - 4094), -GMM_EINVAL);
    assert_int_equal(unmap(e.s, 0x30000000, UINT64_MAX), -GMM_EINVAL);
    ASSERT_MAPS(e.s, anon_line(0x30000000, 0x30001000, "rw-p"));
    env_close(&e);
}

static void munmap_beyond_task_size_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    map_at(e.s, TASK64 - PG, PG, RW);
    assert_int_equal(unmap(e.s, TASK64, PG), -GMM_EINVAL);
    assert_int_equal(unmap(e.s, 1ull << 47, PG), -GMM_EINVAL);
    assert_int_equal(unmap(e.s, UINT64_MAX - 4095, PG), -GMM_EINVAL);
    /* len > TASK_SIZE - addr, also by a single byte. */
    assert_int_equal(unmap(e.s, TASK64 - PG, 2 * PG), -GMM_EINVAL);
    assert_int_equal(unmap(e.s, TASK64 - PG, PG + 1), -GMM_EINVAL);
    assert_int_equal(unmap(e.s, 0x300000000, TASK64 - 0x300000000 + 1), -GMM_EINVAL);
    ASSERT_MAPS(e.s, anon_line(TASK64 - PG, TASK64, "rw-p"));
    /* The last page itself is fine. */
    assert_int_equal(unmap(e.s, TASK64 - PG, PG), 0);
    ASSERT_MAPS(e.s, "");
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    map_at(e.s, TASK32 - PG, PG, RW);
    assert_int_equal(unmap(e.s, TASK32, PG), -GMM_EINVAL);
    assert_int_equal(unmap(e.s, 0xFFFFF000, PG), -GMM_EINVAL);
    assert_int_equal(unmap(e.s, TASK32 - PG, 2 * PG), -GMM_EINVAL);
    assert_int_equal(unmap(e.s, 0x1000, 0xFFFFFFFF), -GMM_EINVAL);
    ASSERT_MAPS(e.s, anon_line(TASK32 - PG, TASK32, "rw-p"));
    assert_int_equal(unmap(e.s, TASK32 - PG, PG), 0);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void munmap_i386_arguments_are_truncated_to_32_bits(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    map_at(e.s, 0x30000000, 3 * PG, RW);
    assert_int_equal(unmap(e.s, 0x130000000, PG), 0);
    ASSERT_MAPS(e.s, anon_line(0x30001000, 0x30003000, "rw-p"));
    assert_int_equal(unmap(e.s, 0x30001000, 0x100001000), 0);
    ASSERT_MAPS(e.s, anon_line(0x30002000, 0x30003000, "rw-p"));
    /* A length of 2^32 is 0 in a 32-bit register. */
    assert_int_equal(unmap(e.s, 0x30002000, 0x100000000), -GMM_EINVAL);
    ASSERT_MAPS(e.s, anon_line(0x30002000, 0x30003000, "rw-p"));
    env_close(&e);
}

/* ---- ranges without mappings ---- */

static void munmap_unmapped_range_returns_zero(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(unmap(e.s, 0x30000000, PG), 0);
    assert_int_equal(unmap(e.s, 0, PG), 0);
    assert_int_equal(unmap(e.s, 0, TASK64), 0);
    ASSERT_MAPS(e.s, "");
    /* A hole between two mappings. */
    map_at(e.s, 0x30000000, PG, RW);
    map_at(e.s, 0x30003000, PG, RW);
    assert_int_equal(unmap(e.s, 0x30001000, 2 * PG), 0);
    ASSERT_MAPS(e.s, L(anon_line(0x30000000, 0x30001000, "rw-p"),
                       anon_line(0x30003000, 0x30004000, "rw-p"), NULL));
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(unmap(e.s, 0x30000000, PG), 0);
    assert_int_equal(unmap(e.s, 0, TASK32), 0);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void munmap_entire_address_space_succeeds(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_SHARED), BASE64 - 2 * PG);
    map_at(e.s, 0x10000, PG, GMM_PROT_READ);
    map_at(e.s, TASK64 - PG, PG, RW);
    fill(e.s, BASE64 - 2 * PG, 9, 2 * PG);
    assert_int_equal(unmap(e.s, 0, TASK64), 0);
    ASSERT_MAPS(e.s, "");
    expect_unmapped(&e, BASE64 - PG);
    env_close(&e);

    env_open(&e, GMM_ABI_I386);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE32 - PG);
    map_at(e.s, TASK32 - PG, PG, RW);
    assert_int_equal(unmap(e.s, 0, TASK32), 0);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

/* ---- whole and partial unmaps ---- */

static void munmap_whole_mapping_removes_its_line(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, 2 * PG, GMM_PROT_READ, ANON_PRIV), BASE64 - 3 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - 4 * PG);
    assert_int_equal(unmap(e.s, BASE64 - 3 * PG, 2 * PG), 0);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 4 * PG, BASE64 - 3 * PG, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void munmap_first_pages_trims_start(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x30000000;
    map_at(e.s, x, 4 * PG, RW);
    fill(e.s, x, 0x44, 4 * PG);
    assert_int_equal(unmap(e.s, x, 2 * PG), 0);
    ASSERT_MAPS(e.s, anon_line(x + 2 * PG, x + 4 * PG, "rw-p"));
    expect_bytes(e.s, x + 2 * PG, 0x44, 2 * PG);
    expect_unmapped(&e, x + PG);
    env_close(&e);
}

static void munmap_last_pages_trims_end(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x30000000;
    map_at(e.s, x, 4 * PG, RW);
    fill(e.s, x, 0x45, 4 * PG);
    assert_int_equal(unmap(e.s, x + 2 * PG, 2 * PG), 0);
    ASSERT_MAPS(e.s, anon_line(x, x + 2 * PG, "rw-p"));
    expect_bytes(e.s, x, 0x45, 2 * PG);
    expect_unmapped(&e, x + 2 * PG);
    env_close(&e);
}

static void munmap_middle_punches_hole(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x30000000;
    map_at(e.s, x, 5 * PG, RW);
    fill(e.s, x, 0x46, 5 * PG);
    assert_int_equal(unmap(e.s, x + PG, 3 * PG), 0);
    ASSERT_MAPS(e.s, L(anon_line(x, x + PG, "rw-p"), anon_line(x + 4 * PG, x + 5 * PG, "rw-p"),
                       NULL));
    expect_bytes(e.s, x, 0x46, PG);
    expect_bytes(e.s, x + 4 * PG, 0x46, PG);
    expect_unmapped(&e, x + 2 * PG);
    env_close(&e);
}

static void munmap_length_need_not_be_page_aligned(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x300000000;
    map_at(e.s, x, 5 * PG, RW);
    /* Every page the range touches goes. */
    assert_int_equal(unmap(e.s, x + PG, 1), 0);
    assert_int_equal(unmap(e.s, x + 3 * PG, PG + 1), 0);
    ASSERT_MAPS(e.s, L(anon_line(x, x + PG, "rw-p"), anon_line(x + 2 * PG, x + 3 * PG, "rw-p"),
                       NULL));
    env_close(&e);
}

static void munmap_range_spanning_mappings_and_holes(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x30000000;
    map_at(e.s, x, 2 * PG, RW);
    map_at(e.s, x + 3 * PG, PG, GMM_PROT_READ);
    assert_int_equal(mm(e.s, x + 5 * PG, 2 * PG, RW, ANON_SHARED | GMM_MAP_FIXED), x + 5 * PG);
    fill(e.s, x, 0x47, 2 * PG);
    fill(e.s, x + 5 * PG, 0x48, 2 * PG);
    assert_int_equal(unmap(e.s, x + PG, 5 * PG), 0);
    ASSERT_MAPS(e.s, L(anon_line(x, x + PG, "rw-p"),
                       shm_line(x + 6 * PG, x + 7 * PG, "rw-s", PG, 1024), NULL));
    expect_bytes(e.s, x, 0x47, PG);
    expect_bytes(e.s, x + 6 * PG, 0x48, PG);
    expect_unmapped(&e, x + PG);
    expect_unmapped(&e, x + 3 * PG);
    expect_unmapped(&e, x + 5 * PG);
    env_close(&e);
}

static void munmap_shared_anonymous_partial_keeps_data_and_offsets(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x300000000;
    assert_int_equal(mm(e.s, x, 3 * PG, RW, ANON_SHARED | GMM_MAP_FIXED), x);
    fill(e.s, x, 1, 1);
    fill(e.s, x + PG, 2, 1);
    fill(e.s, x + 2 * PG, 3, 1);
    assert_int_equal(unmap(e.s, x + PG, PG), 0);
    /* The upper part keeps its offset into the shmem object. */
    ASSERT_MAPS(e.s, L(shm_line(x, x + PG, "rw-s", 0, 1024),
                       shm_line(x + 2 * PG, x + 3 * PG, "rw-s", 2 * PG, 1024), NULL));
    expect_bytes(e.s, x, 1, 1);
    expect_bytes(e.s, x + 2 * PG, 3, 1);
    expect_unmapped(&e, x + PG);
    env_close(&e);
}

/* ---- after the unmap ---- */

static void munmap_access_after_unmap_faults_maperr(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    int64_t p = mm(e.s, 0, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(p, BASE64 - 2 * PG);
    /* Translations cached for both pages before the unmap. */
    uint8_t *h = gmm_translate(e.s, (gmm_addr)p, GMM_ACCESS_WRITE);
    assert_non_null(h);
    *h = 1;
    assert_non_null(gmm_translate(e.s, (gmm_addr)p + PG, GMM_ACCESS_READ));
    CHECK(e.s);
    assert_int_equal(unmap(e.s, (gmm_addr)p, 2 * PG), 0);
    ASSERT_MAPS(e.s, "");
    expect_unmapped(&e, (gmm_addr)p);
    expect_unmapped(&e, (gmm_addr)p + PG);
    assert_null(gmm_translate(e.s, (gmm_addr)p, GMM_ACCESS_WRITE));
    assert_int_equal(e.log.last.code, GMM_SEGV_MAPERR);
    assert_int_equal(gmm_write(e.s, (gmm_addr)p, "x", 1), -GMM_EFAULT);
    CHECK(e.s);
    env_close(&e);
}

static void munmap_then_mmap_again_reads_zero(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr x = 0x30000000;
    map_at(e.s, x, 2 * PG, RW);
    fill(e.s, x, 0x77, 2 * PG);
    assert_int_equal(unmap(e.s, x, 2 * PG), 0);
    map_at(e.s, x, 2 * PG, RW);
    expect_bytes(e.s, x, 0, 2 * PG);
    ASSERT_MAPS(e.s, anon_line(x, x + 2 * PG, "rw-p"));
    env_close(&e);
}

static void munmap_freed_range_is_reused_by_topdown_search(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, 4 * PG, RW, ANON_PRIV), BASE64 - 4 * PG);
    assert_int_equal(unmap(e.s, BASE64 - 3 * PG, 2 * PG), 0);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 4 * PG, BASE64 - 3 * PG, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    assert_int_equal(mm(e.s, 0, 2 * PG, RW, ANON_PRIV), BASE64 - 3 * PG);
    ASSERT_MAPS(e.s, anon_line(BASE64 - 4 * PG, BASE64, "rw-p"));
    env_close(&e);
}

static void munmap_in_fork_child_leaves_parent_intact(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const uint64_t len = 5 * (1ull << 20);
    int64_t p = mm(e.s, 0, len, RW, ANON_PRIV);
    assert_true(p > 0);
    fill(e.s, (gmm_addr)p, 0x5E, 64 * 1024);
    gmm_space *child = gmm_space_fork(e.s);
    assert_non_null(child);
    CHECK(child);
    /* The child unmaps sub-ranges; the parent keeps all of its mapping. */
    assert_int_equal(unmap(child, (gmm_addr)p + PG, 2 * PG), 0);
    assert_int_equal(unmap(child, (gmm_addr)p + len - PG, PG), 0);
    ASSERT_MAPS(child, L(anon_line((gmm_addr)p, (gmm_addr)p + PG, "rw-p"),
                         anon_line((gmm_addr)p + 3 * PG, (gmm_addr)p + len - PG, "rw-p"), NULL));
    ASSERT_MAPS(e.s, anon_line((gmm_addr)p, (gmm_addr)p + len, "rw-p"));
    expect_bytes(e.s, (gmm_addr)p, 0x5E, 64 * 1024);
    expect_bytes(child, (gmm_addr)p + 3 * PG, 0x5E, 64 * 1024 - 3 * PG);
    gmm_space_destroy(child);
    CHECK(e.s);
    assert_int_equal(unmap(e.s, (gmm_addr)p, len), 0);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

/* ---- max_map_count ---- */

static void munmap_hole_punch_at_max_map_count_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr base = 0x100000000;
    /* 65530 regions (the default vm.max_map_count): one of 5 pages, the
     * rest single pages with a hole between each. */
    map_at(e.s, base, 5 * PG, RW);
    for (uint64_t i = 1; i < 65530; i++) {
        gmm_addr a = base + 5 * PG + 2 * i * PG;
        int64_t r = gmm_sys_mmap(e.s, a, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE, -1, 0);
        if (r != (int64_t)a)
            fail_msg("region %llu: %lld", (unsigned long long)i, (long long)r);
    }
    CHECK(e.s);
    assert_int_equal(maps_lines(e.s), 65530);
    fill(e.s, base, 0x21, 5 * PG);

    /* A hole would make 65531 regions: refused, nothing changes. */
    assert_int_equal(unmap(e.s, base + PG, PG), -GMM_ENOMEM);
    assert_int_equal(unmap(e.s, base + PG, 3 * PG), -GMM_ENOMEM);
    expect_bytes(e.s, base, 0x21, 5 * PG);
    assert_int_equal(maps_lines(e.s), 65530);
    /* Trimming an end needs no new region. */
    assert_int_equal(unmap(e.s, base, PG), 0);
    assert_int_equal(unmap(e.s, base + 4 * PG, PG), 0);
    assert_int_equal(maps_lines(e.s), 65530);
    /* Nor does a range with no region in it. */
    assert_int_equal(unmap(e.s, 0x30000000, PG), 0);
    /* Still at the limit: the hole is refused. */
    assert_int_equal(unmap(e.s, base + 2 * PG, PG), -GMM_ENOMEM);
    /* With one region fewer, the hole can be punched. */
    assert_int_equal(unmap(e.s, base + 7 * PG, PG), 0);
    assert_int_equal(maps_lines(e.s), 65529);
    assert_int_equal(unmap(e.s, base + 2 * PG, PG), 0);
    assert_int_equal(maps_lines(e.s), 65530);
    expect_bytes(e.s, base + PG, 0x21, PG);
    expect_bytes(e.s, base + 3 * PG, 0x21, PG);
    env_close(&e);
}

static void munmap_hole_punch_below_max_map_count_succeeds(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    const gmm_addr base = 0x100000000;
    map_at(e.s, base, 3 * PG, RW);
    for (uint64_t i = 1; i < 65529; i++) {
        gmm_addr a = base + 2 * PG + 2 * i * PG;
        int64_t r = gmm_sys_mmap(e.s, a, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE, -1, 0);
        if (r != (int64_t)a)
            fail_msg("region %llu: %lld", (unsigned long long)i, (long long)r);
    }
    CHECK(e.s);
    assert_int_equal(maps_lines(e.s), 65529);
    /* 65529 < 65530: the split is allowed and reaches the limit. */
    assert_int_equal(unmap(e.s, base + PG, PG), 0);
    assert_int_equal(maps_lines(e.s), 65530);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(munmap_len_zero_is_einval),
        cmocka_unit_test(munmap_unaligned_addr_is_einval),
        cmocka_unit_test(munmap_len_round_up_past_end_is_einval),
        cmocka_unit_test(munmap_beyond_task_size_is_einval),
        cmocka_unit_test(munmap_i386_arguments_are_truncated_to_32_bits),
        cmocka_unit_test(munmap_unmapped_range_returns_zero),
        cmocka_unit_test(munmap_entire_address_space_succeeds),
        cmocka_unit_test(munmap_whole_mapping_removes_its_line),
        cmocka_unit_test(munmap_first_pages_trims_start),
        cmocka_unit_test(munmap_last_pages_trims_end),
        cmocka_unit_test(munmap_middle_punches_hole),
        cmocka_unit_test(munmap_length_need_not_be_page_aligned),
        cmocka_unit_test(munmap_range_spanning_mappings_and_holes),
        cmocka_unit_test(munmap_shared_anonymous_partial_keeps_data_and_offsets),
        cmocka_unit_test(munmap_access_after_unmap_faults_maperr),
        cmocka_unit_test(munmap_then_mmap_again_reads_zero),
        cmocka_unit_test(munmap_freed_range_is_reused_by_topdown_search),
        cmocka_unit_test(munmap_in_fork_child_leaves_parent_intact),
        cmocka_unit_test(munmap_hole_punch_at_max_map_count_is_enomem),
        cmocka_unit_test(munmap_hole_punch_below_max_map_count_succeeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
