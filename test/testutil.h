/*
 * testutil.h - helpers shared by the cmocka tests: a fresh system and space,
 * maps text, fault recording, and the invariant check after every step.
 */
#ifndef GMM_TESTUTIL_H
#define GMM_TESTUTIL_H

#include <guestmm.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PG 4096ull

/* Faults reported through host->fault, newest last. */
struct fault_log {
    int count;
    gmm_fault last;
    gmm_space *space;
};

static inline void record_fault(void *user, gmm_space *space, const gmm_fault *f)
{
    struct fault_log *log = user;
    log->count++;
    log->last = *f;
    log->space = space;
}

/* A system whose fault callback records into *log (log may be NULL). */
static inline gmm_system *new_system(struct fault_log *log)
{
    gmm_host host = {0};
    if (log) {
        memset(log, 0, sizeof(*log));
        host.user = log;
        host.fault = record_fault;
    }
    gmm_system *sys = gmm_system_create(log ? &host : NULL);
    assert_non_null(sys);
    return sys;
}

static inline gmm_space *new_space(gmm_system *sys, gmm_abi abi)
{
    gmm_space *s = gmm_space_create(sys, abi);
    assert_non_null(s);
    return s;
}

/* Fails the test when the space's invariants do not hold. */
#define CHECK(s)                                                                       \
    do {                                                                               \
        const char *check_err_ = gmm_space_check(s);                                   \
        if (check_err_)                                                                \
            fail_msg("invariant broken: %s", check_err_);                              \
    } while (0)

/* The maps text of s in a static buffer. */
static inline const char *maps_of(gmm_space *s)
{
    static char buf[1 << 16];
    size_t n = gmm_space_maps(s, buf, sizeof(buf));
    assert_true(n < sizeof(buf));
    return buf;
}

/* Asserts the maps text, after the invariant check. */
#define ASSERT_MAPS(s, expected)                                                       \
    do {                                                                               \
        CHECK(s);                                                                      \
        assert_string_equal(maps_of(s), expected);                                     \
    } while (0)

/* One maps line for an unnamed anonymous region. */
static inline const char *anon_line(uint64_t start, uint64_t end, const char *perms)
{
    static char line[8][128];
    static int i;
    char *l = line[i++ & 7];
    snprintf(l, 128, "%08llx-%08llx %s 00000000 00:00 0 \n", (unsigned long long)start,
             (unsigned long long)end, perms);
    return l;
}

#define RW (GMM_PROT_READ | GMM_PROT_WRITE)
#define ANON_PRIV (GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS)
#define ANON_SHARED (GMM_MAP_SHARED | GMM_MAP_ANONYMOUS)

#endif
