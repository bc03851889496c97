/*
 * test_memcap.c - the memory cap (gmm_system_set_frame_limit): frames are
 * counted once per system, a page that needs a frame beyond the cap is
 * reported (CPU path: SIGBUS with the library's GMM_BUS_OOM; user copies:
 * -GMM_EFAULT; populating mmap: success with the pages left out; mlock:
 * -GMM_EAGAIN; MADV_POPULATE_WRITE: -GMM_ENOMEM), nothing is half done,
 * fork needs no frames, and raising the cap lets the access be retried.
 */
#include "testutil.h"

struct env {
    struct fault_log log;
    gmm_system *sys;
    gmm_space *s;
};

static void env_open(struct env *e, uint64_t cap)
{
    e->sys = new_system(&e->log);
    e->s = new_space(e->sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_system_set_frame_limit(e->sys, cap), 0);
}

static void env_close(struct env *e)
{
    CHECK(e->s);
    gmm_space_destroy(e->s);
    gmm_system_destroy(e->sys);
}

static gmm_addr map(gmm_space *s, uint64_t pages, int flags)
{
    int64_t a = gmm_sys_mmap(s, 0, pages * PG, RW, flags, -1, 0);
    assert_true(a > 0);
    return (gmm_addr)a;
}

static void translate_beyond_the_cap_reports_bus_oom(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4);
    gmm_addr a = map(e.s, 8, ANON_PRIV);
    for (int i = 0; i < 4; i++) {
        uint8_t *p = gmm_translate(e.s, a + i * PG, GMM_ACCESS_WRITE);
        assert_non_null(p);
        *p = (uint8_t)(i + 1);
    }
    assert_int_equal(gmm_system_frames_used(e.sys), 4);
    assert_null(gmm_translate(e.s, a + 4 * PG + 12, GMM_ACCESS_WRITE));
    assert_int_equal(e.log.count, 1);
    assert_int_equal(e.log.last.signo, GMM_SIGBUS);
    assert_int_equal(e.log.last.code, GMM_BUS_OOM);
    assert_int_equal(e.log.last.addr, a + 4 * PG + 12);
    assert_int_equal(e.log.last.access, GMM_ACCESS_WRITE);
    /* Reading an untouched page needs no frame (the zero page). */
    uint8_t *z = gmm_translate(e.s, a + 5 * PG, GMM_ACCESS_READ);
    assert_non_null(z);
    assert_int_equal(*z, 0);
    assert_int_equal(gmm_system_frames_used(e.sys), 4);
    CHECK(e.s);
    env_close(&e);
}

/* A cap the embedder raises lets the faulting access succeed on retry. */
static void raising_the_cap_lets_the_access_be_retried(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 1);
    gmm_addr a = map(e.s, 2, ANON_PRIV);
    assert_non_null(gmm_translate(e.s, a, GMM_ACCESS_WRITE));
    assert_null(gmm_translate(e.s, a + PG, GMM_ACCESS_WRITE));
    assert_int_equal(e.log.last.code, GMM_BUS_OOM);
    assert_int_equal(gmm_system_set_frame_limit(e.sys, 0), 0); /* no limit */
    assert_non_null(gmm_translate(e.s, a + PG, GMM_ACCESS_WRITE));
    assert_int_equal(e.log.count, 1);
    assert_int_equal(gmm_system_frames_used(e.sys), 2);
    env_close(&e);
}

/* copy_to_user stops at the page it cannot map: the bytes before it are
 * copied, nothing after, the mapping unchanged. */
