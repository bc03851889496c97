/*
 * test_access.c - guest memory access: gmm_read / gmm_write (the kernel's
 * copy_from_user / copy_to_user), gmm_translate (a CPU access, with the
 * SIGSEGV codes Linux delivers), copy-on-write across gmm_space_fork, and
 * i386 spaces.
 *
 * Linux facts used (checked on x86-64 Linux 6.18 with raw syscalls under
 * `setarch -R`): write(2) from a never-touched PROT_WRITE-only page works
 * (copy_from_user reads it), from PROT_NONE gives EFAULT, read(2) into a
 * PROT_READ page gives EFAULT; a read(2) into a range whose second page is
 * unmapped returns EFAULT with the bytes before the bad page stored.
 */
#include "testutil.h"

#define W 0x200000000ull
#define TASK64 0x7ffffffff000ull
#define TASK32 0xffffe000ull

static gmm_addr map_fixed(gmm_space *s, gmm_addr a, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, a, len, prot, flags | GMM_MAP_FIXED, -1, 0);
    assert_int_equal(r, (int64_t)a);
    CHECK(s);
    return a;
}

struct fixture {
    struct fault_log log;
    gmm_system *sys;
    gmm_space *s;
};

static struct fixture *setup(gmm_abi abi)
{
    static struct fixture f;
    f.sys = new_system(&f.log);
    f.s = new_space(f.sys, abi);
    return &f;
}

static void teardown(struct fixture *f)
{
    gmm_space_destroy(f->s);
    gmm_system_destroy(f->sys);
}

static void put8(gmm_space *s, gmm_addr a, uint8_t v)
{
    assert_int_equal(gmm_write(s, a, &v, 1), 0);
    CHECK(s);
}

static uint8_t get8(gmm_space *s, gmm_addr a)
{
    uint8_t v = 0xAA;
    assert_int_equal(gmm_read(s, a, &v, 1), 0);
    CHECK(s);
    return v;
}

#define ASSERT_FAULT(f, n, a, acc, sig, c)                                             \
    do {                                                                               \
        assert_int_equal((f)->log.count, (n));                                         \
        assert_int_equal((f)->log.last.addr, (a));                                     \
        assert_int_equal((f)->log.last.access, (acc));                                 \
        assert_int_equal((f)->log.last.signo, (sig));                                  \
        assert_int_equal((f)->log.last.code, (c));                                     \
        assert_ptr_equal((f)->log.space, (f)->s);                                      \
    } while (0)

/* ---- gmm_read / gmm_write ---- */

static void read_unmapped_efault_without_fault_callback(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    uint8_t buf[8];
    assert_int_equal(gmm_read(f->s, W, buf, sizeof(buf)), -GMM_EFAULT);
    assert_int_equal(gmm_read(f->s, 0, buf, 1), -GMM_EFAULT);
    assert_int_equal(f->log.count, 0);
    CHECK(f->s);
    teardown(f);
}

static void read_prot_none_efault(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_NONE, ANON_PRIV);
    uint8_t v;
    assert_int_equal(gmm_read(f->s, W, &v, 1), -GMM_EFAULT);
    assert_int_equal(f->log.count, 0);
    CHECK(f->s);
    teardown(f);
}

static void read_write_only_page_reads_zero(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_WRITE, ANON_PRIV);
    uint8_t buf[64];
    memset(buf, 0xAA, sizeof(buf));
    assert_int_equal(gmm_read(f->s, W + 100, buf, sizeof(buf)), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);
    CHECK(f->s);
    /* And writable, and reads back. */
    put8(f->s, W + 5, 0x55);
    assert_int_equal(get8(f->s, W + 5), 0x55);
    teardown(f);
}

static void read_read_only_page_succeeds(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(get8(f->s, W + PG - 1), 0);
    teardown(f);
}

static void write_read_only_page_efault(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    put8(f->s, W, 3);
    assert_int_equal(gmm_sys_mprotect(f->s, W, PG, GMM_PROT_READ), 0);
    map_fixed(f->s, W + PG, PG, GMM_PROT_READ | GMM_PROT_EXEC, ANON_PRIV);
    uint8_t v = 9;
    assert_int_equal(gmm_write(f->s, W, &v, 1), -GMM_EFAULT);
    assert_int_equal(gmm_write(f->s, W + PG, &v, 1), -GMM_EFAULT);
    assert_int_equal(f->log.count, 0);
    assert_int_equal(get8(f->s, W), 3);
    assert_int_equal(get8(f->s, W + PG), 0);
    teardown(f);
}

static void write_prot_none_and_unmapped_efault(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_NONE, ANON_PRIV);
    uint8_t v = 1;
    assert_int_equal(gmm_write(f->s, W, &v, 1), -GMM_EFAULT);
    assert_int_equal(gmm_write(f->s, W + PG, &v, 1), -GMM_EFAULT);
    assert_int_equal(f->log.count, 0);
    CHECK(f->s);
    teardown(f);
}

static void write_crossing_page_boundary_roundtrips(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 4 * PG, RW, ANON_PRIV);
    uint8_t src[2 * PG + 64];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(gmm_write(f->s, W + PG - 32, src, sizeof(src)), 0);
    CHECK(f->s);
    uint8_t dst[sizeof(src)];
    assert_int_equal(gmm_read(f->s, W + PG - 32, dst, sizeof(dst)), 0);
    assert_memory_equal(src, dst, sizeof(src));
    /* Bytes around it are still zero. */
    assert_int_equal(get8(f->s, W + PG - 33), 0);
    assert_int_equal(get8(f->s, W + 3 * PG + 32), 0);
    teardown(f);
}

static void write_across_two_regions_roundtrips(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    map_fixed(f->s, W + PG, PG, RW, ANON_SHARED);
    uint8_t src[16] = "0123456789abcdef", dst[16];
    assert_int_equal(gmm_write(f->s, W + PG - 8, src, 16), 0);
    assert_int_equal(gmm_read(f->s, W + PG - 8, dst, 16), 0);
    assert_memory_equal(src, dst, 16);
    CHECK(f->s);
    teardown(f);
}

