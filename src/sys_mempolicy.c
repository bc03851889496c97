/*
 * sys_mempolicy.c - mbind, set_mempolicy and get_mempolicy as
 * mm/mempolicy.c does them, for a machine with one NUMA node, node 0, and a
 * kernel built with 1024 node ids (CONFIG_NODES_SHIFT=10, as this machine's).
 *
 * Modes, flags and node masks are validated in Linux's order; a mask is
 * read from guest memory with maxnode's odd meaning (maxnode - 1 bits are
 * read, in whole longs: 8 bytes, or 4 for an i386 space, whose syscalls are
 * compat ones).  A policy is kept per region (vma_modify splits and merges
 * like Linux's mbind_range()) and per space (the task's); get_mempolicy
 * reads them back with the mask Linux reports: the one given for
 * MPOL_F_STATIC_NODES / MPOL_F_RELATIVE_NODES, else the nodes in use (only
 * the first 64 node ids are ever reported: nr_node_ids is 1).  Pages are
 * never placed, so MPOL_MF_STRICT and MPOL_MF_MOVE have nothing to find.
 */
#include "internal.h"

#define MAX_NUMNODES 1024
#define MODE_FLAGS (GMM_MPOL_F_STATIC_NODES | GMM_MPOL_F_RELATIVE_NODES | GMM_MPOL_F_NUMA_BALANCING)
#define MF_VALID (GMM_MPOL_MF_STRICT | GMM_MPOL_MF_MOVE | GMM_MPOL_MF_MOVE_ALL)

struct nodemask {
    uint64_t w[MAX_NUMNODES / 64];
};

static bool nodes_empty(const struct nodemask *n)
{
    for (size_t i = 0; i < MAX_NUMNODES / 64; i++)
        if (n->w[i])
            return false;
    return true;
}

/* Little-endian longs of guest memory, whatever the host. */
static int read_words(gmm_space *s, gmm_addr addr, uint64_t *w, size_t bytes)
{
    uint8_t b[MAX_NUMNODES / 8];
    if (gmm_read(s, addr, b, bytes))
        return -GMM_EFAULT;
    for (size_t i = 0; i < bytes; i++)
        w[i / 8] |= (uint64_t)b[i] << (8 * (i % 8));
    return 0;
}

/* sanitize_mpol_flags() */
static int sanitize(int *mode, uint16_t *flags)
{
    *flags = (uint16_t)(*mode & MODE_FLAGS);
    *mode &= ~MODE_FLAGS;
    if ((unsigned)*mode >= GMM_MPOL_MAX)
        return -GMM_EINVAL;
    if ((*flags & GMM_MPOL_F_STATIC_NODES) && (*flags & GMM_MPOL_F_RELATIVE_NODES))
        return -GMM_EINVAL;
    if ((*flags & GMM_MPOL_F_NUMA_BALANCING) && *mode != GMM_MPOL_BIND &&
        *mode != GMM_MPOL_PREFERRED_MANY)
        return -GMM_EINVAL;
    return 0;
}

/* get_nodes(): maxnode - 1 bits from nmask; bits beyond the 1024 node ids
 * must be zero, checked in whole longs from the end. */
static int get_nodes(gmm_space *s, struct nodemask *nodes, gmm_addr nmask, uint64_t maxnode)
{
    memset(nodes, 0, sizeof(*nodes));
    maxnode--;
    if (maxnode == 0 || !nmask)
        return 0;
    if (maxnode > PAGE_SIZE * 8)
        return -GMM_EINVAL;
    while (maxnode > MAX_NUMNODES) {
        uint64_t t = 0;
        if (read_words(s, nmask + (maxnode - 1) / 64 * 8, &t, 8))
            return -GMM_EFAULT;
        maxnode = maxnode - 64 >= MAX_NUMNODES ? maxnode - 64 : MAX_NUMNODES;
        if (t)
            return -GMM_EINVAL;
    }
    size_t bytes = s->abi == GMM_ABI_I386 ? (maxnode + 31) / 32 * 4 : (maxnode + 63) / 64 * 8;
    if (read_words(s, nmask, nodes->w, bytes))
        return -GMM_EFAULT;
    if (maxnode % 64)
        nodes->w[(maxnode - 1) / 64] &= ((uint64_t)1 << (maxnode % 64)) - 1;
    return 0;
}

/* mpol_new() and mpol_set_nodemask(): the policy as get_mempolicy shows
 * it; all zero for MPOL_DEFAULT. */
