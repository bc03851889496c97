/*
 * test_mincore.c - mincore(2) (CONFORMANCE.md section 9).
 *
 * Checked on this machine's kernel (x86-64 Linux 6.18) with raw-syscall
 * probes under `setarch -R`: the error order, the vector written per
 * region before a hole, access_ok() at the top of the address space, a
 * vector crossing into unmapped memory.
 */
#include "memfile.h"
#include "mmhelp.h"

/* The vector lives here, one writable page. */
#define VEC (W + 64 * PG)

static gmm_space *setup(gmm_system **sys)
{
    *sys = new_system(NULL);
    gmm_space *s = new_space(*sys, GMM_ABI_X86_64);
    map_at(s, VEC, PG, RW, ANON_PRIV);
    return s;
}

static void teardown(gmm_system *sys, gmm_space *s)
{
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void mincore_unaligned_start_is_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mincore(s, W + 1, PG, VEC), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mincore(s, 1, 0, 0), -GMM_EINVAL);
    teardown(sys, s);
}

static void mincore_zero_length_allows_any_vector(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_mincore(s, 0, 0, 0), 0);
    assert_int_equal(gmm_sys_mincore(s, W, 0, 0x10), 0);
    /* But not a vector beyond the user address space. */
    assert_int_equal(gmm_sys_mincore(s, W, 0, (gmm_addr)-PG), -GMM_EFAULT);
    teardown(sys, s);
}

static void mincore_range_beyond_user_space_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_mincore(s, W, UINT64_MAX, VEC), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_mincore(s, 0x7FFFFFFFF000ull, PG, VEC), -GMM_ENOMEM);
    /* Checked before the vector. */
    assert_int_equal(gmm_sys_mincore(s, 0x7FFFFFFFF000ull, PG, 0x10), -GMM_ENOMEM);
    teardown(sys, s);
}

static void mincore_up_to_the_top_of_user_space_is_valid(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, 0x7FFFFFFFE000ull, PG, RW, ANON_PRIV);
    char v[4];
    assert_int_equal(mincore_str(s, 0x7FFFFFFFE000ull, 1, VEC, v), 0);
    assert_string_equal(v, "0");
    /* A vector that ends at the top is writable too. */
    assert_int_equal(gmm_sys_mincore(s, 0x7FFFFFFFE000ull, PG, 0x7FFFFFFFEFFFull), 0);
    teardown(sys, s);
}

static void mincore_bad_vector_is_efault(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mincore(s, W, PG, 0x10), -GMM_EFAULT);
    map_at(s, W + 8 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(gmm_sys_mincore(s, W, PG, W + 8 * PG), -GMM_EFAULT);
    /* The range is checked first: unmapped range, bad vector: ENOMEM. */
    assert_int_equal(gmm_sys_mincore(s, 0x10000, PG, 0x10), -GMM_ENOMEM);
    /* A vector running past the user space. */
    assert_int_equal(gmm_sys_mincore(s, W, 4 * PG, 0x7FFFFFFFEFFEull), -GMM_EFAULT);
    teardown(sys, s);
}

static void mincore_vector_is_written_until_it_faults(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 8 * PG, RW, ANON_SHARED);
    for (int i = 0; i < 3; i++)
        put_byte(s, W + (uint64_t)i * PG, 1);
    /* The last 3 bytes of the vector page are writable, the next page
     * is not mapped. */
    uint8_t before[3] = {9, 9, 9};
    assert_int_equal(gmm_write(s, VEC + PG - 3, before, 3), 0);
    assert_int_equal(gmm_sys_mincore(s, W, 8 * PG, VEC + PG - 3), -GMM_EFAULT);
    uint8_t after[3];
    assert_int_equal(gmm_read(s, VEC + PG - 3, after, 3), 0);
    assert_memory_equal(after, "\1\1\1", 3);
    teardown(sys, s);
}

static void mincore_unaligned_length_is_rounded_up(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, ANON_PRIV);
    put_byte(s, W + PG, 1);
    uint8_t v[3] = {9, 9, 9};
    assert_int_equal(gmm_write(s, VEC, v, 3), 0);
    assert_int_equal(gmm_sys_mincore(s, W, PG + PG / 2, VEC), 0);
    assert_int_equal(gmm_read(s, VEC, v, 3), 0);
    assert_memory_equal(v, "\0\1\x09", 3);
    teardown(sys, s);
}