static void write_partial_stores_bytes_before_bad_page(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    uint8_t src[8] = "abcdefgh";
    /* Four bytes fit, the next page is unmapped: EFAULT, but the first
     * four bytes landed (Linux's read(2) into such a buffer does this). */
    assert_int_equal(gmm_write(f->s, W + PG - 4, src, 8), -GMM_EFAULT);
    CHECK(f->s);
    uint8_t dst[4];
    assert_int_equal(gmm_read(f->s, W + PG - 4, dst, 4), 0);
    assert_memory_equal(dst, "abcd", 4);
    /* The same into a read-only next page. */
    map_fixed(f->s, W + PG, PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(gmm_write(f->s, W + PG - 2, "XYZW", 4), -GMM_EFAULT);
    assert_int_equal(gmm_read(f->s, W + PG - 4, dst, 4), 0);
    assert_memory_equal(dst, "abXY", 4);
    assert_int_equal(get8(f->s, W + PG), 0);
    assert_int_equal(f->log.count, 0);
    teardown(f);
}

static void read_partial_copies_bytes_before_bad_page(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    map_fixed(f->s, W + PG, PG, GMM_PROT_NONE, ANON_PRIV);
    assert_int_equal(gmm_write(f->s, W + PG - 3, "xyz", 3), 0);
    uint8_t dst[8];
    memset(dst, '.', sizeof(dst));
    assert_int_equal(gmm_read(f->s, W + PG - 3, dst, sizeof(dst)), -GMM_EFAULT);
    assert_memory_equal(dst, "xyz", 3);
    CHECK(f->s);
    teardown(f);
}

static void access_past_task_size_efault(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    /* The topmost page of the task. */
    map_fixed(f->s, TASK64 - PG, PG, RW, ANON_PRIV);
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(gmm_write(f->s, TASK64 - 8, buf, 8), 0);
    assert_int_equal(gmm_write(f->s, TASK64 - 4, buf, 8), -GMM_EFAULT);
    assert_int_equal(gmm_read(f->s, TASK64 - 4, buf, 8), -GMM_EFAULT);
    assert_int_equal(gmm_read(f->s, TASK64, buf, 1), -GMM_EFAULT);
    assert_int_equal(gmm_read(f->s, 0x800000000000ull, buf, 1), -GMM_EFAULT);
    /* A range that wraps around 2^64. */
    assert_int_equal(gmm_read(f->s, UINT64_MAX - 3, buf, 8), -GMM_EFAULT);
    assert_int_equal(gmm_write(f->s, UINT64_MAX - 3, buf, 8), -GMM_EFAULT);
    assert_int_equal(gmm_read(f->s, TASK64 - 8, buf, 8), 0);
    assert_int_equal(buf[7], 8);
    assert_int_equal(f->log.count, 0);
    CHECK(f->s);
    teardown(f);
}

static void access_len_zero_returns_0_anywhere(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    uint8_t buf[1];
    assert_int_equal(gmm_read(f->s, W, buf, 0), 0);
    assert_int_equal(gmm_write(f->s, W, buf, 0), 0);
    assert_int_equal(gmm_read(f->s, UINT64_MAX, buf, 0), 0);
    CHECK(f->s);
    teardown(f);
}

static void write_to_shared_anon_reads_back(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_SHARED);
    assert_int_equal(get8(f->s, W + PG), 0);
    put8(f->s, W + PG, 0x42);
    assert_int_equal(get8(f->s, W + PG), 0x42);
    teardown(f);
}

static void short_mapping_covers_its_whole_page(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    /* mmap of 128 bytes maps the whole page. */
    int64_t a = gmm_sys_mmap(f->s, 0, 128, RW, ANON_PRIV, -1, 0);
    assert_true(a > 0);
    CHECK(f->s);
    put8(f->s, (gmm_addr)a + PG - 1, 0x99);
    assert_int_equal(get8(f->s, (gmm_addr)a + PG - 1), 0x99);
    uint8_t v;
    assert_int_equal(gmm_read(f->s, (gmm_addr)a + PG, &v, 1), -GMM_EFAULT);
    teardown(f);
}

static void shared_anon_mappings_are_independent(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_SHARED);
    map_fixed(f->s, W + PG, PG, RW, ANON_SHARED);
    put8(f->s, W, 1);
    put8(f->s, W + PG, 2);
    assert_int_equal(get8(f->s, W), 1);
    assert_int_equal(get8(f->s, W + PG), 2);
    /* A new shared mapping at the same place starts from zero. */
    map_fixed(f->s, W, PG, RW, ANON_SHARED);
    assert_int_equal(get8(f->s, W), 0);
    assert_int_equal(get8(f->s, W + PG), 2);
    teardown(f);
}

/* ---- gmm_translate ---- */

