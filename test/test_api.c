/*
 * test_api.c - the small parts of the public contract: version, errno
 * names and messages, the Linux x86 values of every constant family,
 * space accessors, gmm_space_init_brk, and a system without host
 * callbacks.
 *
 * Constant values are written out here from the Linux UAPI headers
 * (asm-generic/errno-base.h, asm-generic/errno.h, asm-generic/mman-common.h,
 * arch/x86/include/uapi/asm/mman.h, linux/mman.h, linux/mempolicy.h,
 * asm-generic/siginfo.h) so that the test holds on any host; on Linux they
 * are also compared with the host's own headers where those define them.
 */
#include "testutil.h"

#include <limits.h>

#if defined(__linux__)
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#endif

/* The three places a version lives must agree: the header's macros, the
 * library's gmm_version() and the build's project version (the shared
 * library's version and SONAME, the pkg-config file), passed in by
 * test/CMakeLists.txt as GMM_PROJECT_VERSION.  GMM_VERSION_HEX is checked
 * against numbers parsed from the runtime string, not against the macros it
 * is made of. */
static void version_matches_macros(void **state)
{
    (void)state;
    unsigned major = 999, minor = 999, patch = 999;
    char extra;
    assert_int_equal(sscanf(gmm_version(), "%u.%u.%u%c", &major, &minor, &patch, &extra), 3);
    assert_int_equal(major, GMM_VERSION_MAJOR);
    assert_int_equal(minor, GMM_VERSION_MINOR);
    assert_int_equal(patch, GMM_VERSION_PATCH);
    /* 0xMMmmpp: each part fits its byte, so >= orders versions. */
    assert_true(minor < 0x100 && patch < 0x100);
    assert_int_equal(GMM_VERSION_HEX, major * 0x10000u + minor * 0x100u + patch);
    assert_string_equal(gmm_version(), GMM_PROJECT_VERSION);
    /* Usable in #if, as its comment promises. */
#if !(GMM_VERSION_HEX >= 0x000100)
    fail_msg("GMM_VERSION_HEX below 0.1.0 in #if");
#endif
    /* The same pointer every time: a static string. */
    assert_ptr_equal(gmm_version(), gmm_version());
}

/* ---- errno ---- */

struct errno_case {
    int value;
    int linux_value;
    const char *name;
};

#define E(x, v) {GMM_##x, v, #x}
static const struct errno_case errnos[] = {
    E(EPERM, 1),       E(ENOENT, 2),   E(ESRCH, 3),     E(EINTR, 4),      E(EIO, 5),
    E(ENXIO, 6),       E(E2BIG, 7),    E(ENOEXEC, 8),   E(EBADF, 9),      E(ECHILD, 10),
    E(EAGAIN, 11),     E(ENOMEM, 12),  E(EACCES, 13),   E(EFAULT, 14),    E(ENOTBLK, 15),
    E(EBUSY, 16),      E(EEXIST, 17),  E(EXDEV, 18),    E(ENODEV, 19),    E(ENOTDIR, 20),
    E(EISDIR, 21),     E(EINVAL, 22),  E(ENFILE, 23),   E(EMFILE, 24),    E(ENOTTY, 25),
    E(ETXTBSY, 26),    E(EFBIG, 27),   E(ENOSPC, 28),   E(ESPIPE, 29),    E(EROFS, 30),
    E(EMLINK, 31),     E(EPIPE, 32),   E(EDOM, 33),     E(ERANGE, 34),    E(EDEADLK, 35),
    E(ENAMETOOLONG, 36), E(ENOLCK, 37), E(ENOSYS, 38),  E(ENOTEMPTY, 39), E(ELOOP, 40),
    E(ENODATA, 61),    E(EOVERFLOW, 75), E(EOPNOTSUPP, 95), E(ETIMEDOUT, 110),
    E(EHWPOISON, 133),
};
#undef E

static void errno_values_are_linux_x86(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
        if (errnos[i].value != errnos[i].linux_value)
            fail_msg("GMM_%s is %d, Linux has %d", errnos[i].name, errnos[i].value, errnos[i].linux_value);
    }
    /* Linux's aliases. */
    assert_int_equal(GMM_EWOULDBLOCK, 11);
    assert_int_equal(GMM_ENOTSUP, 95);
    assert_int_equal(GMM_EWOULDBLOCK, GMM_EAGAIN);
    assert_int_equal(GMM_ENOTSUP, GMM_EOPNOTSUPP);
