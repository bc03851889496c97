/*
 * mmhelp.h - helpers of the tests of madvise, mlock, msync, mincore,
 * mempolicy and the status text: fixed mappings, byte access, one line of
 * smaps or status, a mincore vector read back from guest memory.
 */
#ifndef GMM_MMHELP_H
#define GMM_MMHELP_H

#include "testutil.h"

/* Where the tests map (x86-64 and i386 alike). */
#define W 0x20000000ull

static inline gmm_addr map_at(gmm_space *s, gmm_addr a, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, a, len, prot, flags | GMM_MAP_FIXED, -1, 0);
    assert_int_equal(r, (int64_t)a);
    CHECK(s);
    return a;
}

static inline void put_byte(gmm_space *s, gmm_addr a, uint8_t v)
{
    assert_int_equal(gmm_write(s, a, &v, 1), 0);
    CHECK(s);
}

static inline uint8_t get_byte(gmm_space *s, gmm_addr a)
{
    uint8_t v = 0xEE;
    assert_int_equal(gmm_read(s, a, &v, 1), 0);
    CHECK(s);
    return v;
}

/* The whole smaps text, in a static buffer. */
static inline const char *smaps_of(gmm_space *s)
{
    static char buf[1 << 17];
    size_t n = gmm_space_smaps(s, buf, sizeof(buf));
    assert_true(n < sizeof(buf));
    return buf;
}

/* One field ("VmFlags", "Rss", ...) of the smaps entry of the region that
 * starts at start: the rest of its line without the newline. */
static inline const char *smaps_field(gmm_space *s, gmm_addr start, const char *field)
{
    static char out[256];
    char head[32];
    snprintf(head, sizeof(head), "%08llx-", (unsigned long long)start);
    const char *text = smaps_of(s);
    const char *entry = strstr(text, head);
    if (entry != text && entry && entry[-1] != '\n')
        entry = NULL;
    if (!entry)
        fail_msg("no smaps entry at 0x%llx:\n%s", (unsigned long long)start, text);
    char key[40];
    snprintf(key, sizeof(key), "\n%s:", field);
    const char *p = strstr(entry, key);
    assert_non_null(p);
    p += strlen(key);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\n");
    assert_true(n < sizeof(out));
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* A kB value of the status text ("VmRSS", ...). */
static inline uint64_t status_kb(gmm_space *s, const char *field)
{
    static char buf[4096];
    assert_true(gmm_space_status(s, buf, sizeof(buf)) < sizeof(buf));
    char key[40];
    snprintf(key, sizeof(key), "%s:\t", field);
    const char *p = strstr(buf, key);
    if (!p)
        fail_msg("no %s in status:\n%s", field, buf);
    return strtoull(p + strlen(key), NULL, 10);
}

/* mincore of pages pages at a, the vector written at vec (guest memory,
 * which must be mapped writable) and read back into out as '0'/'1'
 * characters; returns the syscall's result. */
static inline int64_t mincore_str(gmm_space *s, gmm_addr a, uint64_t pages, gmm_addr vec, char *out)
{
    uint8_t v[256];
    assert_true(pages <= sizeof(v));
    memset(v, 0xEE, pages);
    assert_int_equal(gmm_write(s, vec, v, pages), 0);
    int64_t r = gmm_sys_mincore(s, a, pages * PG, vec);
    assert_int_equal(gmm_read(s, vec, v, pages), 0);
    for (uint64_t i = 0; i < pages; i++)
        out[i] = v[i] == 0xEE ? '.' : (char)('0' + v[i]);
    out[pages] = '\0';
    return r;
}

/* A maps line with a name, padded to column 73 as Linux pads it. */
static inline const char *named_line(uint64_t start, uint64_t end, const char *perms,
                                     const char *name)
{
    static char line[8][256];
    static int i;
    char *l = line[i++ & 7];
    int n = snprintf(l, 256, "%08llx-%08llx %s 00000000 00:00 0 ", (unsigned long long)start,
                     (unsigned long long)end, perms);
    while (n < 73)
        l[n++] = ' ';
    snprintf(l + n, 256 - (size_t)n, "%s\n", name);
    return l;
}

/* Concatenation of NULL-terminated strings, in a static buffer. */
static inline const char *cat_lines(const char *first, ...)
{
    static char buf[8192];
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
#define LINES(...) cat_lines(__VA_ARGS__, (const char *)NULL)

#endif