static void translate_unmapped_segv_maperr(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    assert_null(gmm_translate(f->s, W + 123, GMM_ACCESS_READ));
    ASSERT_FAULT(f, 1, W + 123, GMM_ACCESS_READ, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    assert_null(gmm_translate(f->s, 0, GMM_ACCESS_WRITE));
    ASSERT_FAULT(f, 2, 0, GMM_ACCESS_WRITE, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    /* Just above a mapping. */
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    assert_null(gmm_translate(f->s, W + PG, GMM_ACCESS_READ));
    ASSERT_FAULT(f, 3, W + PG, GMM_ACCESS_READ, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    CHECK(f->s);
    teardown(f);
}

static void translate_beyond_task_size_segv_maperr(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, TASK64 - PG, PG, RW, ANON_PRIV);
    assert_non_null(gmm_translate(f->s, TASK64 - 1, GMM_ACCESS_WRITE));
    assert_null(gmm_translate(f->s, TASK64, GMM_ACCESS_READ));
    ASSERT_FAULT(f, 1, TASK64, GMM_ACCESS_READ, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    assert_null(gmm_translate(f->s, 0xffffffffffff0000ull, GMM_ACCESS_READ));
    ASSERT_FAULT(f, 2, 0xffffffffffff0000ull, GMM_ACCESS_READ, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    CHECK(f->s);
    teardown(f);
}

static void translate_prot_none_segv_accerr(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_NONE, ANON_PRIV);
    assert_null(gmm_translate(f->s, W + 1, GMM_ACCESS_READ));
    ASSERT_FAULT(f, 1, W + 1, GMM_ACCESS_READ, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    assert_null(gmm_translate(f->s, W + 2, GMM_ACCESS_WRITE));
    ASSERT_FAULT(f, 2, W + 2, GMM_ACCESS_WRITE, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    assert_null(gmm_translate(f->s, W + 3, GMM_ACCESS_EXEC));
    ASSERT_FAULT(f, 3, W + 3, GMM_ACCESS_EXEC, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    CHECK(f->s);
    teardown(f);
}

static void translate_write_to_read_only_segv_accerr(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_READ, ANON_PRIV);
    assert_non_null(gmm_translate(f->s, W, GMM_ACCESS_READ));
    assert_null(gmm_translate(f->s, W + 8, GMM_ACCESS_WRITE));
    ASSERT_FAULT(f, 1, W + 8, GMM_ACCESS_WRITE, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    assert_null(gmm_translate(f->s, W + 8, GMM_ACCESS_READ | GMM_ACCESS_WRITE));
    assert_int_equal(f->log.count, 2);
    assert_int_equal(f->log.last.code, GMM_SEGV_ACCERR);
    CHECK(f->s);
    teardown(f);
}

static void translate_exec_needs_prot_exec(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    map_fixed(f->s, W + PG, PG, GMM_PROT_READ | GMM_PROT_EXEC, ANON_PRIV);
    map_fixed(f->s, W + 2 * PG, PG, RW | GMM_PROT_EXEC, ANON_PRIV);
    /* NX: a data page does not execute. */
    assert_null(gmm_translate(f->s, W + 16, GMM_ACCESS_EXEC));
    ASSERT_FAULT(f, 1, W + 16, GMM_ACCESS_EXEC, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    assert_non_null(gmm_translate(f->s, W + PG + 16, GMM_ACCESS_EXEC));
    assert_non_null(gmm_translate(f->s, W + PG + 16, GMM_ACCESS_READ));
    assert_non_null(gmm_translate(f->s, W + 2 * PG, GMM_ACCESS_EXEC));
    assert_non_null(gmm_translate(f->s, W + 2 * PG, GMM_ACCESS_WRITE));
    assert_int_equal(f->log.count, 1);
    CHECK(f->s);
    teardown(f);
}

static void translate_write_only_page_is_readable(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_WRITE, ANON_PRIV);
    const uint8_t *p = gmm_translate(f->s, W, GMM_ACCESS_READ);
    assert_non_null(p);
    assert_int_equal(p[0], 0);
    uint8_t *q = gmm_translate(f->s, W, GMM_ACCESS_WRITE);
    assert_non_null(q);
    q[0] = 9;
    p = gmm_translate(f->s, W, GMM_ACCESS_READ);
    assert_int_equal(p[0], 9);
    assert_int_equal(f->log.count, 0);
    CHECK(f->s);
    teardown(f);
}

static void translate_pointer_valid_to_end_of_page(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    uint8_t *p = gmm_translate(f->s, W + PG - 16, GMM_ACCESS_WRITE);
    assert_non_null(p);
    for (int i = 0; i < 16; i++)
        p[i] = (uint8_t)(0xF0 + i);
    uint8_t *q = gmm_translate(f->s, W, GMM_ACCESS_WRITE);
    assert_ptr_equal(q + PG - 16, p);
    uint8_t got[17];
    assert_int_equal(gmm_read(f->s, W + PG - 16, got, 17), 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(got[i], 0xF0 + i);
    assert_int_equal(got[16], 0);
    CHECK(f->s);
    teardown(f);
}

static void translate_demand_zero_read(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 4 * PG, RW, ANON_PRIV);
    for (gmm_addr a = W; a < W + 4 * PG; a += PG) {
        const uint8_t *p = gmm_translate(f->s, a, GMM_ACCESS_READ);
        assert_non_null(p);
        for (size_t i = 0; i < PG; i++)
            assert_int_equal(p[i], 0);
    }
    CHECK(f->s);
    teardown(f);
}

static void translate_tlb_hit_returns_same_pointer(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    uint8_t *p = gmm_translate(f->s, W + 100, GMM_ACCESS_WRITE);
    assert_non_null(p);
    assert_ptr_equal(gmm_translate(f->s, W + 100, GMM_ACCESS_WRITE), p);
    assert_ptr_equal(gmm_translate(f->s, W + 100, GMM_ACCESS_READ), p);
    assert_ptr_equal(gmm_translate(f->s, W + 101, GMM_ACCESS_READ | GMM_ACCESS_WRITE), p + 1);
    assert_ptr_equal(gmm_translate(f->s, W, GMM_ACCESS_READ), p - 100);
    CHECK(f->s);
    teardown(f);
}

static void translate_write_after_read_sees_the_written_frame(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    /* A read first maps the shared zero page; the store must not go there
     * and later reads must see the store, never the stale zero page. */
    const uint8_t *r = gmm_translate(f->s, W, GMM_ACCESS_READ);
    assert_non_null(r);
    assert_int_equal(r[0], 0);
    uint8_t *w = gmm_translate(f->s, W, GMM_ACCESS_WRITE);
    assert_non_null(w);
    w[0] = 0x77;
    const uint8_t *r2 = gmm_translate(f->s, W, GMM_ACCESS_READ);
    assert_ptr_equal(r2, w);
    assert_int_equal(r2[0], 0x77);
    assert_int_equal(get8(f->s, W), 0x77);
    /* Another untouched page still reads zero. */
    map_fixed(f->s, W + PG, PG, RW, ANON_PRIV);
    const uint8_t *z = gmm_translate(f->s, W + PG, GMM_ACCESS_READ);
    assert_int_equal(z[0], 0);
    CHECK(f->s);
    teardown(f);
}

static void translate_after_mprotect_none_faults(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    assert_non_null(gmm_translate(f->s, W, GMM_ACCESS_WRITE));
    assert_non_null(gmm_translate(f->s, W, GMM_ACCESS_READ));
    assert_int_equal(gmm_sys_mprotect(f->s, W, PG, GMM_PROT_NONE), 0);
    CHECK(f->s);
    /* The cached translation must not be used. */
    assert_null(gmm_translate(f->s, W, GMM_ACCESS_READ));
    ASSERT_FAULT(f, 1, W, GMM_ACCESS_READ, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    assert_null(gmm_translate(f->s, W, GMM_ACCESS_WRITE));
    ASSERT_FAULT(f, 2, W, GMM_ACCESS_WRITE, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    teardown(f);
}

static void translate_after_mprotect_read_only_write_faults(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    uint8_t *p = gmm_translate(f->s, W, GMM_ACCESS_WRITE);
    p[0] = 1;
    assert_int_equal(gmm_sys_mprotect(f->s, W, PG, GMM_PROT_READ), 0);
    CHECK(f->s);
    assert_null(gmm_translate(f->s, W, GMM_ACCESS_WRITE));
    ASSERT_FAULT(f, 1, W, GMM_ACCESS_WRITE, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    const uint8_t *r = gmm_translate(f->s, W, GMM_ACCESS_READ);
    assert_non_null(r);
    assert_int_equal(r[0], 1);
    teardown(f);
}

static void translate_after_munmap_faults_maperr(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    assert_non_null(gmm_translate(f->s, W + PG, GMM_ACCESS_WRITE));
    assert_int_equal(gmm_sys_munmap(f->s, W + PG, PG), 0);
    CHECK(f->s);
    assert_null(gmm_translate(f->s, W + PG, GMM_ACCESS_READ));
    ASSERT_FAULT(f, 1, W + PG, GMM_ACCESS_READ, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    assert_non_null(gmm_translate(f->s, W, GMM_ACCESS_READ));
    teardown(f);
}

static void translate_after_munmap_and_remap_sees_fresh_zero_page(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    uint8_t *p = gmm_translate(f->s, W, GMM_ACCESS_WRITE);
    p[0] = 0x5A;
    assert_int_equal(gmm_sys_munmap(f->s, W, PG), 0);
    CHECK(f->s);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    const uint8_t *r = gmm_translate(f->s, W, GMM_ACCESS_READ);
    assert_non_null(r);
    assert_int_equal(r[0], 0);
    uint8_t *w = gmm_translate(f->s, W, GMM_ACCESS_WRITE);
    assert_int_equal(w[0], 0);
    assert_int_equal(f->log.count, 0);
    /* MAP_FIXED over a live mapping also replaces it. */
    w[0] = 1;
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    r = gmm_translate(f->s, W, GMM_ACCESS_READ);
    assert_int_equal(r[0], 0);
    assert_int_equal(get8(f->s, W), 0);
    teardown(f);
}

static void translate_many_pages_beyond_tlb_size_stay_correct(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    /* More pages than TLB entries, with aliasing indexes. */
    const int n = 1024;
    map_fixed(f->s, W, (uint64_t)n * PG, RW, ANON_PRIV);
    for (int i = 0; i < n; i++) {
        uint32_t *p = gmm_translate(f->s, W + (uint64_t)i * PG + 4, GMM_ACCESS_WRITE);
        assert_non_null(p);
        *p = (uint32_t)i * 2654435761u;
    }
    for (int i = n - 1; i >= 0; i--) {
        const uint32_t *p = gmm_translate(f->s, W + (uint64_t)i * PG + 4, GMM_ACCESS_READ);
        assert_non_null(p);
        assert_int_equal(*p, (uint32_t)i * 2654435761u);
        uint32_t v;
        assert_int_equal(gmm_read(f->s, W + (uint64_t)i * PG + 4, &v, 4), 0);
        assert_int_equal(v, (uint32_t)i * 2654435761u);
    }
    /* Unmap every other page: none of them may still translate. */
    for (int i = 0; i < n; i += 2)
        assert_int_equal(gmm_sys_munmap(f->s, W + (uint64_t)i * PG, PG), 0);
    CHECK(f->s);
    for (int i = 0; i < n; i++) {
        void *p = gmm_translate(f->s, W + (uint64_t)i * PG, GMM_ACCESS_READ);
        if (i % 2)
            assert_non_null(p);
        else
            assert_null(p);
    }
    assert_int_equal(f->log.count, n / 2);
    teardown(f);
}

static void translate_without_fault_callback_returns_null(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_null(gmm_translate(s, W, GMM_ACCESS_READ));
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* ---- fork ---- */

static void fork_private_parent_write_not_seen_by_child(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    put8(f->s, W, 'A');
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    CHECK(c);
    CHECK(f->s);
    assert_int_equal(get8(c, W), 'A');
    put8(f->s, W, 'B');
    assert_int_equal(get8(c, W), 'A');
    assert_int_equal(get8(f->s, W), 'B');
    CHECK(c);
    gmm_space_destroy(c);
    CHECK(f->s);
    teardown(f);
}

static void fork_private_child_write_not_seen_by_parent(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    put8(f->s, W + 1, 'P');
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    put8(c, W + 1, 'C');
    CHECK(c);
    assert_int_equal(get8(f->s, W + 1), 'P');
    assert_int_equal(get8(c, W + 1), 'C');
    /* After the child broke COW, the parent's frame is its own again. */
    put8(f->s, W + 1, 'Q');
    assert_int_equal(get8(c, W + 1), 'C');
    gmm_space_destroy(c);
    CHECK(f->s);
    teardown(f);
}

static void fork_private_cached_write_pointer_is_not_reused(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    uint8_t *before = gmm_translate(f->s, W, GMM_ACCESS_WRITE);
    assert_non_null(before);
    before[0] = 1;
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    /* The parent's next store must copy first: it may not go through the
     * pre-fork translation into the frame the child now shares. */
    uint8_t *after = gmm_translate(f->s, W, GMM_ACCESS_WRITE);
    assert_non_null(after);
    after[0] = 2;
    assert_int_equal(get8(c, W), 1);
    assert_int_equal(get8(f->s, W), 2);
    /* The child's store copies too. */
    uint8_t *cw = gmm_translate(c, W, GMM_ACCESS_WRITE);
    assert_non_null(cw);
    assert_ptr_not_equal(cw, after);
    cw[0] = 3;
    assert_int_equal(get8(f->s, W), 2);
    assert_int_equal(get8(c, W), 3);
    CHECK(c);
    gmm_space_destroy(c);
    CHECK(f->s);
    teardown(f);
}

static void fork_child_read_translation_sees_parent_data_until_write(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    put8(f->s, W, 'x');
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    const uint8_t *cr = gmm_translate(c, W, GMM_ACCESS_READ);
    assert_non_null(cr);
    assert_int_equal(cr[0], 'x');
    /* The parent writes; the child's read translation must not show it. */
    put8(f->s, W, 'y');
    cr = gmm_translate(c, W, GMM_ACCESS_READ);
    assert_int_equal(cr[0], 'x');
    CHECK(c);
    gmm_space_destroy(c);
    teardown(f);
}

static void fork_shared_anon_writes_visible_both_ways(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_SHARED);
    put8(f->s, W, 1);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    CHECK(c);
    assert_int_equal(get8(c, W), 1);
    put8(f->s, W, 2);
    assert_int_equal(get8(c, W), 2);
    put8(c, W + PG, 3);
    assert_int_equal(get8(f->s, W + PG), 3);
    /* Through translations as well. */
    uint8_t *pw = gmm_translate(f->s, W + 10, GMM_ACCESS_WRITE);
    uint8_t *cw = gmm_translate(c, W + 10, GMM_ACCESS_WRITE);
    assert_ptr_equal(pw, cw);
    *pw = 4;
    assert_int_equal(get8(c, W + 10), 4);
    CHECK(c);
    gmm_space_destroy(c);
    /* The parent keeps the memory. */
    assert_int_equal(get8(f->s, W + PG), 3);
    teardown(f);
}

static void fork_untouched_private_reads_zero_in_child(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    put8(f->s, W, 5);
    assert_int_equal(get8(c, W), 0);
    put8(c, W, 6);
    assert_int_equal(get8(f->s, W), 5);
    CHECK(c);
    gmm_space_destroy(c);
    teardown(f);
}

static void fork_child_has_same_maps_and_brk(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    assert_int_equal(gmm_space_init_brk(f->s, 0x4be000), 0);
    assert_int_equal(gmm_sys_brk(f->s, 0x4c0001), 0x4c0001);
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mprotect(f->s, W + PG, PG, GMM_PROT_READ), 0);
    map_fixed(f->s, W + 8 * PG, PG, GMM_PROT_READ, ANON_SHARED);
    static char parent[1 << 16];
    memcpy(parent, maps_of(f->s), sizeof(parent));
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    ASSERT_MAPS(c, parent);
    assert_int_equal(gmm_sys_brk(c, 0), 0x4c0001);
    assert_int_equal(gmm_space_abi(c), GMM_ABI_X86_64);
    gmm_space_destroy(c);
    teardown(f);
}

static void fork_child_survives_parent_destroy(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    map_fixed(f->s, W + PG, PG, RW, ANON_SHARED);
    put8(f->s, W, 11);
    put8(f->s, W + PG, 12);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    gmm_space_destroy(f->s);
    f->s = c;
    CHECK(c);
    assert_int_equal(get8(c, W), 11);
    assert_int_equal(get8(c, W + PG), 12);
    put8(c, W, 13);
    assert_int_equal(get8(c, W), 13);
    teardown(f);
}

static void fork_nested_each_sees_own_counter(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    gmm_space *sp[4];
    sp[0] = f->s;
    put8(sp[0], W, 0);
    for (int i = 1; i < 4; i++) {
        uint8_t v = get8(sp[i - 1], W);
        sp[i] = gmm_space_fork(sp[i - 1]);
        assert_non_null(sp[i]);
        put8(sp[i], W, (uint8_t)(v + 1));
    }
    for (int i = 0; i < 4; i++) {
        CHECK(sp[i]);
        assert_int_equal(get8(sp[i], W), i);
    }
    for (int i = 3; i >= 1; i--)
        gmm_space_destroy(sp[i]);
    CHECK(f->s);
    teardown(f);
}


/* Fork children and merging (section 12): a region inherited with an
 * anon_vma (written before the fork) has a multi-entry anon_vma chain in the
 * child, and Linux 6.18 never merges such a region with a neighbour that
 * has no anon_vma or another one.  Checked natively: fork, then mmap / brk
 * / mprotect in the child and compare /proc/self/maps. */

static const char *child_lines(const char *first, ...)
{
    static char buf[4096];
    va_list ap;
    size_t n = 0;
    buf[0] = '\0';
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *)) {
        size_t l = strlen(p);
        assert_true(n + l < sizeof(buf));
        memcpy(buf + n, p, l + 1);
        n += l;
    }
    va_end(ap);
    return buf;
}
#define LINES(...) child_lines(__VA_ARGS__, (const char *)NULL)

static void fork_child_fresh_mapping_does_not_merge_with_inherited_written_region(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    put8(f->s, W, 1);
    map_fixed(f->s, W + 4 * PG, PG, RW, ANON_PRIV);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    CHECK(c);
    /* Next to the written one: a separate line.  Next to the untouched
     * one (no anon_vma inherited): merged as usual. */
    map_fixed(c, W + 2 * PG, PG, RW, ANON_PRIV);
    map_fixed(c, W + 5 * PG, PG, RW, ANON_PRIV);
    ASSERT_MAPS(c, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 3 * PG, "rw-p"),
                         anon_line(W + 4 * PG, W + 6 * PG, "rw-p")));
    /* Writing the fresh one gives it its own anon_vma: still apart. */
    put8(c, W + 2 * PG, 2);
    ASSERT_MAPS(c, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 3 * PG, "rw-p"),
                         anon_line(W + 4 * PG, W + 6 * PG, "rw-p")));
    /* The parent merges as usual. */
    map_fixed(f->s, W + 2 * PG, PG, RW, ANON_PRIV);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 3 * PG, "rw-p"), anon_line(W + 4 * PG, W + 5 * PG, "rw-p")));
    gmm_space_destroy(c);
    teardown(f);
}

