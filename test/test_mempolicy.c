/*
 * test_mempolicy.c - mbind, set_mempolicy and get_mempolicy on a machine
 * with one NUMA node (CONFORMANCE.md section 10).
 *
 * Checked on this machine's kernel (x86-64 Linux 6.18, one node, 1024 node
 * ids) with raw-syscall probes: every mode with and without each mode flag,
 * masks of various maxnode values, masks with bits beyond node 1023, bad
 * pointers, and the read-back of each policy.
 */
#include "mmhelp.h"

/* Guest memory for the masks and the mode word: two pages at M. */
#define M (W + 256 * PG)
#define MODE (M + PG)

static gmm_space *setup(gmm_system **sys, gmm_abi abi)
{
    *sys = new_system(NULL);
    gmm_space *s = new_space(*sys, abi);
    map_at(s, M, 2 * PG, RW, ANON_PRIV);
    return s;
}

static void teardown(gmm_system *sys, gmm_space *s)
{
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* A mask word at M. */
static gmm_addr mask(gmm_space *s, uint64_t bits)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(bits >> (8 * i));
    assert_int_equal(gmm_write(s, M, b, 8), 0);
    return M;
}

static int64_t set(gmm_space *s, int mode, uint64_t bits, uint64_t maxnode)
{
    return gmm_sys_set_mempolicy(s, mode, mask(s, bits), maxnode);
}

/* get_mempolicy into MODE and M + 64 (maxnode 65); *mode and the first
 * mask word are read back. */
static int64_t get(gmm_space *s, gmm_addr addr, unsigned flags, int *mode, uint64_t *nodes)
{
    uint8_t fill[16];
    memset(fill, 0xFF, sizeof(fill));
    assert_int_equal(gmm_write(s, MODE, fill, 4), 0);
    assert_int_equal(gmm_write(s, M + 64, fill, 16), 0);
    int64_t r = gmm_sys_get_mempolicy(s, MODE, M + 64, 65, addr, flags);
    uint8_t b[8];
    assert_int_equal(gmm_read(s, MODE, b, 4), 0);
    *mode = (int)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
    assert_int_equal(gmm_read(s, M + 64, b, 8), 0);
    *nodes = 0;
    for (int i = 0; i < 8; i++)
        *nodes |= (uint64_t)b[i] << (8 * i);
    return r;
}

/* ---- set_mempolicy / get_mempolicy ---- */

static void get_mempolicy_of_a_new_task_is_default(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    int mode;
    uint64_t nodes;
    assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_DEFAULT);
    assert_int_equal(nodes, 0);
    teardown(sys, s);
}

static void set_mempolicy_bind_node0_reads_back(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    int mode;
    uint64_t nodes;
    assert_int_equal(set(s, GMM_MPOL_BIND, 1, 65), 0);
    assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_BIND);
    assert_int_equal(nodes, 1);
    /* Nodes that do not exist are dropped from the mask in use. */
    assert_int_equal(set(s, GMM_MPOL_INTERLEAVE, 3, 65), 0);
    assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_INTERLEAVE);
    assert_int_equal(nodes, 1);
    teardown(sys, s);
}

static void set_mempolicy_mode_flags_are_read_back_with_the_given_mask(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    static const int modes[] = {GMM_MPOL_PREFERRED, GMM_MPOL_BIND, GMM_MPOL_INTERLEAVE,
                                GMM_MPOL_PREFERRED_MANY, GMM_MPOL_WEIGHTED_INTERLEAVE};
    static const int flags[] = {GMM_MPOL_F_STATIC_NODES, GMM_MPOL_F_RELATIVE_NODES};
    for (size_t i = 0; i < 5; i++)
        for (size_t f = 0; f < 2; f++) {
            int mode;
            uint64_t nodes;
            assert_int_equal(set(s, modes[i] | flags[f], 3, 65), 0);
            assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
            assert_int_equal(mode, modes[i] | flags[f]);
            assert_int_equal(nodes, 3);
        }
    /* A relative mask without node 0 folds onto node 0. */
    int mode;
    uint64_t nodes;
    assert_int_equal(set(s, GMM_MPOL_BIND | GMM_MPOL_F_RELATIVE_NODES, 2, 65), 0);
    assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
    assert_int_equal(nodes, 2);
    assert_int_equal(set(s, GMM_MPOL_BIND | GMM_MPOL_F_STATIC_NODES, 2, 65), -GMM_EINVAL);
    teardown(sys, s);
}