#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__))
    assert_int_equal(GMM_EPERM, EPERM);
    assert_int_equal(GMM_ENOMEM, ENOMEM);
    assert_int_equal(GMM_EACCES, EACCES);
    assert_int_equal(GMM_EFAULT, EFAULT);
    assert_int_equal(GMM_EEXIST, EEXIST);
    assert_int_equal(GMM_EINVAL, EINVAL);
    assert_int_equal(GMM_ENOSYS, ENOSYS);
    assert_int_equal(GMM_EOVERFLOW, EOVERFLOW);
    assert_int_equal(GMM_EOPNOTSUPP, EOPNOTSUPP);
    assert_int_equal(GMM_ETIMEDOUT, ETIMEDOUT);
    assert_int_equal(GMM_EHWPOISON, EHWPOISON);
    assert_int_equal(GMM_ENODATA, ENODATA);
#endif
}

static void errno_table_names_every_value(void **state)
{
    (void)state;
    /* Every entry of the one table has its own name and message, for the
     * positive and the negative value. */
#define XX(name, value, msg)                                                           \
    assert_string_equal(gmm_errname(value), #name);                                   \
    assert_string_equal(gmm_errname(-(value)), #name);                                \
    assert_string_equal(gmm_strerror(value), msg);                                    \
    assert_string_equal(gmm_strerror(-(value)), msg);                                 \
    assert_int_equal(GMM_##name, value);
    GMM_ERRNO_MAP(XX)
#undef XX
}

static void strerror_positive_and_negative(void **state)
{
    (void)state;
    assert_string_equal(gmm_strerror(GMM_EINVAL), "Invalid argument");
    assert_string_equal(gmm_strerror(-GMM_EINVAL), "Invalid argument");
    assert_string_equal(gmm_strerror(-GMM_ENOMEM), "Cannot allocate memory");
    assert_string_equal(gmm_strerror(GMM_EFAULT), "Bad address");
    assert_string_equal(gmm_strerror(-GMM_EAGAIN), "Resource temporarily unavailable");
    assert_string_equal(gmm_strerror(GMM_EOPNOTSUPP), "Operation not supported");
    /* An alias gives the message of its value. */
    assert_string_equal(gmm_strerror(GMM_ENOTSUP), "Operation not supported");
#if defined(__linux__) && defined(__GLIBC__)
    /* The messages are glibc's, word for word. */
    for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
        assert_string_equal(gmm_strerror(errnos[i].value), strerror(errnos[i].linux_value));
#endif
}

static void strerror_unknown_values(void **state)
{
    (void)state;
    assert_string_equal(gmm_strerror(0), "Unknown error");
    assert_string_equal(gmm_strerror(41), "Unknown error");
    assert_string_equal(gmm_strerror(-41), "Unknown error");
    assert_string_equal(gmm_strerror(4096), "Unknown error");
    assert_string_equal(gmm_strerror(INT_MAX), "Unknown error");
    assert_string_equal(gmm_strerror(-INT_MAX), "Unknown error");
    assert_string_equal(gmm_strerror(INT_MIN), "Unknown error");
}

static void errname_positive_negative_and_unknown(void **state)
{
    (void)state;
    assert_string_equal(gmm_errname(GMM_EINVAL), "EINVAL");
    assert_string_equal(gmm_errname(-GMM_EINVAL), "EINVAL");
    assert_string_equal(gmm_errname(-GMM_ENOMEM), "ENOMEM");
    assert_string_equal(gmm_errname(GMM_EHWPOISON), "EHWPOISON");
    /* Aliases are named by their primary name. */
    assert_string_equal(gmm_errname(GMM_EWOULDBLOCK), "EAGAIN");
    assert_string_equal(gmm_errname(GMM_ENOTSUP), "EOPNOTSUPP");
    assert_string_equal(gmm_errname(0), "UNKNOWN");
    assert_string_equal(gmm_errname(41), "UNKNOWN");
    assert_string_equal(gmm_errname(-1000), "UNKNOWN");
    assert_string_equal(gmm_errname(INT_MAX), "UNKNOWN");
    assert_string_equal(gmm_errname(INT_MIN), "UNKNOWN");
}

/* ---- signals ---- */

static void signal_and_si_code_values_are_linux(void **state)
{
    (void)state;
    assert_int_equal(GMM_SIGSEGV, 11);
    assert_int_equal(GMM_SIGBUS, 7);
    assert_int_equal(GMM_SEGV_MAPERR, 1);
    assert_int_equal(GMM_SEGV_ACCERR, 2);
    assert_int_equal(GMM_SEGV_PKUERR, 4);
    assert_int_equal(GMM_BUS_ADRALN, 1);
    assert_int_equal(GMM_BUS_ADRERR, 2);
    assert_int_equal(GMM_BUS_OBJERR, 3);
#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__))
    assert_int_equal(GMM_SIGSEGV, SIGSEGV);
    assert_int_equal(GMM_SIGBUS, SIGBUS);
    assert_int_equal(GMM_SEGV_MAPERR, SEGV_MAPERR);
    assert_int_equal(GMM_SEGV_ACCERR, SEGV_ACCERR);
    assert_int_equal(GMM_BUS_ADRALN, BUS_ADRALN);
    assert_int_equal(GMM_BUS_ADRERR, BUS_ADRERR);
    assert_int_equal(GMM_BUS_OBJERR, BUS_OBJERR);
#ifdef SEGV_PKUERR
    assert_int_equal(GMM_SEGV_PKUERR, SEGV_PKUERR);
#endif
#endif
}

/* ---- memory constants ---- */

static void prot_and_map_values_are_linux_x86(void **state)
{
    (void)state;
    assert_int_equal(GMM_PROT_NONE, 0);
    assert_int_equal(GMM_PROT_READ, 1);
    assert_int_equal(GMM_PROT_WRITE, 2);
    assert_int_equal(GMM_PROT_EXEC, 4);
    assert_int_equal(GMM_PROT_SEM, 8);
    assert_int_equal(GMM_PROT_GROWSDOWN, 0x01000000);
    assert_int_equal(GMM_PROT_GROWSUP, 0x02000000);
    assert_int_equal(GMM_MAP_FILE, 0);
    assert_int_equal(GMM_MAP_SHARED, 0x01);
    assert_int_equal(GMM_MAP_PRIVATE, 0x02);
    assert_int_equal(GMM_MAP_SHARED_VALIDATE, 0x03);
    assert_int_equal(GMM_MAP_DROPPABLE, 0x08);
    assert_int_equal(GMM_MAP_TYPE, 0x0f);
    assert_int_equal(GMM_MAP_FIXED, 0x10);
    assert_int_equal(GMM_MAP_ANONYMOUS, 0x20);
    assert_int_equal(GMM_MAP_ANON, 0x20);
    assert_int_equal(GMM_MAP_32BIT, 0x40);
    assert_int_equal(GMM_MAP_GROWSDOWN, 0x100);
    assert_int_equal(GMM_MAP_DENYWRITE, 0x800);
    assert_int_equal(GMM_MAP_EXECUTABLE, 0x1000);
    assert_int_equal(GMM_MAP_LOCKED, 0x2000);
    assert_int_equal(GMM_MAP_NORESERVE, 0x4000);
    assert_int_equal(GMM_MAP_POPULATE, 0x8000);
    assert_int_equal(GMM_MAP_NONBLOCK, 0x10000);
    assert_int_equal(GMM_MAP_STACK, 0x20000);
    assert_int_equal(GMM_MAP_HUGETLB, 0x40000);
    assert_int_equal(GMM_MAP_SYNC, 0x80000);
    assert_int_equal(GMM_MAP_FIXED_NOREPLACE, 0x100000);
    assert_int_equal(GMM_MAP_UNINITIALIZED, 0x4000000);
    assert_int_equal(GMM_MAP_HUGE_SHIFT, 26);
    assert_int_equal(GMM_MAP_HUGE_MASK, 0x3f);
    assert_int_equal(GMM_MAP_HUGE_2MB, 21 << 26);
    assert_int_equal(GMM_MAP_HUGE_1GB, 30 << 26);
#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__))
    assert_int_equal(GMM_PROT_GROWSDOWN, PROT_GROWSDOWN);
    assert_int_equal(GMM_MAP_32BIT, MAP_32BIT);
    assert_int_equal(GMM_MAP_GROWSDOWN, MAP_GROWSDOWN);
    assert_int_equal(GMM_MAP_NORESERVE, MAP_NORESERVE);
    assert_int_equal(GMM_MAP_STACK, MAP_STACK);
    assert_int_equal(GMM_MAP_HUGETLB, MAP_HUGETLB);
#ifdef MAP_FIXED_NOREPLACE
    assert_int_equal(GMM_MAP_FIXED_NOREPLACE, MAP_FIXED_NOREPLACE);
#endif
#endif
}

static void other_syscall_constants_are_linux(void **state)
{
    (void)state;
    assert_int_equal(GMM_MREMAP_MAYMOVE, 1);
    assert_int_equal(GMM_MREMAP_FIXED, 2);
    assert_int_equal(GMM_MREMAP_DONTUNMAP, 4);
    static const int madv[][2] = {
        {GMM_MADV_NORMAL, 0},          {GMM_MADV_RANDOM, 1},          {GMM_MADV_SEQUENTIAL, 2},
        {GMM_MADV_WILLNEED, 3},        {GMM_MADV_DONTNEED, 4},        {GMM_MADV_FREE, 8},
        {GMM_MADV_REMOVE, 9},          {GMM_MADV_DONTFORK, 10},       {GMM_MADV_DOFORK, 11},
        {GMM_MADV_MERGEABLE, 12},      {GMM_MADV_UNMERGEABLE, 13},    {GMM_MADV_HUGEPAGE, 14},
        {GMM_MADV_NOHUGEPAGE, 15},     {GMM_MADV_DONTDUMP, 16},       {GMM_MADV_DODUMP, 17},
        {GMM_MADV_WIPEONFORK, 18},     {GMM_MADV_KEEPONFORK, 19},     {GMM_MADV_COLD, 20},
        {GMM_MADV_PAGEOUT, 21},        {GMM_MADV_POPULATE_READ, 22},  {GMM_MADV_POPULATE_WRITE, 23},
        {GMM_MADV_DONTNEED_LOCKED, 24}, {GMM_MADV_COLLAPSE, 25},      {GMM_MADV_HWPOISON, 100},
        {GMM_MADV_SOFT_OFFLINE, 101},  {GMM_MADV_GUARD_INSTALL, 102}, {GMM_MADV_GUARD_REMOVE, 103},
    };
    for (size_t i = 0; i < sizeof(madv) / sizeof(madv[0]); i++)
        assert_int_equal(madv[i][0], madv[i][1]);
    assert_int_equal(GMM_MS_ASYNC, 1);
    assert_int_equal(GMM_MS_INVALIDATE, 2);
    assert_int_equal(GMM_MS_SYNC, 4);
    assert_int_equal(GMM_MCL_CURRENT, 1);
    assert_int_equal(GMM_MCL_FUTURE, 2);
    assert_int_equal(GMM_MCL_ONFAULT, 4);
    assert_int_equal(GMM_MLOCK_ONFAULT, 1);
    assert_int_equal(GMM_MPOL_DEFAULT, 0);
    assert_int_equal(GMM_MPOL_PREFERRED, 1);
    assert_int_equal(GMM_MPOL_BIND, 2);
    assert_int_equal(GMM_MPOL_INTERLEAVE, 3);
    assert_int_equal(GMM_MPOL_LOCAL, 4);
    assert_int_equal(GMM_MPOL_PREFERRED_MANY, 5);
    assert_int_equal(GMM_MPOL_WEIGHTED_INTERLEAVE, 6);
    assert_int_equal(GMM_MPOL_MAX, 7);
    assert_int_equal(GMM_MPOL_F_STATIC_NODES, 1 << 15);
    assert_int_equal(GMM_MPOL_F_RELATIVE_NODES, 1 << 14);
    assert_int_equal(GMM_MPOL_F_NUMA_BALANCING, 1 << 13);
    assert_int_equal(GMM_MPOL_F_NODE, 1);
    assert_int_equal(GMM_MPOL_F_ADDR, 2);
    assert_int_equal(GMM_MPOL_F_MEMS_ALLOWED, 4);
    assert_int_equal(GMM_MPOL_MF_STRICT, 1);
    assert_int_equal(GMM_MPOL_MF_MOVE, 2);
    assert_int_equal(GMM_MPOL_MF_MOVE_ALL, 4);
    assert_int_equal(GMM_MPOL_MF_LAZY, 8);
    assert_int_equal(GMM_ACCESS_READ, 1);
    assert_int_equal(GMM_ACCESS_WRITE, 2);
    assert_int_equal(GMM_ACCESS_EXEC, 4);
    assert_int_equal(GMM_PAGE_SIZE, 4096);
    assert_int_equal(1 << GMM_PAGE_SHIFT, GMM_PAGE_SIZE);
    assert_int_equal(GMM_ABI_I386, 1);
    assert_int_equal(GMM_ABI_X86_64, 2);
}

/* ---- spaces ---- */

static void space_user_roundtrip(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_null(gmm_space_user(s));
    int a, b;
    gmm_space_set_user(s, &a);
    assert_ptr_equal(gmm_space_user(s), &a);
    gmm_space_set_user(s, &b);
    assert_ptr_equal(gmm_space_user(s), &b);
    gmm_space_set_user(s, NULL);
    assert_null(gmm_space_user(s));
    /* Per space. */
    gmm_space *t = new_space(sys, GMM_ABI_X86_64);
    gmm_space_set_user(t, &a);
    assert_null(gmm_space_user(s));
    assert_ptr_equal(gmm_space_user(t), &a);
    CHECK(s);
    CHECK(t);
    gmm_space_destroy(t);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void space_abi_reports_creation_abi(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s64 = new_space(sys, GMM_ABI_X86_64);
    gmm_space *s32 = new_space(sys, GMM_ABI_I386);
    assert_int_equal(gmm_space_abi(s64), GMM_ABI_X86_64);
    assert_int_equal(gmm_space_abi(s32), GMM_ABI_I386);
    gmm_space_destroy(s32);
    gmm_space_destroy(s64);
    gmm_system_destroy(sys);
}

static void space_create_unknown_abi_returns_null(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    assert_null(gmm_space_create(sys, (gmm_abi)0));
    assert_null(gmm_space_create(sys, (gmm_abi)3));
    assert_null(gmm_space_create(sys, (gmm_abi)-1));
    gmm_system_destroy(sys);
}

static void init_brk_beyond_task_size_einval(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_init_brk(s, 0x555555559000ull), 0);
    assert_int_equal(gmm_sys_brk(s, 0), 0x555555559000ll);
    assert_int_equal(gmm_space_init_brk(s, 0x7ffffffff001ull), -GMM_EINVAL);
    assert_int_equal(gmm_space_init_brk(s, 0x800000000000ull), -GMM_EINVAL);
    assert_int_equal(gmm_space_init_brk(s, UINT64_MAX), -GMM_EINVAL);
    /* A refused call changes nothing. */
    assert_int_equal(gmm_sys_brk(s, 0), 0x555555559000ll);
    /* The task size itself is not beyond it. */
    assert_int_equal(gmm_space_init_brk(s, 0x7ffffffff000ull), 0);
    assert_int_equal(gmm_sys_brk(s, 0), 0x7ffffffff000ll);
    CHECK(s);

    gmm_space *t = new_space(sys, GMM_ABI_I386);
    assert_int_equal(gmm_space_init_brk(t, 0x0804c000), 0);
    assert_int_equal(gmm_space_init_brk(t, 0xffffe001ull), -GMM_EINVAL);
    assert_int_equal(gmm_space_init_brk(t, 0x100000000ull), -GMM_EINVAL);
    assert_int_equal(gmm_sys_brk(t, 0), 0x0804c000);
    assert_int_equal(gmm_space_init_brk(t, 0xffffe000ull), 0);
    CHECK(t);
    gmm_space_destroy(t);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void init_brk_resets_break_after_growth(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_init_brk(s, 0x600000), 0);
    assert_int_equal(gmm_sys_brk(s, 0x602000), 0x602000);
    /* execve-style reset: start_brk = brk = start. */
    assert_int_equal(gmm_space_init_brk(s, 0x700000), 0);
    assert_int_equal(gmm_sys_brk(s, 0), 0x700000);
    assert_int_equal(gmm_sys_brk(s, 0x6fffff), 0x700000);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* ---- a system without a host ---- */

static void system_with_null_host_serves_anonymous_memory(void **state)
{
    (void)state;
    gmm_system *sys = gmm_system_create(NULL);
    assert_non_null(sys);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    assert_non_null(s);
    int64_t a = gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0);
    assert_int_equal(a, 0x7ffff7ffe000ll);
    CHECK(s);
    uint32_t v = 0xdeadbeef, w = 0;
    assert_int_equal(gmm_write(s, (gmm_addr)a, &v, 4), 0);
    assert_int_equal(gmm_read(s, (gmm_addr)a, &w, 4), 0);
    assert_int_equal(w, 0xdeadbeef);
    uint32_t *p = gmm_translate(s, (gmm_addr)a, GMM_ACCESS_READ);
    assert_non_null(p);
    assert_int_equal(*p, 0xdeadbeef);
    /* Faults are not reported anywhere, but still fail. */
    assert_null(gmm_translate(s, 0x1000, GMM_ACCESS_READ));
    assert_null(gmm_translate(s, (gmm_addr)a, GMM_ACCESS_EXEC));
    /* No fd can be resolved. */
    assert_int_equal(gmm_sys_mmap(s, 0, PG, GMM_PROT_READ, GMM_MAP_PRIVATE, 3, 0), -GMM_EBADF);
    assert_int_equal(gmm_sys_mmap(s, 0, PG, GMM_PROT_READ, GMM_MAP_SHARED, 0, 0), -GMM_EBADF);
    ASSERT_MAPS(s, "7ffff7ffe000-7ffff7fff000 rw-p 00000000 00:00 0 \n");
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void system_with_host_but_no_callbacks(void **state)
{
    (void)state;
    gmm_host host = {0};
    gmm_system *sys = gmm_system_create(&host);
    assert_non_null(sys);
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    assert_null(gmm_translate(s, 0x1000, GMM_ACCESS_WRITE));
    assert_int_equal(gmm_sys_mmap(s, 0, PG, GMM_PROT_READ, GMM_MAP_PRIVATE, 3, 0), -GMM_EBADF);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void spaces_of_one_system_are_independent(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_space *t = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0), 0x7ffff7ffe000ll);
    assert_int_equal(gmm_sys_mmap(t, 0, PG, RW, ANON_PRIV, -1, 0), 0x7ffff7ffe000ll);
    uint8_t v = 1;
    assert_int_equal(gmm_write(s, 0x7ffff7ffe000ull, &v, 1), 0);
    assert_int_equal(gmm_read(t, 0x7ffff7ffe000ull, &v, 1), 0);
    assert_int_equal(v, 0);
    CHECK(s);
    CHECK(t);
    gmm_space_destroy(s);
    CHECK(t);
    gmm_space_destroy(t);
    gmm_system_destroy(sys);
}

/* gmm_system_check: every space of the system at once, including pages
 * shared copy on write between a parent and its fork child. */
static void system_check_covers_every_space(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    assert_null(gmm_system_check(sys)); /* no space yet */
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_space *t = new_space(sys, GMM_ABI_I386);
    int64_t a = gmm_sys_mmap(s, 0, 4 * PG, RW, ANON_PRIV, -1, 0);
    int64_t b = gmm_sys_mmap(t, 0, 2 * PG, RW, GMM_MAP_SHARED | GMM_MAP_ANONYMOUS, -1, 0);
    assert_true(a > 0 && b > 0);
    static uint8_t src[4 * 4096];
    assert_int_equal(gmm_write(s, (gmm_addr)a, src, 4 * PG), 0);
    assert_int_equal(gmm_write(t, (gmm_addr)b, src, 2 * PG), 0);
    gmm_space *c = gmm_space_fork(s);
    assert_non_null(c);
    assert_int_equal(gmm_write(c, (gmm_addr)a + PG, src, 1), 0); /* one COW break */
    assert_null(gmm_system_check(sys));
    CHECK(s);
    CHECK(c);
    gmm_space_destroy(s);
    assert_null(gmm_system_check(sys));
    gmm_space_destroy(c);
    gmm_space_destroy(t);
    assert_null(gmm_system_check(sys));
    gmm_system_destroy(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_matches_macros),
        cmocka_unit_test(errno_values_are_linux_x86),
        cmocka_unit_test(errno_table_names_every_value),
        cmocka_unit_test(strerror_positive_and_negative),
        cmocka_unit_test(strerror_unknown_values),
        cmocka_unit_test(errname_positive_negative_and_unknown),
        cmocka_unit_test(signal_and_si_code_values_are_linux),
        cmocka_unit_test(prot_and_map_values_are_linux_x86),
        cmocka_unit_test(other_syscall_constants_are_linux),
        cmocka_unit_test(space_user_roundtrip),
        cmocka_unit_test(space_abi_reports_creation_abi),
        cmocka_unit_test(space_create_unknown_abi_returns_null),
        cmocka_unit_test(init_brk_beyond_task_size_einval),
        cmocka_unit_test(init_brk_resets_break_after_growth),
        cmocka_unit_test(system_with_null_host_serves_anonymous_memory),
        cmocka_unit_test(system_with_host_but_no_callbacks),
        cmocka_unit_test(spaces_of_one_system_are_independent),
        cmocka_unit_test(system_check_covers_every_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