static void fork_child_mprotect_next_to_inherited_written_region_does_not_merge(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    put8(f->s, W, 1);
    map_fixed(f->s, W + 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    /* R -> RW gives the fresh region the same flags, but the inherited
     * anon_vma keeps them apart. */
    assert_int_equal(gmm_sys_mprotect(c, W + 2 * PG, PG, RW), 0);
    ASSERT_MAPS(c, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    gmm_space_destroy(c);
    teardown(f);
}

static void fork_child_split_and_restore_of_inherited_region_remerges(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    put8(f->s, W, 1);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    assert_int_equal(gmm_sys_mprotect(c, W + PG, PG, GMM_PROT_READ), 0);
    ASSERT_MAPS(c, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "r--p"),
                         anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    /* The pieces share one anon_vma: they merge back. */
    assert_int_equal(gmm_sys_mprotect(c, W + PG, PG, RW), 0);
    ASSERT_MAPS(c, anon_line(W, W + 3 * PG, "rw-p"));
    assert_int_equal(get8(c, W), 1);
    gmm_space_destroy(c);
    teardown(f);
}

static void fork_child_pieces_split_in_parent_do_not_remerge(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    /* Written, then split in the parent: in the child each piece has its
     * own anon_vma (anon_vma_fork), so restoring the prot leaves three
     * lines there; untouched pieces (no anon_vma) merge back. */
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    put8(f->s, W, 1);
    assert_int_equal(gmm_sys_mprotect(f->s, W + PG, PG, GMM_PROT_READ), 0);
    map_fixed(f->s, W + 8 * PG, 3 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mprotect(f->s, W + 9 * PG, PG, GMM_PROT_READ), 0);
    CHECK(f->s);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    assert_int_equal(gmm_sys_mprotect(c, W + PG, PG, RW), 0);
    assert_int_equal(gmm_sys_mprotect(c, W + 9 * PG, PG, RW), 0);
    ASSERT_MAPS(c, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "rw-p"),
                         anon_line(W + 2 * PG, W + 3 * PG, "rw-p"), anon_line(W + 8 * PG, W + 11 * PG, "rw-p")));
    /* The parent's pieces still share one and merge. */
    assert_int_equal(gmm_sys_mprotect(f->s, W + PG, PG, RW), 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 3 * PG, "rw-p"), anon_line(W + 8 * PG, W + 9 * PG, "rw-p"),
                            anon_line(W + 9 * PG, W + 10 * PG, "r--p"), anon_line(W + 10 * PG, W + 11 * PG, "rw-p")));
    assert_int_equal(get8(c, W), 1);
    gmm_space_destroy(c);
    teardown(f);
}