static void set_mempolicy_numa_balancing_only_with_bind_or_preferred_many(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    for (int m = 0; m < GMM_MPOL_MAX; m++) {
        int64_t want = m == GMM_MPOL_BIND || m == GMM_MPOL_PREFERRED_MANY ? 0 : -GMM_EINVAL;
        assert_int_equal(set(s, m | GMM_MPOL_F_NUMA_BALANCING, 1, 65), want);
    }
    int mode;
    uint64_t nodes;
    assert_int_equal(set(s, GMM_MPOL_BIND | GMM_MPOL_F_NUMA_BALANCING, 1, 65), 0);
    assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_BIND | GMM_MPOL_F_NUMA_BALANCING);
    teardown(sys, s);
}

static void set_mempolicy_rejects_invalid_modes_and_flags(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(set(s, 7439, 1, 65), -GMM_EINVAL);
    assert_int_equal(set(s, GMM_MPOL_MAX, 1, 65), -GMM_EINVAL);
    assert_int_equal(set(s, -1, 1, 65), -GMM_EINVAL);
    assert_int_equal(set(s, GMM_MPOL_BIND | 1 << 12, 1, 65), -GMM_EINVAL);
    assert_int_equal(set(s, GMM_MPOL_INTERLEAVE | GMM_MPOL_F_STATIC_NODES | GMM_MPOL_F_RELATIVE_NODES, 1, 65),
                     -GMM_EINVAL);
    assert_int_equal(set(s, GMM_MPOL_DEFAULT | GMM_MPOL_F_STATIC_NODES, 1, 65), -GMM_EINVAL);
    assert_int_equal(set(s, GMM_MPOL_LOCAL | GMM_MPOL_F_STATIC_NODES, 0, 65), -GMM_EINVAL);
    assert_int_equal(set(s, GMM_MPOL_PREFERRED | GMM_MPOL_F_STATIC_NODES, 0, 65), -GMM_EINVAL);
    /* A refused call leaves the policy. */
    int mode;
    uint64_t nodes;
    assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_DEFAULT);
    teardown(sys, s);
}

static void set_mempolicy_masks_each_mode_accepts(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    /* mode: no mask, maxnode 0 with a mask, node 0, node 1 only. */
    static const struct {
        int mode;
        int64_t none, zero_maxnode, node0, node1;
    } cases[] = {
        {GMM_MPOL_DEFAULT, 0, -GMM_EINVAL, -GMM_EINVAL, -GMM_EINVAL},
        {GMM_MPOL_PREFERRED, 0, -GMM_EINVAL, 0, -GMM_EINVAL},
        {GMM_MPOL_BIND, -GMM_EINVAL, -GMM_EINVAL, 0, -GMM_EINVAL},
        {GMM_MPOL_INTERLEAVE, -GMM_EINVAL, -GMM_EINVAL, 0, -GMM_EINVAL},
        {GMM_MPOL_LOCAL, 0, -GMM_EINVAL, -GMM_EINVAL, -GMM_EINVAL},
        {GMM_MPOL_PREFERRED_MANY, -GMM_EINVAL, -GMM_EINVAL, 0, -GMM_EINVAL},
        {GMM_MPOL_WEIGHTED_INTERLEAVE, -GMM_EINVAL, -GMM_EINVAL, 0, -GMM_EINVAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(gmm_sys_set_mempolicy(s, cases[i].mode, 0, 65), cases[i].none);
        assert_int_equal(gmm_sys_set_mempolicy(s, cases[i].mode, mask(s, 1), 0), cases[i].zero_maxnode);
        assert_int_equal(set(s, cases[i].mode, 1, 65), cases[i].node0);
        assert_int_equal(set(s, cases[i].mode, 2, 65), cases[i].node1);
        /* maxnode 1 reads no bit at all: an empty mask. */
        assert_int_equal(set(s, cases[i].mode, 1, 1), cases[i].none);
    }
    teardown(sys, s);
}

static void set_mempolicy_reads_maxnode_minus_one_bits(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    /* Bit 3 is read with maxnode 5, not with 4. */
    assert_int_equal(set(s, GMM_MPOL_DEFAULT, 8, 4), 0);
    assert_int_equal(set(s, GMM_MPOL_DEFAULT, 8, 5), -GMM_EINVAL);
    assert_int_equal(set(s, GMM_MPOL_PREFERRED, 8, 4), 0);
    int mode;
    uint64_t nodes;
    assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_LOCAL);
    assert_int_equal(nodes, 0);
    teardown(sys, s);
}