static void mincore_hole_is_enomem_after_writing_earlier_regions(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, ANON_PRIV);
    map_at(s, W + 2 * PG, 2 * PG, GMM_PROT_READ, ANON_PRIV);
    put_byte(s, W, 1);
    char v[8];
    assert_int_equal(mincore_str(s, W, 6, VEC, v), -GMM_ENOMEM);
    assert_string_equal(v, "1000..");
    /* A hole first: nothing written. */
    assert_int_equal(mincore_str(s, W - PG, 3, VEC, v), -GMM_ENOMEM);
    assert_string_equal(v, "...");
    teardown(sys, s);
}

static void mincore_untouched_anonymous_pages_are_absent(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    char v[8];
    assert_int_equal(mincore_str(s, W, 4, VEC, v), 0);
    assert_string_equal(v, "0000");
    /* A read maps the zero page: resident.  A write: resident. */
    (void)get_byte(s, W + PG);
    put_byte(s, W + 2 * PG, 1);
    assert_int_equal(mincore_str(s, W, 4, VEC, v), 0);
    assert_string_equal(v, "0110");
    /* After mlock, all of them. */
    assert_int_equal(gmm_sys_mlock(s, W, 4 * PG), 0);
    assert_int_equal(mincore_str(s, W, 4, VEC, v), 0);
    assert_string_equal(v, "1111");
    /* DONTNEED takes them away again. */
    assert_int_equal(gmm_sys_munlock(s, W, 4 * PG), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(mincore_str(s, W, 4, VEC, v), 0);
    assert_string_equal(v, "0011");
    teardown(sys, s);
}

static void mincore_ignores_protection(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    put_byte(s, W + PG, 1);
    assert_int_equal(gmm_sys_mprotect(s, W, 4 * PG, GMM_PROT_NONE), 0);
    char v[8];
    assert_int_equal(mincore_str(s, W, 4, VEC, v), 0);
    assert_string_equal(v, "0100");
    teardown(sys, s);
}

static void mincore_shared_memory_pages_are_resident_once_in_the_object(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 4 * PG, RW, ANON_SHARED);
    gmm_space *c = gmm_space_fork(s);
    map_at(c, VEC, PG, RW, ANON_PRIV);
    put_byte(c, W + 3 * PG, 1);
    char v[8];
    /* The child's page is in the object the parent maps. */
    assert_int_equal(mincore_str(s, W, 4, VEC, v), 0);
    assert_string_equal(v, "0001");
    /* DONTNEED keeps it in the object; MADV_REMOVE does not. */
    assert_int_equal(gmm_sys_madvise(c, W, 4 * PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(mincore_str(c, W, 4, VEC, v), 0);
    assert_string_equal(v, "0001");
    assert_int_equal(gmm_sys_madvise(c, W + 3 * PG, PG, GMM_MADV_REMOVE), 0);
    assert_int_equal(mincore_str(s, W, 4, VEC, v), 0);
    assert_string_equal(v, "0000");
    CHECK(c);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void mincore_file_pages_are_resident_when_cached(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = memfile_system(&e, 4 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    map_at(s, VEC, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mmap(s, W, 4 * PG, GMM_PROT_READ, GMM_MAP_PRIVATE | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)W);
    assert_int_equal(gmm_sys_mmap(s, W + 8 * PG, 4 * PG, GMM_PROT_READ, GMM_MAP_SHARED | GMM_MAP_FIXED,
                                  MEMFILE_FD_RDONLY, 0),
                     (int64_t)(W + 8 * PG));
    (void)get_byte(s, W + PG);
    char v[8];
    /* One page cache: the page read through one mapping is resident in
     * the other. */
    assert_int_equal(mincore_str(s, W, 4, VEC, v), 0);
    assert_string_equal(v, "0100");
    assert_int_equal(mincore_str(s, W + 8 * PG, 4, VEC, v), 0);
    assert_string_equal(v, "0100");
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void mincore_i386_range_is_checked_by_the_mappings(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    map_at(s, VEC, PG, RW, ANON_PRIV);
    map_at(s, 0xFFFFC000u, 2 * PG, RW, ANON_PRIV);
    put_byte(s, 0xFFFFD000u, 1);
    char v[4];
    assert_int_equal(mincore_str(s, 0xFFFFC000u, 2, VEC, v), 0);
    assert_string_equal(v, "01");
    /* Beyond the 32-bit task size: no mapping. */
    assert_int_equal(mincore_str(s, 0xFFFFC000u, 3, VEC, v), -GMM_ENOMEM);
    assert_string_equal(v, "01.");
    assert_int_equal(gmm_sys_mincore(s, 0xFFFFC000u, 0xFFFFFFFFu, VEC), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_mincore(s, 0xFFFFC000u, PG, 0xFFFFF000u), -GMM_EFAULT);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* The vector runs past the top of the task.  Checked on x86-64 Linux 6.18:
 * a compat (gcc -m32) task's mincore of 32 pages (every other one touched)
 * with its vector at 0xFFFFDFF0, the last page of the task mapped, gets
 * EFAULT with the first 16 entries (01 00 01 00 ...) stored; an x86-64
 * task with its vector 16 bytes below its top gets EFAULT from access_ok()
 * and nothing stored. */
static void mincore_i386_vector_past_the_top_is_written_up_to_it(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    map_at(s, 0xFFFFD000u, PG, RW, ANON_PRIV);
    map_at(s, W, 32 * PG, RW, ANON_PRIV);
    for (int i = 0; i < 32; i += 2)
        put_byte(s, W + (uint64_t)i * PG, 1);
    uint8_t v[16];
    memset(v, 0x55, sizeof(v));
    assert_int_equal(gmm_write(s, 0xFFFFDFF0u, v, 16), 0);
    assert_int_equal(gmm_sys_mincore(s, W, 32 * PG, 0xFFFFDFF0u), -GMM_EFAULT);
    assert_int_equal(gmm_read(s, 0xFFFFDFF0u, v, 16), 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(v[i], i % 2 == 0);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void mincore_x86_64_vector_past_the_top_writes_nothing(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, 0x7FFFFFFFE000ull, PG, RW, ANON_PRIV);
    map_at(s, W, 32 * PG, RW, ANON_PRIV);
    for (int i = 0; i < 32; i += 2)
        put_byte(s, W + (uint64_t)i * PG, 1);
    uint8_t v[16];
    memset(v, 0x55, sizeof(v));
    assert_int_equal(gmm_write(s, 0x7FFFFFFFEFF0ull, v, 16), 0);
    assert_int_equal(gmm_sys_mincore(s, W, 32 * PG, 0x7FFFFFFFEFF0ull), -GMM_EFAULT);
    assert_int_equal(gmm_read(s, 0x7FFFFFFFEFF0ull, v, 16), 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(v[i], 0x55);
    teardown(sys, s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mincore_unaligned_start_is_einval),
        cmocka_unit_test(mincore_zero_length_allows_any_vector),
        cmocka_unit_test(mincore_range_beyond_user_space_is_enomem),
        cmocka_unit_test(mincore_up_to_the_top_of_user_space_is_valid),
        cmocka_unit_test(mincore_bad_vector_is_efault),
        cmocka_unit_test(mincore_vector_is_written_until_it_faults),
        cmocka_unit_test(mincore_unaligned_length_is_rounded_up),
        cmocka_unit_test(mincore_hole_is_enomem_after_writing_earlier_regions),
        cmocka_unit_test(mincore_untouched_anonymous_pages_are_absent),
        cmocka_unit_test(mincore_ignores_protection),
        cmocka_unit_test(mincore_shared_memory_pages_are_resident_once_in_the_object),
        cmocka_unit_test(mincore_file_pages_are_resident_when_cached),
        cmocka_unit_test(mincore_i386_range_is_checked_by_the_mappings),
        cmocka_unit_test(mincore_i386_vector_past_the_top_is_written_up_to_it),
        cmocka_unit_test(mincore_x86_64_vector_past_the_top_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