static void fork_child_brk_growth_of_inherited_heap_adds_a_region(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    const gmm_addr b = 0x4be000;
    assert_int_equal(gmm_space_init_brk(f->s, b), 0);
    assert_int_equal(gmm_sys_brk(f->s, b + 2 * PG), (int64_t)(b + 2 * PG));
    put8(f->s, b, 1);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    assert_int_equal(gmm_sys_brk(c, b + 4 * PG), (int64_t)(b + 4 * PG));
    CHECK(c);
    char want[256];
    int n = snprintf(want, sizeof(want), "%08llx-%08llx rw-p 00000000 00:00 0 ", (unsigned long long)b,
                     (unsigned long long)(b + 2 * PG));
    n += snprintf(want + n, sizeof(want) - (size_t)n, "%*s[heap]\n", 73 - n, "");
    int m = n;
    n += snprintf(want + n, sizeof(want) - (size_t)n, "%08llx-%08llx rw-p 00000000 00:00 0 ",
                  (unsigned long long)(b + 2 * PG), (unsigned long long)(b + 4 * PG));
    snprintf(want + n, sizeof(want) - (size_t)n, "%*s[heap]\n", 73 - (n - m), "");
    /* Linux's brk cannot extend the inherited heap region in the child. */
    ASSERT_MAPS(c, want);
    /* In the parent it can. */
    assert_int_equal(gmm_sys_brk(f->s, b + 4 * PG), (int64_t)(b + 4 * PG));
    n = snprintf(want, sizeof(want), "%08llx-%08llx rw-p 00000000 00:00 0 ", (unsigned long long)b,
                 (unsigned long long)(b + 4 * PG));
    snprintf(want + n, sizeof(want) - (size_t)n, "%*s[heap]\n", 73 - n, "");
    ASSERT_MAPS(f->s, want);
    gmm_space_destroy(c);
    teardown(f);
}

