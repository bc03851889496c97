/*
 * test_native_i386.c - user copies that run past the top of an i386 task,
 * done by this machine's kernel and by an i386 gmm_space, compared.
 *
 * The native side is test/native32/topcopy.c, built with gcc -m32 -static
 * and run as a compat task (see it for what it does and prints): read(2)
 * from a pipe into the task's last 16 bytes and beyond (copy_to_user),
 * write(2) from there to a memfd (copy_from_user), and mincore(2) with its
 * vector there.  The library does the same with gmm_write, gmm_read and
 * gmm_sys_mincore on a space laid out alike; return values and every byte
 * stored must agree.  (On x86-64 Linux 6.18 the kernel stores or reads the
 * 16 bytes below the top, then fails with EFAULT: a compat task's
 * access_ok() checks the 64-bit limit.)
 *
 * Skipped where the helper could not be built (no gcc-multilib) or cannot
 * run (a kernel without IA32 emulation, a host that is not x86-64 Linux).
 */
#include "testutil.h"

#if defined(__linux__) && defined(__x86_64__) && defined(NATIVE32_TOPCOPY)

#include <sys/wait.h>

#define TOP_PAGE 0xFFFFD000ull
#define AT 0xFFFFDFF0ull
#define W 0x20000000ull

struct result {
    long ret;
    int err;
    uint8_t bytes[64];
    int n; /* bytes in HEX ("-": none) */
};

struct native {
    struct result read, write, mincore;
};

static bool parse_line(const char *line, const char *name, struct result *r)
{
    char hex[160];
    if (sscanf(line, "%*s %ld %d %159s", &r->ret, &r->err, hex) != 3)
        return false;
    if (strncmp(line, name, strlen(name)) || line[strlen(name)] != ' ')
        return false;
    r->n = 0;
    if (strcmp(hex, "-") == 0)
        return true;
    size_t len = strlen(hex);
    if (len % 2 || len / 2 > sizeof(r->bytes))
        return false;
    for (size_t i = 0; i < len; i += 2) {
        unsigned v;
        if (sscanf(hex + i, "%2x", &v) != 1)
            return false;
        r->bytes[r->n++] = (uint8_t)v;
    }
    return true;
}

/* Runs the helper: 1 with *out filled, 0 when it cannot run here. */
static int run_native(struct native *out)
{
    /* "busy": the randomised stack took the page; another run moves it. */
    for (int attempt = 0; attempt < 8; attempt++) {
        FILE *p = popen(NATIVE32_TOPCOPY, "r");
        if (!p)
            return 0;
        char lines[3][256] = {{0}};
        int got = 0;
        while (got < 3 && fgets(lines[got], sizeof(lines[got]), p))
            got++;
        int status = pclose(p);
        if (got >= 1 && strncmp(lines[0], "busy", 4) == 0)
            continue;
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != 3)
            return 0;
        if (!parse_line(lines[0], "read", &out->read) ||
            !parse_line(lines[1], "write", &out->write) ||
            !parse_line(lines[2], "mincore", &out->mincore))
            fail_msg("helper output not understood:\n%s%s%s", lines[0], lines[1], lines[2]);
        return 1;
    }
    return 0;
}

/* What the library returns for what the kernel returned: the syscall's -1
 * with errno is -errno. */
static long lib_ret(const struct result *r)
{
    return r->ret < 0 ? -(long)r->err : r->ret;
}

static void i386_copies_past_the_top_match_the_kernel(void **state)
{
    (void)state;
    struct native nat;
    if (!run_native(&nat))
        skip();

    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    assert_int_equal(gmm_sys_mmap(s, TOP_PAGE, PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                     (int64_t)TOP_PAGE);

    /* read(2) of 32 bytes into AT: copy_to_user. */
    uint8_t src[32], got[32];
    for (int i = 0; i < 32; i++)
        src[i] = (uint8_t)(0x40 + i);
    memset(got, 0xAA, 16);
    assert_int_equal(gmm_write(s, AT, got, 16), 0);
    assert_int_equal(gmm_write(s, AT, src, 32), lib_ret(&nat.read));
    assert_int_equal(nat.read.n, 16);
    assert_int_equal(gmm_read(s, AT, got, 16), 0);
    assert_memory_equal(got, nat.read.bytes, 16);

    /* write(2) of 32 bytes from AT: copy_from_user.  The kernel reports
     * the bytes it read as a short write; the library returns -EFAULT
     * after copying the same bytes. */
    for (int i = 0; i < 16; i++)
        src[i] = (uint8_t)(0x60 + i);
    assert_int_equal(gmm_write(s, AT, src, 16), 0);
    memset(got, 0xEE, sizeof(got));
    int r = gmm_read(s, AT, got, 32);
    assert_true(nat.write.ret >= 0 ? nat.write.ret == nat.write.n : nat.write.n == 0);
    assert_int_equal(r, nat.write.n == 32 ? 0 : -GMM_EFAULT);
    assert_memory_equal(got, nat.write.bytes, (size_t)nat.write.n);
    for (int i = nat.write.n; i < 32; i++)
        assert_int_equal(got[i], 0xEE);

    /* mincore(2) of 32 pages, the even ones touched, vector at AT. */
    assert_int_equal(gmm_sys_mmap(s, W, 32 * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                     (int64_t)W);
    for (int i = 0; i < 32; i += 2) {
        uint8_t one = 1;
        assert_int_equal(gmm_write(s, W + (uint64_t)i * PG, &one, 1), 0);
    }
    memset(got, 0x55, 16);
    assert_int_equal(gmm_write(s, AT, got, 16), 0);
    assert_int_equal(gmm_sys_mincore(s, W, 32 * PG, AT), lib_ret(&nat.mincore));
    assert_int_equal(nat.mincore.n, 16);
    assert_int_equal(gmm_read(s, AT, got, 16), 0);
    assert_memory_equal(got, nat.mincore.bytes, 16);

    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(i386_copies_past_the_top_match_the_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

static void i386_copies_past_the_top_match_the_kernel(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(i386_copies_past_the_top_match_the_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