static void set_mempolicy_preferred_picks_the_first_node(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    int mode;
    uint64_t nodes;
    assert_int_equal(set(s, GMM_MPOL_PREFERRED, 3, 65), 0);
    assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_PREFERRED);
    assert_int_equal(nodes, 1);
    /* No node: local allocation, read back as MPOL_LOCAL. */
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_PREFERRED, 0, 0), 0);
    assert_int_equal(get(s, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_LOCAL);
    assert_int_equal(nodes, 0);
    teardown(sys, s);
}

static void set_mempolicy_large_maxnode_needs_zero_beyond_node_1023(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    uint8_t page[PG];
    memset(page, 0, sizeof(page));
    page[0] = 1;
    assert_int_equal(gmm_write(s, M, page, PG), 0);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M, 1025), 0);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M, 32768), 0);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M, 32769), 0);
    /* More than a page of bits. */
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M, 32770), -GMM_EINVAL);
    /* Bit 1025 is checked with maxnode 1027, and in its whole long with
     * maxnode 1026 too. */
    page[128] = 2;
    assert_int_equal(gmm_write(s, M, page, PG), 0);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M, 1025), 0);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M, 1026), -GMM_EINVAL);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M, 1027), -GMM_EINVAL);
    /* Bit 1087 with maxnode 1088 (1087 bits): the long is checked whole. */
    page[128] = 0;
    page[135] = 0x80;
    assert_int_equal(gmm_write(s, M, page, PG), 0);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M, 1088), -GMM_EINVAL);
    /* Bit 1023 is a valid node id (not a present one). */
    page[135] = 0;
    page[127] = 0x80;
    assert_int_equal(gmm_write(s, M, page, PG), 0);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M, 1025), 0);
    teardown(sys, s);
}

static void set_mempolicy_bad_mask_pointer_is_efault(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, 0x10, 65), -GMM_EFAULT);
    /* Read even for the default policy... */
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_DEFAULT, 0x10, 65), -GMM_EFAULT);
    /* ... but not when maxnode asks for no bit. */
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, 0x10, 1), -GMM_EINVAL);
    /* A long that runs into unmapped memory. */
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M + 2 * PG - 4, 65), -GMM_EFAULT);
    teardown(sys, s);
}

static void set_mempolicy_i386_reads_32_bit_words(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_I386);
    /* 32 bits are one word: the last 4 bytes of the page suffice. */
    uint8_t b[4] = {1, 0, 0, 0};
    assert_int_equal(gmm_write(s, M + 2 * PG - 4, b, 4), 0);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M + 2 * PG - 4, 33), 0);
    assert_int_equal(gmm_sys_set_mempolicy(s, GMM_MPOL_BIND, M + 2 * PG - 4, 34), -GMM_EFAULT);
    teardown(sys, s);
}