/* ---- i386 ---- */

static void i386_read_write_roundtrip(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_I386);
    int64_t a = gmm_sys_mmap(f->s, 0, 2 * PG, RW, ANON_PRIV, -1, 0);
    /* Top-down below mmap_base 0xf7ffe000. */
    assert_int_equal(a, 0xf7ffc000);
    CHECK(f->s);
    uint8_t src[32], dst[32];
    for (int i = 0; i < 32; i++)
        src[i] = (uint8_t)(i + 100);
    assert_int_equal(gmm_write(f->s, (gmm_addr)a + PG - 16, src, 32), 0);
    assert_int_equal(gmm_read(f->s, (gmm_addr)a + PG - 16, dst, 32), 0);
    assert_memory_equal(src, dst, 32);
    uint8_t *p = gmm_translate(f->s, (gmm_addr)a + PG, GMM_ACCESS_READ);
    assert_non_null(p);
    assert_int_equal(p[0], 116);
    assert_int_equal(p[15], 131);
    CHECK(f->s);
    teardown(f);
}

static void i386_access_at_task_size_faults(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_I386);
    map_fixed(f->s, TASK32 - PG, PG, RW, ANON_PRIV);
    uint8_t buf[8] = {0};
    assert_int_equal(gmm_write(f->s, TASK32 - 8, buf, 8), 0);
    assert_int_equal(gmm_write(f->s, TASK32 - 4, buf, 8), -GMM_EFAULT);
    assert_int_equal(gmm_read(f->s, TASK32, buf, 1), -GMM_EFAULT);
    assert_int_equal(gmm_read(f->s, 0x100000000ull, buf, 1), -GMM_EFAULT);
    assert_int_equal(f->log.count, 0);
    assert_non_null(gmm_translate(f->s, TASK32 - 1, GMM_ACCESS_WRITE));
    assert_null(gmm_translate(f->s, TASK32, GMM_ACCESS_READ));
    ASSERT_FAULT(f, 1, TASK32, GMM_ACCESS_READ, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    assert_null(gmm_translate(f->s, 0x100000000ull + (TASK32 - PG), GMM_ACCESS_READ));
    ASSERT_FAULT(f, 2, 0x100000000ull + (TASK32 - PG), GMM_ACCESS_READ, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    CHECK(f->s);
    teardown(f);
}

/* A copy that runs past the top of the task.  Checked on x86-64 Linux 6.18
 * with a page mapped at the last page of the task and 32 bytes starting 16
 * bytes below its end: a compat (gcc -m32) task's read(2) from a pipe
 * stores 16 bytes there, then EFAULT; its write(2) of those 32 bytes to a
 * memfd writes 16 (copy_from_user read 16 before the fault).  access_ok()
 * checks the 64-bit limit, so only the pages fault.  An x86-64 task gets
 * EFAULT from access_ok() and nothing is copied either way. */
static void i386_copy_past_the_top_copies_up_to_it(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_I386);
    map_fixed(f->s, TASK32 - PG, PG, RW, ANON_PRIV);
    uint8_t in[32], out[32];
    for (int i = 0; i < 32; i++)
        in[i] = (uint8_t)(0x40 + i);
    assert_int_equal(gmm_write(f->s, TASK32 - 16, in, 32), -GMM_EFAULT);
    memset(out, 0xEE, sizeof(out));
    assert_int_equal(gmm_read(f->s, TASK32 - 16, out, 16), 0);
    assert_memory_equal(out, in, 16);
    /* The read side: the 16 bytes below the top are copied, no more. */
    memset(out, 0xEE, sizeof(out));
    assert_int_equal(gmm_read(f->s, TASK32 - 16, out, 32), -GMM_EFAULT);
    assert_memory_equal(out, in, 16);
    for (int i = 16; i < 32; i++)
        assert_int_equal(out[i], 0xEE);
    /* The same from the page boundary below the top: a whole page lands. */
    static uint8_t big[PG + 8], back[PG + 8];
    memset(big, 0x5A, sizeof(big));
    assert_int_equal(gmm_write(f->s, TASK32 - PG, big, sizeof(big)), -GMM_EFAULT);
    memset(back, 0, sizeof(back));
    assert_int_equal(gmm_read(f->s, TASK32 - PG, back, sizeof(back)), -GMM_EFAULT);
    assert_memory_equal(back, big, PG);
    assert_int_equal(back[PG], 0);
    /* Beyond 4 GiB the first page already faults: nothing copied. */
    memset(out, 0xEE, sizeof(out));
    assert_int_equal(gmm_read(f->s, 0xFFFFFFF0ull, out, 32), -GMM_EFAULT);
    assert_int_equal(out[0], 0xEE);
    assert_int_equal(f->log.count, 0);
    CHECK(f->s);
    teardown(f);
}