static int make_policy(int mode, uint16_t flags, const struct nodemask *nodes,
                       struct vma_policy *out)
{
    memset(out, 0, sizeof(*out));
    bool empty = nodes_empty(nodes);
    bool user_mask = (flags & (GMM_MPOL_F_STATIC_NODES | GMM_MPOL_F_RELATIVE_NODES)) != 0;
    if (mode == GMM_MPOL_DEFAULT)
        return empty ? 0 : -GMM_EINVAL;
    if (mode == GMM_MPOL_PREFERRED) {
        if (empty) {
            if (user_mask)
                return -GMM_EINVAL;
            mode = GMM_MPOL_LOCAL;
        }
    } else if (mode == GMM_MPOL_LOCAL) {
        if (!empty || user_mask)
            return -GMM_EINVAL;
    } else if (empty) {
        return -GMM_EINVAL;
    }
    uint64_t in_use = 0;
    if (mode != GMM_MPOL_LOCAL) {
        /* The nodes allowed are {0}; a relative mask folds onto them. */
        bool node0 = (flags & GMM_MPOL_F_RELATIVE_NODES) ? !empty : (nodes->w[0] & 1) != 0;
        if (!node0)
            return -GMM_EINVAL;
        in_use = 1;
    }
    out->mode = (uint16_t)mode;
    out->flags = flags;
    out->nodes = user_mask ? nodes->w[0] : in_use;
    return 0;
}

/* kernel_set_mempolicy() and kernel_mbind(): the mode, its flags and the
 * mask, before anything else is looked at. */
static int policy_args(gmm_space *s, int *mode, uint16_t *flags, struct nodemask *nodes,
                       gmm_addr nodemask, uint64_t maxnode)
{
    int err = sanitize(mode, flags);
    return err ? err : get_nodes(s, nodes, space_arg(s, nodemask), space_arg(s, maxnode));
}

int64_t gmm_sys_set_mempolicy(gmm_space *s, int mode, gmm_addr nodemask, uint64_t maxnode)
{
    uint16_t flags;
    struct nodemask nodes;
    int err = policy_args(s, &mode, &flags, &nodes, nodemask, maxnode);
    if (err)
        return err;
    struct vma_policy pol;
    err = make_policy(mode, flags, &nodes, &pol);
    if (err)
        return err;
    space_lock(s);
    s->pol = pol;
    space_unlock(s);
    return 0;
}

static bool same_policy(const struct vma_policy *a, const struct vma_policy *b)
{
    return a->mode == b->mode && a->flags == b->flags && a->nodes == b->nodes;
}

/* queue_pages_range(): EFAULT when no region meets the range, or, unless
 * the policy is the default one, when the range has a hole. */
static int check_holes(gmm_space *s, gmm_addr start, gmm_addr end, bool discontig_ok)
{
    struct region *r = region_find(s, start);
    if (!r || r->start >= end)
        return -GMM_EFAULT;
    if (discontig_ok)
        return 0;
    if (r->start > start)
        return -GMM_EFAULT;
    for (; r && r->start < end; r = r->next)
        if (r->end < end && (!r->next || r->next->start != r->end))
            return -GMM_EFAULT;
    return 0;
}

int64_t gmm_sys_mbind(gmm_space *s, gmm_addr start, uint64_t len, int mode, gmm_addr nodemask,
                      uint64_t maxnode, unsigned flags)
{
    start = space_arg(s, start);
    len = space_arg(s, len);
    uint16_t mflags;
    struct nodemask nodes;
    int err = policy_args(s, &mode, &mflags, &nodes, nodemask, maxnode);
    if (err)
        return err;
    /* do_mbind() */
    if (flags & ~(unsigned)MF_VALID)
        return -GMM_EINVAL;
    if (flags & GMM_MPOL_MF_MOVE_ALL)
        return -GMM_EPERM; /* needs CAP_SYS_NICE */
    if (OFFSET_IN_PAGE(start))
        return -GMM_EINVAL;
    gmm_addr end = start + PAGE_ALIGN(len);
    if (end < start)
        return -GMM_EINVAL;
    if (end == start)
        return 0;
    struct vma_policy pol;
    err = make_policy(mode, mflags, &nodes, &pol);
    if (err)
        return err;

    space_lock(s);
    err = check_holes(s, start, end, mode == GMM_MPOL_DEFAULT);
    /* The splits are allocated before the first change. */
    if (!err)
        err = vma_reserve_splits(s, start, end);
    /* mbind_range(): each region's part gets the policy. */
    for (gmm_addr a = start; !err && a < end;) {
        struct region *r = region_find(s, a);
        if (!r || r->start >= end)
            break;
        gmm_addr from = r->start > a ? r->start : a;
        gmm_addr to = r->end < end ? r->end : end;
        if (!same_policy(&r->pol, &pol)) {
            struct region want = *r;
            want.pol = pol;
            err = vma_modify(s, r, from, to, &want);
        }
        a = to;
    }
    space_unlock(s);
    return err;
}

