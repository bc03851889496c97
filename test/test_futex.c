/*
 * test_futex.c - gmm_space_futex_key: the identity Linux's get_futex_key()
 * gives a futex word, so that an emulator's wait queues meet where the
 * kernel's would: private futexes by space and address, shared ones by
 * the backing object and offset wherever it is mapped.
 */
#include "memfile.h"


static void same_key(const gmm_futex_key *a, const gmm_futex_key *b)
{
    assert_memory_equal(a, b, sizeof(*a));
}

static bool equal_keys(const gmm_futex_key *a, const gmm_futex_key *b)
{
    return !memcmp(a, b, sizeof(*a));
}

static void futex_key_refuses_unaligned_words_and_bad_addresses(void **state)
{
    (void)state;
    gmm_system *sys = gmm_system_create(NULL);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    gmm_futex_key k;
    int64_t a = gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0);
    assert_true(a > 0);
    for (int shared = 0; shared < 2; shared++) {
        assert_int_equal(gmm_space_futex_key(s, (gmm_addr)a + 2, shared, 0, &k), -GMM_EINVAL);
        assert_int_equal(gmm_space_futex_key(s, 0x7FFFFFFFF000ull, shared, 0, &k), -GMM_EFAULT);
        assert_int_equal(gmm_space_futex_key(s, 0xFFFFFFFFFFFFFFFCull, shared, 0, &k),
                         -GMM_EFAULT);
    }
    /* The last word below the user limit is a valid private key. */
    assert_int_equal(gmm_space_futex_key(s, 0x7FFFFFFFEFFCull, 0, 0, &k), 0);
    /* A shared key needs the page: unmapped and PROT_NONE memory fault. */
    assert_int_equal(gmm_space_futex_key(s, 0x10000, 1, 0, &k), -GMM_EFAULT);
    assert_int_equal(gmm_sys_mprotect(s, (gmm_addr)a, PG, GMM_PROT_NONE), 0);
    assert_int_equal(gmm_space_futex_key(s, (gmm_addr)a, 1, 0, &k), -GMM_EFAULT);
    /* A store is refused on read-only memory, a load is not. */
    assert_int_equal(gmm_sys_mprotect(s, (gmm_addr)a, PG, GMM_PROT_READ), 0);
    assert_int_equal(gmm_space_futex_key(s, (gmm_addr)a, 1, 1, &k), -GMM_EFAULT);
    assert_int_equal(gmm_space_futex_key(s, (gmm_addr)a, 1, 0, &k), 0);
    assert_null(gmm_space_check(s));
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void private_keys_name_the_space_and_address_without_a_lookup(void **state)
{
    (void)state;
    gmm_system *sys = gmm_system_create(NULL);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    gmm_futex_key k1, k2, k3;
    /* Nothing mapped: FUTEX_PRIVATE_FLAG looks nothing up. */
    assert_int_equal(gmm_space_futex_key(s, 0x10000, 0, 0, &k1), 0);
    assert_int_equal(k1.kind, GMM_FUTEX_KEY_PRIVATE);
    assert_int_equal(k1.offset, 0x10000);
    assert_int_equal(k1.dev, 0);
    assert_int_equal(gmm_space_futex_key(s, 0x10000, 0, 1, &k2), 0);
    same_key(&k1, &k2);
    assert_int_equal(gmm_space_futex_key(s, 0x10004, 0, 0, &k2), 0);
    assert_false(equal_keys(&k1, &k2));
    /* Another space (a fork child): the same address is another futex. */
    gmm_space *c = gmm_space_fork(s);
    assert_int_equal(gmm_space_futex_key(c, 0x10000, 0, 0, &k3), 0);
    assert_false(equal_keys(&k1, &k3));
    gmm_space_destroy(c);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void shared_futex_in_private_anonymous_memory_is_the_spaces_own(void **state)
{
    (void)state;
    gmm_system *sys = gmm_system_create(NULL);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    int64_t a = gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0);
    gmm_futex_key k, kp, kc;
    assert_int_equal(gmm_space_futex_key(s, (gmm_addr)a + 8, 1, 0, &k), 0);
    assert_int_equal(k.kind, GMM_FUTEX_KEY_MM);
    assert_int_equal(k.offset, (uint64_t)a + 8);
    /* Never equal to the private key of the same word (Linux marks it). */
    assert_int_equal(gmm_space_futex_key(s, (gmm_addr)a + 8, 0, 0, &kp), 0);
    assert_false(equal_keys(&k, &kp));
    /* A fork child's copy of the page is another futex. */
    gmm_space *c = gmm_space_fork(s);
    assert_int_equal(gmm_space_futex_key(c, (gmm_addr)a + 8, 1, 0, &kc), 0);
    assert_int_equal(kc.kind, GMM_FUTEX_KEY_MM);
    assert_false(equal_keys(&k, &kc));
    gmm_space_destroy(c);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void shared_anonymous_memory_is_one_futex_in_parent_and_child(void **state)
{
    (void)state;
    gmm_system *sys = gmm_system_create(NULL);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    int64_t a = gmm_sys_mmap(s, 0, 2 * PG, RW, GMM_MAP_SHARED | GMM_MAP_ANONYMOUS, -1, 0);
    gmm_space *c = gmm_space_fork(s);
    gmm_futex_key kp, kc;
    assert_int_equal(gmm_space_futex_key(s, (gmm_addr)a + PG + 12, 1, 0, &kp), 0);
    assert_int_equal(gmm_space_futex_key(c, (gmm_addr)a + PG + 12, 1, 1, &kc), 0);
    assert_int_equal(kp.kind, GMM_FUTEX_KEY_OBJECT);
    assert_int_equal(kp.offset, PG + 12);
    assert_int_equal(kp.dev, 1);
    same_key(&kp, &kc);
    /* Moved elsewhere in the child, the word is still the same futex. */
    int64_t b = gmm_sys_mremap(c, (gmm_addr)a, 2 * PG, 2 * PG,
                               GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED, 0x20000000);
    assert_int_equal(b, 0x20000000);
    assert_int_equal(gmm_space_futex_key(c, 0x20000000 + PG + 12, 1, 0, &kc), 0);
    same_key(&kp, &kc);
    gmm_space_destroy(c);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void file_pages_are_keyed_by_file_offset_until_a_private_copy(void **state)
{
    (void)state;
    struct memfile_env env;
    gmm_system *sys = memfile_system(&env, 4 * PG);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    gmm_space *t = gmm_space_create(sys, GMM_ABI_I386);
    /* The file's page 2 shared in s, and privately in t at another address. */
    int64_t a = gmm_sys_mmap(s, 0, 2 * PG, RW, GMM_MAP_SHARED, MEMFILE_FD_RW, PG);
    int64_t b = gmm_sys_mmap(t, 0, 3 * PG, RW, GMM_MAP_PRIVATE, MEMFILE_FD_RW, 0);
    assert_true(a > 0 && b > 0);
    gmm_futex_key ks, kt;
    assert_int_equal(gmm_space_futex_key(s, (gmm_addr)a + PG + 40, 1, 0, &ks), 0);
    assert_int_equal(ks.kind, GMM_FUTEX_KEY_OBJECT);
    assert_int_equal(ks.dev, 0x801);
    assert_int_equal(ks.ino, 77);
    assert_int_equal(ks.offset, 2 * PG + 40);
    /* i386: the register's upper half is not part of the address. */
    assert_int_equal(gmm_space_futex_key(t, 0xFFFFFFFF00000000ull | ((gmm_addr)b + 2 * PG + 40), 1,
                                         0, &kt),
                     0);
    same_key(&ks, &kt);
    /* A store gives t its own copy: from then on t's word is its own. */
    assert_int_equal(gmm_space_futex_key(t, (gmm_addr)b + 2 * PG + 40, 1, 1, &kt), 0);
    assert_int_equal(kt.kind, GMM_FUTEX_KEY_MM);
    assert_int_equal(kt.offset, (uint64_t)b + 2 * PG + 40);
    assert_int_equal(gmm_space_futex_key(s, (gmm_addr)a + PG + 40, 1, 1, &ks), 0);
    assert_int_equal(ks.kind, GMM_FUTEX_KEY_OBJECT);
    assert_null(gmm_system_check(sys));
    gmm_space_destroy(t);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(futex_key_refuses_unaligned_words_and_bad_addresses),
        cmocka_unit_test(private_keys_name_the_space_and_address_without_a_lookup),
        cmocka_unit_test(shared_futex_in_private_anonymous_memory_is_the_spaces_own),
        cmocka_unit_test(shared_anonymous_memory_is_one_futex_in_parent_and_child),
        cmocka_unit_test(file_pages_are_keyed_by_file_offset_until_a_private_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