static void get_mempolicy_rejects_bad_flags(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 64, 0, (unsigned)-1), -GMM_EINVAL);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 64, 0, 8), -GMM_EINVAL);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 64, 0, GMM_MPOL_F_MEMS_ALLOWED | GMM_MPOL_F_NODE),
                     -GMM_EINVAL);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 64, 0, GMM_MPOL_F_MEMS_ALLOWED | GMM_MPOL_F_ADDR),
                     -GMM_EINVAL);
    /* An address without MPOL_F_ADDR. */
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 64, M, 0), -GMM_EINVAL);
    teardown(sys, s);
}

static void get_mempolicy_mems_allowed_is_node0(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(set(s, GMM_MPOL_BIND, 1, 65), 0);
    int mode;
    uint64_t nodes;
    assert_int_equal(get(s, 0, GMM_MPOL_F_MEMS_ALLOWED, &mode, &nodes), 0);
    assert_int_equal(mode, 0);
    assert_int_equal(nodes, 1);
    teardown(sys, s);
}

static void get_mempolicy_maxnode_below_node_ids_is_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 0, 0, 0), -GMM_EINVAL);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, 0, 0, 0, 0), 0);
    /* maxnode 1: no byte of the mask is written. */
    uint8_t b[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    assert_int_equal(gmm_write(s, M, b, 8), 0);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 1, 0, 0), 0);
    assert_int_equal(gmm_read(s, M, b, 8), 0);
    assert_memory_equal(b, "\7\7\7\7\7\7\7\7", 8);
    teardown(sys, s);
}

static void get_mempolicy_clears_the_mask_beyond_one_long(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    uint8_t b[40];
    memset(b, 0xFF, sizeof(b));
    assert_int_equal(gmm_write(s, M, b, sizeof(b)), 0);
    assert_int_equal(set(s, GMM_MPOL_BIND, 1, 65), 0);
    memset(b, 0xFF, sizeof(b));
    assert_int_equal(gmm_write(s, M, b, sizeof(b)), 0);
    /* maxnode 200: ALIGN(199, 64) bits, 32 bytes. */
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 200, 0, 0), 0);
    assert_int_equal(gmm_read(s, M, b, sizeof(b)), 0);
    uint8_t want[40] = {1};
    memset(want + 32, 0xFF, 8);
    assert_memory_equal(b, want, sizeof(b));
    /* A page of bytes at most. */
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 32769, 0, 0), 0);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 32770, 0, 0), -GMM_EINVAL);
    teardown(sys, s);
}

static void get_mempolicy_bad_pointers_are_efault(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_get_mempolicy(s, 0x10, M, 64, 0, 0), -GMM_EFAULT);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, 0x10, 64, 0, 0), -GMM_EFAULT);
    /* Both may be omitted. */
    assert_int_equal(gmm_sys_get_mempolicy(s, 0, 0, 0, 0, 0), 0);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, 0, 0, 0, 0), 0);
    assert_int_equal(gmm_sys_get_mempolicy(s, 0, M, 64, 0, 0), 0);
    teardown(sys, s);
}

static void get_mempolicy_next_interleave_node(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    int mode;
    uint64_t nodes;
    assert_int_equal(get(s, 0, GMM_MPOL_F_NODE, &mode, &nodes), -GMM_EINVAL);
    assert_int_equal(set(s, GMM_MPOL_BIND, 1, 65), 0);
    assert_int_equal(get(s, 0, GMM_MPOL_F_NODE, &mode, &nodes), -GMM_EINVAL);
    assert_int_equal(set(s, GMM_MPOL_INTERLEAVE, 1, 65), 0);
    assert_int_equal(get(s, 0, GMM_MPOL_F_NODE, &mode, &nodes), 0);
    assert_int_equal(mode, 0);
    assert_int_equal(nodes, 1);
    assert_int_equal(set(s, GMM_MPOL_WEIGHTED_INTERLEAVE, 1, 65), 0);
    assert_int_equal(get(s, 0, GMM_MPOL_F_NODE, &mode, &nodes), 0);
    assert_int_equal(mode, 0);
    teardown(sys, s);
}