static void x86_64_copy_past_the_top_copies_nothing(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, TASK64 - PG, PG, RW, ANON_PRIV);
    uint8_t in[32], out[32];
    for (int i = 0; i < 32; i++)
        in[i] = (uint8_t)(0x40 + i);
    assert_int_equal(gmm_write(f->s, TASK64 - 16, in, 32), -GMM_EFAULT);
    memset(out, 0xEE, sizeof(out));
    assert_int_equal(gmm_read(f->s, TASK64 - 16, out, 16), 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(out[i], 0);
    /* Make the page's top bytes known, then read past the top. */
    assert_int_equal(gmm_write(f->s, TASK64 - 16, in, 16), 0);
    memset(out, 0xEE, sizeof(out));
    assert_int_equal(gmm_read(f->s, TASK64 - 16, out, 32), -GMM_EFAULT);
    for (int i = 0; i < 32; i++)
        assert_int_equal(out[i], 0xEE);
    /* Ending exactly at the top is fine. */
    assert_int_equal(gmm_read(f->s, TASK64 - 16, out, 16), 0);
    assert_memory_equal(out, in, 16);
    assert_int_equal(f->log.count, 0);
    CHECK(f->s);
    teardown(f);
}

static void i386_fork_copy_on_write(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_I386);
    map_fixed(f->s, 0x08048000, PG, RW, ANON_PRIV);
    put8(f->s, 0x08048000, 1);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    assert_int_equal(gmm_space_abi(c), GMM_ABI_I386);
    put8(c, 0x08048000, 2);
    assert_int_equal(get8(f->s, 0x08048000), 1);
    assert_int_equal(get8(c, 0x08048000), 2);
    CHECK(c);
    gmm_space_destroy(c);
    teardown(f);
}

/* ---- user copies through the thread's copy TLB ----
 * gmm_read's hits take no lock; every test below reads each page once
 * first, so that what it then checks is the TLB's answer. */

static uint64_t get64(gmm_space *s, gmm_addr a)
{
    uint64_t v = 0xAAAAAAAAAAAAAAAAull;
    assert_int_equal(gmm_read(s, a, &v, sizeof(v)), 0);
    return v;
}

static void put64(gmm_space *s, gmm_addr a, uint64_t v)
{
    assert_int_equal(gmm_write(s, a, &v, sizeof(v)), 0);
}

static void read_hit_spanning_pages_then_second_page_protected(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_write(f->s, W + PG - 3, "abcdefgh", 8), 0);
    uint8_t dst[8];
    for (int i = 0; i < 2; i++) {
        memset(dst, '.', sizeof(dst));
        assert_int_equal(gmm_read(f->s, W + PG - 3, dst, sizeof(dst)), 0);
        assert_memory_equal(dst, "abcdefgh", 8);
    }
    assert_int_equal(gmm_sys_mprotect(f->s, W + PG, PG, GMM_PROT_NONE), 0);
    memset(dst, '.', sizeof(dst));
    assert_int_equal(gmm_read(f->s, W + PG - 3, dst, sizeof(dst)), -GMM_EFAULT);
    /* The bytes before the bad page, and nothing past it. */
    assert_memory_equal(dst, "abc.....", 8);
    assert_int_equal(f->log.count, 0);
    CHECK(f->s);
    teardown(f);
}

static void read_hits_see_munmap_mprotect_madvise_and_mremap(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 4 * PG, RW, ANON_PRIV);
    for (uint64_t k = 0; k < 4; k++) {
        put64(f->s, W + k * PG + 8, 100 + k);
        assert_int_equal(get64(f->s, W + k * PG + 8), 100 + k);
    }
    uint64_t v = 7;
    assert_int_equal(gmm_sys_munmap(f->s, W, PG), 0);
    assert_int_equal(gmm_read(f->s, W + 8, &v, sizeof(v)), -GMM_EFAULT);
    assert_int_equal(gmm_sys_mprotect(f->s, W + PG, PG, GMM_PROT_NONE), 0);
    assert_int_equal(gmm_read(f->s, W + PG + 8, &v, sizeof(v)), -GMM_EFAULT);
    assert_int_equal(gmm_sys_madvise(f->s, W + 2 * PG, PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(get64(f->s, W + 2 * PG + 8), 0);
    gmm_addr to = W + 64 * PG;
    assert_int_equal(gmm_sys_mremap(f->s, W + 3 * PG, PG, PG,
                                    GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED, to),
                     (int64_t)to);
    assert_int_equal(gmm_read(f->s, W + 3 * PG + 8, &v, sizeof(v)), -GMM_EFAULT);
    assert_int_equal(get64(f->s, to + 8), 103);
    assert_int_equal(v, 7);
    assert_int_equal(f->log.count, 0);
    CHECK(f->s);
    teardown(f);
}

static void read_hits_follow_fork_copy_on_write(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    put64(f->s, W, 1);
    assert_int_equal(get64(f->s, W), 1);
    gmm_space *c = gmm_space_fork(f->s);
    assert_non_null(c);
    assert_int_equal(get64(c, W), 1);
    put64(c, W, 2);
    assert_int_equal(get64(f->s, W), 1);
    assert_int_equal(get64(c, W), 2);
    put64(f->s, W, 3);
    assert_int_equal(get64(f->s, W), 3);
    assert_int_equal(get64(c, W), 2);
    CHECK(c);
    gmm_space_destroy(c);
    CHECK(f->s);
    teardown(f);
}

/* A remap of 128 pages flushes the whole copy TLB at the next copy (a new
 * generation of tags, 1023 of them).  After 1023 flushes the generation of
 * the entries filled at the start comes back: none of them may match
 * then.  So the pages are read once at the start, then page 0 only, then
 * from round 1000 on each of the others once, across the wrap. */
static void read_hits_survive_generations_wrapping_around(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    enum { PAGES = 128, ROUNDS = 1100, LATE = 1000 };
    gmm_addr v = W + 1024 * PG;
    map_fixed(f->s, v, PG, RW, ANON_PRIV);
    map_fixed(f->s, W, PAGES * PG, RW, ANON_PRIV);
    for (uint64_t k = 0; k < PAGES; k++) {
        put64(f->s, W + k * PG, 0x5555);
        assert_int_equal(get64(f->s, W + k * PG), 0x5555);
    }
    for (uint64_t i = 0; i < ROUNDS; i++) {
        /* The old frames keep their bytes: nothing allocates new ones. */
        map_fixed(f->s, W, PAGES * PG, RW, ANON_PRIV);
        assert_int_equal(get64(f->s, v), 0);
        uint64_t k = i < LATE ? 0 : 1 + i - LATE;
        assert_int_equal(get64(f->s, W + k * PG), 0);
    }
    teardown(f);
}

/* Every length up to 24 at offsets around a page's end, read twice (a
 * miss, then a hit: short copies have a path of their own). */
static void read_short_lengths_around_a_page_end(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    uint8_t pattern[64];
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(0x40 + i);
    assert_int_equal(gmm_write(f->s, W + PG - 32, pattern, sizeof(pattern)), 0);
    for (size_t len = 0; len <= 24; len++) {
        for (size_t off = 0; off + len <= 40; off++) {
            for (int pass = 0; pass < 2; pass++) {
                uint8_t dst[32];
                memset(dst, '.', sizeof(dst));
                assert_int_equal(gmm_read(f->s, W + PG - 32 + off, dst + 4, len), 0);
                assert_memory_equal(dst + 4, pattern + off, len);
                for (size_t i = 0; i < sizeof(dst); i++)
                    if (i < 4 || i >= 4 + len)
                        assert_int_equal(dst[i], '.');
            }
        }
    }
    teardown(f);
}

/* Pages 16,384 apart share a copy TLB entry: each read still gets its own. */
static void read_many_pages_beyond_copy_tlb_size_stay_correct(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    enum { PAGES = 20000 };
    map_fixed(f->s, W, PAGES * PG, RW, ANON_PRIV);
    for (uint64_t k = 0; k < PAGES; k++)
        put64(f->s, W + k * PG + 16, k * 3 + 1);
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t k = 0; k < PAGES; k++)
            assert_int_equal(get64(f->s, W + ((k * 16411) % PAGES) * PG + 16),
                             ((k * 16411) % PAGES) * 3 + 1);
    CHECK(f->s);
    teardown(f);
}

