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
