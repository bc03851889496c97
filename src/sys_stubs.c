/*
 * sys_stubs.c - entry points of the contract not implemented yet.  Each
 * returns -GMM_ENOSYS; the README's status table lists them.
 */
#include "internal.h"

int64_t gmm_sys_mremap(gmm_space *s, gmm_addr old_addr, uint64_t old_len, uint64_t new_len,
                       int flags, gmm_addr new_addr)
{
    (void)s, (void)old_addr, (void)old_len, (void)new_len, (void)flags, (void)new_addr;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_madvise(gmm_space *s, gmm_addr addr, uint64_t len, int advice)
{
    (void)s, (void)addr, (void)len, (void)advice;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_msync(gmm_space *s, gmm_addr addr, uint64_t len, int flags)
{
    (void)s, (void)addr, (void)len, (void)flags;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_mlock(gmm_space *s, gmm_addr addr, uint64_t len)
{
    (void)s, (void)addr, (void)len;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_mlock2(gmm_space *s, gmm_addr addr, uint64_t len, int flags)
{
    (void)s, (void)addr, (void)len, (void)flags;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_munlock(gmm_space *s, gmm_addr addr, uint64_t len)
{
    (void)s, (void)addr, (void)len;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_mlockall(gmm_space *s, int flags)
{
    (void)s, (void)flags;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_munlockall(gmm_space *s)
{
    (void)s;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_mincore(gmm_space *s, gmm_addr addr, uint64_t len, gmm_addr vec)
{
    (void)s, (void)addr, (void)len, (void)vec;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_mbind(gmm_space *s, gmm_addr addr, uint64_t len, int mode, gmm_addr nodemask,
                      uint64_t maxnode, unsigned flags)
{
    (void)s, (void)addr, (void)len, (void)mode, (void)nodemask, (void)maxnode, (void)flags;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_get_mempolicy(gmm_space *s, gmm_addr mode, gmm_addr nodemask, uint64_t maxnode,
                              gmm_addr addr, unsigned flags)
{
    (void)s, (void)mode, (void)nodemask, (void)maxnode, (void)addr, (void)flags;
    return -GMM_ENOSYS;
}

int64_t gmm_sys_set_mempolicy(gmm_space *s, int mode, gmm_addr nodemask, uint64_t maxnode)
{
    (void)s, (void)mode, (void)nodemask, (void)maxnode;
    return -GMM_ENOSYS;
}