/* copy_nodes_to_user(): ALIGN(maxnode - 1, 64) bits, the part beyond what
 * nr_node_ids needs cleared; an i386 space writes 32-bit words. */
static int copy_nodes_out(gmm_space *s, gmm_addr mask, uint64_t maxnode, uint64_t nodes)
{
    uint64_t copy = ((maxnode - 1 + 63) & ~(uint64_t)63) / 8;
    uint64_t nbytes = s->abi == GMM_ABI_I386 ? 4 : 8;
    if (copy > nbytes) {
        if (copy > PAGE_SIZE)
            return -GMM_EINVAL;
        static const uint8_t zeros[PAGE_SIZE];
        if (gmm_write(s, mask + nbytes, zeros, copy - nbytes))
            return -GMM_EFAULT;
        copy = nbytes;
        maxnode = 1;
    }
    if (s->abi == GMM_ABI_I386)
        copy = (maxnode + 31) / 32 * 4; /* compat_put_bitmap() */
    uint8_t b[8];
    for (size_t i = 0; i < 8; i++)
        b[i] = (uint8_t)(nodes >> (8 * i));
    return gmm_write(s, mask, b, (size_t)copy) ? -GMM_EFAULT : 0;
}

int64_t gmm_sys_get_mempolicy(gmm_space *s, gmm_addr mode, gmm_addr nodemask, uint64_t maxnode,
                              gmm_addr addr, unsigned flags)
{
    mode = space_arg(s, mode);
    nodemask = space_arg(s, nodemask);
    maxnode = space_arg(s, maxnode);
    addr = space_arg(s, addr);
    if (nodemask && maxnode < 1)
        return -GMM_EINVAL; /* maxnode < nr_node_ids */
    if (flags & ~(unsigned)(GMM_MPOL_F_NODE | GMM_MPOL_F_ADDR | GMM_MPOL_F_MEMS_ALLOWED))
        return -GMM_EINVAL;
    int pval = 0;
    uint64_t nodes = 1; /* MPOL_F_MEMS_ALLOWED: node 0 */
    if (flags & GMM_MPOL_F_MEMS_ALLOWED) {
        if (flags & (GMM_MPOL_F_NODE | GMM_MPOL_F_ADDR))
            return -GMM_EINVAL;
    } else {
        space_lock(s);
        struct vma_policy pol = s->pol;
        struct region *r = NULL;
        int err = 0;
        if (flags & GMM_MPOL_F_ADDR) {
            /* The region's own policy: a new mapping has the default
             * one, whatever the task's is. */
            r = region_find(s, addr);
            if (!r || r->start > addr)
                err = -GMM_EFAULT;
            else
                pol = r->pol;
        } else if (addr) {
            err = -GMM_EINVAL;
        }
        if (!err && (flags & GMM_MPOL_F_NODE)) {
            if (flags & GMM_MPOL_F_ADDR) {
                /* lookup_node(): the node of the page, faulted in for
                 * reading as get_user_pages does. */
                err = r->flags & VM_READ ? space_fault(s, addr & PAGE_MASK, GMM_ACCESS_READ)
                                         : -GMM_EFAULT;
            } else if (pol.mode != GMM_MPOL_INTERLEAVE && pol.mode != GMM_MPOL_WEIGHTED_INTERLEAVE) {
                /* The next interleave node exists only for the task's
                 * interleave policies. */
                err = -GMM_EINVAL;
            }
            pval = 0;
        } else {
            pval = pol.mode | pol.flags;
        }
        nodes = pol.nodes;
        space_unlock(s);
        if (err)
            return err;
    }
    if (mode) {
        uint8_t b[4] = {(uint8_t)pval, (uint8_t)(pval >> 8), (uint8_t)(pval >> 16),
                        (uint8_t)(pval >> 24)};
        if (gmm_write(s, mode, b, 4))
            return -GMM_EFAULT;
    }
    if (nodemask)
        return copy_nodes_out(s, nodemask, maxnode, nodes);
    return 0;
}