static void user_copies_return_efault_at_the_cap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2);
    gmm_addr a = map(e.s, 4, ANON_PRIV);
    char before[4096];
    strcpy(before, maps_of(e.s));
    static uint8_t src[3 * 4096], back[3 * 4096];
    memset(src, 0xab, sizeof(src));
    assert_int_equal(gmm_write(e.s, a + 100, src, sizeof(src)), -GMM_EFAULT);
    assert_int_equal(gmm_system_frames_used(e.sys), 2);
    assert_int_equal(gmm_read(e.s, a + 100, back, sizeof(back)), 0);
    assert_memory_equal(back, src, 2 * PG - 100);
    for (size_t i = 2 * PG - 100; i < sizeof(back); i++)
        assert_int_equal(back[i], 0);
    assert_string_equal(maps_of(e.s), before);
    /* copy_from_user of untouched memory needs no frame. */
    assert_int_equal(gmm_read(e.s, a + 3 * PG, back, PG), 0);
    assert_int_equal(e.log.count, 0); /* user copies never call host->fault */
    env_close(&e);
}

/* MAP_POPULATE (and MAP_LOCKED) populate what they can; Linux ignores
 * populate errors, so the mmap succeeds. */
static void populating_mmap_succeeds_at_the_cap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 3);
    gmm_addr a = map(e.s, 8, ANON_PRIV | GMM_MAP_POPULATE);
    assert_int_equal(gmm_system_frames_used(e.sys), 3);
    assert_string_equal(maps_of(e.s), anon_line(a, a + 8 * PG, "rw-p"));
    gmm_addr b = map(e.s, 2, ANON_PRIV | GMM_MAP_LOCKED);
    assert_true(b < a);
    assert_int_equal(gmm_system_frames_used(e.sys), 3);
    /* The pages left out fault later, with the cap still there. */
    assert_null(gmm_translate(e.s, a + 7 * PG, GMM_ACCESS_WRITE));
    assert_int_equal(e.log.last.code, GMM_BUS_OOM);
    env_close(&e);
}

/* Linux turns an out-of-memory populate into EAGAIN for mlock and ENOMEM
 * for MADV_POPULATE_WRITE. */
static void mlock_and_madv_populate_fail_at_the_cap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 1);
    gmm_addr a = map(e.s, 4, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(e.s, a, 4 * PG), -GMM_EAGAIN);
    gmm_addr b = map(e.s, 4, ANON_PRIV);
    assert_int_equal(gmm_sys_madvise(e.s, b, 4 * PG, GMM_MADV_POPULATE_WRITE), -GMM_ENOMEM);
    assert_int_equal(gmm_system_frames_used(e.sys), 1);
    env_close(&e);
}

/* Fork shares every page copy on write: no frame is needed, whatever the
 * cap.  The first store to a shared page needs one, in either space. */
static void fork_needs_no_frames_and_cow_needs_one(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4);
    gmm_addr a = map(e.s, 4, ANON_PRIV);
    static uint8_t src[4 * 4096];
    memset(src, 7, sizeof(src));
    assert_int_equal(gmm_write(e.s, a, src, sizeof(src)), 0);
    assert_int_equal(gmm_system_frames_used(e.sys), 4);
    gmm_space *c = gmm_space_fork(e.s);
    assert_non_null(c);
    assert_int_equal(gmm_system_frames_used(e.sys), 4);
    uint8_t v = 9;
    assert_int_equal(gmm_write(c, a, &v, 1), -GMM_EFAULT);
    assert_null(gmm_translate(e.s, a + PG, GMM_ACCESS_WRITE));
    assert_int_equal(e.log.last.code, GMM_BUS_OOM);
    assert_true(e.log.space == e.s);
    /* Reads still work, and see the old bytes. */
    assert_int_equal(gmm_read(c, a, &v, 1), 0);
    assert_int_equal(v, 7);
    CHECK(c);
    /* Once the child is gone the parent's frames are its own again: a
     * store needs no new frame. */
    gmm_space_destroy(c);
    assert_non_null(gmm_translate(e.s, a + PG, GMM_ACCESS_WRITE));
    assert_int_equal(gmm_system_frames_used(e.sys), 4);
    env_close(&e);
}

/* A cap below what is in use frees nothing; frames come back as memory is
 * unmapped, and then new pages can be had again. */