static void get_mempolicy_of_an_address(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    int mode;
    uint64_t nodes;
    /* The task's policy is not the region's. */
    assert_int_equal(set(s, GMM_MPOL_PREFERRED, 1, 65), 0);
    assert_int_equal(get(s, W, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_DEFAULT);
    assert_int_equal(nodes, 0);
    /* The node of the page: faulted in for reading. */
    assert_int_equal(get(s, W + 5, GMM_MPOL_F_ADDR | GMM_MPOL_F_NODE, &mode, &nodes), 0);
    assert_int_equal(mode, 0);
    char v[4];
    assert_int_equal(mincore_str(s, W, 2, M + 128, v), 0);
    assert_string_equal(v, "10");
    /* No region: EFAULT; no read access: EFAULT. */
    assert_int_equal(get(s, 0, GMM_MPOL_F_ADDR, &mode, &nodes), -GMM_EFAULT);
    assert_int_equal(get(s, (gmm_addr)-1, GMM_MPOL_F_ADDR, &mode, &nodes), -GMM_EFAULT);
    assert_int_equal(gmm_sys_mprotect(s, W + PG, PG, GMM_PROT_NONE), 0);
    assert_int_equal(get(s, W + PG, GMM_MPOL_F_ADDR | GMM_MPOL_F_NODE, &mode, &nodes), -GMM_EFAULT);
    assert_int_equal(get(s, W + PG, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    teardown(sys, s);
}

static void get_mempolicy_i386_writes_32_bit_words(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_I386);
    assert_int_equal(set(s, GMM_MPOL_BIND, 1, 65), 0);
    uint8_t b[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    assert_int_equal(gmm_write(s, M, b, 8), 0);
    /* maxnode 1: one 32-bit word. */
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 1, 0, 0), 0);
    assert_int_equal(gmm_read(s, M, b, 8), 0);
    assert_memory_equal(b, "\1\0\0\0\7\7\7\7", 8);
    /* maxnode 65: 8 bytes, the second word cleared. */
    memset(b, 7, 8);
    assert_int_equal(gmm_write(s, M, b, 8), 0);
    assert_int_equal(gmm_sys_get_mempolicy(s, MODE, M, 65, 0, 0), 0);
    assert_int_equal(gmm_read(s, M, b, 8), 0);
    assert_memory_equal(b, "\1\0\0\0\0\0\0\0", 8);
    teardown(sys, s);
}

static void mempolicy_is_inherited_by_fork_and_kept_by_exec(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(set(s, GMM_MPOL_INTERLEAVE, 1, 65), 0);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_BIND, mask(s, 1), 65, 0), 0);
    gmm_space *c = gmm_space_fork(s);
    map_at(c, M, 2 * PG, RW, ANON_PRIV);
    int mode;
    uint64_t nodes;
    assert_int_equal(get(c, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_INTERLEAVE);
    assert_int_equal(get(c, W, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_BIND);
    assert_int_equal(get(c, W + PG, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_DEFAULT);
    CHECK(c);
    /* execve keeps the task's policy; the regions are gone. */
    assert_int_equal(gmm_space_exec_reset(c), 0);
    map_at(c, M, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(get(c, 0, 0, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_INTERLEAVE);
    CHECK(c);
    gmm_space_destroy(c);
    teardown(sys, s);
}

/* ---- mbind ---- */

static void mbind_splits_and_reads_back_per_region(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 3 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mbind(s, W + PG, PG, GMM_MPOL_BIND, mask(s, 1), 65, 0), 0);
    ASSERT_MAPS(s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "rw-p"),
                         anon_line(W + 2 * PG, W + 3 * PG, "rw-p"), anon_line(M, M + 2 * PG, "rw-p")));
    int mode;
    uint64_t nodes;
    assert_int_equal(get(s, W + PG, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_BIND);
    assert_int_equal(nodes, 1);
    assert_int_equal(get(s, W, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_DEFAULT);
    /* The same policy again: no change; the default one merges back. */
    assert_int_equal(gmm_sys_mbind(s, W + PG, PG, GMM_MPOL_BIND, mask(s, 1), 65, 0), 0);
    assert_int_equal(gmm_sys_mbind(s, W + PG, PG, GMM_MPOL_DEFAULT, 0, 0, 0), 0);
    ASSERT_MAPS(s, LINES(anon_line(W, W + 3 * PG, "rw-p"), anon_line(M, M + 2 * PG, "rw-p")));
    teardown(sys, s);
}

static void mbind_modes_with_and_without_masks(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, PG, RW, ANON_PRIV);
    int mode;
    uint64_t nodes;
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_DEFAULT, 0, 0, 0), 0);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_DEFAULT, mask(s, 1), 65, 0), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_BIND, 0, 0, 0), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_INTERLEAVE, 0, 0, 0), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_INTERLEAVE, mask(s, 1), 65, 0), 0);
    assert_int_equal(get(s, W, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_INTERLEAVE);
    assert_int_equal(nodes, 1);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_LOCAL, mask(s, 1), 65, 0), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_LOCAL, 0, 0, 0), 0);
    assert_int_equal(get(s, W, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_LOCAL);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_PREFERRED, 0, 0, 0), 0);
    assert_int_equal(get(s, W, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_LOCAL);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_PREFERRED, mask(s, 1), 65, 0), 0);
    assert_int_equal(get(s, W, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_PREFERRED);
    /* The default policy with a flag and no mask is accepted. */
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_DEFAULT | GMM_MPOL_F_STATIC_NODES, 0, 0, 0), 0);
    assert_int_equal(get(s, W, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_DEFAULT);
    teardown(sys, s);
}