/* One thread copying in more spaces than it keeps TLBs for, at the same
 * address in each: a TLB taken over from another space has none of its
 * entries. */
static void read_one_thread_many_spaces_same_address(void **state)
{
    (void)state;
    enum { SPACES = 6 };
    gmm_system *sys = new_system(NULL);
    gmm_space *sp[SPACES];
    for (int i = 0; i < SPACES; i++) {
        sp[i] = new_space(sys, i % 2 ? GMM_ABI_I386 : GMM_ABI_X86_64);
        map_fixed(sp[i], 0x10000000, 2 * PG, RW, ANON_PRIV);
        put64(sp[i], 0x10000000 + PG - 4, 1000 + (uint64_t)i);
    }
    for (int round = 0; round < 12; round++) {
        for (int j = 0; j < SPACES; j++) {
            int i = round % 2 ? j : SPACES - 1 - j;
            assert_int_equal(get64(sp[i], 0x10000000 + PG - 4), 1000 + (uint64_t)i);
            assert_int_equal(get64(sp[i], 0x10000000 + 8), 0);
        }
    }
    for (int i = 0; i < SPACES; i++)
        gmm_space_destroy(sp[i]);
    gmm_system_destroy(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_unmapped_efault_without_fault_callback),
        cmocka_unit_test(read_prot_none_efault),
        cmocka_unit_test(read_write_only_page_reads_zero),
        cmocka_unit_test(read_read_only_page_succeeds),
        cmocka_unit_test(write_read_only_page_efault),
        cmocka_unit_test(write_prot_none_and_unmapped_efault),
        cmocka_unit_test(write_crossing_page_boundary_roundtrips),
        cmocka_unit_test(write_across_two_regions_roundtrips),
        cmocka_unit_test(write_partial_stores_bytes_before_bad_page),
        cmocka_unit_test(read_partial_copies_bytes_before_bad_page),
        cmocka_unit_test(access_past_task_size_efault),
        cmocka_unit_test(access_len_zero_returns_0_anywhere),
        cmocka_unit_test(write_to_shared_anon_reads_back),
        cmocka_unit_test(short_mapping_covers_its_whole_page),
        cmocka_unit_test(shared_anon_mappings_are_independent),
        cmocka_unit_test(translate_unmapped_segv_maperr),
        cmocka_unit_test(translate_beyond_task_size_segv_maperr),
        cmocka_unit_test(translate_prot_none_segv_accerr),
        cmocka_unit_test(translate_write_to_read_only_segv_accerr),
        cmocka_unit_test(translate_exec_needs_prot_exec),
        cmocka_unit_test(translate_write_only_page_is_readable),
        cmocka_unit_test(translate_pointer_valid_to_end_of_page),
        cmocka_unit_test(translate_demand_zero_read),
        cmocka_unit_test(translate_tlb_hit_returns_same_pointer),
        cmocka_unit_test(translate_write_after_read_sees_the_written_frame),
        cmocka_unit_test(translate_after_mprotect_none_faults),
        cmocka_unit_test(translate_after_mprotect_read_only_write_faults),
        cmocka_unit_test(translate_after_munmap_faults_maperr),
        cmocka_unit_test(translate_after_munmap_and_remap_sees_fresh_zero_page),
        cmocka_unit_test(translate_many_pages_beyond_tlb_size_stay_correct),
        cmocka_unit_test(translate_without_fault_callback_returns_null),
        cmocka_unit_test(fork_private_parent_write_not_seen_by_child),
        cmocka_unit_test(fork_private_child_write_not_seen_by_parent),
        cmocka_unit_test(fork_private_cached_write_pointer_is_not_reused),
        cmocka_unit_test(fork_child_read_translation_sees_parent_data_until_write),
        cmocka_unit_test(fork_shared_anon_writes_visible_both_ways),
        cmocka_unit_test(fork_untouched_private_reads_zero_in_child),
        cmocka_unit_test(fork_child_has_same_maps_and_brk),
        cmocka_unit_test(fork_child_survives_parent_destroy),
        cmocka_unit_test(fork_nested_each_sees_own_counter),
        cmocka_unit_test(fork_child_fresh_mapping_does_not_merge_with_inherited_written_region),
        cmocka_unit_test(fork_child_mprotect_next_to_inherited_written_region_does_not_merge),
        cmocka_unit_test(fork_child_split_and_restore_of_inherited_region_remerges),
        cmocka_unit_test(fork_child_pieces_split_in_parent_do_not_remerge),
        cmocka_unit_test(fork_child_brk_growth_of_inherited_heap_adds_a_region),
        cmocka_unit_test(i386_read_write_roundtrip),
        cmocka_unit_test(i386_access_at_task_size_faults),
        cmocka_unit_test(i386_copy_past_the_top_copies_up_to_it),
        cmocka_unit_test(x86_64_copy_past_the_top_copies_nothing),
        cmocka_unit_test(i386_fork_copy_on_write),
        cmocka_unit_test(read_hit_spanning_pages_then_second_page_protected),
        cmocka_unit_test(read_hits_see_munmap_mprotect_madvise_and_mremap),
        cmocka_unit_test(read_hits_follow_fork_copy_on_write),
        cmocka_unit_test(read_hits_survive_generations_wrapping_around),
        cmocka_unit_test(read_short_lengths_around_a_page_end),
        cmocka_unit_test(read_many_pages_beyond_copy_tlb_size_stay_correct),
        cmocka_unit_test(read_one_thread_many_spaces_same_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