static void lowering_the_cap_frees_nothing_and_refuses_new_frames(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 0);
    gmm_addr a = map(e.s, 6, ANON_PRIV);
    static uint8_t src[4 * 4096];
    assert_int_equal(gmm_write(e.s, a, src, sizeof(src)), 0);
    assert_int_equal(gmm_system_set_frame_limit(e.sys, 2), 0);
    assert_int_equal(gmm_system_frames_used(e.sys), 4);
    assert_int_equal(gmm_write(e.s, a + 4 * PG, src, 1), -GMM_EFAULT);
    assert_int_equal(gmm_sys_munmap(e.s, a, 3 * PG), 0);
    assert_int_equal(gmm_system_frames_used(e.sys), 1);
    assert_int_equal(gmm_write(e.s, a + 4 * PG, src, 1), 0);
    assert_int_equal(gmm_system_frames_used(e.sys), 2);
    env_close(&e);
}

/* Shared memory is counted once, however many spaces map it. */
static void shared_frames_count_once(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 3);
    gmm_addr a = map(e.s, 3, ANON_SHARED);
    gmm_space *c = gmm_space_fork(e.s);
    assert_non_null(c);
    static uint8_t src[3 * 4096];
    assert_int_equal(gmm_write(e.s, a, src, 2 * PG), 0);
    assert_int_equal(gmm_write(c, a + 2 * PG, src, PG), 0);
    assert_int_equal(gmm_system_frames_used(e.sys), 3);
    /* A store to a shared page needs no frame of its own. */
    assert_non_null(gmm_translate(c, a, GMM_ACCESS_WRITE));
    assert_int_equal(gmm_system_frames_used(e.sys), 3);
    gmm_space_destroy(c);
    env_close(&e);
}

/* Frames freed while a CPU runs wait for its grace period and count
 * against the cap until then (they are host memory still); frames_used
 * leaves them out.  The CPU's quiescent point lets them be reused. */
static void frames_waiting_for_a_grace_period_count_against_the_cap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4);
    gmm_cpu *cpu = gmm_cpu_create(e.s);
    assert_non_null(cpu);
    gmm_addr a = map(e.s, 4, ANON_PRIV);
    static uint8_t src[4 * 4096];
    memset(src, 0xA5, sizeof(src)); /* so that a reused frame must be zeroed */
    assert_int_equal(gmm_write(e.s, a, src, 4 * PG), 0);
    assert_int_equal(gmm_system_frames_used(e.sys), 4);
    assert_int_equal(gmm_sys_munmap(e.s, a, 4 * PG), 0);
    assert_int_equal(gmm_system_frames_used(e.sys), 0);
    gmm_addr b = map(e.s, 1, ANON_PRIV);
    assert_null(gmm_translate(e.s, b, GMM_ACCESS_WRITE));
    assert_int_equal(e.log.count, 1);
    assert_int_equal(e.log.last.signo, GMM_SIGBUS);
    assert_int_equal(e.log.last.code, GMM_BUS_OOM);
    gmm_cpu_quiesce(cpu);
    uint8_t *p = gmm_translate(e.s, b, GMM_ACCESS_WRITE);
    assert_non_null(p);
    assert_int_equal(*p, 0); /* a reused frame is zeroed */
    assert_int_equal(e.log.count, 1);
    assert_int_equal(gmm_system_frames_used(e.sys), 1);
    gmm_cpu_destroy(cpu);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(translate_beyond_the_cap_reports_bus_oom),
        cmocka_unit_test(raising_the_cap_lets_the_access_be_retried),
        cmocka_unit_test(user_copies_return_efault_at_the_cap),
        cmocka_unit_test(populating_mmap_succeeds_at_the_cap),
        cmocka_unit_test(mlock_and_madv_populate_fail_at_the_cap),
        cmocka_unit_test(fork_needs_no_frames_and_cow_needs_one),
        cmocka_unit_test(lowering_the_cap_frees_nothing_and_refuses_new_frames),
        cmocka_unit_test(shared_frames_count_once),
        cmocka_unit_test(frames_waiting_for_a_grace_period_count_against_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