static void mbind_rejects_bad_arguments_in_order(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mbind(s, W, PG, 7439, mask(s, 1), 65, 0), -GMM_EINVAL);
    /* The mask is read before the flags and the address are checked. */
    assert_int_equal(gmm_sys_mbind(s, W + 1, 0, GMM_MPOL_BIND, 0x10, 65, (unsigned)-1), -GMM_EFAULT);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_BIND, mask(s, 1), 65, (unsigned)-1), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_BIND, mask(s, 1), 65, GMM_MPOL_MF_LAZY), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_BIND, mask(s, 1), 65, 16), -GMM_EINVAL);
    /* Moving other processes' pages needs CAP_SYS_NICE. */
    assert_int_equal(gmm_sys_mbind(s, W + 1, PG, GMM_MPOL_BIND, mask(s, 1), 65, GMM_MPOL_MF_MOVE_ALL),
                     -GMM_EPERM);
    assert_int_equal(gmm_sys_mbind(s, W + 1, PG, GMM_MPOL_BIND, mask(s, 1), 65, 0), -GMM_EINVAL);
    /* The flags that are allowed change nothing here (one node). */
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_BIND, mask(s, 1), 65, GMM_MPOL_MF_STRICT), 0);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_BIND, mask(s, 1), 65, GMM_MPOL_MF_MOVE), 0);
    assert_int_equal(gmm_sys_mbind(s, W, PG, GMM_MPOL_BIND, mask(s, 2), 65, 0), -GMM_EINVAL);
    teardown(sys, s);
}

static void mbind_length_rules(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, PG, RW, ANON_PRIV);
    /* len 0 and a length rounding to 0 do nothing, mapped or not. */
    assert_int_equal(gmm_sys_mbind(s, 0x10000, 0, GMM_MPOL_BIND, mask(s, 1), 65, 0), 0);
    assert_int_equal(gmm_sys_mbind(s, W, UINT64_MAX, GMM_MPOL_BIND, mask(s, 1), 65, 0), 0);
    assert_int_equal(gmm_sys_mbind(s, W, (uint64_t)-2 * PG, GMM_MPOL_BIND, mask(s, 1), 65, 0), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mbind(s, 1, 0, GMM_MPOL_BIND, mask(s, 1), 65, 0), -GMM_EINVAL);
    teardown(sys, s);
}

static void mbind_hole_is_efault_except_for_the_default_policy(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 2 * PG, RW, ANON_PRIV);
    map_at(s, W + 3 * PG, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mbind(s, W, 5 * PG, GMM_MPOL_BIND, mask(s, 1), 65, 0), -GMM_EFAULT);
    assert_int_equal(gmm_sys_mbind(s, W - PG, 2 * PG, GMM_MPOL_BIND, mask(s, 1), 65, 0), -GMM_EFAULT);
    assert_int_equal(gmm_sys_mbind(s, W + PG, 4 * PG, GMM_MPOL_BIND, mask(s, 1), 65, 0), -GMM_EFAULT);
    /* Nothing was changed. */
    int mode;
    uint64_t nodes;
    assert_int_equal(get(s, W, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_DEFAULT);
    assert_int_equal(gmm_sys_mbind(s, W, 5 * PG, GMM_MPOL_DEFAULT, 0, 0, 0), 0);
    /* Wholly unmapped: EFAULT even for the default policy. */
    assert_int_equal(gmm_sys_mbind(s, W + 8 * PG, 2 * PG, GMM_MPOL_DEFAULT, 0, 0, 0), -GMM_EFAULT);
    assert_int_equal(gmm_sys_mbind(s, W, 5 * PG, GMM_MPOL_BIND, mask(s, 1), 65, 0), -GMM_EFAULT);
    teardown(sys, s);
}

static void mbind_static_mask_reads_back_as_given(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 2 * PG, RW, ANON_SHARED);
    assert_int_equal(gmm_sys_mbind(s, W, 2 * PG, GMM_MPOL_BIND | GMM_MPOL_F_STATIC_NODES, mask(s, 3), 65, 0),
                     0);
    int mode;
    uint64_t nodes;
    assert_int_equal(get(s, W + PG, GMM_MPOL_F_ADDR, &mode, &nodes), 0);
    assert_int_equal(mode, GMM_MPOL_BIND | GMM_MPOL_F_STATIC_NODES);
    assert_int_equal(nodes, 3);
    teardown(sys, s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_mempolicy_of_a_new_task_is_default),
        cmocka_unit_test(set_mempolicy_bind_node0_reads_back),
        cmocka_unit_test(set_mempolicy_mode_flags_are_read_back_with_the_given_mask),
        cmocka_unit_test(set_mempolicy_numa_balancing_only_with_bind_or_preferred_many),
        cmocka_unit_test(set_mempolicy_rejects_invalid_modes_and_flags),
        cmocka_unit_test(set_mempolicy_masks_each_mode_accepts),
        cmocka_unit_test(set_mempolicy_reads_maxnode_minus_one_bits),
        cmocka_unit_test(set_mempolicy_preferred_picks_the_first_node),
        cmocka_unit_test(set_mempolicy_large_maxnode_needs_zero_beyond_node_1023),
        cmocka_unit_test(set_mempolicy_bad_mask_pointer_is_efault),
        cmocka_unit_test(set_mempolicy_i386_reads_32_bit_words),
        cmocka_unit_test(get_mempolicy_rejects_bad_flags),
        cmocka_unit_test(get_mempolicy_mems_allowed_is_node0),
        cmocka_unit_test(get_mempolicy_maxnode_below_node_ids_is_einval),
        cmocka_unit_test(get_mempolicy_clears_the_mask_beyond_one_long),
        cmocka_unit_test(get_mempolicy_bad_pointers_are_efault),
        cmocka_unit_test(get_mempolicy_next_interleave_node),
        cmocka_unit_test(get_mempolicy_of_an_address),
        cmocka_unit_test(get_mempolicy_i386_writes_32_bit_words),
        cmocka_unit_test(mempolicy_is_inherited_by_fork_and_kept_by_exec),
        cmocka_unit_test(mbind_splits_and_reads_back_per_region),
        cmocka_unit_test(mbind_modes_with_and_without_masks),
        cmocka_unit_test(mbind_rejects_bad_arguments_in_order),
        cmocka_unit_test(mbind_length_rules),
        cmocka_unit_test(mbind_hole_is_efault_except_for_the_default_policy),
        cmocka_unit_test(mbind_static_mask_reads_back_as_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
